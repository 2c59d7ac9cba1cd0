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
// An optional BatchPipeline adds PyTorch DataLoader features (see
// docs/data.md): a Sampler in place of shuffle/seed, per-sample transforms
// (transforms.h), float regression targets, variable-length sequences padded
// by the collate step (collate.h), and a background prefetch thread. Every
// feature is deterministic: a prefetching loader yields exactly the batches of
// a synchronous one.
//
// DataLoader::create checks everything a batch depends on (errors.h: false
// or null plus a message, never an exception), so assembling batches cannot
// fail afterwards; only running out of memory throws std::bad_alloc.
//
// Thread safety: a DataLoader is not safe to use from several threads at once;
// distinct loaders over one (unchanging) Dataset are. With prefetch the loader
// owns one worker thread, which only reads the dataset and the attached
// vectors; the caller must not modify them while the loader exists.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATALOADER_H
#define KILN_RUNTIME_DATALOADER_H

#include "kiln/runtime/collate.h"
#include "kiln/runtime/dataset.h"
#include "kiln/runtime/sampler.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::runtime {

/// Options for a DataLoader; the defaults suit training.
struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = true;
};

class Transform;
class Prefetcher;

/// Optional batch-assembly features; the defaults add nothing. Kept apart
/// from DataLoaderOptions so existing positional initializers stay valid.
struct BatchPipeline {
  /// Which samples an epoch visits, in which order. Overrides
  /// DataLoaderOptions::shuffle and seed; its indices must be < dataset.size.
  std::shared_ptr<const Sampler> sampler;
  /// Applied to each real row of Batch::x after gathering, with the epoch and
  /// the sample's dataset index (padding rows stay zero).
  std::shared_ptr<const Transform> transform;
  /// Float targets (regression), dataset.size * k values: sample i owns
  /// [i * k, (i + 1) * k). Gathered into Batch::targets. Not owned.
  const std::vector<float> *targets = nullptr;
  /// One variable-length sequence per sample, collated into
  /// Batch::int_sequences / float_sequences with `sequence_collate`. Not owned.
  const std::vector<std::vector<int32_t>> *int_sequences = nullptr;
  const std::vector<std::vector<float>> *float_sequences = nullptr;
  SequenceCollateOptions sequence_collate;
  /// Assemble batch n+1 on a worker thread while the caller uses batch n.
  bool prefetch = false;
};

/// One static-size minibatch. Rows at index >= valid are padding (zero
/// samples, label 0) and must be ignored by the consumer.
struct Batch {
  std::vector<float> x;   ///< batch_size * sampleElements() floats.
  std::vector<int32_t> y; ///< batch_size labels.
  int64_t valid = 0;      ///< Number of real rows (== batch_size unless last).
  int64_t index = 0;      ///< Position of this batch within the epoch.
  std::vector<int64_t> indices; ///< Dataset index of each row; -1 for padding.
  std::vector<float> targets;   ///< batch_size * k targets, if the pipeline has any.
  SequenceBatch<int32_t> int_sequences; ///< Padded sequences, if attached.
  SequenceBatch<float> float_sequences; ///< Padded sequences, if attached.
};

/// Iterates over a Dataset in static-size batches. Holds a reference to the
/// dataset, which must outlive the loader and not change while it is in use.
class DataLoader {
public:
  /// A loader over \p dataset, or null with \p error set if
  /// options.batch_size < 1 or the sizes of dataset.x and dataset.y do not
  /// match dataset.size.
  static std::unique_ptr<DataLoader> create(const Dataset &dataset, DataLoaderOptions options,
                                            std::string &error);

  /// As above, with the features of \p pipeline. Also null if the sampler
  /// or the transform rejects its arguments or the sample shape (their
  /// check()), the sampler's first epoch has an index outside the dataset,
  /// the targets or sequences do not have one entry per sample, or a
  /// sequence is longer than sequence_collate.max_length without truncate.
  static std::unique_ptr<DataLoader> create(const Dataset &dataset, DataLoaderOptions options,
                                            BatchPipeline pipeline, std::string &error);

  /// Stops and joins the prefetch thread, if any.
  ~DataLoader();
  DataLoader(const DataLoader &) = delete;
  DataLoader &operator=(const DataLoader &) = delete;

  /// Batches per epoch: floor(size / batch) with drop_last, else ceil.
  int64_t numBatches() const;
  int64_t batchSize() const { return options.batch_size; }

  /// Rewinds to the first batch and, if shuffling, draws the permutation for
  /// \p epoch (the sampler's order, with a pipeline sampler). Without it,
  /// next() serves epoch 0. With prefetch, abandons any batch prepared for
  /// the previous epoch and starts preparing this epoch's first one. Returns
  /// false, with \p error set and the loader left unstarted, if the sampler
  /// yields an index outside the dataset (the samplers of sampler.h never do
  /// once create() accepted them).
  bool startEpoch(int epoch, std::string &error);

  /// Fills \p b with the next batch and returns true, or returns false at the
  /// end of the epoch. \p b's buffers are sized on first use only, so reusing
  /// one Batch keeps the loop free of allocations. With prefetch, \p b is
  /// swapped with the worker's finished buffer (no copy), so b.x.data() may
  /// change between calls; a std::bad_alloc on the worker is rethrown here.
  bool next(Batch &b);

  /// The sample order of the current epoch (a permutation of 0..size-1, or
  /// the sampler's order).
  const std::vector<int64_t> &order() const { return indices; }

private:
  /// Takes a pipeline that create() checked and gave a sampler.
  DataLoader(const Dataset &dataset, DataLoaderOptions options, BatchPipeline pipeline,
             int64_t targetSize);

  /// Assembles batch \p k of the current epoch into \p b. Reads only state
  /// that startEpoch changes while no batch is being assembled, so the
  /// prefetch worker may run it.
  void assemble(int64_t k, Batch &b, std::vector<float> &scratch) const;

  const Dataset &dataset;
  DataLoaderOptions options;
  BatchPipeline pipeline;
  int64_t targetSize = 0;
  std::vector<int64_t> indices;
  std::vector<float> scratch;
  int epoch = 0;
  int64_t nextBatch = 0;
  bool started = false;
  std::unique_ptr<Prefetcher> prefetcher;
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_DATALOADER_H
