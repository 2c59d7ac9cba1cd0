//===- LayoutOpsTest.cpp - layout ops on small hand-computed inputs -------===//
//
// Each DSL layout function traced, run by the reference interpreter and
// compared with values worked out by hand (many are the examples of the
// PyTorch documentation of the same function).
//
//===----------------------------------------------------------------------===//

#include "LayoutTestSupport.h"

#include <cmath>
#include <limits>

using namespace kiln::dsl;
using namespace kiln::layout_test;

namespace {

/// Traces f(x) = outputs(x) for one f64 input of `shape`, runs it on
/// `input` and returns the outputs.
std::vector<Buffer>
run1(const Shape &shape, const Buffer &input,
     const std::function<std::vector<Tensor>(const Tensor &)> &body,
     DType dtype = DType::f64) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input(shape, dtype);
  for (const Tensor &t : body(x))
    f.output(t);
  f.finish();
  differentiate(p);
  return interpret(p, "f", {input});
}

// x = [[0, 1, 2, 3, 4, 5], [6, ...], [12, ...], [18, ..., 23]]
TEST(LayoutOps, SliceNarrowSelect) {
  auto r = run1({4, 6}, iota({4, 6}), [](const Tensor &x) {
    return std::vector<Tensor>{
        slice(x, 1, 1, 6, 2),     // x[:, 1::2]
        slice(x, 0, -2, 100),     // x[-2:]
        narrow(x, -1, 2, 3),      // x[:, 2:5]
        select(x, 0, -1),         // x[-1]
        select(x, 1, 2),          // x[:, 2]
        slice(x, 0, 0, 4, 3)};    // x[0:4:3]
  });
  ASSERT_EQ(r.size(), 6u);
  expectValues(r[0], {4, 3}, {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  expectValues(r[1], {2, 6},
               {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  expectValues(r[2], {4, 3}, {2, 3, 4, 8, 9, 10, 14, 15, 16, 20, 21, 22});
  expectValues(r[3], {6}, {18, 19, 20, 21, 22, 23});
  expectValues(r[4], {4}, {2, 8, 14, 20});
  expectValues(r[5], {2, 6}, {0, 1, 2, 3, 4, 5, 18, 19, 20, 21, 22, 23});
}

TEST(LayoutOps, SplitAndChunk) {
  auto r = run1({2, 5}, iota({2, 5}), [](const Tensor &x) {
    std::vector<Tensor> out = split(x, 2, 1);         // 2, 2, 1
    for (const Tensor &t : split(x, {1, 4}, -1))      // explicit sizes
      out.push_back(t);
    for (const Tensor &t : chunk(x, 3, 1))            // ceil(5/3) = 2
      out.push_back(t);
    return out;
  });
  ASSERT_EQ(r.size(), 8u);
  expectValues(r[0], {2, 2}, {0, 1, 5, 6});
  expectValues(r[1], {2, 2}, {2, 3, 7, 8});
  expectValues(r[2], {2, 1}, {4, 9});
  expectValues(r[3], {2, 1}, {0, 5});
  expectValues(r[4], {2, 4}, {1, 2, 3, 4, 6, 7, 8, 9});
  expectValues(r[5], {2, 2}, {0, 1, 5, 6});
  expectValues(r[7], {2, 1}, {4, 9});
  // torch.chunk(6 elements, 4) gives 3 chunks of 2.
  auto c = run1({6}, iota({6}), [](const Tensor &x) { return chunk(x, 4); });
  ASSERT_EQ(c.size(), 3u);
  expectValues(c[2], {2}, {4, 5});
}

TEST(LayoutOps, CatAndStack) {
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2, 3}, DType::f64);
  Tensor b = f.input({2, 3}, DType::f64);
  Tensor c = f.input({1, 3}, DType::f64);
  f.output(cat({a, c, b}, 0));
  f.output(cat({a, b}, -1));
  f.output(stack({a, b}, 0));
  f.output(stack({a, b}, -1));
  f.finish();
  auto r = interpret(p, "f", {iota({2, 3}), iota({2, 3}, 10), iota({1, 3}, 100)});
  ASSERT_EQ(r.size(), 4u);
  expectValues(r[0], {5, 3},
               {0, 1, 2, 3, 4, 5, 100, 101, 102, 10, 11, 12, 13, 14, 15});
  expectValues(r[1], {2, 6}, {0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15});
  expectValues(r[2], {2, 2, 3}, {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15});
  expectValues(r[3], {2, 3, 2}, {0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15});
}

TEST(LayoutOps, GatherTorchExample) {
  // torch.gather(t, 1, [[0, 0], [1, 0]]) with t = [[1, 2], [3, 4]].
  auto r = run1({2, 2}, Buffer{{2, 2}, {1, 2, 3, 4}}, [](const Tensor &t) {
    Tensor i = tensor({0, 0, 1, 0}, {2, 2});
    Tensor j = tensor({1, 0, 0}, {3, 1}); // dim 0, index larger along dim
    return std::vector<Tensor>{gather(t, 1, i), gather(t, 0, j)};
  });
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {2, 2}, {1, 1, 4, 3});
  expectValues(r[1], {3, 1}, {3, 1, 1});
}

TEST(LayoutOps, ScatterAddTorchExample) {
  // torch.zeros(3, 5).scatter_add(0, [[0, 1, 2, 0, 0]], torch.ones(2, 5)):
  // only the index-shaped corner of src is read.
  auto r = run1({3, 5}, Buffer{{3, 5}, std::vector<double>(15, 0.0)},
                [](const Tensor &x) {
                  Tensor index = tensor({0, 1, 2, 0, 0}, {1, 5});
                  Tensor src = full({2, 5}, 1.0, DType::f64);
                  Tensor twice = tensor({0, 1, 2, 0, 0, 0, 1, 2, 0, 0}, {2, 5});
                  return std::vector<Tensor>{scatter_add(x, 0, index, src),
                                             scatter_add(x, 0, twice, src)};
                });
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {3, 5}, {1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0});
  expectValues(r[1], {3, 5}, {2, 0, 0, 2, 2, 0, 2, 0, 0, 0, 0, 0, 2, 0, 0});
}

TEST(LayoutOps, IndexSelectAndEmbedding) {
  auto r = run1({3, 4}, iota({3, 4}), [](const Tensor &x) {
    return std::vector<Tensor>{
        index_select(x, 0, tensor({2, 0}, {2})),
        index_select(x, 1, tensor({3, 1, 3}, {3})),
        // weight [3, 4] as an embedding table; indices of shape [2, 2].
        embedding(tensor({1, 2, 0, 1}, {2, 2}), x)};
  });
  ASSERT_EQ(r.size(), 3u);
  expectValues(r[0], {2, 4}, {8, 9, 10, 11, 0, 1, 2, 3});
  expectValues(r[1], {3, 3}, {3, 1, 3, 7, 5, 7, 11, 9, 11});
  expectValues(r[2], {2, 2, 4}, {4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5,
                                 6, 7});
}

TEST(LayoutOps, EmbeddingGradientAddsRowsPerIndex) {
  Program p;
  Function f = p.function("f");
  Tensor weight = f.input({4, 2}, DType::f64);
  Tensor indices = tensor({1, 3, 1}, {3});
  Tensor rows = embedding(indices, weight);                    // [3, 2]
  Tensor w = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {3, 2}, DType::f64);
  f.output(grad((rows * w).sum(), {weight})[0]);
  f.finish();
  differentiate(p);
  auto r = interpret(p, "f", {iota({4, 2})});
  ASSERT_EQ(r.size(), 1u);
  // Row 1 is used twice (cotangent rows 0 and 2), row 3 once.
  expectValues(r[0], {4, 2}, {0, 0, 6, 8, 0, 0, 3, 4});
}

TEST(LayoutOps, TopK) {
  Buffer x{{2, 4}, {1, 3, 3, 2, 5, -1, 0, 5}};
  auto r = run1({2, 4}, x, [](const Tensor &t) {
    TopK largest = topk(t, 2);                           // dim -1
    TopK smallest = topk(t, 2, 1, /*largest=*/false);
    TopK column = topk(t, 1, 0);
    return std::vector<Tensor>{largest.values,  largest.indices,
                               smallest.values, smallest.indices,
                               column.values,   column.indices};
  });
  ASSERT_EQ(r.size(), 6u);
  // Ties: the lower index first.
  expectValues(r[0], {2, 2}, {3, 3, 5, 5});
  expectValues(r[1], {2, 2}, {1, 2, 0, 3});
  expectValues(r[2], {2, 2}, {1, 2, -1, 0});
  expectValues(r[3], {2, 2}, {0, 3, 1, 2});
  expectValues(r[4], {1, 4}, {5, 3, 3, 5});
  expectValues(r[5], {1, 4}, {1, 0, 0, 1});
}

TEST(LayoutOps, TopKNaNIsLargest) {
  double nan = std::numeric_limits<double>::quiet_NaN();
  auto r = run1({4}, Buffer{{4}, {1, nan, 3, -2}}, [](const Tensor &t) {
    TopK largest = topk(t, 2);
    TopK smallest = topk(t, 4, 0, /*largest=*/false);
    return std::vector<Tensor>{largest.values, largest.indices,
                               smallest.values, smallest.indices};
  });
  ASSERT_EQ(r.size(), 4u);
  expectValues(r[0], {2}, {nan, 3});
  expectValues(r[1], {2}, {1, 2});
  expectValues(r[2], {4}, {-2, 1, 3, nan});
  expectValues(r[3], {4}, {3, 0, 2, 1});
}

TEST(LayoutOps, TopKGradientReachesTheSelectedElements) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({5}, DType::f64);
  TopK best = topk(x, 2);
  Tensor w = tensor({10.0, 20.0}, {2}, DType::f64);
  f.output(grad((best.values * w).sum(), {x})[0]);
  f.finish();
  differentiate(p);
  auto r = interpret(p, "f", {Buffer{{5}, {0.5, 4, -1, 7, 2}}});
  ASSERT_EQ(r.size(), 1u);
  expectValues(r[0], {5}, {0, 20, 0, 10, 0});
}

TEST(LayoutOps, ExpandRepeatSqueeze) {
  auto r = run1({3, 1}, Buffer{{3, 1}, {1, 2, 3}}, [](const Tensor &x) {
    Tensor row = reshape(x, {3});
    return std::vector<Tensor>{
        expand(x, {2, -1, 2}),   // [2, 3, 2]
        repeat(row, {2, 2}),     // torch: x.repeat(2, 2) -> [2, 6]
        repeat(x, {1, 2}),       // [3, 2]
        unsqueeze(row, 0),       // [1, 3]
        unsqueeze(row, -1),      // [3, 1]
        squeeze(unsqueeze(x, 0)),  // [3]
        squeeze(x, 0),           // size 3: unchanged
        squeeze(x, -1)};         // [3]
  });
  ASSERT_EQ(r.size(), 8u);
  expectValues(r[0], {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  expectValues(r[1], {2, 6}, {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
  expectValues(r[2], {3, 2}, {1, 1, 2, 2, 3, 3});
  expectValues(r[3], {1, 3}, {1, 2, 3});
  expectValues(r[4], {3, 1}, {1, 2, 3});
  expectValues(r[5], {3}, {1, 2, 3});
  expectValues(r[6], {3, 1}, {1, 2, 3});
  expectValues(r[7], {3}, {1, 2, 3});
}

TEST(LayoutOps, IntegerTensorsSliceCatAndExpand) {
  auto r = run1(
      {4}, Buffer{{4}, {7, 8, 9, 10}},
      [](const Tensor &i) {
        return std::vector<Tensor>{slice(i, 0, 1, 3), cat({i, i}, 0),
                                   expand(reshape(i, {1, 4}), {2, 4})};
      },
      DType::i32);
  ASSERT_EQ(r.size(), 3u);
  expectValues(r[0], {2}, {8, 9});
  expectValues(r[1], {8}, {7, 8, 9, 10, 7, 8, 9, 10});
  expectValues(r[2], {2, 4}, {7, 8, 9, 10, 7, 8, 9, 10});
}

TEST(LayoutOps, SliceScatterTorchExample) {
  // torch.slice_scatter(zeros(4, 4), ones(1, 4), start=2) and a strided
  // column window.
  auto r = run1({4, 4}, Buffer{{4, 4}, std::vector<double>(16, 0.0)},
                [](const Tensor &a) {
                  Tensor rows = full({1, 4}, 1.0, DType::f64);
                  Tensor cols = full({4, 2}, 2.0, DType::f64);
                  return std::vector<Tensor>{
                      slice_scatter(a, rows, 0, 2, 3),
                      slice_scatter(a, cols, 1, 0, 4, 2)};
                });
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {4, 4}, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0});
  expectValues(r[1], {4, 4}, {2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0});
}

TEST(LayoutOps, OutOfRangeIndexIsAnInterpreterError) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({2, 3}, DType::f64);
  Tensor index = f.input({2, 1}, DType::i64);
  f.output(gather(x, 1, index));
  f.finish();
  std::string message =
      interpreterError(p, "f", {iota({2, 3}), Buffer{{2, 1}, {0, 3}}});
  EXPECT_NE(message.find("gather index 3 is out of range for dimension 1 of "
                         "size 3"),
            std::string::npos)
      << message;
}

} // namespace
