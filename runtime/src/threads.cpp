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
  // Idle threads sleep instead of spinning (unless OMP_WAIT_POLICY says
  // otherwise; libomp reads it at its first call, below). On shared cores,
  // such as ctest -j2 on two, a spinning thread holds the core its partner
  // needs: on the busy 2-core build machine a 2-thread fork/join took 1.4 ms
  // spinning and 19 us passive.
  setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0);
  if (threads <= 0)
    threads = std::max<unsigned>(1, std::thread::hardware_concurrency());
  const int team = static_cast<int>(std::min<int64_t>(threads, INT_MAX));
  omp_set_num_threads(team);
  return team;
}
