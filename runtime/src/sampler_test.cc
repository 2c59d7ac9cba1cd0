//===- sampler_test.cc - Tests for the samplers ---------------------------===//
//
// Determinism (same arguments, same order; epochs independent of history),
// coverage (every epoch a permutation of the sampled set), agreement with the
// DataLoader's historical shuffle, and the DataLoader honouring a sampler
// (order, drop_last, index validation).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/sampler.h"
#include "loader_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

std::vector<int64_t> orderOf(const Sampler &s, int epoch) {
  std::vector<int64_t> out = {99, 98}; // stale contents must not matter
  s.order(epoch, out);
  return out;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

Dataset makeDataset(int64_t n) {
  Dataset d;
  d.size = n;
  d.sample_shape = {1};
  for (int64_t i = 0; i < n; ++i) {
    d.x.push_back(static_cast<float>(i));
    d.y.push_back(static_cast<int32_t>(i % 3));
  }
  return d;
}

TEST(SamplerTest, SequentialIsIdentityEveryEpoch) {
  SequentialSampler s(5);
  EXPECT_EQ(s.size(), 5);
  EXPECT_EQ(orderOf(s, 0), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(orderOf(s, 7), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(orderOf(SequentialSampler(0), 0).empty());
}

TEST(SamplerTest, RandomMatchesPinnedShuffle) {
  // The DataLoader's golden permutation (dataloader_test.cc): the sampler is
  // the same algorithm, so this must never change.
  RandomSampler s(10, 42);
  EXPECT_EQ(orderOf(s, 1), (std::vector<int64_t>{6, 9, 4, 5, 8, 3, 1, 0, 7, 2}));
}

TEST(SamplerTest, RandomIsDeterministicAndCovers) {
  RandomSampler a(257, 5), b(257, 5), c(257, 6);
  std::vector<int64_t> identity(257);
  std::iota(identity.begin(), identity.end(), 0);
  for (int epoch = 0; epoch < 4; ++epoch) {
    auto o = orderOf(a, epoch);
    EXPECT_EQ(o, orderOf(b, epoch)) << "same seed, same epoch";
    EXPECT_EQ(o, orderOf(a, epoch)) << "order must not depend on previous calls";
    EXPECT_NE(o, orderOf(c, epoch)) << "different seed";
    EXPECT_NE(o, orderOf(a, epoch + 1)) << "different epoch";
    EXPECT_NE(o, identity);
    EXPECT_EQ(sorted(o), identity) << "epoch " << epoch << " is not a permutation";
  }
}

TEST(SamplerTest, SubsetKeepsOrderOrShufflesWithinTheSubset) {
  std::vector<int64_t> subset = {9, 3, 3, 7, 0, 12};
  SubsetSampler fixed(subset);
  EXPECT_EQ(fixed.size(), 6);
  EXPECT_EQ(orderOf(fixed, 0), subset);
  EXPECT_EQ(orderOf(fixed, 5), subset);

  SubsetSampler shuffled(subset, /*shuffle=*/true, /*seed=*/1);
  bool anyDifferent = false;
  for (int epoch = 0; epoch < 5; ++epoch) {
    auto o = orderOf(shuffled, epoch);
    EXPECT_EQ(sorted(o), sorted(subset)) << "epoch " << epoch;
    EXPECT_EQ(o, orderOf(SubsetSampler(subset, true, 1), epoch));
    anyDifferent |= o != subset;
  }
  EXPECT_TRUE(anyDifferent);
  std::string error;
  EXPECT_TRUE(shuffled.check(error)) << error;
  EXPECT_FALSE(SubsetSampler({1, -2}).check(error));
  EXPECT_EQ(error, "SubsetSampler: index 1 is negative (-2)");
  EXPECT_FALSE(RandomSampler(-1, 0).check(error));
  EXPECT_EQ(error, "RandomSampler: size must be >= 0, got -1");
  EXPECT_FALSE(SequentialSampler(-3).check(error));
  EXPECT_EQ(error, "SequentialSampler: size must be >= 0, got -3");
  // The DataLoader checks its sampler when it is created.
  BatchPipeline p;
  p.sampler = std::make_shared<SubsetSampler>(std::vector<int64_t>{1, -2});
  EXPECT_EQ(loaderError(makeDataset(4), {1, false, 0, true}, p),
            "SubsetSampler: index 1 is negative (-2)");
}

TEST(SamplerTest, UniformBelowIsInRangeAndCoversIt) {
  uint64_t state = 3;
  std::vector<int> hits(7);
  for (int i = 0; i < 7000; ++i) {
    uint64_t v = uniformBelow(state, 7);
    ASSERT_LT(v, 7u);
    ++hits[v];
  }
  for (int h : hits)
    EXPECT_GT(h, 850) << "grossly non-uniform";
}

TEST(SamplerTest, DataLoaderFollowsTheSampler) {
  Dataset d = makeDataset(20);
  BatchPipeline p;
  p.sampler = std::make_shared<SubsetSampler>(std::vector<int64_t>{4, 8, 15, 16, 19, 2, 0});
  // shuffle = true is overridden by the sampler.
  std::unique_ptr<DataLoader> loaderOwner =
      makeLoader(d, {3, /*shuffle=*/true, 0, /*drop_last=*/false}, p);
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  EXPECT_EQ(loader.numBatches(), 3);
  startEpoch(loader, 2);
  std::vector<int64_t> seen, valid;
  Batch b;
  while (loader.next(b)) {
    valid.push_back(b.valid);
    for (int64_t r = 0; r < 3; ++r) {
      if (r < b.valid) {
        seen.push_back(static_cast<int64_t>(b.x[r]));
        EXPECT_EQ(b.indices[r], static_cast<int64_t>(b.x[r]));
        EXPECT_EQ(b.y[r], d.y[b.indices[r]]);
      } else {
        EXPECT_EQ(b.indices[r], -1);
      }
    }
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{4, 8, 15, 16, 19, 2, 0}));
  EXPECT_EQ(valid, (std::vector<int64_t>{3, 3, 1}));

  std::unique_ptr<DataLoader> droppingOwner = makeLoader(d, {3, false, 0, /*drop_last=*/true}, p);
  ASSERT_TRUE(droppingOwner);
  DataLoader &dropping = *droppingOwner;
  EXPECT_EQ(dropping.numBatches(), 2) << "drop_last applies to the sampler's length";
}

TEST(SamplerTest, RandomSamplerInPipelineEqualsShuffleOption) {
  Dataset d = makeDataset(50);
  BatchPipeline p;
  p.sampler = std::make_shared<RandomSampler>(50, 77);
  std::unique_ptr<DataLoader> viaSamplerOwner = makeLoader(d, {8, false, 0, true}, p);
  ASSERT_TRUE(viaSamplerOwner);
  DataLoader &viaSampler = *viaSamplerOwner;
  std::unique_ptr<DataLoader> viaShuffleOwner = makeLoader(d, {8, true, 77, true});
  ASSERT_TRUE(viaShuffleOwner);
  DataLoader &viaShuffle = *viaShuffleOwner;
  for (int epoch : {0, 3, 1}) {
    startEpoch(viaSampler, epoch);
    startEpoch(viaShuffle, epoch);
    EXPECT_EQ(viaSampler.order(), viaShuffle.order()) << "epoch " << epoch;
  }
}

TEST(SamplerTest, DataLoaderRejectsOutOfRangeIndices) {
  Dataset d = makeDataset(5);
  BatchPipeline p;
  p.sampler = std::make_shared<SubsetSampler>(std::vector<int64_t>{1, 5});
  // Refused when the loader is created (its first epoch's order).
  EXPECT_EQ(loaderError(d, {1, false, 0, true}, p),
            "DataLoader: sampler index 5 outside a dataset of 5 samples");
}

/// A sampler whose later epochs leave the dataset: only startEpoch sees it.
class DriftingSampler : public Sampler {
public:
  bool check(std::string &) const override { return true; }
  int64_t size() const override { return 2; }
  void order(int epoch, std::vector<int64_t> &out) const override { out = {epoch, epoch + 1}; }
};

TEST(SamplerTest, StartEpochRejectsOutOfRangeIndices) {
  Dataset d = makeDataset(5);
  BatchPipeline p;
  p.sampler = std::make_shared<DriftingSampler>();
  std::unique_ptr<DataLoader> loader = makeLoader(d, {1, false, 0, true}, p);
  ASSERT_TRUE(loader);
  std::string error;
  EXPECT_TRUE(loader->startEpoch(3, error)) << error;
  EXPECT_FALSE(loader->startEpoch(4, error));
  EXPECT_EQ(error, "DataLoader: sampler index 5 outside a dataset of 5 samples");
  Batch b;
  // Unstarted again: next() serves epoch 0, never the bad order.
  ASSERT_TRUE(loader->next(b));
  EXPECT_EQ(b.indices[0], 0);
}

} // namespace
