/*===- random.c - The seeded shuffle shared by host and device ------------===//
 *
 * The DataLoader's shuffle since its first version; its golden permutations
 * are pinned by runtime/src/dataloader_test.cc, so changing anything here
 * breaks the reproducibility of every recorded run.
 *
 *===----------------------------------------------------------------------===*/

#include "kiln/device/random.h"

uint64_t kiln_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t kiln_uniform_below(uint64_t *state, uint64_t n) {
  /* Reject the few raw values below 2^64 mod n so the remaining range is a
   * multiple of n. */
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t r = kiln_splitmix64(state);
    if (r >= threshold)
      return r % n;
  }
}

void kiln_shuffle_for_epoch(uint64_t seed, int epoch, int64_t *values, size_t count) {
  /* Hash the seed first so that nearby seeds (0, 1, 2, ...) and epochs do not
   * produce correlated generator states. */
  uint64_t s = seed;
  uint64_t state = kiln_splitmix64(&s) ^ ((uint64_t)epoch * 0xd1b54a32d192ed03ULL);
  size_t i;
  for (i = count; i > 1; --i) {
    size_t j = (size_t)kiln_uniform_below(&state, (uint64_t)i);
    int64_t t = values[i - 1];
    values[i - 1] = values[j];
    values[j] = t;
  }
}
