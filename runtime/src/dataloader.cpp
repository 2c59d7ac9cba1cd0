//===- dataloader.cpp - Static-shape minibatches over a Dataset -----------===//
//
// Implements batch assembly described in dataloader.h: a gather of whole
// sample rows with memcpy, then the optional pipeline stages (transforms,
// targets, sequence collation). The sample order comes from a Sampler
// (sampler.cpp holds the shuffle); the background thread from prefetcher.cpp.
// Both the synchronous and the prefetching path call assemble(), which is why
// they produce identical batches.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataloader.h"

#include "kiln/runtime/transforms.h"
#include "prefetcher.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace kiln::runtime {

namespace {

/// One sequence per sample, none longer than collating accepts: what
/// assemble() relies on.
template <typename T>
bool checkSequences(const std::vector<std::vector<T>> *seqs, int64_t size, const char *what,
                    const SequenceCollateOptions &options, std::string &error) {
  if (!seqs)
    return true;
  if (static_cast<int64_t>(seqs->size()) != size) {
    error = std::string("DataLoader: ") + what + " has " + std::to_string(seqs->size()) +
            " sequences for " + std::to_string(size) + " samples";
    return false;
  }
  for (size_t i = 0; i < seqs->size(); ++i) {
    const int64_t length = static_cast<int64_t>((*seqs)[i].size());
    if (!fitsMaxLength(length, options)) {
      error = tooLongMessage(static_cast<int64_t>(i), length, options);
      return false;
    }
  }
  return true;
}

/// Every index of \p order lies in a dataset of \p size samples.
bool checkOrder(const std::vector<int64_t> &order, int64_t size, std::string &error) {
  for (int64_t i : order)
    if (i < 0 || i >= size) {
      error = "DataLoader: sampler index " + std::to_string(i) + " outside a dataset of " +
              std::to_string(size) + " samples";
      return false;
    }
  return true;
}

} // namespace

std::unique_ptr<DataLoader> DataLoader::create(const Dataset &dataset, DataLoaderOptions options,
                                               std::string &error) {
  return create(dataset, options, BatchPipeline{}, error);
}

std::unique_ptr<DataLoader> DataLoader::create(const Dataset &dataset, DataLoaderOptions options,
                                               BatchPipeline p, std::string &error) {
  if (options.batch_size < 1) {
    error = "DataLoader: batch size must be >= 1, got " + std::to_string(options.batch_size);
    return nullptr;
  }
  // next() trusts these sizes when it copies rows, so check them once here.
  const int64_t elems = dataset.sampleElements();
  if (dataset.size < 0 || elems < 0 ||
      dataset.x.size() != static_cast<size_t>(dataset.size * elems) ||
      dataset.y.size() != static_cast<size_t>(dataset.size)) {
    error = "DataLoader: inconsistent dataset (size " + std::to_string(dataset.size) + ", " +
            std::to_string(dataset.x.size()) + " floats, " + std::to_string(dataset.y.size()) +
            " labels)";
    return nullptr;
  }
  if (!p.sampler) {
    if (options.shuffle)
      p.sampler = std::make_shared<RandomSampler>(dataset.size, options.seed);
    else
      p.sampler = std::make_shared<SequentialSampler>(dataset.size);
  }
  if (!p.sampler->check(error) || (p.transform && !p.transform->check(dataset.sample_shape, error)))
    return nullptr;
  int64_t targetSize = 0;
  if (p.targets) {
    const int64_t n = static_cast<int64_t>(p.targets->size());
    const bool fits = dataset.size == 0 ? n == 0 : n > 0 && n % dataset.size == 0;
    if (!fits) {
      error = "DataLoader: " + std::to_string(n) + " targets are not a positive multiple of " +
              std::to_string(dataset.size) + " samples";
      return nullptr;
    }
    targetSize = dataset.size ? n / dataset.size : 0;
  }
  if (p.sequence_collate.max_length < 0) {
    error = "collateSequences: max_length must be >= 0, got " +
            std::to_string(p.sequence_collate.max_length);
    return nullptr;
  }
  if (!checkSequences(p.int_sequences, dataset.size, "int_sequences", p.sequence_collate,
                      error) ||
      !checkSequences(p.float_sequences, dataset.size, "float_sequences", p.sequence_collate,
                      error))
    return nullptr;
  std::unique_ptr<DataLoader> loader(new DataLoader(dataset, options, std::move(p), targetSize));
  if (!checkOrder(loader->indices, dataset.size, error))
    return nullptr;
  return loader;
}

DataLoader::DataLoader(const Dataset &dataset, DataLoaderOptions options, BatchPipeline pipeline,
                       int64_t targetSize)
    : dataset(dataset), options(options), pipeline(std::move(pipeline)), targetSize(targetSize) {
  this->pipeline.sampler->order(0, indices);
  if (this->pipeline.prefetch)
    prefetcher = std::make_unique<Prefetcher>(
        [this](int64_t k, Batch &b, std::vector<float> &s) { assemble(k, b, s); });
}

DataLoader::~DataLoader() {
  // Join the worker before the state it reads goes away.
  prefetcher.reset();
}

int64_t DataLoader::numBatches() const {
  const int64_t n = pipeline.sampler->size();
  const int64_t b = options.batch_size;
  return options.drop_last ? n / b : (n + b - 1) / b;
}

bool DataLoader::startEpoch(int epoch, std::string &error) {
  if (prefetcher)
    prefetcher->stop();
  nextBatch = 0;
  this->epoch = epoch;
  pipeline.sampler->order(epoch, indices);
  // Leave the loader unstarted rather than serving a bad order.
  started = checkOrder(indices, dataset.size, error);
  if (started && prefetcher)
    prefetcher->start(numBatches());
  return started;
}

bool DataLoader::next(Batch &b) {
  if (!started) {
    // Epoch 0, whose order create() drew and checked (or, after a failed
    // startEpoch, draws again: the samplers' orders are pure functions).
    std::string error;
    if (!startEpoch(0, error))
      return false;
  }
  if (prefetcher)
    return prefetcher->next(b);
  if (nextBatch >= numBatches())
    return false;
  assemble(nextBatch++, b, scratch);
  return true;
}

void DataLoader::assemble(int64_t k, Batch &b, std::vector<float> &scratch) const {
  const size_t bs = static_cast<size_t>(options.batch_size);
  const size_t elems = static_cast<size_t>(dataset.sampleElements());
  const size_t tk = static_cast<size_t>(targetSize);
  if (b.x.size() != bs * elems)
    b.x.resize(bs * elems);
  if (b.y.size() != bs)
    b.y.resize(bs);
  if (b.indices.size() != bs)
    b.indices.resize(bs);
  if (b.targets.size() != bs * tk)
    b.targets.resize(bs * tk);

  const size_t first = static_cast<size_t>(k) * bs;
  const size_t valid = std::min(bs, indices.size() - first);
  for (size_t r = 0; r < valid; ++r) {
    const size_t src = static_cast<size_t>(indices[first + r]);
    if (elems) // sequence-only datasets have empty samples (and null data())
      std::memcpy(b.x.data() + r * elems, dataset.x.data() + src * elems,
                  elems * sizeof(float));
    b.y[r] = dataset.y[src];
    b.indices[r] = static_cast<int64_t>(src);
    if (tk)
      std::memcpy(b.targets.data() + r * tk, pipeline.targets->data() + src * tk,
                  tk * sizeof(float));
  }
  // Pad with zero samples labelled 0: label 0 is a valid class for every
  // model, so padded batches are safe to feed as-is; consumers skip them by
  // looking at `valid`.
  std::fill(b.x.begin() + valid * elems, b.x.end(), 0.0f);
  std::fill(b.y.begin() + valid, b.y.end(), 0);
  std::fill(b.indices.begin() + valid, b.indices.end(), int64_t(-1));
  std::fill(b.targets.begin() + valid * tk, b.targets.end(), 0.0f);

  if (pipeline.transform)
    for (size_t r = 0; r < valid; ++r)
      pipeline.transform->apply(b.x.data() + r * elems, dataset.sample_shape,
                                {epoch, b.indices[r]}, scratch);
  // Collating cannot fail here: create() checked every sequence's length
  // and max_length, startEpoch() the indices, and rows = bs >= valid.
  const std::span<const int64_t> rows(b.indices.data(), valid);
  std::string unused;
  if (pipeline.int_sequences)
    collateSequences(*pipeline.int_sequences, rows, static_cast<int64_t>(bs),
                     pipeline.sequence_collate, b.int_sequences, unused);
  if (pipeline.float_sequences)
    collateSequences(*pipeline.float_sequences, rows, static_cast<int64_t>(bs),
                     pipeline.sequence_collate, b.float_sequences, unused);

  b.valid = static_cast<int64_t>(valid);
  b.index = k;
}

} // namespace kiln::runtime
