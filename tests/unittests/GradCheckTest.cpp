//===- GradCheckTest.cpp - VJP rules against finite differences -----------===//
//
// For every differentiable kiln op, builds f(x...) = sum(op(x...) * W) with a
// fixed random W (every output element matters, the loss is a scalar), takes
// its gradient with kiln.vjp + kiln-autodiff, evaluates it in float64 with
// the reference interpreter and compares with central finite differences.
//
//===----------------------------------------------------------------------===//

#include "FiniteDifferenceCoverage.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
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

/// Where random inputs are drawn, to keep clear of kinks and poles.
enum class Domain {
  Any,      // [-1, 1]
  Positive, // [0.5, 2]: log inputs, div denominators
  AwayFromZero, // +-[0.2, 1]: relu inputs
};

struct GradCase {
  std::string name;
  std::vector<std::vector<int64_t>> inputs; // shapes of %a, %b
  std::vector<int64_t> output;              // shape of %y
  /// Defines %y from %a and %b; $A, $B and $Y stand for their types.
  std::string body;
  std::vector<Domain> domains = {};
};

/// Names the case in gtest's listings instead of dumping its bytes.
void PrintTo(const GradCase &c, std::ostream *os) { *os << c.name; }

std::string tensorType(ArrayRef<int64_t> shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + "f64>";
}

std::string replaceAll(StringRef text, StringRef from, StringRef to) {
  std::string result;
  for (size_t pos; (pos = text.find(from)) != StringRef::npos;
       text = text.drop_front(pos + from.size()))
    result += (text.take_front(pos) + to).str();
  return result + text.str();
}

/// func @f(%a, %b, ..., %w) -> (loss, dloss/d%a, dloss/d%b, ...).
std::string buildIR(const GradCase &c) {
  static const char *kNames[] = {"%a", "%b"};
  size_t n = c.inputs.size();
  std::string y = tensorType(c.output), args, types, gradTypes, grads;
  for (size_t i = 0; i < n; ++i) {
    std::string t = tensorType(c.inputs[i]);
    args += std::string(kNames[i]) + ": " + t + ", ";
    types += (i ? ", " : "") + std::string(kNames[i]);
    gradTypes += ", " + t;
    grads += n == 1 ? ", %g" : ", %g#" + std::to_string(i);
  }
  std::string body = c.body;
  body = replaceAll(body, "$A", tensorType(c.inputs[0]));
  if (n > 1)
    body = replaceAll(body, "$B", tensorType(c.inputs[1]));
  body = replaceAll(body, "$Y", y);
  std::string axes;
  for (size_t d = 0; d < c.output.size(); ++d)
    axes += (d ? ", " : "") + std::to_string(d);
  std::string result = n == 1 ? "%g" : "%g:" + std::to_string(n);
  return "func.func @f(" + args + "%w: " + y + ") -> (tensor<f64>" +
         gradTypes + ") {\n  %y = " + body + "\n" +
         "  %p = kiln.mul %y, %w : " + y + ", " + y + " -> " + y + "\n" +
         "  %loss = kiln.reduce_sum %p axes = [" + axes + "] : " + y +
         " -> tensor<f64>\n" +
         "  %one = kiln.constant dense<1.0> : tensor<f64>\n  " + result +
         " = kiln.vjp %loss, %one wrt " + types + " : tensor<f64>" +
         gradTypes + "\n  return %loss" + grads + " : tensor<f64>" +
         gradTypes + "\n}\n";
}

Buffer randomBuffer(ArrayRef<int64_t> shape, Domain domain,
                    std::mt19937_64 &rng) {
  Buffer b{std::vector<int64_t>(shape.begin(), shape.end()), {}};
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
    }
  }
  return b;
}

//===----------------------------------------------------------------------===//
// The cases
//===----------------------------------------------------------------------===//

/// "2x3" for [2, 3], "s" for a scalar: part of a test name.
std::string shapeName(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "s";
  std::string name = std::to_string(shape[0]);
  for (int64_t d : shape.drop_front()) {
    name += 'x';
    name += std::to_string(d);
  }
  return name;
}

std::vector<GradCase> binaryCases() {
  struct Op {
    const char *name;
    bool positiveRhs;
  };
  const Op ops[] = {{"add", false}, {"sub", false}, {"mul", false},
                    {"div", true}};
  const std::pair<std::vector<int64_t>, std::vector<int64_t>> shapes[] = {
      {{2, 3}, {2, 3}}, {{2, 3}, {3}},    {{3}, {2, 3}},
      {{2, 1}, {1, 3}}, {{}, {2, 3}},     {{2, 3}, {}},
      {{4, 1, 3}, {2, 1}}, {{}, {}}};
  std::vector<GradCase> cases;
  for (const Op &op : ops) {
    for (const auto &[lhs, rhs] : shapes) {
      std::string name =
          std::string(op.name) + "_" + shapeName(lhs) + "_" + shapeName(rhs);
      auto out = kiln::broadcastShapes(lhs, rhs);
      cases.push_back({name,
                       {lhs, rhs},
                       std::vector<int64_t>(out->begin(), out->end()),
                       std::string("kiln.") + op.name +
                           " %a, %b : $A, $B -> $Y",
                       {Domain::Any,
                        op.positiveRhs ? Domain::Positive : Domain::Any}});
    }
  }
  // x * x and x / x: one value used twice accumulates two cotangents.
  cases.push_back({"mul_self", {{2, 3}}, {2, 3}, "kiln.mul %a, %a : $A, $A -> $Y"});
  cases.push_back({"div_self_broadcast",
                   {{2, 3}, {3}},
                   {2, 3},
                   "kiln.div %b, %a : $B, $A -> $Y",
                   {Domain::Positive, Domain::Any}});
  return cases;
}

std::vector<GradCase> otherCases() {
  return {
      {"neg", {{2, 3}}, {2, 3}, "kiln.neg %a : $Y"},
      {"exp", {{2, 3}}, {2, 3}, "kiln.exp %a : $Y"},
      {"log", {{2, 3}}, {2, 3}, "kiln.log %a : $Y", {Domain::Positive}},
      {"relu", {{3, 4}}, {3, 4}, "kiln.relu %a : $Y", {Domain::AwayFromZero}},
      {"exp_scalar", {{}}, {}, "kiln.exp %a : $Y"},
      {"matmul_2d", {{2, 3}, {3, 4}}, {2, 4},
       "kiln.matmul %a, %b : $A, $B -> $Y"},
      {"matmul_3d", {{2, 2, 3}, {2, 3, 2}}, {2, 2, 2},
       "kiln.matmul %a, %b : $A, $B -> $Y"},
      {"transpose_2d", {{2, 3}}, {3, 2}, "kiln.transpose %a, [1, 0] : $A -> $Y"},
      {"transpose_3d_201", {{2, 3, 4}}, {4, 2, 3},
       "kiln.transpose %a, [2, 0, 1] : $A -> $Y"},
      {"transpose_3d_120", {{2, 3, 4}}, {3, 4, 2},
       "kiln.transpose %a, [1, 2, 0] : $A -> $Y"},
      {"reshape", {{2, 3}}, {3, 2}, "kiln.reshape %a : $A -> $Y"},
      {"reshape_3d", {{2, 3, 2}}, {6, 2}, "kiln.reshape %a : $A -> $Y"},
      {"broadcast_to_row", {{3}}, {2, 3}, "kiln.broadcast_to %a : $A -> $Y"},
      {"broadcast_to_col", {{2, 1}}, {2, 3}, "kiln.broadcast_to %a : $A -> $Y"},
      {"broadcast_to_scalar", {{}}, {2, 2}, "kiln.broadcast_to %a : $A -> $Y"},
      {"broadcast_to_rank3", {{1, 3}}, {4, 2, 3},
       "kiln.broadcast_to %a : $A -> $Y"},
      {"reduce_sum_1", {{2, 3}}, {2}, "kiln.reduce_sum %a axes = [1] : $A -> $Y"},
      {"reduce_sum_02_keepdims", {{2, 3, 4}}, {1, 3, 1},
       "kiln.reduce_sum %a axes = [0, 2] keepdims : $A -> $Y"},
      {"reduce_sum_all", {{2, 3}}, {}, "kiln.reduce_sum %a axes = [0, 1] : $A -> $Y"},
      {"reduce_mean_1", {{2, 3}}, {2}, "kiln.reduce_mean %a axes = [1] : $A -> $Y"},
      {"reduce_mean_02_keepdims", {{2, 3, 4}}, {1, 3, 1},
       "kiln.reduce_mean %a axes = [0, 2] keepdims : $A -> $Y"},
      {"reduce_mean_12", {{2, 3, 4}}, {2},
       "kiln.reduce_mean %a axes = [1, 2] : $A -> $Y"},
      {"reduce_max_1", {{3, 4}}, {3}, "kiln.reduce_max %a axes = [1] : $A -> $Y"},
      {"reduce_max_0_keepdims", {{3, 4}}, {1, 4},
       "kiln.reduce_max %a axes = [0] keepdims : $A -> $Y"},
      {"reduce_max_02", {{2, 3, 4}}, {3},
       "kiln.reduce_max %a axes = [0, 2] : $A -> $Y"},
      {"reduce_max_all", {{2, 3}}, {}, "kiln.reduce_max %a axes = [0, 1] : $A -> $Y"},
      {"log_softmax_1", {{2, 4}}, {2, 4}, "kiln.log_softmax %a axis = 1 : $Y"},
      {"log_softmax_0", {{3, 2}}, {3, 2}, "kiln.log_softmax %a axis = 0 : $Y"},
      {"log_softmax_3d", {{2, 3, 2}}, {2, 3, 2},
       "kiln.log_softmax %a axis = 1 : $Y"},
  };
}

std::vector<GradCase> allCases() {
  std::vector<GradCase> cases = binaryCases();
  for (GradCase &c : otherCases())
    cases.push_back(std::move(c));
  return cases;
}

//===----------------------------------------------------------------------===//
// The check
//===----------------------------------------------------------------------===//

class GradCheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(GradCheck, MatchesCentralDifferences) {
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
  for (size_t i = 0; i < c.inputs.size(); ++i)
    args.push_back(randomBuffer(
        c.inputs[i], i < c.domains.size() ? c.domains[i] : Domain::Any, rng));
  args.push_back(randomBuffer(c.output, Domain::Any, rng)); // W

  auto results = kiln::interp::run(fn, args);
  ASSERT_TRUE(succeeded(results)) << ir;
  ASSERT_EQ(results->size(), c.inputs.size() + 1);

  auto loss = [&](const std::vector<Buffer> &at) {
    auto r = kiln::interp::run(fn, at);
    EXPECT_TRUE(succeeded(r));
    return succeeded(r) ? (*r)[0].data[0] : NAN;
  };
  const double eps = 1e-6;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Buffer &grad = (*results)[i + 1];
    ASSERT_EQ(grad.shape, c.inputs[i]);
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

INSTANTIATE_TEST_SUITE_P(
    Ops, GradCheck, ::testing::ValuesIn(allCases()),
    [](const ::testing::TestParamInfo<GradCase> &info) {
      return info.param.name;
    });

} // namespace
