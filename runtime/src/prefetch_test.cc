//===- prefetch_test.cc - Tests for the prefetching DataLoader ------------===//
//
// The prefetching loader must be indistinguishable from the synchronous one:
// identical batches (every field) across epochs, with every pipeline feature
// on; it must work one batch ahead (no more), survive abandoned epochs and
// destruction at any point, rethrow worker errors in order, and allocate
// nothing per batch once both buffers are warm. Allocation counting replaces
// the global operator new for this test binary; it counts only while enabled.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/transforms.h"
#include "loader_test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <thread>

// GCC flags free() on memory from operator new, which is what a replacement
// pair is; the pair is consistent, so silence it here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<bool> gCountAllocations{false};
std::atomic<int64_t> gAllocations{0};
} // namespace

void *operator new(std::size_t n) {
  if (gCountAllocations.load(std::memory_order_relaxed))
    gAllocations.fetch_add(1, std::memory_order_relaxed);
  if (void *p = std::malloc(n ? n : 1))
    return p;
  throw std::bad_alloc();
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

/// n samples of shape [1, 4, 4]; sample i's pixels are i + 0.01 * p.
Dataset makeImages(int64_t n) {
  Dataset d;
  d.size = n;
  d.sample_shape = {1, 4, 4};
  for (int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < 16; ++p)
      d.x.push_back(static_cast<float>(i) + 0.01f * p);
    d.y.push_back(static_cast<int32_t>(i % 5));
  }
  return d;
}

/// Everything a pipeline can attach, for a dataset of n samples.
struct Extras {
  std::vector<float> targets;
  std::vector<std::vector<int32_t>> tokens;
  explicit Extras(int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      targets.insert(targets.end(), {float(i), -float(i)});
      tokens.push_back(std::vector<int32_t>(static_cast<size_t>(i % 5), int32_t(i)));
    }
  }
  BatchPipeline pipeline(bool prefetch) const {
    BatchPipeline p;
    p.transform = std::make_shared<Compose>(std::vector<std::shared_ptr<const Transform>>{
        std::make_shared<RandomCrop>(3, 1), std::make_shared<RandomHorizontalFlip>(4),
        std::make_shared<Normalize>(std::vector<float>{0.5f}, std::vector<float>{2})});
    p.targets = &targets;
    p.int_sequences = &tokens;
    p.sequence_collate.max_length = 4;
    p.sequence_collate.pad_value = -1;
    p.prefetch = prefetch;
    return p;
  }
};

void expectSameBatch(const Batch &a, const Batch &b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_EQ(a.targets, b.targets);
  EXPECT_EQ(a.int_sequences.values, b.int_sequences.values);
  EXPECT_EQ(a.int_sequences.lengths, b.int_sequences.lengths);
  EXPECT_EQ(a.int_sequences.max_len, b.int_sequences.max_len);
}

/// Runs both loaders through \p epochs and compares every batch.
void expectSameEpochs(DataLoader &sync, DataLoader &async, std::initializer_list<int> epochs) {
  for (int epoch : epochs) {
    SCOPED_TRACE("epoch " + std::to_string(epoch));
    startEpoch(sync, epoch);
    startEpoch(async, epoch);
    EXPECT_EQ(sync.order(), async.order());
    Batch a, b;
    int64_t n = 0;
    for (;;) {
      bool more = sync.next(a);
      ASSERT_EQ(more, async.next(b)) << "batch counts differ at batch " << n;
      if (!more)
        break;
      SCOPED_TRACE("batch " + std::to_string(n));
      expectSameBatch(a, b);
      ++n;
    }
    EXPECT_EQ(n, sync.numBatches());
    EXPECT_FALSE(async.next(b)) << "stays exhausted";
  }
}

TEST(PrefetchTest, SameBatchesAsSynchronousAcrossThreeEpochs) {
  Dataset d = makeImages(37);
  Extras ex(37);
  std::unique_ptr<DataLoader> syncOwner =
      makeLoader(d, {5, true, 21, /*drop_last=*/false}, ex.pipeline(false));
  ASSERT_TRUE(syncOwner);
  DataLoader &sync = *syncOwner;
  std::unique_ptr<DataLoader> asyncOwner =
      makeLoader(d, {5, true, 21, /*drop_last=*/false}, ex.pipeline(true));
  ASSERT_TRUE(asyncOwner);
  DataLoader &async = *asyncOwner;
  expectSameEpochs(sync, async, {0, 1, 2});
}

TEST(PrefetchTest, SameBatchesWithSamplerAndDropLast) {
  Dataset d = makeImages(30);
  Extras ex(30);
  BatchPipeline ps = ex.pipeline(false), pa = ex.pipeline(true);
  ps.sampler = pa.sampler = std::make_shared<SubsetSampler>(
      std::vector<int64_t>{29, 1, 2, 3, 5, 8, 13, 21, 0, 7, 7}, /*shuffle=*/true, 3);
  std::unique_ptr<DataLoader> syncOwner = makeLoader(d, {3, false, 0, /*drop_last=*/true}, ps);
  ASSERT_TRUE(syncOwner);
  DataLoader &sync = *syncOwner;
  std::unique_ptr<DataLoader> asyncOwner = makeLoader(d, {3, false, 0, /*drop_last=*/true}, pa);
  ASSERT_TRUE(asyncOwner);
  DataLoader &async = *asyncOwner;
  EXPECT_EQ(async.numBatches(), 3);
  expectSameEpochs(sync, async, {1, 2, 3});
  // The plain options path prefetches too.
  BatchPipeline bare;
  bare.prefetch = true;
  std::unique_ptr<DataLoader> plainSyncOwner = makeLoader(d, {4, true, 8, false});
  ASSERT_TRUE(plainSyncOwner);
  DataLoader &plainSync = *plainSyncOwner;
  std::unique_ptr<DataLoader> plainAsyncOwner = makeLoader(d, {4, true, 8, false}, bare);
  ASSERT_TRUE(plainAsyncOwner);
  DataLoader &plainAsync = *plainAsyncOwner;
  expectSameEpochs(plainSync, plainAsync, {0, 1, 2});
}

TEST(PrefetchTest, AbandonedEpochsRestartCleanly) {
  Dataset d = makeImages(40);
  Extras ex(40);
  std::unique_ptr<DataLoader> syncOwner = makeLoader(d, {3, true, 2, false}, ex.pipeline(false));
  ASSERT_TRUE(syncOwner);
  DataLoader &sync = *syncOwner;
  std::unique_ptr<DataLoader> asyncOwner = makeLoader(d, {3, true, 2, false}, ex.pipeline(true));
  ASSERT_TRUE(asyncOwner);
  DataLoader &async = *asyncOwner;
  Batch b;
  startEpoch(async, 0);
  ASSERT_TRUE(async.next(b));
  ASSERT_TRUE(async.next(b));
  for (int i = 0; i < 20; ++i) // rapid restarts while the worker is busy
    startEpoch(async, i % 3);
  expectSameEpochs(sync, async, {1});
  // next() without startEpoch starts epoch 0, as the synchronous loader does.
  std::unique_ptr<DataLoader> freshOwner = makeLoader(d, {3, true, 2, false}, ex.pipeline(true));
  ASSERT_TRUE(freshOwner);
  DataLoader &fresh = *freshOwner;
  Batch a;
  startEpoch(sync, 0);
  ASSERT_TRUE(sync.next(a));
  ASSERT_TRUE(fresh.next(b));
  expectSameBatch(a, b);
}

TEST(PrefetchTest, DestroysCleanlyAtAnyPoint) {
  Dataset d = makeImages(50);
  Extras ex(50);
  for (int consumed = 0; consumed < 4; ++consumed) {
    std::unique_ptr<DataLoader> loaderOwner = makeLoader(d, {4, true, 1, true}, ex.pipeline(true));
    ASSERT_TRUE(loaderOwner);
    DataLoader &loader = *loaderOwner;
    if (consumed > 0)
      startEpoch(loader, 0);
    Batch b;
    for (int i = 1; i < consumed; ++i)
      ASSERT_TRUE(loader.next(b));
  } // destructor joins the worker, possibly mid-batch
  SUCCEED();
}

TEST(PrefetchTest, TooLongSequenceIsRefusedBeforeAnyBatch) {
  Dataset d = makeImages(10);
  Extras ex(10);
  ex.tokens[7].assign(9, 1); // too long, and truncation is off
  for (bool prefetch : {false, true}) {
    SCOPED_TRACE(prefetch ? "prefetch" : "sync");
    BatchPipeline p = ex.pipeline(prefetch);
    p.sequence_collate.truncate = false;
    EXPECT_EQ(loaderError(d, {3, false, 0, false}, p),
              "collateSequences: sequence 7 has length 9, more than max_length 4");
  }
}

/// Runs out of memory (the one exception the runtime lets through) on
/// sample 7.
class OutOfMemoryTransform : public Transform {
public:
  bool check(std::span<const int64_t>, std::string &) const override { return true; }
  void apply(float *, std::span<const int64_t>, const SampleContext &ctx,
             std::vector<float> &) const override {
    if (ctx.index == 7)
      throw std::bad_alloc();
  }
};

TEST(PrefetchTest, WorkerOutOfMemoryIsRethrownInOrder) {
  Dataset d = makeImages(10);
  for (bool prefetch : {false, true}) {
    SCOPED_TRACE(prefetch ? "prefetch" : "sync");
    BatchPipeline p;
    p.transform = std::make_shared<OutOfMemoryTransform>();
    p.prefetch = prefetch;
    std::unique_ptr<DataLoader> loaderOwner = makeLoader(d, {3, false, 0, false}, p);
    ASSERT_TRUE(loaderOwner);
    DataLoader &loader = *loaderOwner;
    for (int round = 0; round < 2; ++round) {
      startEpoch(loader, round);
      Batch b;
      ASSERT_TRUE(loader.next(b));
      ASSERT_TRUE(loader.next(b));
      EXPECT_EQ(b.index, 1);
      EXPECT_THROW(loader.next(b), std::bad_alloc) << "batch 2 holds sample 7";
    }
  }
}

/// Counts apply() calls; lets a test see how far ahead the worker is.
class CountingTransform : public Transform {
public:
  mutable std::atomic<int> calls{0};
  bool check(std::span<const int64_t>, std::string &) const override { return true; }
  void apply(float *, std::span<const int64_t>, const SampleContext &,
             std::vector<float> &) const override {
    calls.fetch_add(1);
  }
};

TEST(PrefetchTest, WorksExactlyOneBatchAhead) {
  Dataset d = makeImages(8);
  auto counter = std::make_shared<CountingTransform>();
  BatchPipeline p;
  p.transform = counter;
  p.prefetch = true;
  std::unique_ptr<DataLoader> loaderOwner = makeLoader(d, {2, false, 0, true}, p);
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, 0);
  Batch b;
  ASSERT_TRUE(loader.next(b)); // holding batch 0
  // The worker prepares batch 1 (2 more samples) without being asked...
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (counter->calls.load() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(counter->calls.load(), 4) << "batch 1 was not prepared in the background";
  // ...and then waits: double buffering, not a deep queue.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(counter->calls.load(), 4) << "worker ran more than one batch ahead";
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.index, 1);
}

TEST(PrefetchTest, NoAllocationPerBatchAfterWarmup) {
  Dataset d = makeImages(64);
  Extras ex(64);
  for (bool prefetch : {false, true}) {
    SCOPED_TRACE(prefetch ? "prefetch" : "sync");
    std::unique_ptr<DataLoader> loaderOwner =
        makeLoader(d, {6, true, 5, /*drop_last=*/false}, ex.pipeline(prefetch));
    ASSERT_TRUE(loaderOwner);
    DataLoader &loader = *loaderOwner;
    Batch b;
    startEpoch(loader, 0); // warm-up: both buffers and the scratch get sized
    while (loader.next(b)) {
    }
    int64_t batches = 0;
    gAllocations = 0;
    gCountAllocations = true;
    for (int epoch = 1; epoch <= 2; ++epoch) {
      startEpoch(loader, epoch);
      while (loader.next(b))
        ++batches;
    }
    gCountAllocations = false;
    EXPECT_EQ(batches, 2 * loader.numBatches());
    EXPECT_EQ(gAllocations.load(), 0) << "allocations during " << batches << " batches";
  }
}

} // namespace
