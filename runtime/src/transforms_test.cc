//===- transforms_test.cc - Tests for per-sample transforms ---------------===//
//
// Exact outputs on tiny known images (normalize numbers, flips, every crop
// window kind), argument checking, reproducibility (decisions pinned to
// values from an independent Python transcription, functions of (seed,
// epoch, index) only), and the DataLoader applying transforms identically
// whatever the batch size or order.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/transforms.h"
#include "loader_test_util.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

using Shape = std::vector<int64_t>;

std::vector<float> applied(const Transform &t, std::vector<float> img, const Shape &shape,
                           SampleContext ctx = {}) {
  std::vector<float> scratch;
  std::string error;
  EXPECT_TRUE(t.check(shape, error)) << error;
  t.apply(img.data(), shape, ctx, scratch);
  return img;
}

/// The ImageDims of a shape that must be an image shape.
ImageDims dims(const Shape &shape) {
  ImageDims d;
  std::string error;
  EXPECT_TRUE(ImageDims::of(shape, d, error)) << error;
  return d;
}

/// The error \p t reports for samples of \p shape ("" if it accepts them).
std::string checkError(const Transform &t, const Shape &shape) {
  std::string error;
  EXPECT_FALSE(t.check(shape, error)) << "accepted";
  return error;
}

TEST(TransformsTest, NormalizePerChannel) {
  Normalize n({1, 2}, {0.5f, 4});
  EXPECT_EQ(applied(n, {1, 2, 3, 4}, {2, 1, 2}), (std::vector<float>{0, 2, 0.25f, 0.5f}));
  // One value for all channels, and a [H, W] image.
  Normalize one({0.5f}, {0.25f});
  EXPECT_EQ(applied(one, {0, 1, 0.5f, 0.75f}, {2, 2}), (std::vector<float>{-2, 2, 0, 1}));
  // The usual ImageNet-style numbers, compared with (x - m) / s in float.
  Normalize rgb({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  auto out = applied(rgb, {0.2f, 0.9f, 0.1f}, {3, 1, 1});
  EXPECT_EQ(out[0], (0.2f - 0.485f) / 0.229f);
  EXPECT_EQ(out[1], (0.9f - 0.456f) / 0.224f);
  EXPECT_EQ(out[2], (0.1f - 0.406f) / 0.225f);
}

TEST(TransformsTest, NormalizeRejectsBadArguments) {
  const Shape image = {1, 2, 2};
  EXPECT_EQ(checkError(Normalize({1, 2}, {1}), image),
            "Normalize: need as many means as stds (and at least one), got 2 and 1");
  EXPECT_EQ(checkError(Normalize({}, {}), image),
            "Normalize: need as many means as stds (and at least one), got 0 and 0");
  EXPECT_EQ(checkError(Normalize({0}, {0}), image),
            "Normalize: std[0] must be finite and > 0, got 0.000000");
  EXPECT_EQ(checkError(Normalize({0}, {-1}), image),
            "Normalize: std[0] must be finite and > 0, got -1.000000");
  Normalize three({0, 0, 0}, {1, 1, 1});
  EXPECT_EQ(checkError(three, {2, 4, 4}),
            "Normalize: 3 channel values for samples of shape [2, 4, 4] (2 channels)");
  EXPECT_EQ(checkError(three, {4}),
            "image transforms need a [C, H, W] or [H, W] sample, got [4]");
  EXPECT_EQ(checkError(three, {1, 2, 3, 4}),
            "image transforms need a [C, H, W] or [H, W] sample, got [1, 2, 3, 4]");
  EXPECT_EQ(checkError(three, {3, 0, 4}), "image transforms need positive extents, got [3, 0, 4]");
  std::string error;
  EXPECT_TRUE(three.check(Shape{3, 4, 4}, error)) << error;
}

TEST(TransformsTest, FlipMirrorsWidth) {
  std::vector<float> hw = {1, 2, 3, 4, 5, 6};
  flipHorizontal(hw.data(), dims(Shape{2, 3}));
  EXPECT_EQ(hw, (std::vector<float>{3, 2, 1, 6, 5, 4}));
  std::vector<float> chw = {1, 2, 3, 4};
  flipHorizontal(chw.data(), dims(Shape{2, 1, 2}));
  EXPECT_EQ(chw, (std::vector<float>{2, 1, 4, 3}));
  // p = 1 always flips, p = 0 never does.
  EXPECT_EQ(applied(RandomHorizontalFlip(3, 1.0), {1, 2, 3}, {1, 3}, {0, 5}),
            (std::vector<float>{3, 2, 1}));
  EXPECT_EQ(applied(RandomHorizontalFlip(3, 0.0), {1, 2, 3}, {1, 3}, {0, 5}),
            (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(checkError(RandomHorizontalFlip(0, 1.5), {1, 3}),
            "RandomHorizontalFlip: p must be in [0, 1], got 1.500000");
}

TEST(TransformsTest, FlipDecisionsArePinned) {
  // From an independent Python transcription of sampleKey (seed 7, p 0.5).
  RandomHorizontalFlip f(7);
  const int e0[16] = {1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1};
  const int e1[16] = {1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0};
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(f.flips({0, i}), e0[i] == 1) << "epoch 0 index " << i;
    EXPECT_EQ(f.flips({1, i}), e1[i] == 1) << "epoch 1 index " << i;
  }
}

TEST(TransformsTest, FlipIsAFunctionOfSeedEpochIndex) {
  RandomHorizontalFlip a(11), b(11), c(12);
  int flips = 0, sameAsOtherSeed = 0, sameAsNextEpoch = 0;
  const int n = 10000;
  // Query in a scrambled order: history must not matter.
  for (int k = 0; k < n; ++k) {
    int i = (k * 7919) % n;
    bool fa = a.flips({3, i});
    EXPECT_EQ(fa, b.flips({3, i}));
    EXPECT_EQ(fa, a.flips({3, i}));
    flips += fa;
    sameAsOtherSeed += fa == c.flips({3, i});
    sameAsNextEpoch += fa == a.flips({4, i});
  }
  EXPECT_NEAR(flips, n / 2, 300) << "p = 0.5 should flip about half";
  EXPECT_NEAR(sameAsOtherSeed, n / 2, 300) << "seeds should be independent";
  EXPECT_NEAR(sameAsNextEpoch, n / 2, 300) << "epochs should be independent";
}

TEST(TransformsTest, PadCropWindows) {
  const std::vector<float> img = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const ImageDims d = dims(Shape{3, 3});
  std::vector<float> scratch;
  auto crop = [&](int64_t pad, int64_t top, int64_t left) {
    std::vector<float> out = img;
    padCrop(out.data(), d, pad, top, left, 0.0f, scratch);
    return out;
  };
  EXPECT_EQ(crop(1, 1, 1), img) << "centre window is the identity";
  EXPECT_EQ(crop(1, 0, 0), (std::vector<float>{0, 0, 0, 0, 1, 2, 0, 4, 5}));
  EXPECT_EQ(crop(1, 2, 2), (std::vector<float>{5, 6, 0, 8, 9, 0, 0, 0, 0}));
  EXPECT_EQ(crop(1, 0, 2), (std::vector<float>{0, 0, 0, 2, 3, 0, 5, 6, 0}));
  EXPECT_EQ(crop(4, 0, 0), std::vector<float>(9, 0.0f)) << "window entirely in the padding";
  EXPECT_EQ(crop(4, 8, 5), (std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(crop(4, 6, 6), (std::vector<float>{9, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(crop(4, 6, 3), (std::vector<float>{0, 7, 8, 0, 0, 0, 0, 0, 0}));
  // Two channels move together; a non-zero fill.
  std::vector<float> two = {1, 2, 3, 4, 10, 20, 30, 40};
  padCrop(two.data(), dims(Shape{2, 2, 2}), 1, 0, 1, -1.0f, scratch);
  EXPECT_EQ(two, (std::vector<float>{-1, -1, 1, 2, -1, -1, 10, 20}));
}

TEST(TransformsTest, RandomCropOffsetsArePinnedAndCoverTheRange) {
  // From the independent Python transcription (seed 7, padding 4).
  RandomCrop c(7, 4);
  const std::pair<int64_t, int64_t> e0[6] = {{8, 5}, {7, 8}, {3, 5}, {4, 5}, {2, 6}, {6, 4}};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(c.offsets({0, i}), e0[i]) << "index " << i;
  EXPECT_EQ(c.offsets({2, 0}), (std::pair<int64_t, int64_t>{7, 4}));
  EXPECT_EQ(c.offsets({2, 2}), (std::pair<int64_t, int64_t>{0, 1}));

  std::set<int64_t> tops, lefts;
  for (int i = 0; i < 2000; ++i) {
    auto [t, l] = c.offsets({1, i});
    ASSERT_GE(t, 0);
    ASSERT_LE(t, 8);
    ASSERT_GE(l, 0);
    ASSERT_LE(l, 8);
    tops.insert(t);
    lefts.insert(l);
  }
  EXPECT_EQ(tops.size(), 9u);
  EXPECT_EQ(lefts.size(), 9u);

  // apply() is padCrop at offsets().
  const std::vector<float> img = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  RandomCrop c1(3, 1);
  for (int i = 0; i < 20; ++i) {
    auto [t, l] = c1.offsets({0, i});
    std::vector<float> expected = img, scratch;
    padCrop(expected.data(), dims(Shape{3, 3}), 1, t, l, 0.0f, scratch);
    EXPECT_EQ(applied(c1, img, {3, 3}, {0, i}), expected);
  }
  EXPECT_EQ(checkError(RandomCrop(0, -1), {3, 3}), "RandomCrop: padding must be >= 0, got -1");
  EXPECT_EQ(applied(RandomCrop(5, 0), img, {3, 3}, {0, 1}), img);
}

TEST(TransformsTest, ComposeAppliesInOrder) {
  auto flip = std::make_shared<RandomHorizontalFlip>(0, 1.0);
  auto norm = std::make_shared<Normalize>(std::vector<float>{1}, std::vector<float>{2});
  Compose c({flip, norm});
  EXPECT_EQ(applied(c, {1, 3, 5}, {1, 3}), (std::vector<float>{2, 1, 0}));
  EXPECT_EQ(checkError(Compose({flip, nullptr}), {1, 3}), "Compose: transform 1 is null");
  EXPECT_EQ(checkError(c, {5}), "image transforms need a [C, H, W] or [H, W] sample, got [5]");
}

/// 12 samples of shape [2, 3, 3], sample i's pixels i*100 + 0..17.
Dataset imageDataset() {
  Dataset d;
  d.size = 12;
  d.sample_shape = {2, 3, 3};
  for (int i = 0; i < 12; ++i) {
    for (int p = 0; p < 18; ++p)
      d.x.push_back(static_cast<float>(i * 100 + p));
    d.y.push_back(i % 4);
  }
  return d;
}

/// Transformed rows by dataset index, for one epoch of \p loader.
std::map<int64_t, std::vector<float>> rowsByIndex(DataLoader &loader, int epoch, size_t elems) {
  std::map<int64_t, std::vector<float>> rows;
  startEpoch(loader, epoch);
  Batch b;
  while (loader.next(b)) {
    for (int64_t r = 0; r < loader.batchSize(); ++r) {
      const float *row = b.x.data() + r * elems;
      if (r < b.valid)
        rows[b.indices[r]].assign(row, row + elems);
      else
        for (size_t e = 0; e < elems; ++e)
          EXPECT_EQ(row[e], 0.0f) << "padding rows must stay zero";
    }
  }
  return rows;
}

TEST(TransformsTest, LoaderResultsDependOnlyOnEpochAndIndex) {
  Dataset d = imageDataset();
  BatchPipeline p;
  p.transform = std::make_shared<Compose>(std::vector<std::shared_ptr<const Transform>>{
      std::make_shared<RandomCrop>(1, 1), std::make_shared<RandomHorizontalFlip>(2),
      std::make_shared<Normalize>(std::vector<float>{10, 20}, std::vector<float>{2, 4})});
  std::unique_ptr<DataLoader> shuffledOwner = makeLoader(d, {4, true, 9, false}, p);
  ASSERT_TRUE(shuffledOwner);
  DataLoader &shuffled = *shuffledOwner;
  std::unique_ptr<DataLoader> sequentialOwner = makeLoader(d, {5, false, 0, false}, p);
  ASSERT_TRUE(sequentialOwner);
  DataLoader &sequential = *sequentialOwner;
  for (int epoch = 0; epoch < 3; ++epoch) {
    auto a = rowsByIndex(shuffled, epoch, 18);
    auto b = rowsByIndex(sequential, epoch, 18);
    ASSERT_EQ(a.size(), 12u);
    EXPECT_EQ(a, b) << "epoch " << epoch;
    // And each equals the transform applied directly to the dataset sample.
    for (int64_t i = 0; i < 12; ++i) {
      std::vector<float> img(d.x.begin() + i * 18, d.x.begin() + (i + 1) * 18);
      EXPECT_EQ(a[i], applied(*p.transform, img, d.sample_shape, {epoch, i}));
    }
  }
  // Random transforms do change something between epochs.
  EXPECT_NE(rowsByIndex(shuffled, 0, 18), rowsByIndex(shuffled, 1, 18));
}

TEST(TransformsTest, LoaderChecksTheShape) {
  Dataset d = imageDataset();
  BatchPipeline p;
  p.transform =
      std::make_shared<Normalize>(std::vector<float>{0, 0, 0}, std::vector<float>{1, 1, 1});
  EXPECT_EQ(loaderError(d, {4, true, 0, true}, p),
            "Normalize: 3 channel values for samples of shape [2, 3, 3] (2 channels)");
}

} // namespace
