//===- ElementwiseCompiledTest.cpp - compiled elementwise ops vs oracle ---===//
//
// Each op of the elementwise group, its gradients, and DSL composites built
// on them, compiled by the full CPU pipeline (f32, polynomial exp/log/tanh/
// powf) and compared with the float64 reference interpreter: within f32
// rounding plus the polynomials' error, and random_normal bit for bit.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseTestUtil.h"

#include "kiln/dsl/ProgramMLIR.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace kiln::dsl;
using kiln::test::Buffer;
using kiln::test::CompiledModule;

namespace {

/// Uniform f32-representable values in [low, high), rounded to integers if
/// `integers` (to make ties).
Buffer randomF32(std::vector<int64_t> shape, double low, double high,
                 unsigned seed, bool integers = false) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(low, high);
  Buffer b{shape, {}};
  for (int64_t i = 0; i < b.numElements(); ++i) {
    double v = dist(rng);
    b.data.push_back(integers ? std::round(v) : double(float(v)));
  }
  return b;
}

Buffer mask(std::vector<int64_t> shape, unsigned seed) {
  std::mt19937_64 rng(seed);
  Buffer b{shape, {}};
  for (int64_t i = 0; i < b.numElements(); ++i)
    b.data.push_back(rng() & 1 ? 1.0 : 0.0);
  return b;
}

TEST(ElementwiseCompiled, UnaryOps) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%x: tensor<8x33xf32>, %p: tensor<8x33xf32>) -> (tensor<8x33xf32>, tensor<8x33xf32>, tensor<8x33xf32>) {
  %s = kiln.sqrt %p : tensor<8x33xf32>
  %t = kiln.tanh %x : tensor<8x33xf32>
  %a = kiln.abs %x : tensor<8x33xf32>
  return %s, %t, %a : tensor<8x33xf32>, tensor<8x33xf32>, tensor<8x33xf32>
})mlir"));
  for (unsigned seed : {1u, 2u})
    m.check("f", {randomF32({8, 33}, -12.0, 12.0, seed),
                  randomF32({8, 33}, 0.0, 50.0, seed + 10)});
  // Zeros, infinities, NaN.
  double inf = std::numeric_limits<double>::infinity();
  double nan = std::numeric_limits<double>::quiet_NaN();
  Buffer special{{8, 33}, std::vector<double>(264, 0.0)};
  special.data[1] = -0.0;
  special.data[2] = inf;
  special.data[3] = -inf;
  special.data[4] = nan;
  special.data[5] = 1e-30;
  Buffer specialSqrt = special;
  specialSqrt.data[3] = 0.25;
  m.check("f", {special, specialSqrt});
}

// A momentum-SGD-like update (the convnet's fc1 step) on rows that are whole
// vectors at 8 and 16 lanes (48 columns: plain loads and stores after
// kiln-infer-transfer-bounds), on ragged rows (37 columns: a masked last
// vector) and with a broadcast row: every element still matches the
// interpreter.
TEST(ElementwiseCompiled, WholeVectorRowsAndRaggedEnds) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%w: tensor<5x48xf32>, %v: tensor<5x48xf32>, %g: tensor<5x48xf32>, %r: tensor<6x37xf32>, %b: tensor<37xf32>) -> (tensor<5x48xf32>, tensor<5x48xf32>, tensor<6x37xf32>) {
  %mu = kiln.constant dense<0.9> : tensor<f32>
  %lr = kiln.constant dense<0.05> : tensor<f32>
  %m = kiln.mul %mu, %v : tensor<f32>, tensor<5x48xf32> -> tensor<5x48xf32>
  %v2 = kiln.add %m, %g : tensor<5x48xf32>, tensor<5x48xf32> -> tensor<5x48xf32>
  %s = kiln.mul %lr, %v2 : tensor<f32>, tensor<5x48xf32> -> tensor<5x48xf32>
  %w2 = kiln.sub %w, %s : tensor<5x48xf32>, tensor<5x48xf32> -> tensor<5x48xf32>
  %rb = kiln.add %r, %b : tensor<6x37xf32>, tensor<37xf32> -> tensor<6x37xf32>
  %y = kiln.relu %rb : tensor<6x37xf32>
  return %w2, %v2, %y : tensor<5x48xf32>, tensor<5x48xf32>, tensor<6x37xf32>
})mlir"));
  for (unsigned seed : {3u, 4u})
    m.check("f", {randomF32({5, 48}, -2.0, 2.0, seed),
                  randomF32({5, 48}, -1.0, 1.0, seed + 10),
                  randomF32({5, 48}, -1.0, 1.0, seed + 20),
                  randomF32({6, 37}, -3.0, 3.0, seed + 30),
                  randomF32({37}, -1.0, 1.0, seed + 40)});
}

// Elementwise ops over NCHW images (rows of 28 and 5) whose contiguous
// loops kiln-collapse-elementwise-dims merges into rows of whole vectors: a
// broadcast bias + relu fused with a product, and a square. Every element
// matches the interpreter, and, bit for bit, the scalar code (vector width
// 1, loops not merged).
TEST(ElementwiseCompiled, MergedImageRowsMatchScalarCode) {
  const char *ir = R"mlir(
func.func @f(%x: tensor<2x3x28x28xf32>, %g: tensor<2x3x28x28xf32>, %b: tensor<3x1x1xf32>, %p: tensor<2x4x5x5xf32>) -> (tensor<2x3x28x28xf32>, tensor<2x4x5x5xf32>) {
  %xb = kiln.add %x, %b : tensor<2x3x28x28xf32>, tensor<3x1x1xf32> -> tensor<2x3x28x28xf32>
  %r = kiln.relu %xb : tensor<2x3x28x28xf32>
  %y = kiln.mul %r, %g : tensor<2x3x28x28xf32>, tensor<2x3x28x28xf32> -> tensor<2x3x28x28xf32>
  %q = kiln.mul %p, %p : tensor<2x4x5x5xf32>, tensor<2x4x5x5xf32> -> tensor<2x4x5x5xf32>
  return %y, %q : tensor<2x3x28x28xf32>, tensor<2x4x5x5xf32>
})mlir";
  CompiledModule vectorized, scalar;
  kiln::CPUPipelineOptions vectorOptions, scalarOptions;
  vectorOptions.vectorWidth = 8;
  scalarOptions.vectorWidth = 1;
  ASSERT_TRUE(vectorized.build(ir, vectorOptions));
  ASSERT_TRUE(scalar.build(ir, scalarOptions));
  for (unsigned seed : {5u, 6u}) {
    std::vector<Buffer> inputs = {
        randomF32({2, 3, 28, 28}, -2.0, 2.0, seed),
        randomF32({2, 3, 28, 28}, -1.0, 1.0, seed + 10),
        randomF32({3, 1, 1}, -1.0, 1.0, seed + 20),
        randomF32({2, 4, 5, 5}, -3.0, 3.0, seed + 30)};
    std::vector<Buffer> merged = vectorized.check("f", inputs);
    std::vector<Buffer> reference = scalar.runCompiled("f", inputs);
    ASSERT_EQ(merged.size(), reference.size());
    for (size_t output = 0; output < merged.size(); ++output)
      EXPECT_EQ(merged[output].data, reference[output].data) << output;
  }
}

TEST(ElementwiseCompiled, Float64TanhSqrtPow) {
  // f64 is not approximated: tanh has its own exp form (LLVM has no tanh
  // intrinsic), sqrt and pow stay exact operations or libm calls.
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%x: tensor<12xf64>) -> (tensor<12xf64>, tensor<12xf64>, tensor<12xf64>) {
  %t = kiln.tanh %x : tensor<12xf64>
  %a = kiln.abs %x : tensor<12xf64>
  %s = kiln.sqrt %a : tensor<12xf64>
  %p = kiln.pow %a, %x : tensor<12xf64>, tensor<12xf64> -> tensor<12xf64>
  return %t, %s, %p : tensor<12xf64>, tensor<12xf64>, tensor<12xf64>
})mlir"));
  std::vector<double> x = {0.0, -0.0, 1e-12, -3e-9, 5e-5, -0.0999,
                           0.1, 0.3,  -0.7,  2.5,   -20,  400};
  std::vector<Buffer> expected = m.runOracle("f", {Buffer{{12}, x}});
  std::vector<Buffer> actual = m.runCompiled("f", {Buffer{{12}, x}});
  ASSERT_EQ(actual.size(), 3u);
  for (int k = 0; k < 3; ++k)
    for (size_t i = 0; i < x.size(); ++i)
      if (actual[k].data[i] != expected[k].data[i]) // inf == inf
        EXPECT_NEAR(actual[k].data[i], expected[k].data[i],
                    4e-16 * std::abs(expected[k].data[i]) + 1e-300)
            << "output " << k << " x = " << x[i];
  EXPECT_TRUE(std::signbit(actual[0].data[1]));
}

TEST(ElementwiseCompiled, Float32TanhWithoutApproximateMath) {
  // kilnc --no-approx-math: LLVM has no tanh intrinsic, so f32 tanh becomes
  // a call of libm's tanhf, as accurate as the interpreter's tanh rounded
  // to f32 (a few ulp), where the polynomial is ~2e-6 off.
  CompiledModule m;
  kiln::CPUPipelineOptions exact;
  exact.approximateMath = false;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%x: tensor<8x33xf32>) -> tensor<8x33xf32> {
  %t = kiln.tanh %x : tensor<8x33xf32>
  return %t : tensor<8x33xf32>
})mlir",
                      exact));
  for (unsigned seed : {1u, 2u})
    m.check("f", {randomF32({8, 33}, -12.0, 12.0, seed)}, /*rtol=*/5e-7);
}

TEST(ElementwiseCompiled, MaximumMinimumSelect) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%a: tensor<6x17xf32>, %b: tensor<17xf32>, %m: tensor<6x1xf32>) -> (tensor<6x17xf32>, tensor<6x17xf32>, tensor<6x17xf32>) {
  %max = kiln.maximum %a, %b : tensor<6x17xf32>, tensor<17xf32> -> tensor<6x17xf32>
  %min = kiln.minimum %b, %a : tensor<17xf32>, tensor<6x17xf32> -> tensor<6x17xf32>
  %sel = kiln.select %m, %a, %b : tensor<6x1xf32>, tensor<6x17xf32>, tensor<17xf32> -> tensor<6x17xf32>
  return %max, %min, %sel : tensor<6x17xf32>, tensor<6x17xf32>, tensor<6x17xf32>
})mlir"));
  for (unsigned seed : {1u, 2u})
    m.check("f",
            {randomF32({6, 17}, -3.0, 3.0, seed, /*integers=*/true),
             randomF32({17}, -3.0, 3.0, seed + 5, true), mask({6, 1}, seed)});
  // NaN propagates through maximum and minimum (torch.maximum); a NaN mask
  // selects the first value.
  double nan = std::numeric_limits<double>::quiet_NaN();
  Buffer a = randomF32({6, 17}, -1.0, 1.0, 3);
  Buffer b = randomF32({17}, -1.0, 1.0, 4);
  a.data[0] = nan;
  b.data[3] = nan;
  Buffer mk = mask({6, 1}, 5);
  mk.data[0] = nan;
  std::vector<Buffer> out = m.check("f", {a, b, mk});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::isnan(out[0].data[0]));
  EXPECT_TRUE(std::isnan(out[0].data[17 + 3]));
  EXPECT_TRUE(std::isnan(out[1].data[0]));
  EXPECT_TRUE(std::isnan(out[2].data[0]));
  EXPECT_EQ(out[2].data[1], float(a.data[1]));
}

TEST(ElementwiseCompiled, IntegerArithmeticAndCasts) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%a: tensor<2x4xi32>, %b: tensor<4xi32>, %x: tensor<2x4xf32>) -> (tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi64>, tensor<2x4xf32>, tensor<2x4xf64>, tensor<2x4xi32>) {
  %s = kiln.add %a, %b : tensor<2x4xi32>, tensor<4xi32> -> tensor<2x4xi32>
  %p = kiln.mul %s, %b : tensor<2x4xi32>, tensor<4xi32> -> tensor<2x4xi32>
  %d = kiln.sub %p, %a : tensor<2x4xi32>, tensor<2x4xi32> -> tensor<2x4xi32>
  %n = kiln.neg %d : tensor<2x4xi32>
  %abs = kiln.abs %n : tensor<2x4xi32>
  %mx = kiln.maximum %a, %b : tensor<2x4xi32>, tensor<4xi32> -> tensor<2x4xi32>
  %mn = kiln.minimum %a, %b : tensor<2x4xi32>, tensor<4xi32> -> tensor<2x4xi32>
  %lt = kiln.compare "lt", %a, %b : tensor<2x4xi32>, tensor<4xi32> -> tensor<2x4xi32>
  %trunc = kiln.cast %x : tensor<2x4xf32> -> tensor<2x4xi64>
  %af = kiln.cast %a : tensor<2x4xi32> -> tensor<2x4xf32>
  %sum = kiln.add %af, %x : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %wide = kiln.cast %sum : tensor<2x4xf32> -> tensor<2x4xf64>
  %back = kiln.cast %trunc : tensor<2x4xi64> -> tensor<2x4xi32>
  return %abs, %mx, %mn, %lt, %trunc, %sum, %wide, %back : tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi64>, tensor<2x4xf32>, tensor<2x4xf64>, tensor<2x4xi32>
})mlir"));
  // 2147483647 + 1 wraps to -2^31 (and * 1 - a stays wrapped).
  Buffer a{{2, 4}, {2147483647, -3, 7, 0, -5, 4, -2, 9}};
  Buffer b{{4}, {1, 2, -3, 5}};
  Buffer x{{2, 4}, {-2.75, 2.75, 0.5, -0.5, 1e6, -7.0, 3.999, -3.999}};
  std::vector<Buffer> out = m.check("f", {a, b, x});
  ASSERT_EQ(out.size(), 8u);
  // |-(((a + b) * b) - a)| per element, in i32.
  EXPECT_EQ(out[0].data, (std::vector<double>{1, 1, 19, 25, 1, 8, 17, 61}));
  EXPECT_DOUBLE_EQ(out[0].data[0], 1.0) << "(2^31-1 + 1) * 1 - (2^31-1) wraps";
  EXPECT_EQ(out[1].data, (std::vector<double>{2147483647, 2, 7, 5, 1, 4, -2, 9}));
  EXPECT_EQ(out[2].data, (std::vector<double>{1, -3, -3, 0, -5, 2, -3, 5}));
  EXPECT_EQ(out[3].data, (std::vector<double>{0, 1, 0, 1, 1, 0, 0, 0}));
  // Float to integer truncates toward zero.
  EXPECT_EQ(out[4].data, (std::vector<double>{-2, 2, 0, 0, 1e6, -7, 3, -3}));
  EXPECT_EQ(out[7].data, out[4].data);
  EXPECT_FLOAT_EQ(out[5].data[1], -0.25f);
  EXPECT_EQ(out[6].data[4], 1e6 - 5);
}

TEST(ElementwiseCompiled, IntegerReductionsReluAndSelect) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%a: tensor<2x3xi32>, %w: tensor<2x3xi64>) -> (tensor<2xi32>, tensor<3xi32>, tensor<i64>, tensor<2x3xi32>, tensor<2x3xi32>) {
  %rows = kiln.reduce_sum %a axes = [1] : tensor<2x3xi32> -> tensor<2xi32>
  %cols = kiln.reduce_max %a axes = [0] : tensor<2x3xi32> -> tensor<3xi32>
  %all = kiln.reduce_sum %w axes = [0, 1] : tensor<2x3xi64> -> tensor<i64>
  %r = kiln.relu %a : tensor<2x3xi32>
  %zero = kiln.constant dense<0> : tensor<i32>
  %pos = kiln.compare "gt", %a, %zero : tensor<2x3xi32>, tensor<i32> -> tensor<2x3xi32>
  %ten = kiln.constant dense<10> : tensor<i32>
  %sel = kiln.select %pos, %a, %ten : tensor<2x3xi32>, tensor<2x3xi32>, tensor<i32> -> tensor<2x3xi32>
  return %rows, %cols, %all, %r, %sel : tensor<2xi32>, tensor<3xi32>, tensor<i64>, tensor<2x3xi32>, tensor<2x3xi32>
})mlir"));
  // Row 0 sums past 2^31 - 1 and wraps; column maxima are signed.
  Buffer a{{2, 3}, {2147483647, 1, 4, -7, -8, -9}};
  Buffer w{{2, 3}, {4000000000.0, 3, -5, 1, 1, 1}};
  std::vector<Buffer> out = m.check("f", {a, w});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].data, (std::vector<double>{-2147483644.0, -24}));
  EXPECT_EQ(out[1].data, (std::vector<double>{2147483647, 1, 4}));
  EXPECT_EQ(out[2].data, (std::vector<double>{4000000001.0}));
  EXPECT_EQ(out[3].data, (std::vector<double>{2147483647, 1, 4, 0, 0, 0}));
  EXPECT_EQ(out[4].data, (std::vector<double>{2147483647, 1, 4, 10, 10, 10}));
}

TEST(ElementwiseCompiled, CastGradientBetweenFloatTypes) {
  // d/dx sum(f64(x) * w) = f32(w): the cotangent converted back.
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%x: tensor<3xf32>, %w: tensor<3xf64>) -> (tensor<f64>, tensor<3xf32>) {
  %wide = kiln.cast %x : tensor<3xf32> -> tensor<3xf64>
  %p = kiln.mul %wide, %w : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
  %loss = kiln.reduce_sum %p axes = [0] : tensor<3xf64> -> tensor<f64>
  %one = kiln.constant dense<1.0> : tensor<f64>
  %g = kiln.vjp %loss, %one wrt %x : tensor<f64>, tensor<3xf32>
  return %loss, %g : tensor<f64>, tensor<3xf32>
})mlir"));
  std::vector<Buffer> out =
      m.check("f", {Buffer{{3}, {1.5, -2.0, 0.25}}, Buffer{{3}, {0.1, 2.0, -4.0}}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0].data[0], 0.15 - 4.0 - 1.0, 1e-12);
  EXPECT_EQ(out[1].data, (std::vector<double>{double(0.1f), 2.0, -4.0}));
}

TEST(ElementwiseCompiled, Pow) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%x: tensor<5x20xf32>, %y: tensor<5x20xf32>) -> tensor<5x20xf32> {
  %r = kiln.pow %x, %y : tensor<5x20xf32>, tensor<5x20xf32> -> tensor<5x20xf32>
  return %r : tensor<5x20xf32>
}
func.func @g(%x: tensor<5x20xf32>) -> (tensor<5x20xf32>, tensor<5x20xf32>) {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %third = kiln.constant dense<-3.0> : tensor<f32>
  %sq = kiln.pow %x, %two : tensor<5x20xf32>, tensor<f32> -> tensor<5x20xf32>
  %cube = kiln.pow %x, %third : tensor<5x20xf32>, tensor<f32> -> tensor<5x20xf32>
  return %sq, %cube : tensor<5x20xf32>, tensor<5x20xf32>
})mlir"));
  for (unsigned seed : {1u, 2u})
    m.check("f", {randomF32({5, 20}, 0.05, 8.0, seed),
                  randomF32({5, 20}, -4.0, 4.0, seed + 3)});
  // Negative bases with integral exponents (even and odd signs).
  for (unsigned seed : {3u, 4u})
    m.check("f", {randomF32({5, 20}, -3.0, 3.0, seed),
                  randomF32({5, 20}, -5.0, 5.0, seed + 3, true)});
  m.check("g", {randomF32({5, 20}, -3.0, 3.0, 6)});
  // C's special cases: x^0 = 1 (NaN too), 1^y = 1 (NaN too), 0^y, a
  // negative base with a fractional exponent (NaN), infinities.
  double inf = std::numeric_limits<double>::infinity();
  double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<double, double>> special = {
      {nan, 0.0},  {1.0, nan},  {0.0, 2.0},  {0.0, -1.0},  {0.0, 0.0},
      {-2.0, 0.5}, {-2.0, 3.0}, {-2.0, 2.0}, {-2.0, -1.0}, {inf, 2.0},
      {inf, -1.0}, {2.0, inf},  {0.5, inf},  {2.0, -inf},  {-inf, 3.0},
      {nan, 1.0},  {3.0, 1e-8}, {-1.0, 1e9}, {4.0, 0.5},   {10.0, -2.5}};
  Buffer x{{5, 20}, std::vector<double>(100, 2.0)};
  Buffer y{{5, 20}, std::vector<double>(100, 2.0)};
  for (size_t i = 0; i < special.size(); ++i) {
    x.data[i] = special[i].first;
    y.data[i] = special[i].second;
  }
  std::vector<Buffer> out = m.check("f", {x, y});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data[0], 1.0);
  EXPECT_EQ(out[0].data[1], 1.0);
  EXPECT_TRUE(std::isnan(out[0].data[5]));
  EXPECT_EQ(out[0].data[6], -8.0);
}

TEST(ElementwiseCompiled, Gradients) {
  // The backward ops of every rule, compiled: d/d(a, b) of
  // sum(W * (sqrt(|a|) + tanh(a) * max(a, b) - min(a, b)^2 +
  //     where(a > b, a^b, b))).
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%a: tensor<4x9xf32>, %b: tensor<9xf32>, %w: tensor<4x9xf32>) -> (tensor<f32>, tensor<4x9xf32>, tensor<9xf32>) {
  %abs = kiln.abs %a : tensor<4x9xf32>
  %sqrt = kiln.sqrt %abs : tensor<4x9xf32>
  %tanh = kiln.tanh %a : tensor<4x9xf32>
  %max = kiln.maximum %a, %b : tensor<4x9xf32>, tensor<9xf32> -> tensor<4x9xf32>
  %t1 = kiln.mul %tanh, %max : tensor<4x9xf32>, tensor<4x9xf32> -> tensor<4x9xf32>
  %min = kiln.minimum %a, %b : tensor<4x9xf32>, tensor<9xf32> -> tensor<4x9xf32>
  %two = kiln.constant dense<2.0> : tensor<f32>
  %sq = kiln.pow %min, %two : tensor<4x9xf32>, tensor<f32> -> tensor<4x9xf32>
  %gt = kiln.compare "gt", %a, %b : tensor<4x9xf32>, tensor<9xf32> -> tensor<4x9xf32>
  %pw = kiln.pow %abs, %b : tensor<4x9xf32>, tensor<9xf32> -> tensor<4x9xf32>
  %sel = kiln.select %gt, %pw, %b : tensor<4x9xf32>, tensor<4x9xf32>, tensor<9xf32> -> tensor<4x9xf32>
  %s1 = kiln.add %sqrt, %t1 : tensor<4x9xf32>, tensor<4x9xf32> -> tensor<4x9xf32>
  %s2 = kiln.sub %s1, %sq : tensor<4x9xf32>, tensor<4x9xf32> -> tensor<4x9xf32>
  %y = kiln.add %s2, %sel : tensor<4x9xf32>, tensor<4x9xf32> -> tensor<4x9xf32>
  %p = kiln.mul %y, %w : tensor<4x9xf32>, tensor<4x9xf32> -> tensor<4x9xf32>
  %loss = kiln.reduce_sum %p axes = [0, 1] : tensor<4x9xf32> -> tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %g:2 = kiln.vjp %loss, %one wrt %a, %b : tensor<f32>, tensor<4x9xf32>, tensor<9xf32>
  return %loss, %g#0, %g#1 : tensor<f32>, tensor<4x9xf32>, tensor<9xf32>
})mlir"));
  for (unsigned seed : {1u, 2u}) {
    Buffer a = randomF32({4, 9}, 0.3, 2.0, seed);
    for (size_t i = 0; i < a.data.size(); i += 3)
      a.data[i] = -a.data[i];
    m.check("f", {a, randomF32({9}, -1.5, 1.5, seed + 7),
                  randomF32({4, 9}, -1.0, 1.0, seed + 9)});
  }
}

TEST(ElementwiseCompiled, RandomNormalIsBitExact) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%seed: tensor<i64>) -> (tensor<64x33xf32>, tensor<7xf32>, tensor<f32>, tensor<5x3xf64>, tensor<4xf32>) {
  %a = kiln.random_normal %seed stream 0 mean 0.0 std 1.0 : tensor<i64> -> tensor<64x33xf32>
  %b = kiln.random_normal %seed stream 1 mean 2.5 std 0.1 : tensor<i64> -> tensor<7xf32>
  %c = kiln.random_normal %seed stream 12345 mean -1.0 std 3.0 : tensor<i64> -> tensor<f32>
  %d = kiln.random_normal %seed stream 2 mean 0.0 std 1.0 : tensor<i64> -> tensor<5x3xf64>
  %e = kiln.random_normal %seed stream 3 mean 0.5 std 0.0 : tensor<i64> -> tensor<4xf32>
  return %a, %b, %c, %d, %e : tensor<64x33xf32>, tensor<7xf32>, tensor<f32>, tensor<5x3xf64>, tensor<4xf32>
})mlir"));
  for (double seed : {0.0, 42.0, 1099511627783.0, -5.0}) {
    std::vector<Buffer> expected = m.runOracle("f", {Buffer::scalar(seed)});
    std::vector<Buffer> actual = m.runCompiled("f", {Buffer::scalar(seed)});
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
      kiln::test::expectBitEqual(actual[i], expected[i],
                                 "seed " + std::to_string(seed) + " output #" +
                                     std::to_string(i));
    for (double v : actual[4].data)
      EXPECT_EQ(v, 0.5);
    EXPECT_NE(actual[0].data[0], actual[0].data[1]);
  }
}

//===----------------------------------------------------------------------===//
// DSL composites, compiled
//===----------------------------------------------------------------------===//

/// Compiles the module traced by `p`.
bool buildFrom(CompiledModule &m, const Program &p) { return m.build(p.str()); }

TEST(ElementwiseCompiled, SigmoidSoftmaxClampAndLossesWithGradients) {
  Program p;
  {
    Function f = p.function("f");
    Tensor x = f.input({4, 5});
    Tensor t = f.input({4, 5});
    Tensor labels = f.input({4}, DType::i32);
    Tensor s = sigmoid(x);
    Tensor sm = softmax(x, 1);
    Tensor c = clamp(x, -0.5, 0.75);
    Tensor bce = nn::binary_cross_entropy_with_logits(x, t);
    Tensor ce = nn::cross_entropy(x, labels, nn::Reduction::Mean, 0.1);
    Tensor mm = nn::multi_margin_loss(x, labels);
    Tensor loss = bce + ce + mm + (s * c).sum() + nn::l1_loss(sm, t);
    f.output(loss);
    f.output(grad(loss, {x})[0]);
    f.output(s);
    f.finish();
  }
  CompiledModule m;
  ASSERT_TRUE(buildFrom(m, p));
  for (unsigned seed : {1u, 2u}) {
    Buffer x = randomF32({4, 5}, -4.0, 4.0, seed);
    Buffer t = randomF32({4, 5}, 0.0, 1.0, seed + 1);
    Buffer labels{{4}, {0, 3, 4, 1}};
    m.check("f", {x, t, labels});
  }
}

TEST(ElementwiseCompiled, BinaryCrossEntropyWithLogitsAtPlusMinus100) {
  // Finite values and gradients for saturated logits, compiled in f32.
  Program p;
  {
    Function f = p.function("f");
    Tensor x = f.input({6});
    Tensor t = f.input({6});
    Tensor loss =
        nn::binary_cross_entropy_with_logits(x, t, nn::Reduction::Sum);
    f.output(loss);
    f.output(grad(loss, {x})[0]);
    f.output(sigmoid(x));
    f.finish();
  }
  CompiledModule m;
  ASSERT_TRUE(buildFrom(m, p));
  Buffer x{{6}, {100.0, -100.0, 100.0, -100.0, 0.0, 30.0}};
  Buffer t{{6}, {1.0, 0.0, 0.0, 1.0, 1.0, 0.25}};
  std::vector<Buffer> out = m.check("f", {x, t});
  ASSERT_EQ(out.size(), 3u);
  // 0 + 0 + 100 + 100 + log 2 + (30 - 7.5 + log(1 + e^-30)).
  EXPECT_NEAR(out[0].data[0], 200.0 + std::log(2.0) + 22.5, 1e-3);
  // d/dx = sigmoid(x) - t.
  std::vector<double> expected = {0.0, 0.0, 1.0, -1.0, -0.5, 0.75};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_TRUE(std::isfinite(out[1].data[i])) << i;
    EXPECT_NEAR(out[1].data[i], expected[i], 1e-6) << i;
  }
  EXPECT_EQ(out[2].data[0], 1.0);
  // The polynomial exp flushes e^-100 to FLT_MIN, not to 0.
  EXPECT_LT(out[2].data[1], 1.2e-38);
}

struct Tiny : nn::Module {
  nn::Linear fc{4, 3};
  Tiny() { register_module("fc", fc); }
};

/// init and two train steps of a classifier with `optimizer` and `update`,
/// compiled and interpreted; the states must agree after each call.
void checkClassifier(const optim::Optimizer &optimizer,
                     const optim::UpdateOptions &update,
                     bool lossDecreases = true) {
  Tiny model;
  nn::init::kaiming_normal_(model.fc.weight);
  ClassifierOptions options;
  options.batch_size = 2;
  options.input_shape = {4};
  options.num_classes = 3;
  options.optimizer = optimizer;
  options.update = update;
  Program p = build_classifier("tiny", model, options,
                               [&](const Tensor &x) { return model.fc(x); });
  CompiledModule m;
  ASSERT_TRUE(buildFrom(m, p));
  m.check("tiny_init", {Buffer::scalar(3)});
  // Normal init is bit-exact, so both sides start from the same state.
  kiln::test::expectBitEqual(m.readState("fc.weight"),
                             m.oracleState["fc.weight"], "init fc.weight");
  Buffer x{{2, 4}, {1, 2, -1, 0.5, 0, -1, 2, 1}};
  Buffer y{{2}, {2, 0}};
  std::vector<Buffer> first =
      m.check("tiny_train_step", {x, y, Buffer::scalar(0.05)});
  std::vector<Buffer> second =
      m.check("tiny_train_step", {x, y, Buffer::scalar(0.05)});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  if (lossDecreases)
    EXPECT_LT(second[0].data[0], first[0].data[0]);
}

TEST(ElementwiseCompiled, AdamClassifier) {
  checkClassifier(optim::Adam{.lr = 0.05}, {});
}

TEST(ElementwiseCompiled, AdamScalarStateInTheCHeader) {
  // Scalar buffers (the step count, the bias corrections) are ordinary
  // state entries of rank 0 in the generated header.
  Tiny model;
  ClassifierOptions options;
  options.batch_size = 2;
  options.input_shape = {4};
  options.num_classes = 3;
  options.optimizer = optim::Adam{};
  Program p = build_classifier("tiny", model, options,
                               [&](const Tensor &x) { return model.fc(x); });
  CompiledModule m;
  ASSERT_TRUE(buildFrom(m, p));
  std::string header;
  llvm::raw_string_ostream os(header);
  kiln::emitCHeader(m.abi, "TINY_H", os);
  os.flush();
  for (const char *name : {"\"fc.weight.step\"", "\"fc.bias.exp_avg_sq\"",
                           "\"fc.weight.bias_correction2\""})
    EXPECT_NE(header.find(name), std::string::npos) << name << "\n" << header;
  int scalars = 0;
  for (const kiln::AbiStateEntry &e : m.abi.state)
    scalars += e.buffer.shape.empty();
  EXPECT_EQ(scalars, 6);
}

TEST(ElementwiseCompiled, AdamWAmsgradClassifierWithClipping) {
  checkClassifier(
      optim::AdamW{.lr = 0.05, .amsgrad = true},
      {.loss_scale = 256.0, .max_norm = 0.5, .lr_factors = {{"fc.bias", 0.5}}});
}

TEST(ElementwiseCompiled, RMSpropCenteredMomentumClassifierWithValueClip) {
  checkClassifier(optim::RMSprop{.lr = 0.01, .momentum = 0.5, .centered = true},
                  {.clip_value = 0.2}, /*lossDecreases=*/false);
}

} // namespace
