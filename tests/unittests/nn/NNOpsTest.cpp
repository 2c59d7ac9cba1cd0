//===- NNOpsTest.cpp - conv2d, max_pool2d, rsqrt, increment ---------------===//
//
// The NN primitives in the reference interpreter against hand-computed
// values and PyTorch 1.13 (the Python that produced each table is quoted),
// their VJP rules against central finite differences (float64, through the
// interpreter; conv2d is checked twice: its gradient ops are differentiable
// too), and the compiled f32 code of every op and gradient against the
// interpreter.
//
//===----------------------------------------------------------------------===//

#include "FiniteDifferenceCoverage.h"
#include "NNShapes.h"
#include "NNTestUtil.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/DJB.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

using namespace mlir;
using namespace nntest;

namespace {

//===----------------------------------------------------------------------===//
// IR text helpers
//===----------------------------------------------------------------------===//

/// f(x, w, g) -> (conv2d(x, w), the vjp of g wrt x and w).
std::string convWithGradsIR(const Conv &c, const std::string &e = "f64") {
  std::string X = typeOf(c.x, e), W = typeOf(c.w, e), Y = typeOf(c.y(), e);
  return "func.func @f(%x: " + X + ", %w: " + W + ", %g: " + Y + ") -> (" +
         Y + ", " + X + ", " + W + ") {\n" +
         "  %y = kiln.conv2d %x, %w" + c.attrs() + ": " + X + ", " + W +
         " -> " + Y + "\n  %d:2 = kiln.vjp %y, %g wrt %x, %w : " + Y + ", " +
         X + ", " + W + "\n  return %y, %d#0, %d#1 : " + Y + ", " + X + ", " +
         W + "\n}\n";
}

/// f(x, g) -> (max_pool2d(x), the vjp of g wrt x).
std::string poolWithGradIR(const Pool &p, const std::string &e = "f64") {
  std::string X = typeOf(p.x, e), Y = typeOf(p.y(), e);
  return "func.func @f(%x: " + X + ", %g: " + Y + ") -> (" + Y + ", " + X +
         ") {\n  %y = kiln.max_pool2d %x" + p.attrs() + ": " + X + " -> " +
         Y + "\n  %d = kiln.vjp %y, %g wrt %x : " + Y + ", " + X +
         "\n  return %y, %d : " + Y + ", " + X + "\n}\n";
}

//===----------------------------------------------------------------------===//
// Hand-computed values
//===----------------------------------------------------------------------===//

TEST(NNInterpreter, Conv2DHandComputed) {
  // x = 1..9 in a 3x3 plane, w = [[1, 0], [0, -1]]: out[i, j] = x[i, j] -
  // x[i+1, j+1] = -4 everywhere; with padding 1 the border sees zeros.
  TestContext ctx;
  Buffer x{{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  Buffer w{{1, 1, 2, 2}, {1, 0, 0, -1}};
  auto valid = interpret(ctx, R"mlir(
func.func @f(%x: tensor<1x1x3x3xf64>, %w: tensor<1x1x2x2xf64>) -> (tensor<1x1x2x2xf64>, tensor<1x1x4x4xf64>, tensor<1x1x2x2xf64>) {
  %a = kiln.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<1x1x3x3xf64>, tensor<1x1x2x2xf64> -> tensor<1x1x2x2xf64>
  %b = kiln.conv2d %x, %w stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1 : tensor<1x1x3x3xf64>, tensor<1x1x2x2xf64> -> tensor<1x1x4x4xf64>
  %c = kiln.conv2d %x, %w stride = [2, 2] padding = [1, 1] dilation = [1, 1] groups = 1 : tensor<1x1x3x3xf64>, tensor<1x1x2x2xf64> -> tensor<1x1x2x2xf64>
  return %a, %b, %c : tensor<1x1x2x2xf64>, tensor<1x1x4x4xf64>, tensor<1x1x2x2xf64>
})mlir",
                         {x, w});
  ASSERT_EQ(valid.size(), 3u);
  expectNear(valid[0], {-4, -4, -4, -4}, 0, "valid");
  expectNear(valid[1],
             {-1, -2, -3, 0, -4, -4, -4, 3, -7, -4, -4, 6, 0, 7, 8, 9}, 0,
             "padded");
  expectNear(valid[2], {-1, -3, -7, -4}, 0, "strided");
}

TEST(NNInterpreter, Conv2DDilationAndGroups) {
  // Dilation 2 on 1..25 (5x5) with a 2x2 kernel of ones reads x[i, j] +
  // x[i, j+2] + x[i+2, j] + x[i+2, j+2]. Groups: channel 0 of the output
  // sees only input channel 0, channel 1 only input channel 1.
  TestContext ctx;
  Buffer x{{1, 1, 5, 5}, {}};
  for (int i = 1; i <= 25; ++i)
    x.data.push_back(i);
  Buffer ones{{1, 1, 2, 2}, {1, 1, 1, 1}};
  Buffer two{{1, 2, 1, 2}, {1, 2, 3, 4}};
  Buffer w{{2, 1, 1, 2}, {1, 10, 100, 1000}};
  auto r = interpret(ctx, R"mlir(
func.func @f(%x: tensor<1x1x5x5xf64>, %k: tensor<1x1x2x2xf64>, %t: tensor<1x2x1x2xf64>, %w: tensor<2x1x1x2xf64>) -> (tensor<1x1x3x3xf64>, tensor<1x2x1x1xf64>) {
  %a = kiln.conv2d %x, %k stride = [1, 1] padding = [0, 0] dilation = [2, 2] groups = 1 : tensor<1x1x5x5xf64>, tensor<1x1x2x2xf64> -> tensor<1x1x3x3xf64>
  %b = kiln.conv2d %t, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 2 : tensor<1x2x1x2xf64>, tensor<2x1x1x2xf64> -> tensor<1x2x1x1xf64>
  return %a, %b : tensor<1x1x3x3xf64>, tensor<1x2x1x1xf64>
})mlir",
                     {x, ones, two, w});
  ASSERT_EQ(r.size(), 2u);
  // x[i,j] = 5i + j + 1: the four terms sum to 4 x[i,j] + 24.
  std::vector<double> dilated;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      dilated.push_back(4 * (5 * i + j + 1) + 24);
  expectNear(r[0], dilated, 0, "dilated");
  expectNear(r[1], {1 * 1 + 2 * 10, 3 * 100 + 4 * 1000}, 0, "groups");
}

TEST(NNInterpreter, MaxPoolHandComputedTiesGoToTheFirstMaximum) {
  // Windows of 2x2, stride 2: the gradient of each window goes to its first
  // maximum in row-major order (here always a tie of two 5s, or 7 alone).
  TestContext ctx;
  Buffer x{{1, 1, 2, 4}, {5, 5, 1, 7, 0, 5, 7, 7}};
  Buffer g{{1, 1, 1, 2}, {10, 20}};
  auto r = interpret(ctx, poolWithGradIR({{1, 1, 2, 4}, 2, 2, 2, 2}), {x, g});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], {5, 7}, 0, "max");
  expectNear(r[1], {10, 0, 0, 20, 0, 0, 0, 0}, 0, "grad");
}

TEST(NNInterpreter, RsqrtAndIncrement) {
  TestContext ctx;
  auto r = interpret(ctx, R"mlir(
func.func @f(%x: tensor<3xf64>, %c: tensor<2xi64>) -> (tensor<3xf64>, tensor<2xi64>) {
  %r = kiln.rsqrt %x : tensor<3xf64>
  %i = kiln.increment %c : tensor<2xi64>
  return %r, %i : tensor<3xf64>, tensor<2xi64>
})mlir",
                     {Buffer{{3}, {4, 0.25, 1}}, Buffer{{2}, {41, -1}}});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], {0.5, 2, 1}, 1e-15, "rsqrt");
  expectNear(r[1], {42, 0}, 0, "increment");
}

//===----------------------------------------------------------------------===//
// PyTorch 1.13 values. The script (float64):
//
//   import math, torch
//   import torch.nn.functional as F
//   torch.set_default_dtype(torch.float64)
//   def seq(shape, f):
//       return torch.tensor([f(i) for i in range(math.prod(shape))]).reshape(shape)
//   X = lambda s: seq(s, lambda i: math.sin(0.7 * i + 0.3))
//   W = lambda s: seq(s, lambda i: 0.5 * math.cos(0.45 * i - 0.2))
//
// and for each table below the lines quoted with it.
//===----------------------------------------------------------------------===//

TEST(NNInterpreter, Conv2DMatchesPyTorchWithStridePaddingDilation) {
  //   x = X([2, 3, 7, 6]).requires_grad_(); w = W([4, 3, 3, 2]).requires_grad_()
  //   y = F.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2))
  //   g = W(list(y.shape)) * 2 - 0.3
  //   gx, gw = torch.autograd.grad(y, (x, w), g)
  // (first 8 values of y, gx, gw; every element is checked against the
  // compiled code below)
  Conv c{{2, 3, 7, 6}, {4, 3, 3, 2}, 2, 1, 1, 2, 1, 2, 1};
  ASSERT_EQ(c.y(), (Shape{2, 4, 4, 8}));
  Buffer g = seqW(c.y());
  for (double &v : g.data)
    v = v * 2 - 0.3;
  TestContext ctx;
  auto r = interpret(ctx, convWithGradsIR(c), {seqX(c.x), seqW(c.w), g});
  ASSERT_EQ(r.size(), 3u);
  auto first8 = [](const Buffer &b) {
    return Buffer{{8}, std::vector<double>(b.data.begin(), b.data.begin() + 8)};
  };
  expectNear(first8(r[0]),
             {1.0300401362, 0.825468988162, 1.15951908759, 0.577478565483,
              -0.276159149324, -0.999914901098, -0.697468111133,
              -1.05208041635},
             1e-9, "y");
  expectNear(first8(r[1]),
             {1.48989207812, 1.67019672274, 1.48748694913, 0.978141332051,
              0.243573535686, -0.569959734676, -1.64209007404,
              -0.568433190355},
             1e-9, "gx");
  expectNear(first8(r[2]),
             {-4.24214724422, 0.25936575409, -1.37306228779, -3.05356156173,
              2.26661847922, -2.64149934308, 0.0275266931139, -5.48485435045},
             1e-9, "gw");
  // A few elements further in: y[1, 3, 3, 7] (the last), gx[1, 2, 6, 5],
  // gw[3, 2, 2, 1].
  EXPECT_NEAR(r[0].data.back(), -0.877650300371, 1e-9);
  EXPECT_NEAR(r[1].data.back(), -0.244948819022, 1e-9);
  EXPECT_NEAR(r[2].data.back(), 0.24805923679, 1e-9);
  EXPECT_NEAR(r[0].data[100], 0.721985654747, 1e-9);
  EXPECT_NEAR(r[1].data[100], 1.15325112756, 1e-9);
  EXPECT_NEAR(r[2].data[50], 2.52713159048, 1e-9);
}

TEST(NNInterpreter, GroupedConv2DMatchesPyTorch) {
  //   x = X([1, 4, 5, 5]); w = W([6, 2, 3, 3])
  //   F.conv2d(x, w, padding=1, groups=2)     (y[0, c, 2, 0:5] for c = 0, 5)
  Conv c{{1, 4, 5, 5}, {6, 2, 3, 3}, 1, 1, 1, 1, 1, 1, 2};
  TestContext ctx;
  auto r = interpret(ctx, convWithGradsIR(c),
                     {seqX(c.x), seqW(c.w), seqW(c.y())});
  ASSERT_EQ(r.size(), 3u);
  Buffer row0{{5}, {r[0].data.begin() + 10, r[0].data.begin() + 15}};
  Buffer row5{{5}, {r[0].data.begin() + 135, r[0].data.begin() + 140}};
  expectNear(row0,
             {-0.229202743336, -0.319701037114, -0.320624682122,
              -0.170753529228, -0.0698220276449},
             1e-9, "channel 0");
  expectNear(row5,
             {-0.29237413065, -0.375383932708, -0.296298014588,
              -0.0778585104237, 0.0172961233985},
             1e-9, "channel 5");
}

TEST(NNInterpreter, MaxPoolMatchesPyTorchWithPaddingAndOverlap) {
  //   x = X([1, 2, 5, 6]).requires_grad_()
  //   y = F.max_pool2d(x, (3, 2), stride=(2, 2), padding=(1, 1))
  //   g = W(list(y.shape)); gx = torch.autograd.grad(y, x, g)[0]
  Pool p{{1, 2, 5, 6}, 3, 2, 2, 2, 1, 1};
  ASSERT_EQ(p.y(), (Shape{1, 2, 3, 4}));
  TestContext ctx;
  auto r = interpret(ctx, poolWithGradIR(p), {seqX(p.x), seqW(p.y())});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0],
             {0.295520206661, 0.991664810452, 0.850436620629, 0.989358246623,
              0.662969230082, 0.986771964275, 0.850436620629, 0.989358246623,
              0.327474439138, 0.986771964275, 0.867644100642, 0.983906694619,
              0.63742259615, 0.980763247745, 0.624377135416, -0.326635126105,
              0.611155146263, 0.980763247745, 0.883870423546, 0.977342512392,
              0.611155146263, 0.973645455695, 0.597760366905, -0.2946716015},
             1e-11, "max_pool2d");
  expectNear(
      r[1],
      {0.490033288921, 0, 0.484456210855, 0, 0, 0, 0, 0, 0, 0,
       -0.0181507141312, -0.286607381057, -0.0145997611506, 0, 0, 0, 0, 0,
       -0.48339909629, 0, -0.610235875257, 0, 0, 0, 0, 0, 0, 0,
       -0.20039958604, 0.018801076444, 0.23425833565, 0, 0, 0, 0,
       0.482307813598, 0, 0, 0.599614689415, 0.491634219221, 0, 0, 0, 0, 0, 0,
       -0.0230010628198, -0.237963767517, -0.0285953798592, 0, 0, 0, 0,
       -0.374176080716, 0, 0, -0.492382586734, -0.481182439916, 0, 0},
      1e-11, "max_pool2d grad");
}

//===----------------------------------------------------------------------===//
// VJP rules against central finite differences
//===----------------------------------------------------------------------===//

struct GradCase {
  std::string name;
  std::vector<Shape> inputs;
  Shape output;
  std::string body; // defines %y from %a (and %b)
  bool positive = false;
};

void PrintTo(const GradCase &c, std::ostream *os) { *os << c.name; }

std::string gradIR(const GradCase &c) {
  std::string args, wrt, types, grads, gradTypes;
  const char *names[] = {"%a", "%b"};
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    args += std::string(names[i]) + ": " + typeOf(c.inputs[i]) + ", ";
    wrt += (i ? ", " : "") + std::string(names[i]);
    gradTypes += ", " + typeOf(c.inputs[i]);
    grads += c.inputs.size() == 1 ? ", %g" : ", %g#" + std::to_string(i);
  }
  std::string Y = typeOf(c.output), axes;
  for (size_t d = 0; d < c.output.size(); ++d)
    axes += (d ? ", " : "") + std::to_string(d);
  std::string result =
      c.inputs.size() == 1 ? "%g" : "%g:" + std::to_string(c.inputs.size());
  return "func.func @f(" + args + "%w: " + Y + ") -> (tensor<f64>" +
         gradTypes + ") {\n  %y = " + c.body + "\n  %p = kiln.mul %y, %w : " +
         Y + ", " + Y + " -> " + Y + "\n  %loss = kiln.reduce_sum %p axes = [" +
         axes + "] : " + Y + " -> tensor<f64>\n" +
         "  %one = kiln.constant dense<1.0> : tensor<f64>\n  " + result +
         " = kiln.vjp %loss, %one wrt " + wrt + " : tensor<f64>" + gradTypes +
         "\n  return %loss" + grads + " : tensor<f64>" + gradTypes + "\n}\n";
}

GradCase convCase(const Conv &c) {
  return {"conv2d_" + c.name(), {c.x, c.w}, c.y(),
          "kiln.conv2d %a, %b" + c.attrs() + ": " + typeOf(c.x) + ", " +
              typeOf(c.w) + " -> " + typeOf(c.y())};
}

/// conv2d_input_grad(gy = %a, w = %b) -> x's shape.
GradCase inputGradCase(const Conv &c) {
  return {"input_grad_" + c.name(), {c.y(), c.w}, c.x,
          "kiln.conv2d_input_grad %a, %b" + c.attrs() + ": " + typeOf(c.y()) +
              ", " + typeOf(c.w) + " -> " + typeOf(c.x)};
}

/// conv2d_weight_grad(x = %a, gy = %b) -> w's shape.
GradCase weightGradCase(const Conv &c) {
  return {"weight_grad_" + c.name(), {c.x, c.y()}, c.w,
          "kiln.conv2d_weight_grad %a, %b" + c.attrs() + ": " + typeOf(c.x) +
              ", " + typeOf(c.y()) + " -> " + typeOf(c.w)};
}

GradCase poolCase(const std::string &name, const Pool &p) {
  return {"max_pool2d_" + name, {p.x}, p.y(),
          "kiln.max_pool2d %a" + p.attrs() + ": " + typeOf(p.x) + " -> " +
              typeOf(p.y())};
}

std::vector<Conv> gradConvs() {
  return {
      {{1, 1, 4, 4}, {1, 1, 3, 3}},
      {{2, 3, 5, 4}, {2, 3, 2, 3}, 1, 1, 1, 1},
      {{1, 2, 7, 6}, {3, 2, 3, 2}, 2, 1, 1, 2, 1, 2},
      {{2, 4, 5, 5}, {4, 2, 3, 3}, 2, 2, 1, 1, 1, 1, 2},
      {{1, 3, 6, 6}, {3, 1, 2, 2}, 1, 2, 0, 1, 2, 1, 3},
      // padding 2 > dilation * (kernel - 1) = 1: the input grad crops
      {{1, 2, 5, 5}, {2, 2, 2, 2}, 2, 2, 2, 2},
  };
}

std::vector<GradCase> gradCases() {
  std::vector<GradCase> cases;
  for (const Conv &c : gradConvs()) {
    cases.push_back(convCase(c));
    cases.push_back(inputGradCase(c));
    cases.push_back(weightGradCase(c));
  }
  cases.push_back(poolCase("2x2", {{2, 2, 4, 6}, 2, 2, 2, 2}));
  cases.push_back(poolCase("3x2_s21_p11", {{1, 2, 5, 6}, 3, 2, 2, 1, 1, 1}));
  cases.push_back(
      poolCase("2x2_dilated", {{1, 1, 6, 6}, 2, 2, 1, 2, 0, 1, 2, 2}));
  cases.push_back({"rsqrt", {{2, 3}}, {2, 3}, "kiln.rsqrt %a : tensor<2x3xf64>",
                   /*positive=*/true});
  return cases;
}

class NNGradCheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(NNGradCheck, MatchesCentralDifferences) {
  const GradCase &c = GetParam();
  TestContext ctx;
  std::string ir = gradIR(c);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &ctx.context);
  ASSERT_TRUE(module) << ctx.diagnostics << ir;
  PassManager pm(&ctx.context);
  pm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
  ASSERT_TRUE(succeeded(pm.run(*module))) << ctx.diagnostics << ir;
  auto fn = *module->getOps<func::FuncOp>().begin();

  std::mt19937_64 rng(llvm::djbHash(c.name));
  std::uniform_real_distribution<double> any(-1.0, 1.0), pos(0.5, 2.0);
  std::vector<Buffer> args;
  for (const Shape &shape : c.inputs) {
    Buffer b{shape, {}};
    for (int64_t i = 0; i < b.numElements(); ++i)
      b.data.push_back(c.positive ? pos(rng) : any(rng));
    args.push_back(b);
  }
  Buffer weights{c.output, {}};
  for (int64_t i = 0; i < weights.numElements(); ++i)
    weights.data.push_back(any(rng));
  args.push_back(weights);

  auto results = kiln::interp::run(fn, args);
  ASSERT_TRUE(succeeded(results)) << ctx.diagnostics;
  auto loss = [&](const std::vector<Buffer> &at) {
    auto r = kiln::interp::run(fn, at);
    return succeeded(r) ? (*r)[0].data[0] : NAN;
  };
  const double eps = 1e-6;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Buffer &grad = (*results)[i + 1];
    ASSERT_EQ(grad.shape, c.inputs[i]);
    int reported = 0;
    for (size_t j = 0; j < args[i].data.size(); ++j) {
      std::vector<Buffer> plus = args, minus = args;
      plus[i].data[j] += eps;
      minus[i].data[j] -= eps;
      double numeric = (loss(plus) - loss(minus)) / (2 * eps);
      if (std::abs(grad.data[j] - numeric) >
              1e-6 * std::max(1.0, std::abs(numeric)) &&
          reported++ < 5)
        ADD_FAILURE() << c.name << ": d loss / d input " << i << " element "
                      << j << " is " << grad.data[j] << ", numerically "
                      << numeric;
    }
  }
}

[[maybe_unused]] const bool kCoverageRecorded =
    kiln::coverage::recordFiniteDifferenceCases(gradCases());

INSTANTIATE_TEST_SUITE_P(
    Ops, NNGradCheck, ::testing::ValuesIn(gradCases()),
    [](const ::testing::TestParamInfo<GradCase> &info) {
      return info.param.name;
    });

TEST(NNAutodiff, SecondDerivativeOfMaxPoolIsAClearError) {
  TestContext ctx;
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(R"mlir(
func.func @f(%x: tensor<1x1x2x2xf64>, %g: tensor<1x1x1x1xf64>) -> tensor<1x1x2x2xf64> {
  %y = kiln.max_pool2d %x kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<1x1x2x2xf64> -> tensor<1x1x1x1xf64>
  %d = kiln.vjp %y, %g wrt %x : tensor<1x1x1x1xf64>, tensor<1x1x2x2xf64>
  %dd = kiln.vjp %d, %x wrt %x : tensor<1x1x2x2xf64>, tensor<1x1x2x2xf64>
  return %dd : tensor<1x1x2x2xf64>
})mlir",
                                                              &ctx.context);
  ASSERT_TRUE(module);
  PassManager pm(&ctx.context);
  pm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
  EXPECT_TRUE(failed(pm.run(*module)));
  EXPECT_NE(ctx.diagnostics.find("cannot differentiate 'kiln.max_pool2d_grad'"),
            std::string::npos)
      << ctx.diagnostics;
}

//===----------------------------------------------------------------------===//
// Compiled f32 code against the interpreter
//===----------------------------------------------------------------------===//

class NNCompiledConv : public ::testing::TestWithParam<Conv> {};

TEST_P(NNCompiledConv, ForwardAndBothGradients) {
  const Conv &c = GetParam();
  Buffer g = seqW(c.y());
  expectCompiledMatchesInterpreter(convWithGradsIR(c, "f32"),
                                   {seqX(c.x), seqW(c.w), g});
}

INSTANTIATE_TEST_SUITE_P(
    Configs, NNCompiledConv,
    ::testing::Values(
        // LeNet and convnet shapes (small batch)
        Conv{{2, 1, 28, 28}, {6, 1, 5, 5}, 1, 1, 2, 2},
        Conv{{2, 6, 14, 14}, {16, 6, 5, 5}},
        Conv{{2, 32, 14, 14}, {64, 32, 5, 5}, 1, 1, 2, 2},
        // im2col in chunks of 2 images (147456 bytes each; the input
        // gradient's 36864 fits whole), and of 1 image with more output
        // channels than C*KH*KW (the [C*KH*KW, O] weight gradient)
        Conv{{4, 16, 16, 16}, {4, 16, 3, 3}, 1, 1, 1, 1},
        Conv{{3, 1, 130, 130}, {8, 1, 2, 2}},
        // strides, asymmetric padding, dilation, non-square
        Conv{{2, 3, 7, 6}, {4, 3, 3, 2}, 2, 1, 1, 2, 1, 2},
        Conv{{1, 2, 9, 8}, {3, 2, 3, 3}, 3, 2, 0, 1, 2, 1},
        Conv{{1, 2, 5, 5}, {2, 2, 3, 3}, 3, 3, 2, 2, 1, 1},
        Conv{{1, 2, 5, 5}, {2, 2, 2, 2}, 2, 2, 2, 2},
        Conv{{3, 5, 6, 7}, {7, 5, 1, 1}},
        // groups (depthwise too)
        Conv{{2, 4, 6, 6}, {6, 2, 3, 3}, 1, 1, 1, 1, 1, 1, 2},
        Conv{{1, 3, 8, 8}, {6, 1, 3, 3}, 2, 2, 1, 1, 2, 2, 3}),
    [](const ::testing::TestParamInfo<Conv> &info) {
      return info.param.name();
    });

// kiln-parallelize-chunk-loops: a convolution whose 5 chunks of one image
// run in 2 lanes (3 and 2 chunks, each lane with its own im2col and product
// buffers) gives the serial loop's bits, forward and input gradient. The
// weight gradient sums each lane's chunks apart, then adds the two: another
// order than the serial loop's, the same values to rounding.
TEST(NNCompiled, ChunkLanesGiveTheSerialLoopsBits) {
  Conv c{{5, 16, 16, 16}, {4, 16, 3, 3}, 1, 1, 1, 1};
  std::string ir = convWithGradsIR(c, "f32");
  std::vector<Buffer> inputs = {seqX(c.x), seqW(c.w), seqW(c.y())};
  auto run = [&](int64_t lanes) {
    TestContext ctx;
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &ctx.context);
    EXPECT_TRUE(module) << ctx.diagnostics;
    kiln::BufferizePipelineOptions bufferize;
    bufferize.chunkLanes = lanes;
    CompiledModule compiled;
    std::string error;
    EXPECT_TRUE(compiled.build(*module, error, kiln::CPUPipelineOptions(),
                               bufferize))
        << error;
    // Each lane's buffers are placed apart: a bigger arena.
    int64_t arena = compiled.abi().arenaBytes;
    return std::make_pair(compiled.call("f", inputs), arena);
  };
  auto [serial, serialArena] = run(0);
  auto [lanes, lanesArena] = run(2);
  EXPECT_GT(lanesArena, serialArena);
  ASSERT_EQ(serial.size(), 3u);
  ASSERT_EQ(lanes.size(), 3u);
  EXPECT_EQ(lanes[0].data, serial[0].data) << "forward";
  EXPECT_EQ(lanes[1].data, serial[1].data) << "input gradient";
  double scale = 0.0;
  for (double v : serial[2].data)
    scale = std::max(scale, std::abs(v));
  expectNear(lanes[2], serial[2].data, 2e-5 * scale, "weight gradient");
}

TEST(NNCompiled, Conv2DInF64) {
  Conv c{{1, 2, 6, 5}, {3, 2, 3, 2}, 2, 1, 1, 1, 1, 2};
  expectCompiledMatchesInterpreter(convWithGradsIR(c, "f64"),
                                   {seqX(c.x), seqW(c.w), seqW(c.y())}, 1e-12);
}

TEST(NNCompiled, GradientOpsDirectly) {
  // The gradient ops as a second derivative would use them.
  Conv c{{2, 4, 7, 7}, {6, 2, 3, 3}, 2, 2, 1, 1, 1, 1, 2};
  std::string X = typeOf(c.x, "f32"), W = typeOf(c.w, "f32"),
              Y = typeOf(c.y(), "f32");
  std::string ir = "func.func @f(%x: " + X + ", %gy: " + Y + ", %w: " + W +
                   ") -> (" + X + ", " + W + ") {\n" +
                   "  %gx = kiln.conv2d_input_grad %gy, %w" + c.attrs() +
                   ": " + Y + ", " + W + " -> " + X + "\n" +
                   "  %gw = kiln.conv2d_weight_grad %x, %gy" + c.attrs() +
                   ": " + X + ", " + Y + " -> " + W + "\n" +
                   "  return %gx, %gw : " + X + ", " + W + "\n}\n";
  expectCompiledMatchesInterpreter(ir, {seqX(c.x), seqW(c.y()), seqW(c.w)});
}

TEST(NNCompiled, MaxPoolForwardAndGradient) {
  for (const Pool &p : {Pool{{2, 3, 8, 8}, 2, 2, 2, 2},
                        Pool{{1, 2, 5, 6}, 3, 2, 2, 1, 1, 1},
                        Pool{{1, 2, 7, 7}, 3, 3, 1, 1, 1, 1},
                        Pool{{1, 1, 6, 6}, 2, 2, 1, 2, 0, 1, 2, 2}}) {
    SCOPED_TRACE(p.attrs());
    expectCompiledMatchesInterpreter(poolWithGradIR(p, "f32"),
                                     {seqX(p.x), seqW(p.y())});
  }
}

TEST(NNCompiled, MaxPoolTiesGoToTheFirstMaximum) {
  // Small integers: many ties inside each (overlapping) window.
  Pool p{{1, 2, 6, 6}, 3, 3, 1, 1, 1, 1};
  Buffer x{p.x, {}};
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.data.push_back(static_cast<double>((i * 7) % 3));
  expectCompiledMatchesInterpreter(poolWithGradIR(p, "f32"),
                                   {x, seqW(p.y())}, 0.0);
}

TEST(NNCompiled, TiledMaxPoolVectorCodeMatchesTheInterpreter) {
  // Windows that tile the input run as vector code (kiln-vectorize-pooling,
  // 16 output columns a block here): a full block and a ragged end (21 =
  // 16 + 5 columns), a short block alone (3 and 7 columns), 3x3 windows
  // (KW = 3: the gradient's scatter stays scalar), 2x1 and 1x2 windows.
  // Values -1, 0, 1 (and runs of zeros): ties in every window of four,
  // all-equal windows too; the gradient must go to each window's first
  // maximum, bit for bit.
  for (const Pool &p : {Pool{{2, 3, 4, 42}, 2, 2, 2, 2},
                        Pool{{1, 2, 6, 6}, 2, 2, 2, 2},
                        Pool{{1, 2, 2, 14}, 2, 2, 2, 2},
                        Pool{{1, 2, 9, 9}, 3, 3, 3, 3},
                        Pool{{1, 3, 4, 6}, 2, 1, 2, 1},
                        Pool{{1, 3, 4, 6}, 1, 2, 1, 2}}) {
    SCOPED_TRACE(p.attrs());
    Buffer x{p.x, {}};
    for (int64_t i = 0; i < x.numElements(); ++i)
      x.data.push_back(i % 13 < 4 ? 0.0 : static_cast<double>((i * 7) % 3) - 1);
    expectCompiledMatchesInterpreter(poolWithGradIR(p, "f32"),
                                     {x, seqW(p.y())}, 0.0);
  }
}

TEST(NNCompiled, RsqrtAndIncrement) {
  expectCompiledMatchesInterpreter(R"mlir(
func.func @f(%x: tensor<37xf32>, %c: tensor<i64>, %d: tensor<3xi32>) -> (tensor<37xf32>, tensor<i64>, tensor<3xi32>) {
  %r = kiln.rsqrt %x : tensor<37xf32>
  %i = kiln.increment %c : tensor<i64>
  %j = kiln.increment %d : tensor<3xi32>
  return %r, %i, %j : tensor<37xf32>, tensor<i64>, tensor<3xi32>
})mlir",
                                   {[] {
                                      Buffer b = seqX({37});
                                      for (double &v : b.data)
                                        v = v * v + 0.01;
                                      return b;
                                    }(),
                                    Buffer::scalar(1234567),
                                    Buffer{{3}, {-1, 0, 99}}});
}

} // namespace
