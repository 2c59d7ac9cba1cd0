//===- dataloader.cpp - Static-shape minibatches over a Dataset -----------===//
//
// Implements the deterministic shuffle and batch assembly described in
// dataloader.h. Batch assembly is a gather of whole sample rows with memcpy.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataloader.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

namespace kiln::runtime {

namespace {

/// Uniform integer in [0, n) without modulo bias: reject the few raw values
/// below 2^64 mod n so the remaining range is a multiple of n.
uint64_t uniformBelow(uint64_t &state, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t r = splitMix64(state);
    if (r >= threshold)
      return r % n;
  }
}

} // namespace

uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

DataLoader::DataLoader(const Dataset &dataset, DataLoaderOptions options)
    : dataset(dataset), options(options) {
  if (options.batch_size < 1)
    throw std::invalid_argument("DataLoader: batch size must be >= 1, got " +
                                std::to_string(options.batch_size));
  // next() trusts these sizes when it copies rows, so check them once here.
  const int64_t elems = dataset.sampleElements();
  if (dataset.size < 0 || elems < 0 ||
      dataset.x.size() != static_cast<size_t>(dataset.size * elems) ||
      dataset.y.size() != static_cast<size_t>(dataset.size))
    throw std::invalid_argument("DataLoader: inconsistent dataset (size " +
                                std::to_string(dataset.size) + ", " +
                                std::to_string(dataset.x.size()) + " floats, " +
                                std::to_string(dataset.y.size()) + " labels)");
  indices.resize(static_cast<size_t>(dataset.size));
  std::iota(indices.begin(), indices.end(), int64_t(0));
}

int64_t DataLoader::numBatches() const {
  int64_t b = options.batch_size;
  return options.drop_last ? dataset.size / b : (dataset.size + b - 1) / b;
}

void DataLoader::startEpoch(int epoch) {
  nextBatch = 0;
  started = true;
  // Restart from the identity so the permutation is a function of (seed,
  // epoch) alone, not of how many epochs were drawn before.
  std::iota(indices.begin(), indices.end(), int64_t(0));
  if (!options.shuffle)
    return;
  // Hash the seed first so that nearby seeds (0, 1, 2, ...) and epochs do not
  // produce correlated generator states.
  uint64_t s = options.seed;
  uint64_t state = splitMix64(s) ^ (static_cast<uint64_t>(epoch) * 0xd1b54a32d192ed03ULL);
  for (size_t i = indices.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(uniformBelow(state, i));
    std::swap(indices[i - 1], indices[j]);
  }
}

bool DataLoader::next(Batch &b) {
  if (!started)
    startEpoch(0);
  if (nextBatch >= numBatches())
    return false;

  const size_t bs = static_cast<size_t>(options.batch_size);
  const size_t elems = static_cast<size_t>(dataset.sampleElements());
  if (b.x.size() != bs * elems)
    b.x.resize(bs * elems);
  if (b.y.size() != bs)
    b.y.resize(bs);

  const size_t first = static_cast<size_t>(nextBatch) * bs;
  const size_t valid = std::min(bs, static_cast<size_t>(dataset.size) - first);
  for (size_t r = 0; r < valid; ++r) {
    size_t src = static_cast<size_t>(indices[first + r]);
    std::memcpy(b.x.data() + r * elems, dataset.x.data() + src * elems,
                elems * sizeof(float));
    b.y[r] = dataset.y[src];
  }
  // Pad with zero samples labelled 0: label 0 is a valid class for every
  // model, so padded batches are safe to feed as-is; consumers skip them by
  // looking at `valid`.
  std::fill(b.x.begin() + valid * elems, b.x.end(), 0.0f);
  std::fill(b.y.begin() + valid, b.y.end(), 0);

  b.valid = static_cast<int64_t>(valid);
  b.index = nextBatch++;
  return true;
}

} // namespace kiln::runtime
