//===- sampler.cpp - Sample orders for the DataLoader ---------------------===//
//
// The three standard samplers over the random primitives (splitmix64,
// unbiased bounded integers, the seeded Fisher-Yates shuffle) of the device
// runtime's random.h, which the device training loop uses too. The shuffle is
// the one the DataLoader has always used; its golden outputs are pinned by
// dataloader_test.cc, so changing it breaks reproducibility.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/sampler.h"
#include "kiln/device/random.h"

#include <numeric>
#include <string>
#include <utility>

namespace kiln::runtime {

// The generator and the shuffle are defined once, in C, for the host and the
// device training loop alike (runtime/device/src/random.c).
uint64_t splitMix64(uint64_t &state) { return kiln_splitmix64(&state); }

uint64_t uniformBelow(uint64_t &state, uint64_t n) { return kiln_uniform_below(&state, n); }

void shuffleForEpoch(uint64_t seed, int epoch, std::vector<int64_t> &values) {
  kiln_shuffle_for_epoch(seed, epoch, values.data(), values.size());
}

namespace {

bool checkSize(const char *who, int64_t n, std::string &error) {
  if (n >= 0)
    return true;
  error = std::string(who) + ": size must be >= 0, got " + std::to_string(n);
  return false;
}

} // namespace

bool SequentialSampler::check(std::string &error) const {
  return checkSize("SequentialSampler", n, error);
}

void SequentialSampler::order(int, std::vector<int64_t> &out) const {
  out.resize(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t(0));
}

bool RandomSampler::check(std::string &error) const {
  return checkSize("RandomSampler", n, error);
}

void RandomSampler::order(int epoch, std::vector<int64_t> &out) const {
  // Start from the identity so the permutation is a function of (seed,
  // epoch) alone, not of what the vector held before.
  out.resize(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t(0));
  shuffleForEpoch(seed, epoch, out);
}

SubsetSampler::SubsetSampler(std::vector<int64_t> indices, bool shuffle, uint64_t seed)
    : indices(std::move(indices)), shuffle(shuffle), seed(seed) {}

bool SubsetSampler::check(std::string &error) const {
  for (size_t i = 0; i < indices.size(); ++i)
    if (indices[i] < 0) {
      error = "SubsetSampler: index " + std::to_string(i) + " is negative (" +
              std::to_string(indices[i]) + ")";
      return false;
    }
  return true;
}

void SubsetSampler::order(int epoch, std::vector<int64_t> &out) const {
  out.assign(indices.begin(), indices.end());
  if (shuffle)
    shuffleForEpoch(seed, epoch, out);
}

} // namespace kiln::runtime
