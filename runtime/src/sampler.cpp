//===- sampler.cpp - Sample orders for the DataLoader ---------------------===//
//
// The random primitives (splitmix64, unbiased bounded integers, the seeded
// Fisher-Yates shuffle) and the three standard samplers. The shuffle is the
// one the DataLoader has always used; its golden outputs are pinned by
// dataloader_test.cc, so changing anything here breaks reproducibility.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/sampler.h"

#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace kiln::runtime {

uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t uniformBelow(uint64_t &state, uint64_t n) {
  // Reject the few raw values below 2^64 mod n so the remaining range is a
  // multiple of n.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t r = splitMix64(state);
    if (r >= threshold)
      return r % n;
  }
}

void shuffleForEpoch(uint64_t seed, int epoch, std::vector<int64_t> &values) {
  // Hash the seed first so that nearby seeds (0, 1, 2, ...) and epochs do not
  // produce correlated generator states.
  uint64_t s = seed;
  uint64_t state = splitMix64(s) ^ (static_cast<uint64_t>(epoch) * 0xd1b54a32d192ed03ULL);
  for (size_t i = values.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(uniformBelow(state, i));
    std::swap(values[i - 1], values[j]);
  }
}

namespace {

int64_t checkSize(const char *who, int64_t n) {
  if (n < 0)
    throw std::invalid_argument(std::string(who) + ": size must be >= 0, got " +
                                std::to_string(n));
  return n;
}

} // namespace

SequentialSampler::SequentialSampler(int64_t n) : n(checkSize("SequentialSampler", n)) {}

void SequentialSampler::order(int, std::vector<int64_t> &out) const {
  out.resize(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t(0));
}

RandomSampler::RandomSampler(int64_t n, uint64_t seed)
    : n(checkSize("RandomSampler", n)), seed(seed) {}

void RandomSampler::order(int epoch, std::vector<int64_t> &out) const {
  // Start from the identity so the permutation is a function of (seed,
  // epoch) alone, not of what the vector held before.
  out.resize(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t(0));
  shuffleForEpoch(seed, epoch, out);
}

SubsetSampler::SubsetSampler(std::vector<int64_t> indices, bool shuffle, uint64_t seed)
    : indices(std::move(indices)), shuffle(shuffle), seed(seed) {
  for (size_t i = 0; i < this->indices.size(); ++i)
    if (this->indices[i] < 0)
      throw std::invalid_argument("SubsetSampler: index " + std::to_string(i) +
                                  " is negative (" + std::to_string(this->indices[i]) + ")");
}

void SubsetSampler::order(int epoch, std::vector<int64_t> &out) const {
  out.assign(indices.begin(), indices.end());
  if (shuffle)
    shuffleForEpoch(seed, epoch, out);
}

} // namespace kiln::runtime
