//===- collate_test.cc - Tests for sequence padding -----------------------===//
//
// Exact padded output (values, lengths, pad value) for longest-in-batch and
// fixed lengths, truncation and its refusal, padding rows, buffer reuse, and
// the DataLoader collating attached sequences and float targets.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/collate.h"
#include "kiln/runtime/dataloader.h"
#include "loader_test_util.h"

#include <gtest/gtest.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

TEST(CollateTest, PadsToLongestInBatch) {
  std::vector<std::vector<int32_t>> seqs = {{5, 6, 7}, {8}, {}, {1, 2}};
  SequenceCollateOptions o;
  o.pad_value = -1;
  SequenceBatch<int32_t> b;
  std::string error;
  ASSERT_TRUE(padSequences(seqs, o, b, error)) << error;
  EXPECT_EQ(b.rows, 4);
  EXPECT_EQ(b.max_len, 3);
  EXPECT_EQ(b.pad_value, -1);
  EXPECT_EQ(b.values, (std::vector<int32_t>{5, 6, 7, 8, -1, -1, -1, -1, -1, 1, 2, -1}));
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{3, 1, 0, 2}));
  EXPECT_EQ(b.at(3, 1), 2);
}

TEST(CollateTest, SelectsByIndexAndAddsPaddingRows) {
  std::vector<std::vector<float>> seqs = {{0.5f}, {1, 2, 3, 4}, {9, 9}};
  SequenceBatch<float> b;
  std::vector<int64_t> idx = {2, 0};
  std::string error;
  ASSERT_TRUE(collateSequences(seqs, std::span<const int64_t>(idx), /*rows=*/3,
                               SequenceCollateOptions{}, b, error))
      << error;
  EXPECT_EQ(b.max_len, 2) << "longest of the selected sequences, not of all";
  EXPECT_EQ(b.values, (std::vector<float>{9, 9, 0.5f, 0, 0, 0}));
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{2, 1, 0}));
}

TEST(CollateTest, FixedLengthPadsAndTruncates) {
  std::vector<std::vector<int32_t>> seqs = {{1, 2, 3, 4, 5}, {6}};
  SequenceCollateOptions o;
  o.max_length = 3;
  o.pad_value = 0;
  SequenceBatch<int32_t> b;
  std::string error;
  ASSERT_TRUE(padSequences(seqs, o, b, error)) << error;
  EXPECT_EQ(b.max_len, 3);
  EXPECT_EQ(b.values, (std::vector<int32_t>{1, 2, 3, 6, 0, 0}));
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{3, 1}));

  o.truncate = false;
  EXPECT_FALSE(padSequences(seqs, o, b, error));
  EXPECT_EQ(error, "collateSequences: sequence 0 has length 5, more than max_length 3");
  std::vector<int64_t> bad = {2};
  EXPECT_FALSE(collateSequences(seqs, std::span<const int64_t>(bad), 1, o, b, error));
  EXPECT_EQ(error, "collateSequences: index 2 outside the 2 sequences");
  EXPECT_FALSE(collateSequences(seqs, std::span<const int64_t>(bad), 0, o, b, error));
  EXPECT_EQ(error, "collateSequences: 1 sequences do not fit in 0 rows");
  o.max_length = -1;
  EXPECT_FALSE(padSequences(seqs, o, b, error));
  EXPECT_EQ(error, "collateSequences: max_length must be >= 0, got -1");
}

TEST(CollateTest, ReusesBuffers) {
  std::vector<std::vector<int32_t>> seqs = {{1, 2, 3}, {4}, {5, 6}};
  SequenceCollateOptions o;
  o.max_length = 4;
  SequenceBatch<int32_t> b;
  std::vector<int64_t> idx = {0, 1};
  std::string error;
  ASSERT_TRUE(collateSequences(seqs, std::span<const int64_t>(idx), 2, o, b, error)) << error;
  const int32_t *values = b.values.data();
  const int64_t *lengths = b.lengths.data();
  idx = {2, 0};
  ASSERT_TRUE(collateSequences(seqs, std::span<const int64_t>(idx), 2, o, b, error)) << error;
  EXPECT_EQ(b.values.data(), values);
  EXPECT_EQ(b.lengths.data(), lengths);
  EXPECT_EQ(b.values, (std::vector<int32_t>{5, 6, 0, 0, 1, 2, 3, 0}));
}

TEST(CollateTest, DataLoaderCollatesSequencesAndTargets) {
  // Five samples with no fixed-size features (sample_shape {0}), a token
  // sequence each, two float targets each.
  Dataset d;
  d.size = 5;
  d.sample_shape = {0};
  d.y = {0, 1, 0, 1, 1};
  std::vector<std::vector<int32_t>> tokens = {{1}, {2, 2}, {3, 3, 3}, {4, 4, 4, 4}, {5}};
  std::vector<std::vector<float>> series = {{0.5f}, {}, {1, 2}, {3}, {4, 5, 6}};
  std::vector<float> targets = {0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f};
  BatchPipeline p;
  p.int_sequences = &tokens;
  p.float_sequences = &series;
  p.targets = &targets;
  p.sequence_collate.max_length = 3;
  p.sequence_collate.pad_value = 9;
  std::unique_ptr<DataLoader> loaderOwner =
      makeLoader(d, {2, /*shuffle=*/false, 0, /*drop_last=*/false}, p);
  ASSERT_TRUE(loaderOwner);
  DataLoader &loader = *loaderOwner;
  startEpoch(loader, 0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.int_sequences.values, (std::vector<int32_t>{3, 3, 3, 4, 4, 4}));
  EXPECT_EQ(b.int_sequences.lengths, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(b.float_sequences.values, (std::vector<float>{1, 2, 9, 3, 9, 9}));
  EXPECT_EQ(b.targets, (std::vector<float>{2, 2.5f, 3, 3.5f}));
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.valid, 1);
  EXPECT_EQ(b.int_sequences.rows, 2);
  EXPECT_EQ(b.int_sequences.values, (std::vector<int32_t>{5, 9, 9, 9, 9, 9}));
  EXPECT_EQ(b.int_sequences.lengths, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(b.targets, (std::vector<float>{4, 4.5f, 0, 0}));
  EXPECT_EQ(b.indices, (std::vector<int64_t>{4, -1}));
  EXPECT_FALSE(loader.next(b));

  std::vector<float> badTargets = {1, 2, 3};
  p.targets = &badTargets;
  EXPECT_EQ(loaderError(d, {2, false, 0, false}, p),
            "DataLoader: 3 targets are not a positive multiple of 5 samples");
  p.targets = nullptr;
  // Too long for max_length 3 without truncation: refused before any batch.
  p.sequence_collate.truncate = false;
  EXPECT_EQ(loaderError(d, {2, false, 0, false}, p),
            "collateSequences: sequence 3 has length 4, more than max_length 3");
  p.sequence_collate.truncate = true;
  tokens.pop_back();
  EXPECT_EQ(loaderError(d, {2, false, 0, false}, p),
            "DataLoader: int_sequences has 4 sequences for 5 samples");
}

} // namespace
