//===- sampler.h - Sample orders for the DataLoader -------------*- C++ -*-===//
//
// A Sampler decides which dataset indices an epoch visits and in what order,
// like torch.utils.data.Sampler: SequentialSampler (0..n-1), RandomSampler (a
// seeded permutation, the DataLoader's `shuffle`), and SubsetSampler (a fixed
// list of indices, optionally shuffled each epoch: SubsetRandomSampler). The
// loader batches whatever order the sampler gives, so drop_last and padding
// apply to sampler.size(), not to the dataset size.
//
// An epoch's order is a pure function of the sampler's construction arguments
// and the epoch number: epochs can be replayed in any order, and a loader that
// prefetches sees exactly the order a synchronous one does. The random
// generators (splitmix64, unbiased Fisher-Yates) are implemented here rather
// than with <random>, whose distributions differ between standard libraries,
// so a (seed, epoch) pair gives the same order on every platform.
//
// Constructors only store their arguments; check() reports invalid ones (a
// negative size or index) as an error message, and the DataLoader calls it
// when it is created (errors.h: the runtime's one error convention).
//
// Thread safety: samplers are immutable after construction; order() is const
// and reentrant, so one sampler may be shared by several loaders and threads.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SAMPLER_H
#define KILN_RUNTIME_SAMPLER_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// Advances a splitmix64 generator and returns its next output.
uint64_t splitMix64(uint64_t &state);

/// Uniform integer in [0, n) from a splitmix64 stream without modulo bias.
/// \p n must be >= 1.
uint64_t uniformBelow(uint64_t &state, uint64_t n);

/// Shuffles \p values in place with Fisher-Yates driven by a generator derived
/// from (\p seed, \p epoch). Applied to 0..n-1 this is the DataLoader's shuffle.
void shuffleForEpoch(uint64_t seed, int epoch, std::vector<int64_t> &values);

/// Chooses the dataset indices of one epoch and their order.
class Sampler {
public:
  virtual ~Sampler() = default;

  /// Returns false, with \p error set, if the sampler's arguments are
  /// invalid; order() and size() may then be used only after a true.
  virtual bool check(std::string &error) const = 0;

  /// Number of indices order() produces (the same for every epoch).
  virtual int64_t size() const = 0;

  /// Replaces \p out with the indices of \p epoch (size() entries). Reuses
  /// \p out's capacity, so calling it with the same vector every epoch does
  /// not allocate after the first time.
  virtual void order(int epoch, std::vector<int64_t> &out) const = 0;
};

/// 0, 1, ..., n-1 every epoch.
class SequentialSampler : public Sampler {
public:
  /// check() rejects \p n < 0.
  explicit SequentialSampler(int64_t n) : n(n) {}
  bool check(std::string &error) const override;
  int64_t size() const override { return n; }
  void order(int epoch, std::vector<int64_t> &out) const override;

private:
  int64_t n;
};

/// A permutation of 0..n-1 that depends only on (seed, epoch). This is the
/// order DataLoaderOptions::shuffle uses, bit for bit.
class RandomSampler : public Sampler {
public:
  /// check() rejects \p n < 0.
  RandomSampler(int64_t n, uint64_t seed) : n(n), seed(seed) {}
  bool check(std::string &error) const override;
  int64_t size() const override { return n; }
  void order(int epoch, std::vector<int64_t> &out) const override;

private:
  int64_t n;
  uint64_t seed;
};

/// The given indices, in the given order, or (with \p shuffle) permuted per
/// epoch as a function of (seed, epoch). Indices may repeat (oversampling) and
/// need not be sorted; the DataLoader checks they are within its dataset.
class SubsetSampler : public Sampler {
public:
  /// check() rejects a negative index.
  explicit SubsetSampler(std::vector<int64_t> indices, bool shuffle = false,
                         uint64_t seed = 0);
  bool check(std::string &error) const override;
  int64_t size() const override { return static_cast<int64_t>(indices.size()); }
  void order(int epoch, std::vector<int64_t> &out) const override;

private:
  std::vector<int64_t> indices;
  bool shuffle;
  uint64_t seed;
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SAMPLER_H
