/*===- threads.h - Team size of the host models' parallel loops ---*- C -*-===//
 *
 * Host models compiled with parallel loops run them on libomp's thread team
 * (kiln_add_model links libomp). The trainer (--threads) and the step
 * benchmark (bench/kiln_step_bench.cpp) set that team's size through this one
 * function, so both run a model under the same settings.
 *
 * The runtime itself needs no OpenMP: it calls omp_set_num_threads through a
 * weak reference, which a program without a parallel model leaves null.
 *
 * Thread safety: call it before the first step, from one thread; it sets
 * process-wide state (libomp's default team size and, where neither
 * OMP_WAIT_POLICY nor KMP_BLOCKTIME is set, KMP_BLOCKTIME).
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_RUNTIME_THREADS_H
#define KILN_RUNTIME_THREADS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Sets the team size of the linked models' parallel loops to \p threads,
 *  or to one thread per core for 0, and makes idle team threads spin for
 *  1 ms before they sleep (KMP_BLOCKTIME=1: the next parallel loop of a step
 *  starts within microseconds, and waking a sleeping team costs ~10x a
 *  spinning one), unless the environment sets OMP_WAIT_POLICY or
 *  KMP_BLOCKTIME. Returns the team size set, or 1 when no libomp is linked (every
 *  model is serial, so there is nothing to set). */
int kiln_set_model_threads(int64_t threads);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_THREADS_H */
