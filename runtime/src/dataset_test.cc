//===- dataset_test.cc - Tests for Fashion-MNIST loading ------------------===//
//
// Synthetic splits check scaling, layout and the cross-file validation; the
// real dataset, when installed, checks the loader against the actual files.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/dataset.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <filesystem>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

class DatasetTest : public TempDirTest {
protected:
  Dataset ds;
  std::string error;
};

TEST_F(DatasetTest, LoadsAndScalesSyntheticSplit) {
  // Three 2x2 images; pixel values chosen to land on exact floats.
  writeSplit(dir, /*train=*/false, 3, 2, 2, {0, 255, 51, 102, 1, 2, 3, 4, 9, 8, 7, 6},
             {9, 0, 4});
  ASSERT_TRUE(loadFashionMnist(dir, /*train=*/false, ds, error)) << error;
  EXPECT_EQ(ds.size, 3);
  EXPECT_EQ(ds.sample_shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ds.sampleElements(), 4);
  ASSERT_EQ(ds.x.size(), 12u);
  EXPECT_EQ(ds.x[0], 0.0f);
  EXPECT_EQ(ds.x[1], 1.0f);
  EXPECT_FLOAT_EQ(ds.x[2], 0.2f);
  EXPECT_FLOAT_EQ(ds.x[3], 0.4f);
  EXPECT_FLOAT_EQ(ds.x[11], 6.0f / 255.0f);
  EXPECT_EQ(ds.y, (std::vector<int32_t>{9, 0, 4}));
}

TEST_F(DatasetTest, TrainFlagSelectsTrainFiles) {
  writeSplit(dir, /*train=*/true, 2, 1, 1, {10, 20}, {1, 2});
  ASSERT_TRUE(loadFashionMnist(dir, /*train=*/true, ds, error)) << error;
  EXPECT_EQ(ds.size, 2);
  // The test split is absent, and the error must say which file it wanted.
  EXPECT_FALSE(loadFashionMnist(dir, /*train=*/false, ds, error));
  EXPECT_THAT(error, HasSubstr("t10k-images-idx3-ubyte.gz: cannot open"));
}

TEST_F(DatasetTest, FallsBackToUncompressedFiles) {
  writeIdxU8(dir + "/t10k-images-idx3-ubyte", {1, 1, 2}, {0, 255}, /*gz=*/false);
  writeIdxU8(dir + "/t10k-labels-idx1-ubyte", {1}, {3}, /*gz=*/false);
  ASSERT_TRUE(loadFashionMnist(dir, /*train=*/false, ds, error)) << error;
  EXPECT_EQ(ds.x, (std::vector<float>{0.0f, 1.0f}));
  EXPECT_EQ(ds.y, (std::vector<int32_t>{3}));
}

TEST_F(DatasetTest, CountMismatchNamesBothFiles) {
  writeSplit(dir, /*train=*/false, 3, 1, 2, {1, 2, 3, 4, 5, 6}, {0, 1});
  EXPECT_FALSE(loadFashionMnist(dir, /*train=*/false, ds, error));
  EXPECT_THAT(error, HasSubstr("count mismatch"));
  EXPECT_THAT(error, HasSubstr("t10k-images-idx3-ubyte.gz has 3 images"));
  EXPECT_THAT(error, HasSubstr("t10k-labels-idx1-ubyte.gz has 2 labels"));
}

TEST_F(DatasetTest, RejectsWrongRanks) {
  writeIdxU8(dir + "/t10k-images-idx3-ubyte.gz", {2, 2, 2}, std::vector<uint8_t>(8), true);
  writeIdxU8(dir + "/t10k-labels-idx1-ubyte.gz", {2, 1}, {1, 2}, true);
  EXPECT_FALSE(loadFashionMnist(dir, /*train=*/false, ds, error));
  EXPECT_THAT(error, HasSubstr("t10k-labels-idx1-ubyte.gz: expected uint8 labels of rank 1"));

  writeIdxU8(dir + "/t10k-images-idx3-ubyte.gz", {2}, {1, 2}, true);
  writeIdxU8(dir + "/t10k-labels-idx1-ubyte.gz", {2}, {1, 2}, true);
  EXPECT_FALSE(loadFashionMnist(dir, /*train=*/false, ds, error));
  EXPECT_THAT(error, HasSubstr("t10k-images-idx3-ubyte.gz: expected uint8 images"));
}

TEST_F(DatasetTest, PropagatesReaderErrors) {
  writeSplit(dir, /*train=*/false, 2, 1, 1, {1, 2}, {0, 1});
  writeFile(dir + "/t10k-labels-idx1-ubyte.gz", {0, 0, 8, 1, 0, 0, 0, 9, 1});
  EXPECT_FALSE(loadFashionMnist(dir, /*train=*/false, ds, error));
  EXPECT_THAT(error, HasSubstr("t10k-labels-idx1-ubyte.gz: truncated"));
}

TEST(FashionMnistTest, RealTestSet) {
  const std::string dir = KILN_DEFAULT_DATA_DIR;
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found in " << dir;
  Dataset ds;
  std::string error;
  ASSERT_TRUE(loadFashionMnist(dir, /*train=*/false, ds, error)) << error;
  EXPECT_EQ(ds.size, 10000);
  EXPECT_EQ(ds.sample_shape, (std::vector<int64_t>{28, 28}));
  ASSERT_EQ(ds.x.size(), 10000u * 784u);
  ASSERT_EQ(ds.y.size(), 10000u);
  auto [lo, hi] = std::minmax_element(ds.x.begin(), ds.x.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
  // Fashion-MNIST's test split is balanced: 1000 images per class.
  std::vector<int> perClass(10);
  for (int32_t label : ds.y) {
    ASSERT_GE(label, 0);
    ASSERT_LE(label, 9);
    ++perClass[label];
  }
  EXPECT_EQ(perClass, std::vector<int>(10, 1000));
}

} // namespace
