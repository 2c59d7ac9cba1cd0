//===- ClassifierTest.cpp - nn::Module API and build_classifier -----------===//
//
// The Module tree (dotted parameter names, freezing, Linear's init), and the
// three functions build_classifier traces: their signatures and state names
// in the printed module, init interpreted with a seed, and train_step
// (after kiln-autodiff) interpreted against a hand-computed cross-entropy,
// central finite differences and PyTorch's SGD formulas.
//
//===----------------------------------------------------------------------===//

#include "InterpretProgram.h"

#include "kiln/dsl/kiln.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>

using namespace kiln::dsl;
using kiln::interp::Buffer;
using namespace kiln::dsl::test_support;

namespace {

//===----------------------------------------------------------------------===//
// Module API
//===----------------------------------------------------------------------===//

struct MLP : nn::Module {
  nn::Linear fc1{784, 512}, fc2{512, 512}, fc3{512, 10};
  MLP() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }
};

struct Encoder : nn::Module {
  nn::Parameter scale{{3}, nn::Init::constant(1.0)};
  MLP mlp;
  nn::Linear head{10, 2, /*bias=*/false};
  Encoder() {
    register_parameter("scale", scale);
    register_module("mlp", mlp);
    register_module("head", head);
  }
};

std::vector<std::string> namesOf(nn::Module &m) {
  std::vector<std::string> names;
  for (auto &[name, parameter] : m.named_parameters())
    names.push_back(name);
  return names;
}

TEST(DslModule, NamedParametersInRegistrationOrder) {
  MLP mlp;
  EXPECT_EQ(namesOf(mlp),
            (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight",
                                      "fc2.bias", "fc3.weight", "fc3.bias"}));
  std::vector<nn::Parameter *> params = mlp.parameters();
  ASSERT_EQ(params.size(), 6u);
  EXPECT_EQ(params[0], &mlp.fc1.weight);
  EXPECT_EQ(params[1], &mlp.fc1.bias);
  EXPECT_EQ(params[5], &mlp.fc3.bias);
  EXPECT_EQ(mlp.named_parameters()[2].second, &mlp.fc2.weight);

  // Nested modules: own parameters first, then children, dotted.
  Encoder enc;
  EXPECT_EQ(namesOf(enc),
            (std::vector<std::string>{"scale", "mlp.fc1.weight", "mlp.fc1.bias",
                                      "mlp.fc2.weight", "mlp.fc2.bias",
                                      "mlp.fc3.weight", "mlp.fc3.bias",
                                      "head.weight"}));
  EXPECT_EQ(enc.parameters().size(), 8u);
}

TEST(DslModule, NamedModulesInPreOrderAndSubtreeModes) {
  Encoder enc;
  std::vector<std::string> names;
  for (auto &[name, module] : enc.named_modules())
    names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"", "mlp", "mlp.fc1", "mlp.fc2",
                                             "mlp.fc3", "head"}));
  EXPECT_EQ(enc.named_modules()[0].second, &enc);
  EXPECT_EQ(enc.named_modules()[3].second, &enc.mlp.fc2);
  // eval() on a submodule reaches its subtree only; train() on the root
  // reaches everything.
  enc.mlp.eval();
  EXPECT_TRUE(enc.is_training());
  EXPECT_FALSE(enc.mlp.fc3.is_training());
  EXPECT_TRUE(enc.head.is_training());
  enc.train();
  EXPECT_TRUE(enc.mlp.fc3.is_training());
}

TEST(DslModule, RequiresGradOnASubmodule) {
  Encoder enc;
  for (nn::Parameter *p : enc.parameters())
    EXPECT_TRUE(p->requires_grad());
  enc.mlp.fc2.requires_grad_(false);
  for (auto &[name, p] : enc.named_parameters())
    EXPECT_EQ(p->requires_grad(), name.rfind("mlp.fc2.", 0) != 0) << name;
  enc.mlp.requires_grad_(false);
  for (auto &[name, p] : enc.named_parameters())
    EXPECT_EQ(p->requires_grad(), name.rfind("mlp.", 0) != 0) << name;
  enc.requires_grad_(true);
  for (nn::Parameter *p : enc.parameters())
    EXPECT_TRUE(p->requires_grad());
  enc.head.weight.requires_grad_(false);
  EXPECT_FALSE(enc.head.weight.requires_grad());
  EXPECT_TRUE(enc.scale.requires_grad());
}

TEST(DslModule, LinearShapesAndInit) {
  nn::Linear fc(784, 10);
  EXPECT_EQ(fc.weight.shape(), (Shape{10, 784}));
  EXPECT_EQ(fc.bias.shape(), (Shape{10}));
  for (nn::Parameter *p : {&fc.weight, &fc.bias}) {
    EXPECT_EQ(p->init().kind, nn::Init::Uniform);
    EXPECT_DOUBLE_EQ(p->init().a, -1.0 / 28);
    EXPECT_DOUBLE_EQ(p->init().b, 1.0 / 28);
  }
  nn::Linear noBias(3, 2, /*bias=*/false);
  EXPECT_EQ(namesOf(noBias), (std::vector<std::string>{"weight"}));
  EXPECT_DOUBLE_EQ(noBias.weight.init().b, 1.0 / std::sqrt(3.0));
  nn::Parameter zeros({2}, nn::Init::zeros());
  EXPECT_EQ(zeros.init().kind, nn::Init::Zeros);
  EXPECT_EQ(nn::Init::constant(0.5).a, 0.5);
}

TEST(DslModule, UnboundParameterIsAnError) {
  nn::Linear fc(3, 2);
  std::string message = errorOf([&] { fc.weight.value(); });
  EXPECT_NE(message.find("[2, 3]"), std::string::npos) << message;
  EXPECT_NE(message.find("outside a traced model function"), std::string::npos)
      << message;
}

TEST(DslModule, LinearComputesXWTransposedPlusB) {
  nn::Linear fc(3, 2);
  Program p;
  Function f = p.function("f");
  fc.weight.bind(f.state_input("w", {2, 3}));
  fc.bias.bind(f.state_input("b", {2}));
  Tensor y2 = fc(f.input({2, 3}));
  Tensor y3 = fc(f.input({2, 1, 3}));
  EXPECT_EQ(y2.shape(), (Shape{2, 2}));
  EXPECT_EQ(y3.shape(), (Shape{2, 1, 2}));
  f.output(y2);
  f.output(y3);
  f.finish();
  Buffer x{{2, 3}, {1, 2, 3, -1, 0, 2}};
  std::map<std::string, Buffer> state = {{"w", {{2, 3}, {1, 0, -1, 2, 1, 0.5}}},
                                         {"b", {{2}, {10, 20}}}};
  std::map<std::string, Buffer> r =
      call(p, "f", state, {x, {{2, 1, 3}, x.data}});
  // Row 0: [1-3, 2+2+1.5] + b; row 1: [-1-2, -2+0+1] + b.
  expectNear(r["#0"], {8, 25.5, 7, 19}, 1e-12);
  expectNear(r["#1"], {8, 25.5, 7, 19}, 1e-12);
  EXPECT_EQ(r["#1"].shape, (std::vector<int64_t>{2, 1, 2}));
}

//===----------------------------------------------------------------------===//
// build_classifier: structure
//===----------------------------------------------------------------------===//

struct Tiny : nn::Module {
  nn::Linear fc{4, 3};
  Tiny() { register_module("fc", fc); }
};

Program tinyProgram(Tiny &model, const optim::SGD &sgd,
                    int64_t accumulationSteps = 1) {
  ClassifierOptions options;
  options.accumulation_steps = accumulationSteps;
  options.batch_size = 2;
  options.input_shape = {4};
  options.num_classes = 3;
  options.optimizer = sgd;
  return build_classifier("tiny", model, options,
                          [&](const Tensor &x) { return model.fc(x); });
}

TEST(DslClassifier, FunctionsSignaturesAndStateNames) {
  Tiny model;
  Program p = tinyProgram(model, optim::SGD{.lr = 0.1, .momentum = 0.9});
  std::string ir = p.str();
  EXPECT_TRUE(has(ir, "func.func @tiny_init(%arg0: tensor<i64>) -> "
                      "(tensor<3x4xf32>, tensor<3xf32>, tensor<3x4xf32>, "
                      "tensor<3xf32>) attributes {kiln.state_args = [\"\"], "
                      "kiln.state_results = [\"fc.weight\", \"fc.bias\", "
                      "\"fc.weight.momentum_buffer\", "
                      "\"fc.bias.momentum_buffer\"]}"))
      << ir;
  EXPECT_TRUE(has(ir, "func.func @tiny_train_step(%arg0: tensor<3x4xf32>, "
                      "%arg1: tensor<3xf32>, %arg2: tensor<3x4xf32>, "
                      "%arg3: tensor<3xf32>, %arg4: tensor<2x4xf32>, "
                      "%arg5: tensor<2xi32>, %arg6: tensor<f32>) -> "
                      "(tensor<f32>, tensor<3x4xf32>, tensor<3x4xf32>, "
                      "tensor<3xf32>, tensor<3xf32>) attributes "
                      "{kiln.state_args = [\"fc.weight\", \"fc.bias\", "
                      "\"fc.weight.momentum_buffer\", "
                      "\"fc.bias.momentum_buffer\", \"\", \"\", \"\"], "
                      "kiln.state_results = [\"\", \"fc.weight\", "
                      "\"fc.weight.momentum_buffer\", \"fc.bias\", "
                      "\"fc.bias.momentum_buffer\"]}"))
      << ir;
  EXPECT_TRUE(has(ir, "func.func @tiny_predict(%arg0: tensor<3x4xf32>, "
                      "%arg1: tensor<3xf32>, %arg2: tensor<2x4xf32>) -> "
                      "tensor<2x3xf32> attributes {kiln.state_args = "
                      "[\"fc.weight\", \"fc.bias\", \"\"], "
                      "kiln.state_results = [\"\"]}"))
      << ir;
  EXPECT_TRUE(has(ir, "kiln.model = {batch_size = 2 : i64, default_lr = "
                      "1.000000e-01 : f64, input_shape = array<i64: 4>, "
                      "name = \"tiny\", num_classes = 3 : i64, "
                      "task = \"classification\"}"))
      << ir;
  // Exactly three functions, one gradient request in the step.
  EXPECT_EQ(std::distance(moduleOf(p).getOps<mlir::func::FuncOp>().begin(),
                          moduleOf(p).getOps<mlir::func::FuncOp>().end()),
            3);
  int vjps = 0;
  moduleOf(p).walk([&](mlir::Operation *op) {
    vjps += op->getName().getStringRef() == "kiln.vjp";
  });
  EXPECT_EQ(vjps, 1);
  differentiate(p);
  EXPECT_FALSE(has(p.str(), "kiln.vjp")) << p.str();
}

TEST(DslClassifier, PlainSGDHasNoBuffersAndMultiDimInput) {
  MLP model;
  ClassifierOptions options;
  options.batch_size = 8;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.05};
  EXPECT_TRUE(options.optimizer.state_names().empty());
  Program p = build_classifier("mlp", model, options, [&](const Tensor &x) {
    Tensor h = relu(model.fc1(flatten(x, 1)));
    return model.fc3(relu(model.fc2(h)));
  });
  std::string ir = p.str();
  EXPECT_FALSE(has(ir, "momentum_buffer")) << ir;
  EXPECT_TRUE(has(ir, "kiln.state_results = [\"\", \"fc1.weight\", "
                      "\"fc1.bias\", \"fc2.weight\", \"fc2.bias\", "
                      "\"fc3.weight\", \"fc3.bias\"]"))
      << ir;
  EXPECT_TRUE(has(ir, "%arg6: tensor<8x28x28xf32>, %arg7: tensor<8xi32>, "
                      "%arg8: tensor<f32>) -> (tensor<f32>, "
                      "tensor<512x784xf32>"))
      << ir;
  EXPECT_TRUE(has(ir, "-> tensor<8x10xf32> attributes")) << ir;
  EXPECT_TRUE(has(ir, "input_shape = array<i64: 28, 28>")) << ir;
  EXPECT_TRUE(has(ir, "default_lr = 5.000000e-02")) << ir;
  EXPECT_EQ(optim::SGD{.momentum = 0.9}.state_names(),
            (std::vector<std::string>{"momentum_buffer"}));
}

//===----------------------------------------------------------------------===//
// build_classifier: numbers
//===----------------------------------------------------------------------===//

struct TwoLayer : nn::Module {
  nn::Linear fc1{16, 8}, fc2{8, 3};
  TwoLayer() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
};

TEST(DslClassifier, InitIsSeededWithinLinearBounds) {
  TwoLayer model;
  ClassifierOptions options;
  options.batch_size = 4;
  options.input_shape = {16};
  options.num_classes = 3;
  options.optimizer = optim::SGD{.lr = 0.1, .momentum = 0.9};
  Program p = build_classifier("two", model, options, [&](const Tensor &x) {
    return model.fc2(relu(model.fc1(x)));
  });
  std::map<std::string, Buffer> s42 =
      call(p, "two_init", {}, {Buffer::scalar(42)});
  ASSERT_EQ(s42.size(), 8u);
  for (auto &[name, param] : model.named_parameters()) {
    const Buffer &value = s42.at(name);
    EXPECT_EQ(value.shape, param->shape()) << name;
    double bound = param->init().b;
    EXPECT_DOUBLE_EQ(bound,
                     name.rfind("fc1.", 0) == 0 ? 0.25 : 1 / std::sqrt(8.0));
    double lo = value.data[0], hi = value.data[0];
    for (double v : value.data) {
      // The f32 rounding of a value just below `bound` may reach it.
      EXPECT_LE(std::abs(v), bound * (1 + 1e-7)) << name;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    // Uniform over the whole range, not a constant.
    if (value.data.size() >= 8) {
      EXPECT_LT(lo, -bound / 2) << name;
      EXPECT_GT(hi, bound / 2) << name;
    }
    EXPECT_GT(hi, lo) << name;
    const Buffer &buffer = s42.at(name + ".momentum_buffer");
    EXPECT_EQ(buffer.shape, param->shape());
    EXPECT_EQ(buffer.data, std::vector<double>(value.data.size(), 0.0)) << name;
  }
  // Each parameter has its own stream.
  EXPECT_NE(std::vector<double>(s42["fc2.bias"].data),
            std::vector<double>(s42["fc1.bias"].data.begin(),
                                s42["fc1.bias"].data.begin() + 3));
  // Reproducible for a seed, different for another.
  std::map<std::string, Buffer> again =
      call(p, "two_init", {}, {Buffer::scalar(42)});
  std::map<std::string, Buffer> s7 =
      call(p, "two_init", {}, {Buffer::scalar(7)});
  for (auto &[name, param] : model.named_parameters()) {
    EXPECT_EQ(again.at(name).data, s42.at(name).data) << name;
    EXPECT_NE(s7.at(name).data, s42.at(name).data) << name;
  }
}

/// The tiny model's state, batch and hand-computed loss.
struct TinyCase {
  std::vector<double> w = {0.2,  -0.1, 0.4,  0.3,  //
                           -0.5, 0.25, 0.1,  -0.2, //
                           0.05, 0.3,  -0.3, 0.15};
  std::vector<double> b = {0.1, -0.2, 0.05};
  Buffer x{{2, 4}, {1, 2, -1, 0.5, 0, -1, 2, 1}};
  Buffer y{{2}, {2, 0}};

  std::map<std::string, Buffer> state() const {
    return {{"fc.weight", {{3, 4}, w}}, {"fc.bias", {{3}, b}}};
  }

  /// Mean cross-entropy of x W^T + b against y, in double.
  double loss(const std::vector<double> &w,
              const std::vector<double> &b) const {
    double total = 0;
    for (int n = 0; n < 2; ++n) {
      double logits[3], max = -1e300, sum = 0;
      for (int c = 0; c < 3; ++c) {
        logits[c] = b[c];
        for (int k = 0; k < 4; ++k)
          logits[c] += w[4 * c + k] * x.data[4 * n + k];
        max = std::max(max, logits[c]);
      }
      for (double l : logits)
        sum += std::exp(l - max);
      total += max + std::log(sum) - logits[static_cast<int>(y.data[n])];
    }
    return total / 2;
  }
};

/// Central finite differences of the interpreted train_step loss wrt each
/// element of `param` ("fc.weight" or "fc.bias").
std::vector<double> numericGrad(const Program &p,
                                std::map<std::string, Buffer> state,
                                const std::string &param,
                                const std::vector<Buffer> &batch) {
  const double h = 1e-5;
  std::vector<double> g;
  for (size_t i = 0; i < state[param].data.size(); ++i) {
    double saved = state[param].data[i];
    state[param].data[i] = saved + h;
    double up = call(p, "tiny_train_step", state, batch)["#0"].data.at(0);
    state[param].data[i] = saved - h;
    double down = call(p, "tiny_train_step", state, batch)["#0"].data.at(0);
    state[param].data[i] = saved;
    g.push_back((up - down) / (2 * h));
  }
  return g;
}

TEST(DslClassifier, TrainStepMatchesCrossEntropyAndFiniteDifferences) {
  Tiny model;
  // The options' lr is only the trainer's default: the step uses its input.
  Program p = tinyProgram(model, optim::SGD{.lr = 0.01});
  differentiate(p);
  TinyCase c;
  const double lr = 0.5;
  std::vector<Buffer> batch = {c.x, c.y, Buffer::scalar(lr)};
  std::map<std::string, Buffer> r =
      call(p, "tiny_train_step", c.state(), batch);
  ASSERT_EQ(r.size(), 3u);
  ASSERT_EQ(r["#0"].data.size(), 1u);
  EXPECT_NEAR(r["#0"].data[0], c.loss(c.w, c.b), 1e-12);

  for (const char *param : {"fc.weight", "fc.bias"}) {
    std::vector<double> g = numericGrad(p, c.state(), param, batch);
    std::vector<double> expected = c.state()[param].data;
    for (size_t i = 0; i < g.size(); ++i)
      expected[i] -= lr * g[i];
    expectNear(r[param], expected, 1e-6);
    EXPECT_EQ(r[param].shape, c.state()[param].shape);
  }
  // The finite differences of the hand-written loss agree (the interpreted
  // loss is the cross-entropy everywhere, not only at one point).
  std::vector<double> w = c.w;
  w[5] += 1e-5;
  double up = c.loss(w, c.b);
  w[5] -= 2e-5;
  double down = c.loss(w, c.b);
  EXPECT_NEAR(r["fc.weight"].data[5], c.w[5] - lr * (up - down) / 2e-5, 1e-6);

  // predict: logits x W^T + b.
  std::map<std::string, Buffer> logits =
      call(p, "tiny_predict", c.state(), {c.x});
  ASSERT_EQ(logits["#0"].data.size(), 6u);
  EXPECT_EQ(logits["#0"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_NEAR(logits["#0"].data[0], 0.2 - 0.2 - 0.4 + 0.15 + 0.1, 1e-12);
  EXPECT_NEAR(logits["#0"].data[5], -0.3 - 0.6 + 0.15 + 0.05, 1e-12);
}

TEST(DslClassifier, GradientAccumulationAveragesMicroBatchGradients) {
  // Two micro-batches of one sample: loss / 2, backward per micro-batch,
  // one step == the full batch's mean loss (no batch norm here), and the
  // step really runs two forward passes.
  Tiny full, accumulating;
  Program p1 = tinyProgram(full, optim::SGD{.lr = 0.5});
  Program p2 = tinyProgram(accumulating, optim::SGD{.lr = 0.5}, 2);
  std::string ir = p2.str();
  size_t matmuls = 0;
  for (size_t at = ir.find("kiln.matmul"); at != std::string::npos;
       at = ir.find("kiln.matmul", at + 1))
    ++matmuls;
  EXPECT_EQ(matmuls, 4u); // two micro-batch forwards, predict in two chunks
  differentiate(p1);
  differentiate(p2);
  TinyCase c;
  std::vector<Buffer> batch = {c.x, c.y, Buffer::scalar(0.5)};
  auto r1 = call(p1, "tiny_train_step", c.state(), batch);
  auto r2 = call(p2, "tiny_train_step", c.state(), batch);
  EXPECT_NEAR(r2["#0"].data[0], r1["#0"].data[0], 1e-12);
  for (const char *param : {"fc.weight", "fc.bias"})
    expectNear(r2[param], r1[param].data, 1e-12);

  Tiny other;
  try {
    tinyProgram(other, optim::SGD{}, 3);
    FAIL() << "a batch of 2 cannot split into 3 micro-batches";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "accumulation_steps 3 must be >= 1 and divide batch_size 2"),
              std::string::npos)
        << e.what();
  }
}

TEST(DslClassifier, SGDMomentumMatchesPyTorchForTwoSteps) {
  // torch.optim.SGD: buf = g on the first step, then buf = m * buf + g;
  // p -= lr * buf.
  Tiny model;
  const double m = 0.9, lr = 0.1;
  Program p = tinyProgram(model, optim::SGD{.lr = lr, .momentum = m});
  differentiate(p);
  TinyCase c;
  std::vector<Buffer> batch = {c.x, c.y, Buffer::scalar(lr)};
  std::map<std::string, Buffer> state = c.state();
  for (const char *param : {"fc.weight", "fc.bias"})
    state[std::string(param) + ".momentum_buffer"] = {
        state[param].shape, std::vector<double>(state[param].data.size(), 0.0)};

  std::map<std::string, std::vector<double>> expectedBuf;
  for (int step = 0; step < 2; ++step) {
    std::map<std::string, Buffer> r = call(p, "tiny_train_step", state, batch);
    ASSERT_EQ(r.size(), 5u);
    for (const std::string param : {"fc.weight", "fc.bias"}) {
      std::vector<double> g = numericGrad(p, state, param, batch);
      std::vector<double> buf = g, expected = state[param].data;
      for (size_t i = 0; i < g.size(); ++i) {
        if (step > 0)
          buf[i] = m * expectedBuf[param][i] + g[i];
        expected[i] -= lr * buf[i];
      }
      expectedBuf[param] = buf;
      // The step's constant m is f32 (0.899999976): 1e-6 covers it.
      expectNear(r[param + ".momentum_buffer"], buf, 1e-6);
      expectNear(r[param], expected, 1e-6);
    }
    r.erase("#0");
    state = r;
  }
}

TEST(DslClassifier, SGDNesterovWithWeightDecay) {
  // g' = g + wd * p; buf = m * buf + g'; p -= lr * (g' + m * buf).
  Tiny model;
  const double m = 0.5, wd = 0.125, lr = 0.25;
  Program p = tinyProgram(model, optim::SGD{.lr = lr,
                                            .momentum = m,
                                            .weight_decay = wd,
                                            .nesterov = true});
  differentiate(p);
  TinyCase c;
  std::vector<Buffer> batch = {c.x, c.y, Buffer::scalar(lr)};
  std::map<std::string, Buffer> state = c.state();
  state["fc.weight.momentum_buffer"] = {{3, 4}, std::vector<double>(12, 0.3)};
  state["fc.bias.momentum_buffer"] = {{3}, {-0.1, 0.2, 0.05}};
  std::map<std::string, Buffer> r = call(p, "tiny_train_step", state, batch);
  ASSERT_EQ(r.size(), 5u);
  for (const std::string param : {"fc.weight", "fc.bias"}) {
    std::vector<double> g = numericGrad(p, state, param, batch);
    std::vector<double> buf = state[param + ".momentum_buffer"].data;
    std::vector<double> expected = state[param].data;
    for (size_t i = 0; i < g.size(); ++i) {
      double gd = g[i] + wd * expected[i];
      buf[i] = m * buf[i] + gd;
      expected[i] -= lr * (gd + m * buf[i]);
    }
    expectNear(r[param + ".momentum_buffer"], buf, 1e-6);
    expectNear(r[param], expected, 1e-6);
  }
}

//===----------------------------------------------------------------------===//
// build_classifier: errors
//===----------------------------------------------------------------------===//

ClassifierOptions tinyOptions() {
  ClassifierOptions options;
  options.batch_size = 2;
  options.input_shape = {4};
  options.num_classes = 3;
  return options;
}

TEST(DslClassifier, NesterovWithoutMomentumIsAnError) {
  Tiny model;
  EXPECT_NE(errorOf([&] { tinyProgram(model, optim::SGD{.lr = 0.1, .nesterov = true}); })
                .find("SGD: nesterov momentum requires momentum > 0"),
            std::string::npos);
}

TEST(DslClassifier, WrongNumberOfClassesIsAnError) {
  struct Wide : nn::Module {
    nn::Linear fc{4, 5};
    Wide() { register_module("fc", fc); }
  } model;
  std::string message = errorOf([&] {
    build_classifier("wide", model, tinyOptions(),
                     [&](const Tensor &x) { return model.fc(x); });
  });
  EXPECT_NE(message.find("model 'wide'"), std::string::npos) << message;
  EXPECT_NE(message.find("forward returns shape [2, 5], expected logits "
                         "[2, 3]"),
            std::string::npos)
      << message;
  // The failed build left no parameter bound.
  EXPECT_NE(errorOf([&] { model.fc.weight.value(); }).find("outside"),
            std::string::npos);
}

TEST(DslClassifier, WrongLogitsRankIsReportedAsSuch) {
  // [2, 3, 1] logits: the error names the forward, not cross_entropy's
  // internals.
  Tiny model;
  std::string message = errorOf([&] {
    build_classifier("tiny", model, tinyOptions(), [&](const Tensor &x) {
      return model.fc(x).reshape({2, 3, 1});
    });
  });
  EXPECT_NE(message.find("forward returns shape [2, 3, 1], expected logits "
                         "[2, 3]"),
            std::string::npos)
      << message;
}

TEST(DslClassifier, ForwardShapeErrorPointsIntoTheForward) {
  struct Narrow : nn::Module {
    nn::Linear fc{5, 3};
    Narrow() { register_module("fc", fc); }
  } model;
  int line = 0;
  Forward forward = [&](const Tensor &x) {
    return (line = __LINE__, model.fc(x)); // one line: the line of fc(x)
  };
  std::string message = errorOf(
      [&] { build_classifier("narrow", model, tinyOptions(), forward); });
  ASSERT_NE(line, 0);
  EXPECT_EQ(message.rfind(
                std::string(__FILE__) + ":" + std::to_string(line) + ":", 0),
            0u)
      << message;
  EXPECT_NE(message.find("[2, 4]"), std::string::npos) << message;
  EXPECT_NE(message.find("[3, 5]"), std::string::npos) << message;
  // The model can be built again once fixed: no tracing state leaked.
  Program p = build_classifier(
      "narrow", model,
      [] {
        ClassifierOptions o = tinyOptions();
        o.input_shape = {5};
        return o;
      }(),
      [&](const Tensor &x) { return model.fc(x); });
  EXPECT_TRUE(funcNamed(p, "narrow_predict"));
}

TEST(DslClassifier, NonScalarLossIsAnError) {
  Tiny model;
  std::string message = errorOf([&] {
    build_classifier(
        "tiny", model, tinyOptions(),
        [&](const Tensor &x) { return model.fc(x); },
        [](const Tensor &logits, const Tensor &) { return sum(logits, {1}); });
  });
  EXPECT_NE(message.find("the loss must be a scalar, got shape [2]"),
            std::string::npos)
      << message;
}

TEST(DslClassifier, DuplicateParameterNameIsAnError) {
  struct Twice : nn::Module {
    nn::Linear fc{4, 3};
    Twice() {
      register_module("fc", fc);
      register_parameter("fc.weight", fc.weight);
    }
  } model;
  std::string message = errorOf([&] {
    build_classifier("twice", model, tinyOptions(),
                     [&](const Tensor &x) { return model.fc(x); });
  });
  EXPECT_NE(message.find("parameter name 'fc.weight' is registered twice"),
            std::string::npos)
      << message;
}

} // namespace
