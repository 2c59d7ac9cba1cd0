//===- dataloader.h - Static-shape minibatches over a Dataset ---*- C++ -*-===//
//
// Compiled models have a static batch size, so every batch the loader hands
// out has exactly `batch_size` rows. With drop_last the trailing partial batch
// is skipped (what training wants); without it the last batch is zero-padded
// and Batch::valid says how many leading rows are real (what evaluation wants).
//
// Shuffling uses splitmix64 and Fisher-Yates with unbiased rejection sampling,
// implemented here rather than with <random>, whose distributions differ
// between standard libraries: a (seed, epoch) pair gives the same order on
// every platform. Each epoch's permutation depends only on the seed and the
// epoch number, so epochs can be replayed independently.
//
// Thread safety: a DataLoader is not safe to use from several threads at once;
// distinct loaders over one (unchanging) Dataset are.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATALOADER_H
#define KILN_RUNTIME_DATALOADER_H

#include "kiln/runtime/dataset.h"

#include <cstdint>
#include <vector>

namespace kiln::runtime {

/// Options for a DataLoader; the defaults suit training.
struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = true;
};

/// One static-size minibatch. Rows at index >= valid are padding (zero
/// samples, label 0) and must be ignored by the consumer.
struct Batch {
  std::vector<float> x;   ///< batch_size * sampleElements() floats.
  std::vector<int32_t> y; ///< batch_size labels.
  int64_t valid = 0;      ///< Number of real rows (== batch_size unless last).
  int64_t index = 0;      ///< Position of this batch within the epoch.
};

/// Advances a splitmix64 generator and returns its next output.
uint64_t splitMix64(uint64_t &state);

/// Iterates over a Dataset in static-size batches. Holds a reference to the
/// dataset, which must outlive the loader and not change while it is in use.
class DataLoader {
public:
  /// Throws std::invalid_argument if options.batch_size < 1 or the sizes of
  /// dataset.x and dataset.y do not match dataset.size.
  DataLoader(const Dataset &dataset, DataLoaderOptions options);

  /// Batches per epoch: floor(size / batch) with drop_last, else ceil.
  int64_t numBatches() const;
  int64_t batchSize() const { return options.batch_size; }

  /// Rewinds to the first batch and, if shuffling, draws the permutation for
  /// \p epoch. Must be called before the first next().
  void startEpoch(int epoch);

  /// Fills \p b with the next batch and returns true, or returns false at the
  /// end of the epoch. \p b's buffers are sized on first use only, so reusing
  /// one Batch keeps the loop free of allocations.
  bool next(Batch &b);

  /// The sample order of the current epoch (a permutation of 0..size-1).
  const std::vector<int64_t> &order() const { return indices; }

private:
  const Dataset &dataset;
  DataLoaderOptions options;
  std::vector<int64_t> indices;
  int64_t nextBatch = 0;
  bool started = false;
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_DATALOADER_H
