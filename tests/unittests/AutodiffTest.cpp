//===- AutodiffTest.cpp - kiln-autodiff semantics through the interpreter -===//
//
// Classic reverse-mode examples with known answers, gradient accumulation
// across losses, stop_gradient, and the "no backward ops for what is not
// differentiated" guarantee, checked by counting ops in the IR.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Interpreter/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace mlir;
using kiln::interp::Buffer;

namespace {

class AutodiffTest : public ::testing::Test {
protected:
  AutodiffTest() {
    context.loadDialect<kiln::KilnDialect, func::FuncDialect>();
    context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
    });
  }

  /// Parses `ir`, records its op counts in `before`, runs kiln-autodiff and
  /// records `after`. Returns false (with a test failure) on any error.
  bool differentiate(StringRef ir) {
    module = parseSourceString<ModuleOp>(ir, &context);
    if (!module) {
      ADD_FAILURE() << "parse failed: " << diagnostics;
      return false;
    }
    before = countOps();
    PassManager pm(&context);
    pm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
    if (failed(pm.run(*module))) {
      ADD_FAILURE() << "kiln-autodiff failed: " << diagnostics;
      return false;
    }
    after = countOps();
    return true;
  }

  std::vector<Buffer> run(std::vector<Buffer> args) {
    auto results =
        kiln::interp::run(*module->getOps<func::FuncOp>().begin(), args);
    if (failed(results)) {
      ADD_FAILURE() << "interpreter failed: " << diagnostics;
      return {};
    }
    return *results;
  }

  /// Op name -> count in the function, plus "total".
  std::map<std::string, int> countOps() {
    std::map<std::string, int> counts;
    module->walk([&](Operation *op) {
      if (isa<ModuleOp, func::FuncOp>(op))
        return;
      ++counts[op->getName().getStringRef().str()];
      ++counts["total"];
    });
    return counts;
  }

  /// Ops the pass added: total after, minus total before without the vjps.
  int backwardOps() {
    return after["total"] - (before["total"] - before["kiln.vjp"]);
  }

  std::string printed() {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return os.str();
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::map<std::string, int> before, after;
  std::string diagnostics;
};

void expectValues(const Buffer &actual, std::vector<double> expected,
                  double tolerance = 1e-12) {
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i], tolerance) << "element " << i;
}

TEST_F(AutodiffTest, PolynomialDerivative) {
  // f(x) = 9x^4 + 2x^3 + 3x^2 + 6x + 1, f(2) = 185, f'(2) = 36*8 + 6*4 +
  // 6*2 + 6 = 330.
  ASSERT_TRUE(differentiate(R"(
    func.func @f(%x: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
      %c9 = kiln.constant dense<9.0> : tensor<f64>
      %c2 = kiln.constant dense<2.0> : tensor<f64>
      %c3 = kiln.constant dense<3.0> : tensor<f64>
      %c6 = kiln.constant dense<6.0> : tensor<f64>
      %c1 = kiln.constant dense<1.0> : tensor<f64>
      %x2 = kiln.mul %x, %x : tensor<f64>, tensor<f64> -> tensor<f64>
      %x3 = kiln.mul %x2, %x : tensor<f64>, tensor<f64> -> tensor<f64>
      %x4 = kiln.mul %x3, %x : tensor<f64>, tensor<f64> -> tensor<f64>
      %t4 = kiln.mul %c9, %x4 : tensor<f64>, tensor<f64> -> tensor<f64>
      %t3 = kiln.mul %c2, %x3 : tensor<f64>, tensor<f64> -> tensor<f64>
      %t2 = kiln.mul %c3, %x2 : tensor<f64>, tensor<f64> -> tensor<f64>
      %t1 = kiln.mul %c6, %x : tensor<f64>, tensor<f64> -> tensor<f64>
      %s1 = kiln.add %t4, %t3 : tensor<f64>, tensor<f64> -> tensor<f64>
      %s2 = kiln.add %s1, %t2 : tensor<f64>, tensor<f64> -> tensor<f64>
      %s3 = kiln.add %s2, %t1 : tensor<f64>, tensor<f64> -> tensor<f64>
      %f = kiln.add %s3, %c1 : tensor<f64>, tensor<f64> -> tensor<f64>
      %g = kiln.vjp %f, %c1 wrt %x : tensor<f64>, tensor<f64>
      return %f, %g : tensor<f64>, tensor<f64>
    })"));
  std::vector<Buffer> r = run({Buffer::scalar(2)});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {185});
  expectValues(r[1], {330});
}

constexpr const char *kQ = R"(
  %c3 = kiln.constant dense<3.0> : tensor<f64>
  %a2 = kiln.mul %a, %a : tensor<2xf64>, tensor<2xf64> -> tensor<2xf64>
  %a3 = kiln.mul %a2, %a : tensor<2xf64>, tensor<2xf64> -> tensor<2xf64>
  %t = kiln.mul %c3, %a3 : tensor<f64>, tensor<2xf64> -> tensor<2xf64>
  %b2 = kiln.mul %b, %b : tensor<2xf64>, tensor<2xf64> -> tensor<2xf64>
  %q = kiln.sub %t, %b2 : tensor<2xf64>, tensor<2xf64> -> tensor<2xf64>
)";

TEST_F(AutodiffTest, NonScalarOutputWithSeed) {
  // Q = 3a^3 - b^2 (PyTorch's autograd tutorial): dQ/da = 9a^2, dQ/db = -2b.
  ASSERT_TRUE(differentiate(std::string(R"(
    func.func @f(%a: tensor<2xf64>, %b: tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>, tensor<2xf64>) {)") +
                            kQ + R"(
      %seed = kiln.constant dense<1.0> : tensor<2xf64>
      %g:2 = kiln.vjp %q, %seed wrt %a, %b : tensor<2xf64>, tensor<2xf64>, tensor<2xf64>
      return %q, %g#0, %g#1 : tensor<2xf64>, tensor<2xf64>, tensor<2xf64>
    })"));
  std::vector<Buffer> r = run({{{2}, {2, 3}}, {{2}, {6, 4}}});
  ASSERT_EQ(r.size(), 3u);
  expectValues(r[0], {24 - 36, 81 - 16});
  expectValues(r[1], {36, 81});
  expectValues(r[2], {-12, -8});
}

TEST_F(AutodiffTest, ScalarLossOfSumGivesSameGradient) {
  ASSERT_TRUE(differentiate(std::string(R"(
    func.func @f(%a: tensor<2xf64>, %b: tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>) {)") +
                            kQ + R"(
      %l = kiln.reduce_sum %q axes = [0] : tensor<2xf64> -> tensor<f64>
      %one = kiln.constant dense<1.0> : tensor<f64>
      %g:2 = kiln.vjp %l, %one wrt %a, %b : tensor<f64>, tensor<2xf64>, tensor<2xf64>
      return %g#0, %g#1 : tensor<2xf64>, tensor<2xf64>
    })"));
  std::vector<Buffer> r = run({{{2}, {2, 3}}, {{2}, {6, 4}}});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {36, 81});
  expectValues(r[1], {-12, -8});
}

TEST_F(AutodiffTest, GradientsOfTwoLossesAddUp) {
  // vjp(loss1) + vjp(loss2) == vjp(loss1 + loss2), as PyTorch accumulates.
  ASSERT_TRUE(differentiate(R"(
    func.func @f(%x: tensor<2x3xf64>, %w: tensor<3xf64>)
        -> (tensor<2x3xf64>, tensor<3xf64>, tensor<2x3xf64>, tensor<3xf64>) {
      %one = kiln.constant dense<1.0> : tensor<f64>
      %xw = kiln.mul %x, %w : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xf64>
      %l1 = kiln.reduce_sum %xw axes = [0, 1] : tensor<2x3xf64> -> tensor<f64>
      %e = kiln.exp %x : tensor<2x3xf64>
      %m = kiln.reduce_mean %e axes = [1] : tensor<2x3xf64> -> tensor<2xf64>
      %l = kiln.log %m : tensor<2xf64>
      %l2 = kiln.reduce_sum %l axes = [0] : tensor<2xf64> -> tensor<f64>
      %g1:2 = kiln.vjp %l1, %one wrt %x, %w : tensor<f64>, tensor<2x3xf64>, tensor<3xf64>
      %g2:2 = kiln.vjp %l2, %one wrt %x, %w : tensor<f64>, tensor<2x3xf64>, tensor<3xf64>
      %sx = kiln.add %g1#0, %g2#0 : tensor<2x3xf64>, tensor<2x3xf64> -> tensor<2x3xf64>
      %sw = kiln.add %g1#1, %g2#1 : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
      %total = kiln.add %l1, %l2 : tensor<f64>, tensor<f64> -> tensor<f64>
      %g:2 = kiln.vjp %total, %one wrt %x, %w : tensor<f64>, tensor<2x3xf64>, tensor<3xf64>
      return %sx, %sw, %g#0, %g#1 : tensor<2x3xf64>, tensor<3xf64>, tensor<2x3xf64>, tensor<3xf64>
    })"));
  std::vector<Buffer> r =
      run({{{2, 3}, {0.1, -0.2, 0.3, 0.7, 0.5, -0.9}}, {{3}, {1.5, -2, 0.25}}});
  ASSERT_EQ(r.size(), 4u);
  expectValues(r[0], r[2].data);
  expectValues(r[1], r[3].data);
  // dl1/dw = column sums of x; l2 does not depend on w.
  expectValues(r[3], {0.8, 0.3, -0.6});
}

TEST_F(AutodiffTest, StopGradientPassesNoGradient) {
  // y = x * stop_gradient(x): dy/dx = stop_gradient(x) = x, not 2x.
  ASSERT_TRUE(differentiate(R"(
    func.func @f(%x: tensor<3xf64>) -> tensor<3xf64> {
      %s = kiln.stop_gradient %x : tensor<3xf64>
      %y = kiln.mul %x, %s : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
      %seed = kiln.constant dense<1.0> : tensor<3xf64>
      %g = kiln.vjp %y, %seed wrt %x : tensor<3xf64>, tensor<3xf64>
      return %g : tensor<3xf64>
    })"));
  std::vector<Buffer> r = run({{{3}, {1, -2, 5}}});
  ASSERT_EQ(r.size(), 1u);
  expectValues(r[0], {1, -2, 5});
}

TEST_F(AutodiffTest, StoppedBranchGetsNoBackwardOps) {
  // loss = sum(exp(stop_gradient(x))) + sum(x * x): gradient 2x, and the
  // exp/reduce branch behind stop_gradient gets no backward op at all.
  ASSERT_TRUE(differentiate(R"(
    func.func @f(%x: tensor<3xf64>) -> tensor<3xf64> {
      %s = kiln.stop_gradient %x : tensor<3xf64>
      %e = kiln.exp %s : tensor<3xf64>
      %l1 = kiln.reduce_sum %e axes = [0] : tensor<3xf64> -> tensor<f64>
      %xx = kiln.mul %x, %x : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
      %l2 = kiln.reduce_sum %xx axes = [0] : tensor<3xf64> -> tensor<f64>
      %l = kiln.add %l1, %l2 : tensor<f64>, tensor<f64> -> tensor<f64>
      %one = kiln.constant dense<1.0> : tensor<f64>
      %g = kiln.vjp %l, %one wrt %x : tensor<f64>, tensor<3xf64>
      return %g : tensor<3xf64>
    })"));
  std::vector<Buffer> r = run({{{3}, {1, -2, 5}}});
  ASSERT_EQ(r.size(), 1u);
  expectValues(r[0], {2, -4, 10});
  EXPECT_EQ(after["kiln.exp"], 1) << printed();
  // Backward of the x*x branch only: reshape + broadcast_to (reduce_sum),
  // two muls (one per operand) and their accumulation.
  EXPECT_EQ(after["kiln.broadcast_to"], 1) << printed();
  EXPECT_EQ(backwardOps(), 5) << printed();
}

TEST_F(AutodiffTest, FullyStoppedGradientIsAZeroConstant) {
  ASSERT_TRUE(differentiate(R"(
    func.func @f(%x: tensor<3xf64>) -> tensor<3xf64> {
      %s = kiln.stop_gradient %x : tensor<3xf64>
      %e = kiln.exp %s : tensor<3xf64>
      %l = kiln.reduce_sum %e axes = [0] : tensor<3xf64> -> tensor<f64>
      %one = kiln.constant dense<1.0> : tensor<f64>
      %g = kiln.vjp %l, %one wrt %x : tensor<f64>, tensor<3xf64>
      return %g : tensor<3xf64>
    })"));
  // The vjp became one zero constant; nothing else was added.
  EXPECT_EQ(backwardOps(), 1) << printed();
  EXPECT_EQ(after["kiln.constant"], before["kiln.constant"] + 1);
  std::vector<Buffer> r = run({{{3}, {1, -2, 5}}});
  ASSERT_EQ(r.size(), 1u);
  expectValues(r[0], {0, 0, 0});
}

constexpr const char *kLinear = R"(
  func.func @f(%x: tensor<2x3xf64>, %w: tensor<3x2xf64>) -> (tensor<f64>, tensor<WRT_TYPE>) {
    %y = kiln.matmul %x, %w : tensor<2x3xf64>, tensor<3x2xf64> -> tensor<2x2xf64>
    %r = kiln.relu %y : tensor<2x2xf64>
    %l = kiln.reduce_sum %r axes = [0, 1] : tensor<2x2xf64> -> tensor<f64>
    %one = kiln.constant dense<1.0> : tensor<f64>
    %g = kiln.vjp %l, %one wrt %WRT : tensor<f64>, tensor<WRT_TYPE>
    return %l, %g : tensor<f64>, tensor<WRT_TYPE>
  })";

std::string linearIR(StringRef wrt, StringRef type) {
  std::string ir = kLinear;
  for (auto [from, to] : {std::pair<StringRef, StringRef>{"WRT_TYPE", type},
                          std::pair<StringRef, StringRef>{"WRT", wrt}})
    for (size_t pos; (pos = ir.find(from.str())) != std::string::npos;)
      ir.replace(pos, from.size(), to.str());
  return ir;
}

TEST_F(AutodiffTest, InputNotInWrtGetsNoBackwardOps) {
  // Differentiating only wrt the weights of relu(x @ w) (x is data): the
  // pass must not build x's cotangent g @ w^T, so there is exactly one
  // backward matmul and one transpose (x^T).
  ASSERT_TRUE(differentiate(linearIR("w", "3x2xf64")));
  int onlyW = backwardOps();
  EXPECT_EQ(after["kiln.matmul"], 2) << printed();
  EXPECT_EQ(after["kiln.transpose"], 1) << printed();
  std::vector<Buffer> r = run({{{2, 3}, {1, 2, 3, -1, -2, -3}},
                               {{3, 2}, {1, -1, 1, -1, 1, -1}}});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {12});
  // y = [[6, -6], [-6, 6]]: only y00 and y11 pass the relu, so column 0 of
  // dw is row 0 of x and column 1 is row 1.
  expectValues(r[1], {1, -1, 2, -2, 3, -3});

  // Differentiating wrt x instead is the mirror image: as many ops.
  ASSERT_TRUE(differentiate(linearIR("x", "2x3xf64")));
  int onlyX = backwardOps();
  EXPECT_EQ(after["kiln.matmul"], 2) << printed();
  EXPECT_EQ(onlyX, onlyW);
}

TEST_F(AutodiffTest, EveryBackwardOpIsUsed) {
  // No dead backward ops: each op the pass adds feeds a gradient.
  ASSERT_TRUE(differentiate(linearIR("w", "3x2xf64")));
  module->walk([&](Operation *op) {
    if (op->getNumResults() == 0 || !op->use_empty())
      return;
    std::string text;
    llvm::raw_string_ostream os(text);
    op->print(os);
    ADD_FAILURE() << "dead op after kiln-autodiff: " << os.str() << "\n"
                  << printed();
  });
}

} // namespace
