//===- LayoutErrorTest.cpp - shape errors of the layout DSL ---------------===//
//
// Every user error is thrown while tracing, at the user's line, and names
// the shapes (or the bounds) involved.
//
//===----------------------------------------------------------------------===//

#include "LayoutTestSupport.h"

using namespace kiln::dsl;
using namespace kiln::layout_test;

namespace {

struct LayoutErrors : ::testing::Test {
  LayoutErrors() : f(p.function("f")) {
    x = f.input({2, 3});
    y = f.input({3, 4});
    index = f.input({2, 3}, DType::i64);
  }
  Program p;
  Function f;
  Tensor x, y, index;
};

// clang-format off
TEST_F(LayoutErrors, CatNamesBothShapes) {
  EXPECT_DSL_ERROR(cat({x, y}, 1), "concat: shapes [2, 3] and [3, 4] differ outside dimension 1");
  EXPECT_DSL_ERROR(cat({}, 0), "cat: expects at least one tensor");
  EXPECT_DSL_ERROR(cat({x, x}, 2), "cat: dimension 2 is out of range for shape [2, 3] (expected -2 to 1)");
  EXPECT_DSL_ERROR(cat({x, index}, 0), "concat: element types differ ('f32' vs 'i64')");
}

TEST_F(LayoutErrors, StackNamesBothShapes) {
  EXPECT_DSL_ERROR(stack({x, x, y}), "stack: tensor 2 has shape [3, 4] but tensor 0 has shape [2, 3]");
  EXPECT_DSL_ERROR(stack({x}, 3), "stack: dimension 3 is out of range for shape [2, 3] (expected -3 to 2)");
}

TEST_F(LayoutErrors, GatherIndexRankMismatch) {
  Tensor flat = tensor({0, 1}, {2});
  EXPECT_DSL_ERROR(gather(x, 0, flat), "gather: index of shape [2] must have the rank of the input [2, 3] (1 vs 2)");
  EXPECT_DSL_ERROR(gather(x, 0, tensor({0, 1, 0, 1}, {1, 4})), "gather: index shape [1, 4] exceeds input shape [2, 3] in dimension 1 (only dimension 0 may be larger)");
  EXPECT_DSL_ERROR(gather(x, 0, x), "gather: index must be an integer tensor (i32 or i64)");
}

TEST_F(LayoutErrors, ScatterAddShapes) {
  EXPECT_DSL_ERROR(scatter_add(x, 0, index, slice(x, 1, 0, 2)), "scatter_add: index shape [2, 3] does not fit in source shape [2, 2]");
  EXPECT_DSL_ERROR(scatter_add(x, -3, index, x), "scatter_add: dimension -3 is out of range for shape [2, 3]");
}

TEST_F(LayoutErrors, SliceBounds) {
  EXPECT_DSL_ERROR(slice(x, 1, 2, 2), "slice: the slice 2:2:1 of a dimension of size 3 is empty");
  EXPECT_DSL_ERROR(slice(x, 1, 0, 3, 0), "slice: step must be positive, got 0");
  EXPECT_DSL_ERROR(narrow(x, 1, 2, 2), "narrow: start 2 and length 2 do not fit in dimension 1 of [2, 3]");
  EXPECT_DSL_ERROR(select(x, 0, 2), "select: index 2 is out of range for dimension 0 of size 2 in [2, 3]");
  EXPECT_DSL_ERROR(slice_scatter(x, y, 0, 0, 1), "slice_scatter: src has shape [3, 4] but the slice of [2, 3] has shape [1, 3]");
}

TEST_F(LayoutErrors, SplitSizes) {
  EXPECT_DSL_ERROR(split(x, {1, 1}, 1), "split: sizes [1, 1] add up to 2 but dimension 1 of [2, 3] has size 3");
  EXPECT_DSL_ERROR(split(x, 0, 1), "split: split_size must be positive, got 0");
  EXPECT_DSL_ERROR(chunk(x, 0), "chunk: chunks must be positive, got 0");
}

TEST_F(LayoutErrors, TopK) {
  EXPECT_DSL_ERROR(topk(x, 4), "topk: k = 4 is out of range for dimension 1 of size 3 in [2, 3] (expected 1 <= k <= 3)");
  EXPECT_DSL_ERROR(topk(index, 1), "topk: expects a float tensor");
}

TEST_F(LayoutErrors, IndexSelectAndEmbedding) {
  EXPECT_DSL_ERROR(index_select(x, 0, index), "index_select: indices must be a 1-D integer tensor, got shape [2, 3]");
  EXPECT_DSL_ERROR(embedding(index, reshape(x, {6})), "embedding: weight must be a 2-D float tensor [num, dim], got shape [6]");
  EXPECT_DSL_ERROR(embedding(x, y), "embedding: indices must be an integer tensor");
}

TEST_F(LayoutErrors, ExpandRepeatSqueeze) {
  EXPECT_DSL_ERROR(expand(x, {4, 3}), "expand: cannot expand shape [2, 3] to [4, 3]");
  EXPECT_DSL_ERROR(expand(x, {-1, 2, 3}), "expand: -1 is not allowed for the new leading dimension 0 in [-1, 2, 3]");
  EXPECT_DSL_ERROR(expand(x, {3}), "expand: the target shape [3] has fewer dimensions than the tensor's [2, 3]");
  EXPECT_DSL_ERROR(repeat(x, {2}), "repeat: 1 repeats [2] for a tensor of shape [2, 3] (expected at least 2)");
  EXPECT_DSL_ERROR(unsqueeze(x, 3), "unsqueeze: dimension 3 is out of range for shape [2, 3] (expected -3 to 2)");
  EXPECT_DSL_ERROR(squeeze(x, 2), "squeeze: dimension 2 is out of range for shape [2, 3]");
}
// clang-format on

} // namespace
