//===- DslAutodiffTest.cpp - grad/vjp through the DSL, pass and oracle ----===//
//
// Programs traced with the DSL's grad/vjp/value_and_grad, expanded by
// kiln-autodiff and evaluated by the reference interpreter (float64 inputs):
// classic examples with known answers, gradient accumulation, stop_gradient,
// and the "no backward op for what is not differentiated" guarantee for
// stopped branches and frozen parameters, checked on the IR after the pass.
//
//===----------------------------------------------------------------------===//

#include "InterpretProgram.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Interpreter/Interpreter.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/dsl/ProgramMLIR.h"
#include "kiln/dsl/kiln.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace kiln::dsl;
using kiln::dsl::test_support::funcNamed;
using kiln::dsl::test_support::stringsOf;
using kiln::interp::Buffer;

namespace {

/// Op name -> count in function `name` (all functions if empty), plus
/// "total".
std::map<std::string, int> countOps(const Program &p,
                                    llvm::StringRef name = "") {
  std::map<std::string, int> counts;
  moduleOf(p).walk([&](mlir::Operation *op) {
    if (mlir::isa<mlir::ModuleOp, mlir::func::FuncOp, mlir::func::ReturnOp>(op))
      return;
    if (!name.empty() &&
        op->getParentOfType<mlir::func::FuncOp>().getName() != name)
      return;
    ++counts[op->getName().getStringRef().str()];
    ++counts["total"];
  });
  return counts;
}

/// Runs kiln-autodiff alone (`cleanup` false: op counts stay comparable) or
/// the whole differentiate pipeline (autodiff, canonicalize, CSE).
void differentiate(Program &p, bool cleanup) {
  mlir::PassManager pm(moduleOf(p).getContext());
  if (cleanup)
    kiln::buildKilnDifferentiatePipeline(pm);
  else
    pm.addNestedPass<mlir::func::FuncOp>(kiln::createKilnAutodiff());
  ASSERT_TRUE(mlir::succeeded(pm.run(moduleOf(p)))) << p.str();
}

std::vector<Buffer> interpret(const Program &p, llvm::StringRef name,
                              std::vector<Buffer> args) {
  mlir::func::FuncOp fn = funcNamed(p, name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name.str();
    return {};
  }
  auto results = kiln::interp::run(fn, args);
  if (mlir::failed(results)) {
    ADD_FAILURE() << "interpreter failed on\n" << p.str();
    return {};
  }
  return *results;
}

void expectValues(const Buffer &actual, const std::vector<double> &expected,
                  double tolerance = 1e-12) {
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i], tolerance) << "element " << i;
}

/// Ops kiln-autodiff added to `fn`: total after minus total before without
/// the kiln.vjp ops it replaced.
int backwardOps(std::map<std::string, int> before,
                std::map<std::string, int> after) {
  return after["total"] - (before["total"] - before["kiln.vjp"]);
}

//===----------------------------------------------------------------------===//
// Classic examples
//===----------------------------------------------------------------------===//

TEST(DslAutodiff, PolynomialDerivative) {
  // f(x) = 9x^4 + 2x^3 + 3x^2 + 6x + 1; f(2) = 185, f'(2) = 288 + 24 + 12 +
  // 6 = 330; f(-1) = 9 - 2 + 3 - 6 + 1 = 5, f'(-1) = -36 + 6 - 6 + 6 = -30.
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({}, DType::f64);
  Tensor y = 9 * x * x * x * x + 2 * x * x * x + 3 * x * x + 6 * x + 1;
  std::vector<Tensor> g = grad(y, {x});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].shape(), Shape{});
  EXPECT_EQ(g[0].dtype(), DType::f64);
  f.output(y);
  f.output(g[0]);
  f.finish();
  EXPECT_EQ(countOps(p)["kiln.vjp"], 1);
  differentiate(p, /*cleanup=*/false);
  EXPECT_EQ(countOps(p)["kiln.vjp"], 0) << p.str();
  std::vector<Buffer> r = interpret(p, "f", {Buffer::scalar(2)});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {185});
  expectValues(r[1], {330});
  r = interpret(p, "f", {Buffer::scalar(-1)});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {5});
  expectValues(r[1], {-30});
}

/// Q = 3a^3 - b^2 (PyTorch's autograd tutorial): dQ/da = 9a^2, dQ/db = -2b.
Tensor tutorialQ(const Tensor &a, const Tensor &b) {
  return 3 * a * a * a - b * b;
}

const std::vector<Buffer> kQArgs = {{{2}, {2, 3}}, {{2}, {6, 4}}};

TEST(DslAutodiff, VjpOfNonScalarOutputWithSeed) {
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2}, DType::f64);
  Tensor b = f.input({2}, DType::f64);
  Tensor q = tutorialQ(a, b);
  std::vector<Tensor> g = vjp(q, full({2}, 1.0, DType::f64), {a, b});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].shape(), (Shape{2}));
  EXPECT_EQ(g[1].shape(), (Shape{2}));
  f.output(q);
  f.output(g[0]);
  f.output(g[1]);
  f.finish();
  differentiate(p, /*cleanup=*/false);
  std::vector<Buffer> r = interpret(p, "f", kQArgs);
  ASSERT_EQ(r.size(), 3u);
  expectValues(r[0], {24 - 36, 81 - 16});
  expectValues(r[1], {36, 81});
  expectValues(r[2], {-12, -8});
}

TEST(DslAutodiff, VjpSeedWeightsTheRows) {
  // With seed v: v * dQ/da elementwise.
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2}, DType::f64);
  Tensor b = f.input({2}, DType::f64);
  Tensor v = f.input({2}, DType::f64);
  std::vector<Tensor> g = vjp(tutorialQ(a, b), v, {a, b});
  f.output(g[0]);
  f.output(g[1]);
  f.finish();
  differentiate(p, /*cleanup=*/true);
  std::vector<Buffer> r =
      interpret(p, "f", {kQArgs[0], kQArgs[1], {{2}, {0.5, -2}}});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {18, -162});
  expectValues(r[1], {-6, 16});
}

TEST(DslAutodiff, GradOfSumEqualsVjpWithOnes) {
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2}, DType::f64);
  Tensor b = f.input({2}, DType::f64);
  std::vector<Tensor> g = grad(tutorialQ(a, b).sum(), {a, b});
  f.output(g[0]);
  f.output(g[1]);
  f.finish();
  differentiate(p, /*cleanup=*/true);
  std::vector<Buffer> r = interpret(p, "f", kQArgs);
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {36, 81});
  expectValues(r[1], {-12, -8});
}

TEST(DslAutodiff, GradientsOfTwoLossesAddUp) {
  // grad(l1) + grad(l2) == grad(l1 + l2), as PyTorch accumulates .grad.
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({2, 3}, DType::f64);
  Tensor w = f.input({3}, DType::f64);
  Tensor l1 = (x * w).sum();
  Tensor l2 = log(mean(exp(x), {1})).sum();
  std::vector<Tensor> g1 = grad(l1, {x, w});
  std::vector<Tensor> g2 = grad(l2, {x, w});
  std::vector<Tensor> g = grad(l1 + l2, {x, w});
  f.output(g1[0] + g2[0]);
  f.output(g1[1] + g2[1]);
  f.output(g[0]);
  f.output(g[1]);
  f.output(g1[1]);
  f.finish();
  EXPECT_EQ(countOps(p)["kiln.vjp"], 3);
  differentiate(p, /*cleanup=*/true);
  EXPECT_EQ(countOps(p)["kiln.vjp"], 0);
  std::vector<double> xs = {0.1, -0.2, 0.3, 0.7, 0.5, -0.9};
  std::vector<Buffer> r =
      interpret(p, "f", {{{2, 3}, xs}, {{3}, {1.5, -2, 0.25}}});
  ASSERT_EQ(r.size(), 5u);
  expectValues(r[0], r[2].data);
  expectValues(r[1], r[3].data);
  // dl1/dw = column sums of x; l2 does not depend on w.
  expectValues(r[4], {0.8, 0.3, -0.6});
  expectValues(r[3], {0.8, 0.3, -0.6});
  // dl/dx = w + softmax(x) row-wise.
  for (int i = 0; i < 2; ++i) {
    double z = 0;
    for (int j = 0; j < 3; ++j)
      z += std::exp(xs[3 * i + j]);
    std::vector<double> w = {1.5, -2, 0.25};
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(r[2].data[3 * i + j], w[j] + std::exp(xs[3 * i + j]) / z,
                  1e-12);
  }
}

TEST(DslAutodiff, ValueAndGradReturnsTheLoss) {
  // l = mean((w*x - t)^2); dl/dw_i = 2/3 (w_i x_i - t_i) x_i.
  Program p;
  Function f = p.function("f");
  Tensor w = f.input({3}, DType::f64);
  Tensor x = f.input({3}, DType::f64);
  Tensor t = f.input({3}, DType::f64);
  Tensor l = nn::mse_loss(w * x, t);
  auto [loss, grads] = value_and_grad(l, {w});
  EXPECT_EQ(loss.value(), l.value());
  EXPECT_EQ(loss.rank(), 0);
  ASSERT_EQ(grads.size(), 1u);
  EXPECT_EQ(grads[0].shape(), (Shape{3}));
  f.output(loss);
  f.output(grads[0]);
  f.finish();
  differentiate(p, /*cleanup=*/true);
  std::vector<Buffer> r = interpret(
      p, "f", {{{3}, {1, 2, -1}}, {{3}, {3, -1, 2}}, {{3}, {1, 0, 1}}});
  ASSERT_EQ(r.size(), 2u);
  // residuals: 3-1 = 2, -2-0 = -2, -2-1 = -3.
  expectValues(r[0], {(4.0 + 4 + 9) / 3});
  expectValues(r[1], {2.0 / 3 * 2 * 3, 2.0 / 3 * -2 * -1, 2.0 / 3 * -3 * 2});
}

TEST(DslAutodiff, GradWithRespectToAnIntermediate) {
  // d/dh sum(h*h) with h = 2x is 2h = 4x, not d/dx.
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({2}, DType::f64);
  Tensor h = 2 * x;
  std::vector<Tensor> g = grad((h * h).sum(), {h, x});
  f.output(g[0]);
  f.output(g[1]);
  f.finish();
  differentiate(p, /*cleanup=*/true);
  std::vector<Buffer> r = interpret(p, "f", {{{2}, {1, -3}}});
  ASSERT_EQ(r.size(), 2u);
  expectValues(r[0], {4, -12});
  expectValues(r[1], {8, -24});
}

//===----------------------------------------------------------------------===//
// stop_gradient / detach
//===----------------------------------------------------------------------===//

TEST(DslAutodiff, StopGradientAndDetachPassNoGradient) {
  // d/dx sum(x * sg(x)) = sg(x) = x, not 2x.
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({3}, DType::f64);
  f.output(grad((x * stop_gradient(x)).sum(), {x})[0]);
  f.output(grad((x.detach() * x).sum(), {x})[0]);
  f.output(grad(exp(x.detach()).sum(), {x})[0]);
  f.finish();
  differentiate(p, /*cleanup=*/true);
  std::vector<Buffer> r = interpret(p, "f", {{{3}, {1, -2, 5}}});
  ASSERT_EQ(r.size(), 3u);
  expectValues(r[0], {1, -2, 5});
  expectValues(r[1], {1, -2, 5});
  expectValues(r[2], {0, 0, 0});
}

/// loss = sum(x*x) + sum(log(other)) with gradient wrt x only; `other` is
/// x.detach() or a separate input (which must cost no backward op either).
Program stoppedBranchProgram(bool detach) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({3}, DType::f64);
  Tensor y = f.input({3}, DType::f64);
  Tensor other = detach ? x.detach() : y;
  Tensor loss = (x * x).sum() + log(other).sum();
  f.output(grad(loss, {x})[0]);
  f.finish();
  return p;
}

TEST(DslAutodiff, DetachedBranchGetsNoBackwardOps) {
  Program stopped = stoppedBranchProgram(/*detach=*/true);
  Program unrelated = stoppedBranchProgram(/*detach=*/false);
  auto stoppedBefore = countOps(stopped), unrelatedBefore = countOps(unrelated);
  differentiate(stopped, /*cleanup=*/false);
  differentiate(unrelated, /*cleanup=*/false);
  auto stoppedAfter = countOps(stopped), unrelatedAfter = countOps(unrelated);
  std::string ir = stopped.str();
  // log's backward op would be a division by its input; reduce_sum's a
  // broadcast_to. Only the x*x branch is differentiated.
  EXPECT_EQ(stoppedAfter["kiln.vjp"], 0) << ir;
  EXPECT_EQ(stoppedAfter["kiln.div"], 0) << ir;
  EXPECT_EQ(ir.find("kiln.div"), std::string::npos) << ir;
  EXPECT_EQ(stoppedAfter["kiln.log"], 1) << ir;
  EXPECT_EQ(stoppedAfter["kiln.broadcast_to"], 1) << ir;
  EXPECT_EQ(backwardOps(stoppedBefore, stoppedAfter),
            backwardOps(unrelatedBefore, unrelatedAfter))
      << ir << "\nvs\n"
      << unrelated.str();
  // The log branch's only op after the pass is still its forward one, fed
  // by the stop_gradient.
  mlir::func::FuncOp fn = funcNamed(stopped, "f");
  fn.walk([&](kiln::LogOp log) {
    EXPECT_TRUE(log->getOperand(0).getDefiningOp<kiln::StopGradientOp>());
  });
  std::vector<Buffer> r =
      interpret(stopped, "f", {{{3}, {1, 2, 5}}, {{3}, {1, 1, 1}}});
  ASSERT_EQ(r.size(), 1u);
  expectValues(r[0], {2, 4, 10});
}

//===----------------------------------------------------------------------===//
// Frozen parameters in build_classifier
//===----------------------------------------------------------------------===//

struct TwoLayer : nn::Module {
  nn::Linear fc1{4, 5}, fc2{5, 3};
  TwoLayer() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor &x) const { return fc2(relu(fc1(x))); }
};

enum class Freeze { None, Fc1Weight, Fc1 };

Program twoLayerProgram(Freeze freeze) {
  TwoLayer model;
  if (freeze == Freeze::Fc1Weight)
    model.fc1.weight.requires_grad_(false);
  if (freeze == Freeze::Fc1)
    model.fc1.requires_grad_(false);
  ClassifierOptions options;
  options.batch_size = 2;
  options.input_shape = {4};
  options.num_classes = 3;
  options.optimizer = optim::SGD{.lr = 0.1, .momentum = 0.9};
  return build_classifier("m", model, options,
                          [&](const Tensor &x) { return model.forward(x); });
}

bool contains(const std::vector<std::string> &names, const std::string &n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

/// The train_step's arguments: state by name from `state`, then x, y, lr.
std::vector<Buffer> stepArgs(mlir::func::FuncOp fn,
                             const std::map<std::string, Buffer> &state,
                             std::vector<Buffer> plain) {
  std::vector<Buffer> args;
  size_t next = 0;
  for (const std::string &name : stringsOf(fn, kiln::KilnDialect::getStateArgsAttrName()))
    args.push_back(name.empty() ? plain.at(next++) : state.at(name));
  return args;
}

/// The step's state results by name.
std::map<std::string, Buffer> stateResults(mlir::func::FuncOp fn,
                                           const std::vector<Buffer> &r) {
  std::map<std::string, Buffer> state;
  std::vector<std::string> names = stringsOf(fn, kiln::KilnDialect::getStateResultsAttrName());
  EXPECT_EQ(names.size(), r.size());
  for (size_t i = 0; i < names.size() && i < r.size(); ++i)
    if (!names[i].empty())
      state[names[i]] = r[i];
  return state;
}

Buffer filled(std::vector<int64_t> shape, double start, double step) {
  Buffer b{shape, {}};
  for (int64_t i = 0; i < b.numElements(); ++i)
    b.data.push_back(start + step * static_cast<double>(i));
  return b;
}

TEST(DslAutodiff, FrozenParameterGetsNoBackwardOp) {
  Program all = twoLayerProgram(Freeze::None);
  Program frozenW = twoLayerProgram(Freeze::Fc1Weight);
  Program frozenFc1 = twoLayerProgram(Freeze::Fc1);
  for (Program *p : {&all, &frozenW, &frozenFc1})
    differentiate(*p, /*cleanup=*/true);

  for (Program *p : {&all, &frozenW, &frozenFc1})
    EXPECT_EQ(countOps(*p)["kiln.vjp"], 0) << p->str();
  // Forward: 2 matmuls. Backward: dW2, dh1 (needed by fc1's trainable
  // parameters) and dW1.
  int mmAll = countOps(all, "m_train_step")["kiln.matmul"];
  int mmW = countOps(frozenW, "m_train_step")["kiln.matmul"];
  int mmFc1 = countOps(frozenFc1, "m_train_step")["kiln.matmul"];
  EXPECT_EQ(mmAll, 5) << all.str();
  EXPECT_LT(mmW, mmAll);
  EXPECT_EQ(mmW, 4) << frozenW.str();
  EXPECT_LT(mmFc1, mmW);
  EXPECT_EQ(mmFc1, 3) << frozenFc1.str();

  mlir::func::FuncOp step = funcNamed(frozenW, "m_train_step");
  std::vector<std::string> args = stringsOf(step, kiln::KilnDialect::getStateArgsAttrName());
  std::vector<std::string> results = stringsOf(step, kiln::KilnDialect::getStateResultsAttrName());
  EXPECT_TRUE(contains(args, "fc1.weight"));
  EXPECT_FALSE(contains(args, "fc1.weight.momentum_buffer"));
  EXPECT_FALSE(contains(results, "fc1.weight"));
  EXPECT_FALSE(contains(results, "fc1.weight.momentum_buffer"));
  for (const char *trained : {"fc1.bias", "fc2.weight", "fc2.bias"}) {
    EXPECT_TRUE(contains(results, trained)) << trained;
    EXPECT_TRUE(contains(results, std::string(trained) + ".momentum_buffer"))
        << trained;
  }
  // The frozen weight is read by its forward transpose only.
  auto it = std::find(args.begin(), args.end(), "fc1.weight");
  mlir::Value w = step.getArgument(it - args.begin());
  ASSERT_TRUE(w.hasOneUse()) << frozenW.str();
  mlir::Operation *user = *w.getUsers().begin();
  ASSERT_TRUE(mlir::isa<kiln::TransposeOp>(user)) << frozenW.str();
  ASSERT_TRUE(user->getResult(0).hasOneUse());
  mlir::Operation *matmul = *user->getResult(0).getUsers().begin();
  EXPECT_TRUE(mlir::isa<kiln::MatmulOp>(matmul)) << frozenW.str();

  // Init still initializes the frozen weight but gives it no buffer.
  std::vector<std::string> init =
      stringsOf(funcNamed(frozenW, "m_init"), kiln::KilnDialect::getStateResultsAttrName());
  EXPECT_TRUE(contains(init, "fc1.weight"));
  EXPECT_FALSE(contains(init, "fc1.weight.momentum_buffer"));
  EXPECT_TRUE(contains(init, "fc1.bias.momentum_buffer"));

  // Submodule freezing: nothing of fc1 is updated.
  std::vector<std::string> fc1Results =
      stringsOf(funcNamed(frozenFc1, "m_train_step"), kiln::KilnDialect::getStateResultsAttrName());
  EXPECT_EQ(fc1Results, (std::vector<std::string>{
                            "", "fc2.weight", "fc2.weight.momentum_buffer",
                            "fc2.bias", "fc2.bias.momentum_buffer"}));
}

TEST(DslAutodiff, FreezingDoesNotChangeOtherUpdates) {
  Program all = twoLayerProgram(Freeze::None);
  Program frozenW = twoLayerProgram(Freeze::Fc1Weight);
  differentiate(all, /*cleanup=*/true);
  differentiate(frozenW, /*cleanup=*/true);
  std::map<std::string, Buffer> state = {
      {"fc1.weight", filled({5, 4}, -0.5, 0.05)},
      {"fc1.bias", filled({5}, 0.1, -0.05)},
      {"fc2.weight", filled({3, 5}, 0.4, -0.05)},
      {"fc2.bias", filled({3}, 0.0, 0.1)}};
  for (const std::string name :
       {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"})
    state[name + ".momentum_buffer"] = filled(state[name].shape, 0.01, 0.001);
  std::vector<Buffer> batch = {{{2, 4}, {1, 2, -1, 0.5, 0, -1, 2, 1}},
                               {{2}, {2, 0}},
                               Buffer::scalar(0.5)};
  mlir::func::FuncOp stepAll = funcNamed(all, "m_train_step");
  mlir::func::FuncOp stepW = funcNamed(frozenW, "m_train_step");
  std::vector<Buffer> rAll =
      interpret(all, "m_train_step", stepArgs(stepAll, state, batch));
  std::vector<Buffer> rW =
      interpret(frozenW, "m_train_step", stepArgs(stepW, state, batch));
  ASSERT_FALSE(rAll.empty());
  ASSERT_FALSE(rW.empty());
  expectValues(rW[0], rAll[0].data);
  std::map<std::string, Buffer> newAll = stateResults(stepAll, rAll);
  std::map<std::string, Buffer> newW = stateResults(stepW, rW);
  EXPECT_EQ(newAll.size(), 8u);
  EXPECT_EQ(newW.size(), 6u);
  for (auto &[name, value] : newW)
    expectValues(value, newAll.at(name).data);
  // The trainable weight did move.
  EXPECT_NE(newAll.at("fc1.weight").data, state.at("fc1.weight").data);
}

} // namespace
