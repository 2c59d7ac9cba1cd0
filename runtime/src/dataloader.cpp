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
#include <stdexcept>
#include <string>
#include <utility>

namespace kiln::runtime {

namespace {

template <typename T>
void checkSequences(const std::vector<std::vector<T>> *seqs, int64_t size, const char *what) {
  if (seqs && static_cast<int64_t>(seqs->size()) != size)
    throw std::invalid_argument(std::string("DataLoader: ") + what + " has " +
                                std::to_string(seqs->size()) + " sequences for " +
                                std::to_string(size) + " samples");
}

} // namespace

DataLoader::DataLoader(const Dataset &dataset, DataLoaderOptions options)
    : DataLoader(dataset, options, BatchPipeline{}) {}

DataLoader::DataLoader(const Dataset &dataset, DataLoaderOptions options,
                       BatchPipeline pipeline)
    : dataset(dataset), options(options), pipeline(std::move(pipeline)) {
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

  BatchPipeline &p = this->pipeline;
  if (!p.sampler) {
    if (options.shuffle)
      p.sampler = std::make_shared<RandomSampler>(dataset.size, options.seed);
    else
      p.sampler = std::make_shared<SequentialSampler>(dataset.size);
  }
  if (p.transform)
    p.transform->check(dataset.sample_shape);
  if (p.targets) {
    const int64_t n = static_cast<int64_t>(p.targets->size());
    const bool fits = dataset.size == 0 ? n == 0 : n > 0 && n % dataset.size == 0;
    if (!fits)
      throw std::invalid_argument("DataLoader: " + std::to_string(n) +
                                  " targets are not a positive multiple of " +
                                  std::to_string(dataset.size) + " samples");
    targetSize = dataset.size ? n / dataset.size : 0;
  }
  checkSequences(p.int_sequences, dataset.size, "int_sequences");
  checkSequences(p.float_sequences, dataset.size, "float_sequences");

  p.sampler->order(0, indices);
  if (p.prefetch)
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

void DataLoader::startEpoch(int epoch) {
  if (prefetcher)
    prefetcher->stop();
  nextBatch = 0;
  started = true;
  this->epoch = epoch;
  pipeline.sampler->order(epoch, indices);
  for (int64_t i : indices)
    if (i < 0 || i >= dataset.size) {
      // Leave the loader unstarted rather than serving a bad order.
      started = false;
      throw std::out_of_range("DataLoader: sampler index " + std::to_string(i) +
                              " outside a dataset of " + std::to_string(dataset.size) +
                              " samples");
    }
  if (prefetcher)
    prefetcher->start(numBatches());
}

bool DataLoader::next(Batch &b) {
  if (!started)
    startEpoch(0);
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
  const std::span<const int64_t> rows(b.indices.data(), valid);
  if (pipeline.int_sequences)
    collateSequences(*pipeline.int_sequences, rows, static_cast<int64_t>(bs),
                     pipeline.sequence_collate, b.int_sequences);
  if (pipeline.float_sequences)
    collateSequences(*pipeline.float_sequences, rows, static_cast<int64_t>(bs),
                     pipeline.sequence_collate, b.float_sequences);

  b.valid = static_cast<int64_t>(valid);
  b.index = k;
}

} // namespace kiln::runtime
