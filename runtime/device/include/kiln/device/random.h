/*===- random.h - The seeded shuffle shared by host and device ----*- C -*-===//
 *
 * The one definition of kiln's sample order: a splitmix64 generator, unbiased
 * bounded integers (rejection sampling) and a Fisher-Yates shuffle seeded by
 * (seed, epoch). The host DataLoader's shuffle (runtime/src/sampler.cpp) and
 * the device training loop (train.h) both call these functions, so a model
 * trained on a microcontroller sees its batches in the order the host trainer
 * uses, bit for bit. Integer arithmetic only: the result is the same on every
 * target and compiler.
 *
 * Thread safety: no global state; reentrant.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_DEVICE_RANDOM_H
#define KILN_DEVICE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Advances the splitmix64 generator \p state and returns its next output. */
uint64_t kiln_splitmix64(uint64_t *state);

/** A uniform integer in [0, n) from the splitmix64 stream \p state, without
 *  modulo bias. \p n must be >= 1. */
uint64_t kiln_uniform_below(uint64_t *state, uint64_t n);

/** Shuffles \p values[0..count) in place with Fisher-Yates driven by a
 *  generator derived from (\p seed, \p epoch). Applied to 0..n-1 it gives
 *  the training order of epoch \p epoch. */
void kiln_shuffle_for_epoch(uint64_t seed, int epoch, int64_t *values, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* KILN_DEVICE_RANDOM_H */
