//===- InterpreterTest.cpp - kiln reference interpreter unit tests --------===//
//
// Every kiln op evaluated on small inputs whose results are computed by hand,
// plus the interpreter's error paths.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Interpreter/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace mlir;
using kiln::interp::Buffer;

namespace {

class InterpreterTest : public ::testing::Test {
protected:
  InterpreterTest() {
    context.loadDialect<kiln::KilnDialect, func::FuncDialect>();
    context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
    });
  }

  /// Parses `ir` (one func.func, or several with @main first) and runs it.
  FailureOr<std::vector<Buffer>> tryRun(StringRef ir,
                                        std::vector<Buffer> args) {
    module = parseSourceString<ModuleOp>(ir, &context);
    if (!module) {
      ADD_FAILURE() << "parse failed: " << diagnostics;
      return failure();
    }
    return kiln::interp::run(*module->getOps<func::FuncOp>().begin(), args);
  }

  std::vector<Buffer> run(StringRef ir, std::vector<Buffer> args = {}) {
    auto results = tryRun(ir, std::move(args));
    if (failed(results)) {
      ADD_FAILURE() << "interpreter failed: " << diagnostics;
      return {};
    }
    return *results;
  }

  /// Runs a one-result function and returns that result.
  Buffer run1(StringRef ir, std::vector<Buffer> args = {}) {
    std::vector<Buffer> results = run(ir, std::move(args));
    if (results.size() != 1) {
      ADD_FAILURE() << "expected one result";
      return {};
    }
    return results[0];
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::string diagnostics;
};

void expectBuffer(const Buffer &actual, std::vector<int64_t> shape,
                  std::vector<double> data, double tolerance = 0.0) {
  EXPECT_EQ(actual.shape, shape);
  ASSERT_EQ(actual.data.size(), data.size());
  for (size_t i = 0; i < data.size(); ++i)
    EXPECT_NEAR(actual.data[i], data[i], tolerance) << "element " << i;
}

/// 0, 1, 2, ... in `shape`.
Buffer iota(std::vector<int64_t> shape) {
  Buffer b{std::move(shape), {}};
  for (int64_t i = 0; i < b.numElements(); ++i)
    b.data.push_back(static_cast<double>(i));
  return b;
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, BroadcastAddRowVector) {
  Buffer r = run1(R"(
    func.func @main(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
      %r = kiln.add %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
      return %r : tensor<2x3xf32>
    })",
                  {{{2, 3}, {1, 2, 3, 4, 5, 6}}, {{3}, {10, 20, 30}}});
  expectBuffer(r, {2, 3}, {11, 22, 33, 14, 25, 36});
}

TEST_F(InterpreterTest, BroadcastBothOperandsAndScalars) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%a: tensor<2x1xf64>, %b: tensor<3xf64>, %s: tensor<f64>)
        -> (tensor<2x3xf64>, tensor<2x3xf64>, tensor<3xf64>) {
      %sub = kiln.sub %a, %b : tensor<2x1xf64>, tensor<3xf64> -> tensor<2x3xf64>
      %div = kiln.div %sub, %s : tensor<2x3xf64>, tensor<f64> -> tensor<2x3xf64>
      %mul = kiln.mul %s, %b : tensor<f64>, tensor<3xf64> -> tensor<3xf64>
      return %sub, %div, %mul : tensor<2x3xf64>, tensor<2x3xf64>, tensor<3xf64>
    })",
                              {{{2, 1}, {10, 20}}, {{3}, {1, 2, 3}}, Buffer::scalar(4)});
  ASSERT_EQ(r.size(), 3u);
  expectBuffer(r[0], {2, 3}, {9, 8, 7, 19, 18, 17});
  expectBuffer(r[1], {2, 3}, {2.25, 2, 1.75, 4.75, 4.5, 4.25});
  expectBuffer(r[2], {3}, {4, 8, 12});
}

TEST_F(InterpreterTest, UnaryOps) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>,
        tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
      %n = kiln.neg %x : tensor<4xf32>
      %e = kiln.exp %x : tensor<4xf32>
      %a = kiln.relu %x : tensor<4xf32>
      %s = kiln.stop_gradient %x : tensor<4xf32>
      %l = kiln.log %e : tensor<4xf32>
      return %n, %e, %a, %s, %l : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
          tensor<4xf32>, tensor<4xf32>
    })",
                              {{{4}, {-2, -0.5, 0, 3}}});
  ASSERT_EQ(r.size(), 5u);
  expectBuffer(r[0], {4}, {2, 0.5, 0, -3});
  expectBuffer(r[1], {4}, {std::exp(-2.0), std::exp(-0.5), 1, std::exp(3.0)},
               1e-15);
  expectBuffer(r[2], {4}, {0, 0, 0, 3});
  expectBuffer(r[3], {4}, {-2, -0.5, 0, 3});
  expectBuffer(r[4], {4}, {-2, -0.5, 0, 3}, 1e-15);
}

TEST_F(InterpreterTest, CompareEveryPredicate) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%x: tensor<3xf32>, %y: tensor<f32>) -> (tensor<3xf32>,
        tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
      %eq = kiln.compare "eq", %x, %y : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
      %ne = kiln.compare "ne", %x, %y : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
      %lt = kiln.compare "lt", %x, %y : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
      %le = kiln.compare "le", %x, %y : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
      %gt = kiln.compare "gt", %x, %y : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
      %ge = kiln.compare "ge", %x, %y : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
      return %eq, %ne, %lt, %le, %gt, %ge : tensor<3xf32>, tensor<3xf32>,
          tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
    })",
                              {{{3}, {1, 2, 3}}, Buffer::scalar(2)});
  ASSERT_EQ(r.size(), 6u);
  expectBuffer(r[0], {3}, {0, 1, 0});
  expectBuffer(r[1], {3}, {1, 0, 1});
  expectBuffer(r[2], {3}, {1, 0, 0});
  expectBuffer(r[3], {3}, {1, 1, 0});
  expectBuffer(r[4], {3}, {0, 0, 1});
  expectBuffer(r[5], {3}, {0, 1, 1});
}

TEST_F(InterpreterTest, Constants) {
  std::vector<Buffer> r = run(R"(
    func.func @main() -> (tensor<2x2xf64>, tensor<3xf32>, tensor<2xi32>) {
      %a = kiln.constant dense<[[1.5, -2.0], [0.25, 8.0]]> : tensor<2x2xf64>
      %b = kiln.constant dense<0.1> : tensor<3xf32>
      %c = kiln.constant dense<[7, -3]> : tensor<2xi32>
      return %a, %b, %c : tensor<2x2xf64>, tensor<3xf32>, tensor<2xi32>
    })");
  ASSERT_EQ(r.size(), 3u);
  expectBuffer(r[0], {2, 2}, {1.5, -2, 0.25, 8});
  // An f32 constant is the float nearest 0.1, widened exactly.
  double tenth = static_cast<double>(0.1f);
  expectBuffer(r[1], {3}, {tenth, tenth, tenth});
  expectBuffer(r[2], {2}, {7, -3});
}

//===----------------------------------------------------------------------===//
// Linear algebra and layout
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, Matmul2D) {
  Buffer r = run1(R"(
    func.func @main(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
      %r = kiln.matmul %a, %b : tensor<2x3xf32>, tensor<3x2xf32> -> tensor<2x2xf32>
      return %r : tensor<2x2xf32>
    })",
                  {{{2, 3}, {1, 2, 3, 4, 5, 6}},
                   {{3, 2}, {7, 8, 9, 10, 11, 12}}});
  expectBuffer(r, {2, 2}, {58, 64, 139, 154});
}

TEST_F(InterpreterTest, BatchedMatmul) {
  Buffer r = run1(R"(
    func.func @main(%a: tensor<2x2x3xf32>, %b: tensor<2x3x1xf32>) -> tensor<2x2x1xf32> {
      %r = kiln.matmul %a, %b : tensor<2x2x3xf32>, tensor<2x3x1xf32> -> tensor<2x2x1xf32>
      return %r : tensor<2x2x1xf32>
    })",
                  {iota({2, 2, 3}), {{2, 3, 1}, {1, 1, 1, 1, 0, -1}}});
  // Batch 0: rows [0,1,2], [3,4,5] times ones; batch 1: rows [6,7,8],
  // [9,10,11] times [1,0,-1].
  expectBuffer(r, {2, 2, 1}, {3, 12, -2, -2});
}

TEST_F(InterpreterTest, Transpose2D) {
  Buffer r = run1(R"(
    func.func @main(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
      %r = kiln.transpose %x, [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
      return %r : tensor<3x2xf32>
    })",
                  {iota({2, 3})});
  expectBuffer(r, {3, 2}, {0, 3, 1, 4, 2, 5});
}

TEST_F(InterpreterTest, Transpose3D) {
  // Result dim i is input dim perm[i]: r[a,b,c] = x[b,c,a] for [2, 0, 1].
  Buffer r = run1(R"(
    func.func @main(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
      %r = kiln.transpose %x, [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
      return %r : tensor<4x2x3xf32>
    })",
                  {iota({2, 3, 4})});
  std::vector<double> expected;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c)
        expected.push_back(b * 12 + c * 4 + a);
  expectBuffer(r, {4, 2, 3}, expected);

  Buffer s = run1(R"(
    func.func @main(%x: tensor<2x3x4xf32>) -> tensor<2x4x3xf32> {
      %r = kiln.transpose %x, [0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
      return %r : tensor<2x4x3xf32>
    })",
                  {iota({2, 3, 4})});
  expected.clear();
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 4; ++b)
      for (int c = 0; c < 3; ++c)
        expected.push_back(a * 12 + c * 4 + b);
  expectBuffer(s, {2, 4, 3}, expected);
}

TEST_F(InterpreterTest, ReshapeIsRowMajor) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%x: tensor<2x3xf32>, %i: tensor<4xi32>) -> (tensor<3x1x2xf32>, tensor<2x2xi32>) {
      %r = kiln.reshape %x : tensor<2x3xf32> -> tensor<3x1x2xf32>
      %j = kiln.reshape %i : tensor<4xi32> -> tensor<2x2xi32>
      return %r, %j : tensor<3x1x2xf32>, tensor<2x2xi32>
    })",
                              {iota({2, 3}), {{4}, {5, 6, 7, 8}}});
  ASSERT_EQ(r.size(), 2u);
  expectBuffer(r[0], {3, 1, 2}, {0, 1, 2, 3, 4, 5});
  expectBuffer(r[1], {2, 2}, {5, 6, 7, 8});
}

TEST_F(InterpreterTest, BroadcastTo) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%x: tensor<3xf32>, %y: tensor<2x1xf32>, %s: tensor<f32>)
        -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x2xf32>) {
      %a = kiln.broadcast_to %x : tensor<3xf32> -> tensor<2x3xf32>
      %b = kiln.broadcast_to %y : tensor<2x1xf32> -> tensor<2x3xf32>
      %c = kiln.broadcast_to %s : tensor<f32> -> tensor<2x2xf32>
      return %a, %b, %c : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x2xf32>
    })",
                              {{{3}, {1, 2, 3}}, {{2, 1}, {7, 9}}, Buffer::scalar(5)});
  ASSERT_EQ(r.size(), 3u);
  expectBuffer(r[0], {2, 3}, {1, 2, 3, 1, 2, 3});
  expectBuffer(r[1], {2, 3}, {7, 7, 7, 9, 9, 9});
  expectBuffer(r[2], {2, 2}, {5, 5, 5, 5});
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, ReduceSum) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%x: tensor<2x3xf32>, %y: tensor<2x3x4xf32>)
        -> (tensor<2xf32>, tensor<2x1xf32>, tensor<3xf32>, tensor<1x3x1xf32>, tensor<f32>) {
      %a = kiln.reduce_sum %x axes = [1] : tensor<2x3xf32> -> tensor<2xf32>
      %b = kiln.reduce_sum %x axes = [1] keepdims : tensor<2x3xf32> -> tensor<2x1xf32>
      %c = kiln.reduce_sum %y axes = [0, 2] : tensor<2x3x4xf32> -> tensor<3xf32>
      %d = kiln.reduce_sum %y axes = [0, 2] keepdims : tensor<2x3x4xf32> -> tensor<1x3x1xf32>
      %e = kiln.reduce_sum %x axes = [0, 1] : tensor<2x3xf32> -> tensor<f32>
      return %a, %b, %c, %d, %e : tensor<2xf32>, tensor<2x1xf32>, tensor<3xf32>,
          tensor<1x3x1xf32>, tensor<f32>
    })",
                              {iota({2, 3}), iota({2, 3, 4})});
  ASSERT_EQ(r.size(), 5u);
  expectBuffer(r[0], {2}, {3, 12});
  expectBuffer(r[1], {2, 1}, {3, 12});
  // sum over i, k of 12i + 4j + k = 60 + 32j.
  expectBuffer(r[2], {3}, {60, 92, 124});
  expectBuffer(r[3], {1, 3, 1}, {60, 92, 124});
  expectBuffer(r[4], {}, {15});
}

TEST_F(InterpreterTest, ReduceMean) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%x: tensor<2x3xf32>, %y: tensor<2x3x4xf32>)
        -> (tensor<2xf32>, tensor<1x3xf32>, tensor<f32>, tensor<3x1xf32>) {
      %a = kiln.reduce_mean %x axes = [1] : tensor<2x3xf32> -> tensor<2xf32>
      %b = kiln.reduce_mean %x axes = [0] keepdims : tensor<2x3xf32> -> tensor<1x3xf32>
      %c = kiln.reduce_mean %x axes = [0, 1] : tensor<2x3xf32> -> tensor<f32>
      %d = kiln.reduce_mean %y axes = [0, 2] keepdims : tensor<2x3x4xf32> -> tensor<1x3x1xf32>
      %e = kiln.reshape %d : tensor<1x3x1xf32> -> tensor<3x1xf32>
      return %a, %b, %c, %e : tensor<2xf32>, tensor<1x3xf32>, tensor<f32>, tensor<3x1xf32>
    })",
                              {iota({2, 3}), iota({2, 3, 4})});
  ASSERT_EQ(r.size(), 4u);
  expectBuffer(r[0], {2}, {1, 4});
  expectBuffer(r[1], {1, 3}, {1.5, 2.5, 3.5});
  expectBuffer(r[2], {}, {2.5});
  expectBuffer(r[3], {3, 1}, {7.5, 11.5, 15.5});
}

TEST_F(InterpreterTest, ReduceMax) {
  std::vector<Buffer> r = run(R"(
    func.func @main(%x: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<1x3xf32>, tensor<f32>) {
      %a = kiln.reduce_max %x axes = [1] : tensor<2x3xf32> -> tensor<2xf32>
      %b = kiln.reduce_max %x axes = [0] keepdims : tensor<2x3xf32> -> tensor<1x3xf32>
      %c = kiln.reduce_max %x axes = [0, 1] : tensor<2x3xf32> -> tensor<f32>
      return %a, %b, %c : tensor<2xf32>, tensor<1x3xf32>, tensor<f32>
    })",
                              {{{2, 3}, {-5, -2, -9, 3, -1, 7}}});
  ASSERT_EQ(r.size(), 3u);
  expectBuffer(r[0], {2}, {-2, 7});
  expectBuffer(r[1], {1, 3}, {3, -1, 7});
  expectBuffer(r[2], {}, {7});
}

//===----------------------------------------------------------------------===//
// Classification helpers
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, LogSoftmaxRowsNormalizeAndAreStable) {
  Buffer r = run1(R"(
    func.func @main(%x: tensor<3x3xf64>) -> tensor<3x3xf64> {
      %r = kiln.log_softmax %x axis = 1 : tensor<3x3xf64>
      return %r : tensor<3x3xf64>
    })",
                  {{{3, 3}, {0, 1, 2, 1000, 1001, 1002, -1000, 5, -3}}});
  ASSERT_EQ(r.shape, (std::vector<int64_t>{3, 3}));
  for (int row = 0; row < 3; ++row) {
    double sum = 0;
    for (int j = 0; j < 3; ++j) {
      ASSERT_TRUE(std::isfinite(r.data[row * 3 + j]));
      sum += std::exp(r.data[row * 3 + j]);
    }
    EXPECT_NEAR(sum, 1.0, 1e-12) << "row " << row;
  }
  double lse = std::log(1 + std::exp(1.0) + std::exp(2.0));
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(r.data[j], j - lse, 1e-12);
    // Shift invariance: the row starting at 1000 gives the same values.
    EXPECT_NEAR(r.data[3 + j], j - lse, 1e-12);
  }
  // Row [-1000, 5, -3]: exp(-1000 - 5) underflows harmlessly.
  EXPECT_NEAR(r.data[7], -std::log1p(std::exp(-8.0)), 1e-12);
  EXPECT_NEAR(r.data[6], -1005 - std::log1p(std::exp(-8.0)), 1e-9);
}

TEST_F(InterpreterTest, LogSoftmaxAxisZero) {
  Buffer r = run1(R"(
    func.func @main(%x: tensor<2x2xf64>) -> tensor<2x2xf64> {
      %r = kiln.log_softmax %x axis = 0 : tensor<2x2xf64>
      return %r : tensor<2x2xf64>
    })",
                  {{{2, 2}, {0, 5, 0, 5}}});
  expectBuffer(r, {2, 2}, {-std::log(2.0), -std::log(2.0), -std::log(2.0),
                           -std::log(2.0)},
               1e-15);
}

TEST_F(InterpreterTest, OneHotOutOfRangeGivesZeroRow) {
  Buffer r = run1(R"(
    func.func @main(%i: tensor<4xi32>) -> tensor<4x3xf32> {
      %r = kiln.one_hot %i : tensor<4xi32> -> tensor<4x3xf32>
      return %r : tensor<4x3xf32>
    })",
                  {{{4}, {0, 2, -1, 3}}});
  expectBuffer(r, {4, 3}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
}

TEST_F(InterpreterTest, OneHotRank2) {
  Buffer r = run1(R"(
    func.func @main() -> tensor<2x1x2xf32> {
      %i = kiln.constant dense<[[1], [0]]> : tensor<2x1xi64>
      %r = kiln.one_hot %i : tensor<2x1xi64> -> tensor<2x1x2xf32>
      return %r : tensor<2x1x2xf32>
    })");
  expectBuffer(r, {2, 1, 2}, {0, 1, 1, 0});
}

//===----------------------------------------------------------------------===//
// random_uniform
//===----------------------------------------------------------------------===//

constexpr const char *kRandomIR = R"(
  func.func @main(%seed: tensor<i64>) -> (tensor<40x25xf32>, tensor<40x25xf32>, tensor<3xf64>) {
    %a = kiln.random_uniform %seed stream 0 range [-0.5, 0.5] : tensor<i64> -> tensor<40x25xf32>
    %b = kiln.random_uniform %seed stream 1 range [-0.5, 0.5] : tensor<i64> -> tensor<40x25xf32>
    %c = kiln.random_uniform %seed stream 1 range [0.0, 1.0] : tensor<i64> -> tensor<3xf64>
    return %a, %b, %c : tensor<40x25xf32>, tensor<40x25xf32>, tensor<3xf64>
  })";

TEST_F(InterpreterTest, RandomUniformRangeAndDistribution) {
  std::vector<Buffer> r = run(kRandomIR, {Buffer::scalar(42)});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].shape, (std::vector<int64_t>{40, 25}));
  double sum = 0;
  for (double v : r[0].data) {
    EXPECT_GE(v, -0.5);
    EXPECT_LE(v, 0.5); // f32 rounding may reach the upper bound exactly
    EXPECT_EQ(v, static_cast<double>(static_cast<float>(v))) << "not f32";
    sum += v;
  }
  // 1000 samples of U(-0.5, 0.5): the mean's standard deviation is ~0.009.
  EXPECT_NEAR(sum / 1000, 0.0, 0.05);
}

TEST_F(InterpreterTest, RandomUniformDeterministicPerStream) {
  std::vector<Buffer> first = run(kRandomIR, {Buffer::scalar(42)});
  std::vector<Buffer> again = run(kRandomIR, {Buffer::scalar(42)});
  std::vector<Buffer> other = run(kRandomIR, {Buffer::scalar(43)});
  ASSERT_EQ(first.size(), 3u);
  ASSERT_EQ(again.size(), 3u);
  ASSERT_EQ(other.size(), 3u);
  EXPECT_EQ(first[0].data, again[0].data);
  EXPECT_EQ(first[1].data, again[1].data);
  EXPECT_NE(first[0].data, first[1].data);
  EXPECT_NE(first[0].data, other[0].data);
  size_t equal = 0;
  for (size_t i = 0; i < first[0].data.size(); ++i)
    equal += first[0].data[i] == first[1].data[i];
  EXPECT_LT(equal, 5u);
}

TEST_F(InterpreterTest, RandomUniformMatchesSplitmix64) {
  // seed 0, stream 1, index 0 hashes 0x9E3779B97F4A7C15, which is the
  // reference splitmix64's first output for state 0: 0xE220A8397B1DCDAF.
  double expected = static_cast<double>(0xE220A8397B1DCDAFull >> 11) * 0x1.0p-53;
  EXPECT_EQ(kiln::interp::uniform01(0, 1, 0), expected);
  std::vector<Buffer> r = run(kRandomIR, {Buffer::scalar(0)});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[2].data[0], expected); // f64: no rounding
  for (uint64_t i = 0; i < 3; ++i)
    EXPECT_EQ(r[2].data[i], kiln::interp::uniform01(0, 1, i));
  // f32: float32 arithmetic on the hash's top 24 bits (no double on a
  // microcontroller): 0xE220A8 = 14819496.
  EXPECT_EQ(kiln::interp::hash24(0, 1, 0), 0xE220A8u);
  EXPECT_EQ(r[1].data[0],
            static_cast<double>(-0.5f + 1.0f * (14819496.0f * 0x1p-24f)));
}

TEST_F(InterpreterTest, RandomUniformExactLargeConstantSeed) {
  // 2^53 + 1 is not a double; a constant seed must still be used exactly.
  Buffer r = run1(R"(
    func.func @main() -> tensor<2xf64> {
      %s = kiln.constant dense<9007199254740993> : tensor<i64>
      %r = kiln.random_uniform %s stream 7 range [0.0, 1.0] : tensor<i64> -> tensor<2xf64>
      return %r : tensor<2xf64>
    })");
  ASSERT_EQ(r.data.size(), 2u);
  EXPECT_EQ(r.data[0], kiln::interp::uniform01(9007199254740993ull, 7, 0));
  EXPECT_EQ(r.data[1], kiln::interp::uniform01(9007199254740993ull, 7, 1));
  EXPECT_NE(r.data[0], kiln::interp::uniform01(9007199254740992ull, 7, 0));
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

constexpr const char *kAddIR = R"(
  func.func @main(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
    %r = kiln.add %a, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
    return %r : tensor<2xf32>
  })";

TEST_F(InterpreterTest, WrongArgumentCountIsAnError) {
  EXPECT_TRUE(failed(tryRun(kAddIR, {{{2}, {1, 2}}})));
  EXPECT_NE(diagnostics.find("expected 2 arguments, got 1"), std::string::npos)
      << diagnostics;
}

TEST_F(InterpreterTest, WrongArgumentShapeIsAnError) {
  EXPECT_TRUE(failed(tryRun(kAddIR, {{{2}, {1, 2}}, {{3}, {1, 2, 3}}})));
  EXPECT_NE(diagnostics.find("argument #1 has shape [3]"), std::string::npos)
      << diagnostics;
  diagnostics.clear();
  // Shape right, data size wrong.
  EXPECT_TRUE(failed(tryRun(kAddIR, {{{2}, {1, 2}}, {{2}, {1}}})));
  EXPECT_NE(diagnostics.find("argument #1"), std::string::npos) << diagnostics;
}

TEST_F(InterpreterTest, NonIntegerIndexArgumentIsAnError) {
  EXPECT_TRUE(failed(tryRun(R"(
    func.func @main(%i: tensor<2xi32>) -> tensor<2x3xf32> {
      %r = kiln.one_hot %i : tensor<2xi32> -> tensor<2x3xf32>
      return %r : tensor<2x3xf32>
    })",
                            {{{2}, {1, 0.5}}})));
  EXPECT_NE(diagnostics.find("is an integer tensor but holds"),
            std::string::npos)
      << diagnostics;
}

TEST_F(InterpreterTest, UnexpandedVJPIsAnError) {
  EXPECT_TRUE(failed(tryRun(R"(
    func.func @main(%x: tensor<f32>) -> tensor<f32> {
      %y = kiln.mul %x, %x : tensor<f32>, tensor<f32> -> tensor<f32>
      %g = kiln.vjp %y, %x wrt %x : tensor<f32>, tensor<f32>
      return %g : tensor<f32>
    })",
                            {Buffer::scalar(3)})));
  EXPECT_NE(diagnostics.find("unexpanded kiln.vjp"), std::string::npos)
      << diagnostics;
}

TEST_F(InterpreterTest, UnsupportedOpIsAnError) {
  EXPECT_TRUE(failed(tryRun(R"(
    func.func @main(%x: tensor<f32>) -> tensor<f32> {
      %y = func.call @other(%x) : (tensor<f32>) -> tensor<f32>
      return %y : tensor<f32>
    }
    func.func private @other(tensor<f32>) -> tensor<f32>)",
                            {Buffer::scalar(3)})));
  EXPECT_NE(diagnostics.find("unsupported operation 'func.call'"),
            std::string::npos)
      << diagnostics;
}

TEST_F(InterpreterTest, NegativeLogSoftmaxAxisIsRejected) {
  // The verifier should reject axis = -1; if it lets it through, the
  // interpreter must still fail cleanly instead of reading out of bounds.
  module = parseSourceString<ModuleOp>(R"(
    func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
      %r = kiln.log_softmax %x axis = -1 : tensor<2x3xf32>
      return %r : tensor<2x3xf32>
    })",
                                       &context);
  if (!module)
    return;
  EXPECT_TRUE(failed(kiln::interp::run(
      *module->getOps<func::FuncOp>().begin(), {iota({2, 3})})));
  EXPECT_NE(diagnostics.find("out of range"), std::string::npos)
      << diagnostics;
}

} // namespace
