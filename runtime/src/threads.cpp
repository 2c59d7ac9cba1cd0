//===- threads.cpp - Team size of the host models' parallel loops ---------===//
//
// The one place that configures libomp for the models (threads.h): the
// trainer and the step benchmark both call kiln_set_model_threads.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/threads.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <thread>

// libomp's, present when a host model compiled with parallel loops is linked
// (kiln_add_model links it); weak, so that the runtime itself needs no
// OpenMP and a serial model simply has nothing to configure.
extern "C" void omp_set_num_threads(int) __attribute__((weak));

extern "C" int kiln_set_model_threads(int64_t threads) {
  if (!omp_set_num_threads)
    return 1;
  // Idle threads spin for 1 ms, then sleep (unless the environment chooses;
  // libomp reads it at its first call, below). A step's parallel loops
  // follow each other within microseconds: a sleeping team costs a futex
  // wake-up per loop (2-thread fork/join 25-30 us on the 2-core build
  // machine, 3 us spinning), ~35 loops per mlp step. libomp's default, 200 ms
  // of spinning, would hold a core that another process needs long after
  // the step (on a busy 2-core machine a fork/join took 1.4 ms spinning
  // against 19 us passive); scripts/test.sh, which runs two tests per two
  // cores, sets OMP_WAIT_POLICY=passive.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("KMP_BLOCKTIME"))
    setenv("KMP_BLOCKTIME", "1", /*overwrite=*/0);
  if (threads <= 0)
    threads = std::max<unsigned>(1, std::thread::hardware_concurrency());
  const int team = static_cast<int>(std::min<int64_t>(threads, INT_MAX));
  omp_set_num_threads(team);
  return team;
}
