//===- ApproximateMathTest.cpp - ulp error of compiled exp/log/tanh/pow ---===//
//
// kiln.exp, kiln.log, kiln.tanh and kiln.pow on f32, compiled by the full
// CPU pipeline (kiln-approximate-math, vectorized), against the float64
// libm value over the whole float range: every 1024th bit pattern of both
// signs (all exponents, subnormals included) plus the special values, and
// for pow a grid of bases and exponents (integers, halves, huge, tiny,
// infinities). The error is measured in ulps of the exact result; each
// test prints its maximum and asserts the bound stated in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

using kiln::test::Buffer;
using kiln::test::CompiledModule;

namespace {

float fromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// Bit patterns k * 2^10 for k < 2^22 (both signs, every exponent), with the
/// special values in the first few slots.
Buffer sweepAllFloats() {
  constexpr uint32_t kCount = 1u << 22;
  Buffer b{{kCount}, {}};
  b.data.reserve(kCount);
  for (uint32_t k = 0; k < kCount; ++k)
    b.data.push_back(fromBits(k << 10));
  const float specials[] = {0.0f,     -0.0f,     kInf,       -kInf,
                            kNaN,     1.0f,      -1.0f,      0x1p-149f,
                            0x1p-126f, 0x1.fffffcp-127f, 88.72283f,
                            88.72284f, -87.33654f, -103.97208f, -103.97209f,
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(), 0.625f,
                            9.01f, 0.70710677f};
  for (size_t i = 0; i < std::size(specials); ++i)
    b.data[i] = specials[i];
  return b;
}

/// The spacing of floats at |exact| (2^-149 among subnormals, 2^104 beyond
/// the largest float).
double ulpAt(double exact) {
  double magnitude = std::abs(exact);
  int exponent = magnitude == 0.0 ? -126 : std::ilogb(magnitude);
  exponent = std::max(exponent, -126);
  exponent = std::min(exponent, 127);
  return std::ldexp(1.0, exponent - 23);
}

/// The largest error of `actual` against `exact` (float64), in ulps;
/// infinite for a NaN, infinity or zero sign that C would not give.
struct UlpError {
  double max = 0.0;
  double atInput = 0.0, atInput2 = 0.0, actual = 0.0, exact = 0.0;

  void add(double actualValue, double exactValue, double x, double y = 0) {
    double error;
    auto rounded = static_cast<double>(static_cast<float>(exactValue));
    if (std::isnan(exactValue) || std::isnan(actualValue))
      error = std::isnan(exactValue) && std::isnan(actualValue) ? 0.0 : INFINITY;
    else if (actualValue == rounded &&
             std::signbit(actualValue) == std::signbit(rounded))
      error = 0.0; // correctly rounded (overflow to inf included)
    else if (actualValue == exactValue && std::isinf(exactValue))
      error = 0.0;
    else if (std::isinf(exactValue))
      error = INFINITY;
    else if (std::isinf(actualValue)) // as 2^128, the first float beyond
      error = std::abs(std::copysign(0x1p128, actualValue) - exactValue) /
              ulpAt(exactValue);
    else if (exactValue == 0.0)
      error = actualValue == 0.0 &&
                      std::signbit(actualValue) == std::signbit(exactValue)
                  ? 0.0
                  : INFINITY;
    else
      error = std::abs(actualValue - exactValue) / ulpAt(exactValue);
    if (error > max || (std::isnan(error) && !std::isnan(max))) {
      max = error;
      atInput = x;
      atInput2 = y;
      actual = actualValue;
      exact = exactValue;
    }
  }

  std::string describe(const char *name) const {
    std::ostringstream os;
    os.precision(9);
    os << name << ": max error " << max << " ulp at x = " << atInput;
    if (atInput2 != 0.0)
      os << ", y = " << atInput2;
    os << " (" << actual << " compiled, " << exact << " exact)";
    return os.str();
  }
};

class ApproximateMath : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    unary = new CompiledModule;
    ASSERT_TRUE(unary->build(R"mlir(
func.func @exp(%x: tensor<4194304xf32>) -> tensor<4194304xf32> {
  %r = kiln.exp %x : tensor<4194304xf32>
  return %r : tensor<4194304xf32>
}
func.func @log(%x: tensor<4194304xf32>) -> tensor<4194304xf32> {
  %r = kiln.log %x : tensor<4194304xf32>
  return %r : tensor<4194304xf32>
}
func.func @tanh(%x: tensor<4194304xf32>) -> tensor<4194304xf32> {
  %r = kiln.tanh %x : tensor<4194304xf32>
  return %r : tensor<4194304xf32>
})mlir"));
    inputs = new Buffer(sweepAllFloats());
  }
  static void TearDownTestSuite() {
    delete unary;
    delete inputs;
  }

  /// Max ulp error of compiled @name against `exact` over the sweep.
  static UlpError measure(const std::string &name, double (*exact)(double)) {
    std::vector<Buffer> out = unary->runCompiled(name, {*inputs});
    UlpError error;
    EXPECT_EQ(out.size(), 1u);
    if (out.size() != 1u)
      return error;
    for (size_t i = 0; i < inputs->data.size(); ++i)
      error.add(out[0].data[i], exact(inputs->data[i]), inputs->data[i]);
    return error;
  }

  static CompiledModule *unary;
  static Buffer *inputs;
};
CompiledModule *ApproximateMath::unary = nullptr;
Buffer *ApproximateMath::inputs = nullptr;

TEST_F(ApproximateMath, ExpWithinOneUlp) {
  UlpError error = measure("exp", [](double x) { return std::exp(x); });
  std::cout << error.describe("exp") << "\n";
  RecordProperty("max_ulp", std::to_string(error.max));
  EXPECT_LE(error.max, 1.0) << error.describe("exp");
}

TEST_F(ApproximateMath, LogWithinOneUlp) {
  UlpError error = measure("log", [](double x) { return std::log(x); });
  std::cout << error.describe("log") << "\n";
  RecordProperty("max_ulp", std::to_string(error.max));
  EXPECT_LE(error.max, 1.0) << error.describe("log");
}

TEST_F(ApproximateMath, TanhWithinTwoUlps) {
  UlpError error = measure("tanh", [](double x) { return std::tanh(x); });
  std::cout << error.describe("tanh") << "\n";
  RecordProperty("max_ulp", std::to_string(error.max));
  EXPECT_LE(error.max, 2.0) << error.describe("tanh");
}

/// Appends random floats of either sign with exponents in [low, high] until
/// `values` holds `count`.
void fillRandom(std::vector<float> &values, size_t count, int low, int high,
                unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(low, high);
  while (values.size() < count)
    values.push_back(std::ldexp(mantissa(rng), exponent(rng)) *
                     (rng() & 1 ? -1.0f : 1.0f));
}

/// Bases of every exponent and sign, with the small integers and halves
/// whose integral powers are floats; exponents: integers, halves, thirds,
/// tiny, huge, odd and even beyond 2^24, infinities, NaN.
std::vector<float> powBases() {
  std::vector<float> bases;
  for (uint32_t k = 0; k < 1024; ++k) // bit patterns k 2^22, both signs
    bases.push_back(fromBits(k << 22));
  for (float v = -8.0f; v <= 8.0f; v += 0.5f)
    bases.push_back(v);
  for (float v : {-0.0f, kInf, -kInf, kNaN, 1.0f, -1.0f, 0x1p-149f, 0.1f,
                  3.0f, 1.0000001f, 0.99999994f, -1.5f, 10.0f})
    bases.push_back(v);
  fillRandom(bases, 2048, -40, 40, /*seed=*/7);
  return bases;
}

std::vector<float> powExponents() {
  std::vector<float> exponents;
  for (int n = -24; n <= 24; ++n)
    exponents.push_back(static_cast<float>(n));
  for (float v : {0.5f, -0.5f, 1.5f, -1.5f, 2.5f, 1.0f / 3, -1.0f / 3, 0.1f,
                  -0.0f, 0x1p24f, 0x1p24f + 2, 0x1p24f - 1, -(0x1p24f - 1),
                  0x1p30f, -0x1p30f, 1e30f, -1e30f, kInf, -kInf, kNaN,
                  1e-7f, -1e-7f, 0x1p-149f, 100.0f, -100.0f, 127.0f, 63.0f})
    exponents.push_back(v);
  fillRandom(exponents, 256, -20, 8, /*seed=*/11);
  return exponents;
}

TEST_F(ApproximateMath, PowWithinTwoUlpsAndExactForIntegralPowers) {
  std::vector<float> bases = powBases(), exponents = powExponents();
  CompiledModule pow;
  ASSERT_TRUE(pow.build(R"mlir(
func.func @pow(%x: tensor<2048x1xf32>, %y: tensor<256xf32>) -> tensor<2048x256xf32> {
  %r = kiln.pow %x, %y : tensor<2048x1xf32>, tensor<256xf32> -> tensor<2048x256xf32>
  return %r : tensor<2048x256xf32>
})mlir"));
  Buffer x{{2048, 1}, {bases.begin(), bases.end()}};
  Buffer y{{256}, {exponents.begin(), exponents.end()}};
  std::vector<Buffer> out = pow.runCompiled("pow", {x, y});
  ASSERT_EQ(out.size(), 1u);
  UlpError error;
  int exactCases = 0;
  for (size_t i = 0; i < bases.size(); ++i)
    for (size_t j = 0; j < exponents.size(); ++j) {
      double actual = out[0].data[i * exponents.size() + j];
      double exact = std::pow(double(bases[i]), double(exponents[j]));
      error.add(actual, exact, bases[i], exponents[j]);
      // An integral power that is a float must come out exactly.
      bool integral = std::trunc(exponents[j]) == exponents[j];
      if (integral && std::isfinite(exact) && exact != 0.0 &&
          double(float(exact)) == exact) {
        ++exactCases;
        EXPECT_EQ(actual, exact)
            << bases[i] << "^" << exponents[j] << " is a float";
      }
    }
  std::cout << error.describe("pow") << "; " << exactCases
            << " exact integral powers\n";
  RecordProperty("max_ulp", std::to_string(error.max));
  EXPECT_LE(error.max, 2.0) << error.describe("pow");
  EXPECT_GT(exactCases, 1000);
}

/// A constant small integral exponent becomes products: the same bits as
/// the multiplications themselves, and the C special values.
TEST(ApproximateMathConstant, SmallIntegerExponentsAreProducts) {
  CompiledModule m;
  ASSERT_TRUE(m.build(R"mlir(
func.func @f(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %three = kiln.constant dense<3.0> : tensor<f32>
  %minus = kiln.constant dense<-1.0> : tensor<f32>
  %four = kiln.constant dense<4.0> : tensor<f32>
  %a = kiln.pow %x, %two : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %b = kiln.pow %x, %three : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %c = kiln.pow %x, %minus : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %d = kiln.pow %x, %four : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  return %a, %b, %c, %d : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
})mlir"));
  std::vector<float> xs = {-1.5f, 1.1f, -0.0f, kInf, -kInf, kNaN, 3.0f, 0.3f};
  std::vector<Buffer> out =
      m.runCompiled("f", {Buffer{{8}, {xs.begin(), xs.end()}}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].data[0], 2.25); // the PyTorch comparison's example
  EXPECT_EQ(out[1].data[0], -3.375);
  for (size_t i = 0; i < xs.size(); ++i) {
    float x = xs[i];
    float square = x * x;
    float expected[] = {square, square * x, 1.0f / x, square * square};
    for (int k = 0; k < 4; ++k) {
      double actual = out[k].data[i];
      if (std::isnan(expected[k])) {
        EXPECT_TRUE(std::isnan(actual)) << "result " << k << " at " << x;
        continue;
      }
      EXPECT_EQ(actual, double(expected[k])) << "result " << k << " at " << x;
      EXPECT_EQ(std::signbit(actual), std::signbit(expected[k]))
          << "result " << k << " at " << x;
    }
  }
}

} // namespace
