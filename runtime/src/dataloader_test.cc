//===- dataloader_test.cc - Tests for DataLoader --------------------------===//
//
// Checks determinism of the shuffle (including against fixed reference
// values, since "identical everywhere" is the point), permutation validity,
// batch counts with and without drop_last, padding, and batch contents.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataloader.h"
#include "loader_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

/// n samples of shape [3]; sample i is {i, i + 0.25, i + 0.5}, label i % 7.
Dataset makeDataset(int64_t n) {
  Dataset d;
  d.size = n;
  d.sample_shape = {3};
  for (int64_t i = 0; i < n; ++i) {
    d.x.insert(d.x.end(), {float(i), float(i) + 0.25f, float(i) + 0.5f});
    d.y.push_back(static_cast<int32_t>(i % 7));
  }
  return d;
}

/// The sample order one epoch produces, read back from the batches' contents.
std::vector<int64_t> epochOrder(const Dataset &d, uint64_t seed, int epoch, int64_t bs = 4) {
  std::unique_ptr<DataLoader> loaderOwner =
      makeLoader(d, {bs, /*shuffle=*/true, seed, /*drop_last=*/false});
  if (!loaderOwner)
    return {};
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, epoch);
  std::vector<int64_t> order;
  Batch b;
  while (loader.next(b))
    for (int64_t r = 0; r < b.valid; ++r)
      order.push_back(static_cast<int64_t>(b.x[r * 3]));
  return order;
}

TEST(SplitMix64Test, MatchesReferenceOutputs) {
  // Reference values of Vigna's splitmix64.c starting from state 0.
  uint64_t state = 0;
  EXPECT_EQ(splitMix64(state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(splitMix64(state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(splitMix64(state), 0x06c45d188009454fULL);
}

TEST(DataLoaderTest, SameSeedSameOrder) {
  Dataset d = makeDataset(100);
  EXPECT_EQ(epochOrder(d, 7, 1), epochOrder(d, 7, 1));
}

TEST(DataLoaderTest, DifferentSeedOrEpochDifferentOrder) {
  Dataset d = makeDataset(100);
  auto base = epochOrder(d, 7, 1);
  EXPECT_NE(base, epochOrder(d, 8, 1));
  EXPECT_NE(base, epochOrder(d, 7, 2));
  std::vector<int64_t> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(base, identity);
}

TEST(DataLoaderTest, OrderIsPinnedAcrossPlatforms) {
  // Golden permutation, computed by an independent Python transcription of
  // the algorithm. If this changes, runs stop being reproducible across
  // kiln versions, so update it only deliberately.
  Dataset d = makeDataset(10);
  std::unique_ptr<DataLoader> loaderOwner = makeLoader(d, {4, true, 42, true});
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, 1);
  std::vector<int64_t> golden = {6, 9, 4, 5, 8, 3, 1, 0, 7, 2};
  EXPECT_EQ(loader.order(), golden);
}

TEST(DataLoaderTest, EachEpochIsAPermutation) {
  Dataset d = makeDataset(1000);
  for (int epoch = 0; epoch < 5; ++epoch) {
    auto order = epochOrder(d, 123, epoch, 64);
    ASSERT_EQ(order.size(), 1000u);
    std::sort(order.begin(), order.end());
    for (int64_t i = 0; i < 1000; ++i)
      ASSERT_EQ(order[i], i) << "epoch " << epoch << " misses or repeats a sample";
  }
}

TEST(DataLoaderTest, EpochDependsOnlyOnSeedAndEpoch) {
  Dataset d = makeDataset(50);
  std::unique_ptr<DataLoader> loaderOwner = makeLoader(d, {5, true, 3, true});
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, 4);
  auto direct = loader.order();
  startEpoch(loader, 0);
  startEpoch(loader, 1);
  startEpoch(loader, 4);
  EXPECT_EQ(loader.order(), direct);
}

TEST(DataLoaderTest, NoShuffleIsIdentity) {
  Dataset d = makeDataset(10);
  std::unique_ptr<DataLoader> loaderOwner =
      makeLoader(d, {4, /*shuffle=*/false, 99, /*drop_last=*/false});
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, 3);
  std::vector<int64_t> identity(10);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(loader.order(), identity);
}

TEST(DataLoaderTest, DropLastCounts) {
  Dataset d = makeDataset(10);
  std::unique_ptr<DataLoader> droppingOwner = makeLoader(d, {4, true, 0, /*drop_last=*/true});
  ASSERT_TRUE(droppingOwner);
  DataLoader &dropping = *droppingOwner;
  std::unique_ptr<DataLoader> keepingOwner = makeLoader(d, {4, true, 0, /*drop_last=*/false});
  ASSERT_TRUE(keepingOwner);
  DataLoader &keeping = *keepingOwner;
  EXPECT_EQ(dropping.numBatches(), 2);
  EXPECT_EQ(keeping.numBatches(), 3);

  Batch b;
  int n = 0;
  startEpoch(dropping, 0);
  while (dropping.next(b)) {
    EXPECT_EQ(b.valid, 4);
    ++n;
  }
  EXPECT_EQ(n, 2);

  std::vector<int64_t> valids;
  startEpoch(keeping, 0);
  while (keeping.next(b))
    valids.push_back(b.valid);
  EXPECT_EQ(valids, (std::vector<int64_t>{4, 4, 2}));

  // Exact multiple: no partial batch either way.
  Dataset d8 = makeDataset(8);
  std::unique_ptr<DataLoader> exact = makeLoader(d8, {4, true, 0, false});
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->numBatches(), 2);
}

TEST(DataLoaderTest, LastBatchIsZeroPaddedToStaticSize) {
  Dataset d = makeDataset(10);
  std::unique_ptr<DataLoader> loaderOwner =
      makeLoader(d, {4, /*shuffle=*/false, 0, /*drop_last=*/false});
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, 0);
  Batch b;
  while (loader.next(b) && b.index < 2) {
  }
  ASSERT_EQ(b.index, 2);
  ASSERT_EQ(b.valid, 2);
  ASSERT_EQ(b.x.size(), 12u);
  ASSERT_EQ(b.y.size(), 4u);
  EXPECT_EQ(b.x[0], 8.0f);
  EXPECT_EQ(b.x[3], 9.0f);
  for (size_t i = 6; i < 12; ++i)
    EXPECT_EQ(b.x[i], 0.0f) << "padding element " << i;
  EXPECT_EQ(b.y[2], 0);
  EXPECT_EQ(b.y[3], 0);
}

TEST(DataLoaderTest, BatchContentsMatchDatasetRows) {
  Dataset d = makeDataset(37);
  std::unique_ptr<DataLoader> loaderOwner = makeLoader(d, {5, true, 11, /*drop_last=*/true});
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, 2);
  Batch b;
  const float *firstBuffer = nullptr;
  while (loader.next(b)) {
    if (!firstBuffer)
      firstBuffer = b.x.data();
    EXPECT_EQ(b.x.data(), firstBuffer) << "batch buffer reallocated";
    for (int64_t r = 0; r < 5; ++r) {
      int64_t src = loader.order()[b.index * 5 + r];
      for (int64_t e = 0; e < 3; ++e)
        ASSERT_EQ(b.x[r * 3 + e], d.x[src * 3 + e]);
      ASSERT_EQ(b.y[r], d.y[src]);
    }
  }
  EXPECT_EQ(b.index, 6);
}

TEST(DataLoaderTest, RejectsBadArguments) {
  Dataset d = makeDataset(4);
  EXPECT_EQ(loaderError(d, {0, true, 0, true}), "DataLoader: batch size must be >= 1, got 0");
  d.y.pop_back();
  EXPECT_EQ(loaderError(d, {2, true, 0, true}),
            "DataLoader: inconsistent dataset (size 4, 12 floats, 3 labels)");
}

} // namespace
