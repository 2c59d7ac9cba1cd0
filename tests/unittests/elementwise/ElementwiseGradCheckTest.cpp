//===- ElementwiseGradCheckTest.cpp - VJP rules against finite differences ===//
//
// As GradCheckTest.cpp, for the elementwise group: f(x...) = sum(op(x...) *
// W) with a fixed random W, its gradient by kiln.vjp + kiln-autodiff
// evaluated in float64 by the reference interpreter, against central finite
// differences. Inputs not differentiated (masks) are plain arguments outside
// the vjp's `wrt`.
//
//===----------------------------------------------------------------------===//

#include "FiniteDifferenceCoverage.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Interpreter/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/DJB.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

using namespace mlir;
using kiln::interp::Buffer;

namespace {

enum class Domain {
  Any,          // [-1, 1]
  Positive,     // [0.5, 2]
  AwayFromZero, // +-[0.2, 1]
  Mask,         // 0 or 1
};

struct Input {
  std::vector<int64_t> shape;
  Domain domain = Domain::Any;
  bool differentiate = true;
};

struct GradCase {
  std::string name;
  std::vector<Input> inputs; // %a, %b, %c
  std::vector<int64_t> output;
  /// Ops defining %y from the inputs; $A, $B, $C, $Y stand for the types.
  std::string body;
};

void PrintTo(const GradCase &c, std::ostream *os) { *os << c.name; }

std::string tensorType(const std::vector<int64_t> &shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + "f64>";
}

std::string replaceAll(std::string text, const std::string &from,
                       const std::string &to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos;
       pos += to.size())
    text.replace(pos, from.size(), to);
  return text;
}

/// func @f(%a, %b, %c, %w) -> (loss, d loss / d each differentiated input).
std::string buildIR(const GradCase &c) {
  static const char *kNames[] = {"%a", "%b", "%c"};
  static const char *kTypes[] = {"$A", "$B", "$C"};
  std::string y = tensorType(c.output), args, wrt, gradTypes, body = c.body;
  size_t n = 0;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    std::string t = tensorType(c.inputs[i].shape);
    args += std::string(kNames[i]) + ": " + t + ", ";
    body = replaceAll(body, kTypes[i], t);
    if (c.inputs[i].differentiate) {
      wrt += (n++ ? ", " : "") + std::string(kNames[i]);
      gradTypes += ", " + t;
    }
  }
  body = replaceAll(body, "$Y", y);
  std::string axes, grads;
  for (size_t d = 0; d < c.output.size(); ++d)
    axes += (d ? ", " : "") + std::to_string(d);
  for (size_t i = 0; i < n; ++i)
    grads += n == 1 ? ", %g" : ", %g#" + std::to_string(i);
  std::string result = n == 1 ? "%g" : "%g:" + std::to_string(n);
  return "func.func @f(" + args + "%w: " + y + ") -> (tensor<f64>" + gradTypes +
         ") {\n" + body + "\n  %p = kiln.mul %y, %w : " + y + ", " + y +
         " -> " + y + "\n  %loss = kiln.reduce_sum %p axes = [" + axes +
         "] : " + y + " -> tensor<f64>\n" +
         "  %one = kiln.constant dense<1.0> : tensor<f64>\n  " + result +
         " = kiln.vjp %loss, %one wrt " + wrt + " : tensor<f64>" + gradTypes +
         "\n  return %loss" + grads + " : tensor<f64>" + gradTypes + "\n}\n";
}

Buffer randomBuffer(const std::vector<int64_t> &shape, Domain domain,
                    std::mt19937_64 &rng) {
  Buffer b{shape, {}};
  std::uniform_real_distribution<double> any(-1.0, 1.0), pos(0.5, 2.0),
      mag(0.2, 1.0);
  for (int64_t i = 0; i < b.numElements(); ++i) {
    switch (domain) {
    case Domain::Any:
      b.data.push_back(any(rng));
      break;
    case Domain::Positive:
      b.data.push_back(pos(rng));
      break;
    case Domain::AwayFromZero:
      b.data.push_back((rng() & 1 ? 1.0 : -1.0) * mag(rng));
      break;
    case Domain::Mask:
      b.data.push_back(rng() & 1 ? 1.0 : 0.0);
      break;
    }
  }
  return b;
}

//===----------------------------------------------------------------------===//
// The cases
//===----------------------------------------------------------------------===//

std::vector<GradCase> allCases() {
  using D = Domain;
  std::vector<GradCase> cases = {
      {"sqrt", {{{2, 3}, D::Positive}}, {2, 3}, "  %y = kiln.sqrt %a : $Y"},
      {"tanh", {{{2, 3}}}, {2, 3}, "  %y = kiln.tanh %a : $Y"},
      {"tanh_large",
       {{{4}, D::AwayFromZero}},
       {4},
       "  %s = kiln.constant dense<3.0> : tensor<f64>\n"
       "  %x = kiln.mul %a, %s : $A, tensor<f64> -> $A\n"
       "  %y = kiln.tanh %x : $Y"},
      {"abs", {{{3, 4}, D::AwayFromZero}}, {3, 4}, "  %y = kiln.abs %a : $Y"},
      {"pow_positive_base",
       {{{2, 3}, D::Positive}, {{2, 3}}},
       {2, 3},
       "  %y = kiln.pow %a, %b : $A, $B -> $Y"},
      {"pow_broadcast_exponent",
       {{{2, 3}, D::Positive}, {{3}}},
       {2, 3},
       "  %y = kiln.pow %a, %b : $A, $B -> $Y"},
      {"pow_scalar_base",
       {{{}, D::Positive}, {{2, 2}}},
       {2, 2},
       "  %y = kiln.pow %a, %b : $A, $B -> $Y"},
      // A negative base with a constant integral exponent: x^3, x^-2.
      {"pow_negative_base_cube",
       {{{2, 3}, D::AwayFromZero}},
       {2, 3},
       "  %e = kiln.constant dense<3.0> : tensor<f64>\n"
       "  %y = kiln.pow %a, %e : $A, tensor<f64> -> $Y"},
      {"pow_negative_base_inverse_square",
       {{{2, 3}, D::AwayFromZero}},
       {2, 3},
       "  %e = kiln.constant dense<-2.0> : tensor<f64>\n"
       "  %y = kiln.pow %a, %e : $A, tensor<f64> -> $Y"},
      {"pow_zero_exponent",
       {{{3}}},
       {3},
       "  %e = kiln.constant dense<0.0> : tensor<f64>\n"
       "  %y = kiln.pow %a, %e : $A, tensor<f64> -> $Y"},
      // x^x: one value as base and exponent.
      {"pow_self",
       {{{4}, D::Positive}},
       {4},
       "  %y = kiln.pow %a, %a : $A, $A -> $Y"},
      {"maximum",
       {{{2, 3}}, {{2, 3}}},
       {2, 3},
       "  %y = kiln.maximum %a, %b : $A, $B -> $Y"},
      {"maximum_broadcast",
       {{{2, 1}}, {{1, 3}}},
       {2, 3},
       "  %y = kiln.maximum %a, %b : $A, $B -> $Y"},
      {"maximum_scalar",
       {{{3, 2}}, {{}}},
       {3, 2},
       "  %y = kiln.maximum %a, %b : $A, $B -> $Y"},
      {"minimum",
       {{{2, 3}}, {{3}}},
       {2, 3},
       "  %y = kiln.minimum %a, %b : $A, $B -> $Y"},
      {"minimum_broadcast",
       {{{4, 1, 3}}, {{2, 1}}},
       {4, 2, 3},
       "  %y = kiln.minimum %a, %b : $A, $B -> $Y"},
      // Ties split the gradient evenly, which is what central differences
      // measure at a tie: max(a, a) has slope 1/2 + 1/2.
      {"maximum_tie",
       {{{2, 3}}},
       {2, 3},
       "  %y = kiln.maximum %a, %a : $A, $A -> $Y"},
      {"minimum_tie",
       {{{2, 3}}},
       {2, 3},
       "  %y = kiln.minimum %a, %a : $A, $A -> $Y"},
      {"select_mask_argument",
       {{{2, 3}, D::Mask, /*differentiate=*/false}, {{2, 3}}, {{2, 3}}},
       {2, 3},
       "  %y = kiln.select %a, %b, %c : $A, $B, $C -> $Y"},
      {"select_broadcast",
       {{{2, 1}, D::Mask, false}, {{3}}, {{}}},
       {2, 3},
       "  %y = kiln.select %a, %b, %c : $A, $B, $C -> $Y"},
      {"select_same_value",
       {{{3, 2}, D::Mask, false}, {{3, 2}}},
       {3, 2},
       "  %y = kiln.select %a, %b, %b : $A, $B, $B -> $Y"},
      // where(a > b, a * a, b): piecewise, away from a == b.
      {"select_compare",
       {{{2, 3}}, {{2, 3}}},
       {2, 3},
       "  %m = kiln.compare \"gt\", %a, %b : $A, $B -> $Y\n"
       "  %sq = kiln.mul %a, %a : $A, $A -> $A\n"
       "  %y = kiln.select %m, %sq, %b : $Y, $A, $B -> $Y"},
      // a * float(int(a)): no gradient flows through the integer, so the
      // slope is trunc(a) (a in [0.5, 2], away from 1 almost surely).
      {"cast_through_integer",
       {{{2, 3}, D::Positive}},
       {2, 3},
       "  %i = kiln.cast %a : $A -> tensor<2x3xi32>\n"
       "  %f = kiln.cast %i : tensor<2x3xi32> -> $A\n"
       "  %y = kiln.mul %a, %f : $A, $A -> $Y"},
      // sqrt(tanh(|x|)^2 + 1): a chain through three new rules.
      {"chain",
       {{{2, 2}, D::AwayFromZero}},
       {2, 2},
       "  %ab = kiln.abs %a : $A\n  %t = kiln.tanh %ab : $A\n"
       "  %t2 = kiln.mul %t, %t : $A, $A -> $A\n"
       "  %c1 = kiln.constant dense<1.0> : tensor<f64>\n"
       "  %s = kiln.add %t2, %c1 : $A, tensor<f64> -> $A\n"
       "  %y = kiln.sqrt %s : $Y"},
  };
  return cases;
}

class ElementwiseGradCheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(ElementwiseGradCheck, MatchesCentralDifferences) {
  const GradCase &c = GetParam();
  MLIRContext context;
  context.loadDialect<kiln::KilnDialect, func::FuncDialect>();
  std::string ir = buildIR(c);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &context);
  ASSERT_TRUE(module) << ir;
  PassManager pm(&context);
  pm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
  ASSERT_TRUE(succeeded(pm.run(*module))) << ir;
  func::FuncOp fn = *module->getOps<func::FuncOp>().begin();

  std::mt19937_64 rng(llvm::djbHash(c.name));
  std::vector<Buffer> args;
  for (const Input &in : c.inputs)
    args.push_back(randomBuffer(in.shape, in.domain, rng));
  args.push_back(randomBuffer(c.output, Domain::Any, rng)); // W

  auto results = kiln::interp::run(fn, args);
  ASSERT_TRUE(succeeded(results)) << ir;

  auto loss = [&](const std::vector<Buffer> &at) {
    auto r = kiln::interp::run(fn, at);
    EXPECT_TRUE(succeeded(r));
    return succeeded(r) ? (*r)[0].data[0] : NAN;
  };
  const double eps = 1e-6;
  size_t g = 0;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.inputs[i].differentiate)
      continue;
    const Buffer &grad = (*results)[++g];
    ASSERT_EQ(grad.shape, c.inputs[i].shape);
    for (size_t j = 0; j < args[i].data.size(); ++j) {
      std::vector<Buffer> plus = args, minus = args;
      plus[i].data[j] += eps;
      minus[i].data[j] -= eps;
      double numeric = (loss(plus) - loss(minus)) / (2 * eps);
      EXPECT_NEAR(grad.data[j], numeric,
                  1e-6 * std::max(1.0, std::abs(numeric)))
          << "d loss / d input " << i << " element " << j << "\n"
          << ir;
    }
  }
}

[[maybe_unused]] const bool kCoverageRecorded =
    kiln::coverage::recordFiniteDifferenceCases(allCases());

INSTANTIATE_TEST_SUITE_P(Ops, ElementwiseGradCheck,
                         ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<GradCase> &info) {
                           return info.param.name;
                         });

// Gradients at 0. As in PyTorch, where(x > 0, sqrt(x), 0) would have a NaN
// gradient at 0 (0 times sqrt's infinite slope); the safe form feeds sqrt a
// selected input, and then the gradient is 0 there. abs and pow have
// PyTorch's values at 0.
TEST(ElementwiseVJP, ZeroAndMaskedBranches) {
  MLIRContext context;
  context.loadDialect<kiln::KilnDialect, func::FuncDialect>();
  const char *ir = R"mlir(
func.func @f(%x: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>, tensor<3xf64>) {
  %zero = kiln.constant dense<0.0> : tensor<f64>
  %one = kiln.constant dense<1.0> : tensor<f64>
  %two = kiln.constant dense<2.0> : tensor<f64>
  %pos = kiln.compare "gt", %x, %zero : tensor<3xf64>, tensor<f64> -> tensor<3xf64>
  %xs = kiln.select %pos, %x, %one : tensor<3xf64>, tensor<3xf64>, tensor<f64> -> tensor<3xf64>
  %s = kiln.sqrt %xs : tensor<3xf64>
  %safe = kiln.select %pos, %s, %zero : tensor<3xf64>, tensor<3xf64>, tensor<f64> -> tensor<3xf64>
  %l1 = kiln.reduce_sum %safe axes = [0] : tensor<3xf64> -> tensor<f64>
  %g1 = kiln.vjp %l1, %one wrt %x : tensor<f64>, tensor<3xf64>
  %a = kiln.abs %x : tensor<3xf64>
  %l2 = kiln.reduce_sum %a axes = [0] : tensor<3xf64> -> tensor<f64>
  %g2 = kiln.vjp %l2, %one wrt %x : tensor<f64>, tensor<3xf64>
  %p = kiln.pow %x, %two : tensor<3xf64>, tensor<f64> -> tensor<3xf64>
  %l3 = kiln.reduce_sum %p axes = [0] : tensor<3xf64> -> tensor<f64>
  %g3 = kiln.vjp %l3, %one wrt %x : tensor<f64>, tensor<3xf64>
  return %g1, %g2, %g3 : tensor<3xf64>, tensor<3xf64>, tensor<3xf64>
})mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &context);
  ASSERT_TRUE(module);
  PassManager pm(&context);
  pm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
  ASSERT_TRUE(succeeded(pm.run(*module)));
  func::FuncOp fn = *module->getOps<func::FuncOp>().begin();
  auto r = kiln::interp::run(fn, {Buffer{{3}, {0.0, 4.0, -1.0}}});
  ASSERT_TRUE(succeeded(r));
  // d sqrt / dx where selected: 1 / (2 sqrt(4)) = 0.25; elsewhere 0.
  EXPECT_EQ((*r)[0].data, (std::vector<double>{0.0, 0.25, 0.0}));
  EXPECT_EQ((*r)[1].data, (std::vector<double>{0.0, 1.0, -1.0}));
  EXPECT_EQ((*r)[2].data, (std::vector<double>{0.0, 8.0, -2.0}));
}

} // namespace
