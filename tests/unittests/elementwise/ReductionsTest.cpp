//===- ReductionsTest.cpp - amin, logsumexp, var, norms, argmax, argmin ---===//
//
// The composite reductions of reductions.h traced and interpreted in
// float64: values against hand-computed ones, shapes and dtypes, gradients
// against their closed forms, and trace-time errors.
//
//===----------------------------------------------------------------------===//

#include "DslErrors.h"
#include "ElementwiseTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace kiln::dsl;
using kiln::dsl::test_support::errorOf;
using kiln::dsl::test_support::has;
using kiln::test::Buffer;
using kiln::test::evalTraced;
using kiln::test::expectNear;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const Buffer kX{{2, 3}, {1.0, 2.0, 3.0, 4.0, -1.0, 0.5}};

TEST(DslReductions, AminAndLogsumexp) {
  std::vector<Buffer> r = evalTraced(
      kX,
      [](const Tensor &x) {
        Tensor lse = logsumexp(x, {1});
        return std::vector<Tensor>{amin(x, {1}), amin(x, {-1}, true), lse,
                                   logsumexp(x, {0, 1}, true),
                                   grad(lse.sum(), {x})[0]};
      },
      true);
  ASSERT_EQ(r.size(), 5u);
  expectNear(r[0], {1.0, -1.0}, 0.0);
  EXPECT_EQ(r[1].shape, (std::vector<int64_t>{2, 1}));
  expectNear(r[2], {3.40760596444438, 4.036269565124779}, 1e-14);
  EXPECT_EQ(r[3].shape, (std::vector<int64_t>{1, 1}));
  double all = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) +
                        std::exp(4.0) + std::exp(-1.0) + std::exp(0.5));
  expectNear(r[3], {all}, 1e-14);
  // d logsumexp / dx is the softmax of each row.
  std::vector<double> softmax;
  for (int row = 0; row < 2; ++row)
    for (int col = 0; col < 3; ++col)
      softmax.push_back(std::exp(kX.data[3 * row + col] - r[2].data[row]));
  expectNear(r[4], softmax, 1e-14);
}

TEST(DslReductions, LogsumexpIsStableAtTheExtremes) {
  std::vector<Buffer> r = evalTraced(
      Buffer{{3, 2}, {1000.0, 1000.0, -kInf, -kInf, kInf, 1.0}},
      [](const Tensor &x) { return std::vector<Tensor>{logsumexp(x, {1})}; });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NEAR(r[0].data[0], 1000.0 + std::log(2.0), 1e-12);
  EXPECT_EQ(r[0].data[1], -kInf) << "log(0), as torch";
  EXPECT_EQ(r[0].data[2], kInf);
}

TEST(DslReductions, VarianceAndStandardDeviation) {
  std::vector<Buffer> r = evalTraced(
      kX,
      [](const Tensor &x) {
        Tensor v = var(x, {1});
        return std::vector<Tensor>{v, var(x, {-1}, 0, true), stddev(x, {1}),
                                   var(x, {0, 1}), grad(v.sum(), {x})[0],
                                   var(x.sum(), {})};
      },
      true);
  ASSERT_EQ(r.size(), 6u);
  expectNear(r[0], {1.0, 6.583333333333333}, 1e-14);
  EXPECT_EQ(r[1].shape, (std::vector<int64_t>{2, 1}));
  expectNear(r[1], {2.0 / 3.0, 4.388888888888888}, 1e-14);
  expectNear(r[2], {1.0, std::sqrt(6.583333333333333)}, 1e-14);
  double mean = 9.5 / 6, ss = 0;
  for (double v : kX.data)
    ss += (v - mean) * (v - mean);
  expectNear(r[3], {ss / 5}, 1e-14);
  // d var / dx = 2 (x - mean) / (n - 1), per row.
  double mean1 = 3.5 / 3;
  expectNear(r[4],
             {-1.0, 0.0, 1.0, 4.0 - mean1, -1.0 - mean1, 0.5 - mean1}, 1e-14);
  // One element with Bessel's correction: 0 / 0, as torch.
  EXPECT_TRUE(std::isnan(r[5].data[0]));
}

TEST(DslReductions, VectorNormsAndTheirGradientAtZero) {
  std::vector<Buffer> r = evalTraced(
      Buffer{{2, 3}, {3.0, -4.0, 0.0, 0.0, 0.0, 0.0}},
      [](const Tensor &x) {
        Tensor l2 = vector_norm(x, 2.0, {1});
        Tensor l3 = vector_norm(x, 3.0, {1});
        return std::vector<Tensor>{l2,
                                   vector_norm(x, 1.0, {1}),
                                   vector_norm(x, INFINITY, {1}),
                                   vector_norm(x, -INFINITY, {1}),
                                   vector_norm(x, 0.0, {1}),
                                   l3,
                                   vector_norm(x),
                                   vector_norm(x, 2.0, {-1}, true),
                                   grad(l2.sum(), {x})[0],
                                   grad(l3.sum(), {x})[0]};
      },
      true);
  ASSERT_EQ(r.size(), 10u);
  expectNear(r[0], {5.0, 0.0}, 1e-15);
  expectNear(r[1], {7.0, 0.0}, 0.0);
  expectNear(r[2], {4.0, 0.0}, 0.0);
  expectNear(r[3], {0.0, 0.0}, 0.0);
  expectNear(r[4], {2.0, 0.0}, 0.0);
  expectNear(r[5], {std::cbrt(91.0), 0.0}, 1e-14);
  EXPECT_EQ(r[6].shape, std::vector<int64_t>{});
  expectNear(r[6], {5.0}, 1e-15);
  EXPECT_EQ(r[7].shape, (std::vector<int64_t>{2, 1}));
  // x / ||x||, and 0 (not NaN) for the zero row, as torch.
  expectNear(r[8], {0.6, -0.8, 0.0, 0.0, 0.0, 0.0}, 1e-15);
  // d ||x||_3 / dx = sign(x) |x|^2 / ||x||_3^2.
  double n3 = std::cbrt(91.0);
  expectNear(r[9], {9.0 / (n3 * n3), -16.0 / (n3 * n3), 0.0, 0.0, 0.0, 0.0},
             1e-14);
}

TEST(DslReductions, ArgmaxAndArgmin) {
  std::vector<Buffer> r = evalTraced(
      Buffer{{3, 3}, {1.0, 7.0, 7.0, 4.0, -1.0, 0.5, 2.0, kNaN, 3.0}},
      [](const Tensor &x) {
        Tensor rows = argmax(x, 1);
        EXPECT_EQ(rows.dtype(), DType::i64);
        EXPECT_EQ(argmax(x, 0, true).shape(), (Shape{1, 3}));
        Tensor ints = tensor(std::vector<int>{3, 9, 9, -2}, {4});
        return std::vector<Tensor>{rows, argmin(x, 1), argmax(x), argmin(x),
                                   argmax(ints), argmin(ints),
                                   argmax(x, -2)};
      });
  ASSERT_EQ(r.size(), 7u);
  // Ties: the first maximum; NaN counts as the largest.
  expectNear(r[0], {1, 0, 1}, 0.0);
  expectNear(r[1], {0, 1, 0}, 0.0);
  EXPECT_EQ(r[2].shape, std::vector<int64_t>{});
  expectNear(r[2], {7}, 0.0);
  expectNear(r[3], {4}, 0.0);
  expectNear(r[4], {1}, 0.0);
  expectNear(r[5], {3}, 0.0);
  expectNear(r[6], {1, 2, 0}, 0.0);
}

TEST(DslReductions, ErrorsPointAtTheCall) {
  Program p;
  Function f = p.function("f");
  Tensor ints = f.input({4}, DType::i32);
  int line = __LINE__ + 1;
  std::string e = errorOf([&] { var(ints, {0}); });
  EXPECT_TRUE(has(e, "ReductionsTest.cpp:" + std::to_string(line))) << e;
  EXPECT_TRUE(has(e, "var: expects a float tensor")) << e;
  Tensor x = f.input({2, 3});
  e = errorOf([&] { vector_norm(x, -1.0); });
  EXPECT_TRUE(has(e, "vector_norm: ord must be > 0, 0, inf or -inf")) << e;
  line = __LINE__ + 1;
  e = errorOf([&] { argmax(x, 2); });
  EXPECT_TRUE(has(e, "ReductionsTest.cpp:" + std::to_string(line))) << e;
}

} // namespace
