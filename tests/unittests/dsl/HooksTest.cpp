//===- HooksTest.cpp - observe(): activations and gradients from the step ===//
//
// The training step stores each observed value and d loss / d value as
// observation state; checked in the interpreter against the closed form of
// cross-entropy's gradient (softmax - onehot) / N, and grad_input =
// grad_output W for a Linear call. Observing changes no update, predict
// stores nothing, micro-batches stack, and misuse is a clear error.
//
//===----------------------------------------------------------------------===//

#include "InterpretProgram.h"

#include "kiln/dsl/kiln.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

using namespace kiln::dsl;
using namespace kiln::dsl::test_support;

namespace {

struct Tiny : nn::Module {
  nn::Linear fc{4, 3};
  Tiny() { register_module("fc", fc); }
};

Program tinyProgram(Tiny &model, const std::function<Tensor(const Tensor &)> &forward,
                    int64_t accumulationSteps = 1) {
  ClassifierOptions options;
  options.batch_size = 2;
  options.input_shape = {4};
  options.num_classes = 3;
  options.accumulation_steps = accumulationSteps;
  options.optimizer = optim::SGD{.lr = 0.5, .momentum = 0.9};
  return build_classifier("tiny", model, options, forward);
}

const std::vector<double> kW = {0.2, -0.1, 0.4, 0.3, -0.5, 0.25, 0.1, -0.2, 0.05, 0.3, -0.3, 0.15};
const std::vector<double> kB = {0.1, -0.2, 0.05};
const Buffer kX{{2, 4}, {1, 2, -1, 0.5, 0, -1, 2, 1}};
const Buffer kY{{2}, {2, 0}};

std::map<std::string, Buffer> state() {
  return {{"fc.weight", {{3, 4}, kW}},
          {"fc.bias", {{3}, kB}},
          {"fc.weight.momentum_buffer", {{3, 4}, std::vector<double>(12, 0.0)}},
          {"fc.bias.momentum_buffer", {{3}, std::vector<double>(3, 0.0)}}};
}

std::map<std::string, Buffer> step(Program &p) {
  differentiate(p);
  return call(p, "tiny_train_step", state(), {kX, kY, Buffer::scalar(0.5)});
}

/// x W^T + b and (softmax - onehot) / 2, row-major [2, 3].
void closedForm(std::vector<double> &logits, std::vector<double> &grad) {
  logits.assign(6, 0.0);
  grad.assign(6, 0.0);
  for (int n = 0; n < 2; ++n) {
    double sum = 0;
    for (int c = 0; c < 3; ++c) {
      double z = kB[c];
      for (int k = 0; k < 4; ++k)
        z += kW[4 * c + k] * kX.data[4 * n + k];
      logits[3 * n + c] = z;
      sum += std::exp(z);
    }
    for (int c = 0; c < 3; ++c)
      grad[3 * n + c] =
          (std::exp(logits[3 * n + c]) / sum - (c == static_cast<int>(kY.data[n]))) / 2;
  }
}

TEST(DslHooks, ObservedLogitsAndTheirGradientMatchTheClosedForm) {
  Tiny model;
  Program p = tinyProgram(model, [&](const Tensor &x) { return observe(model.fc(x), "logits"); });
  EXPECT_EQ(
      stringsOf(funcNamed(p, "tiny_train_step"), kiln::KilnDialect::getObservationsAttrName()),
      (std::vector<std::string>{"logits", "logits.grad"}));
  // predict is traced too, but observes nothing.
  EXPECT_EQ(stringsOf(funcNamed(p, "tiny_predict"), kiln::KilnDialect::getStateResultsAttrName()),
            std::vector<std::string>{""});
  std::map<std::string, Buffer> r = step(p);
  std::vector<double> logits, grad;
  closedForm(logits, grad);
  EXPECT_EQ(r["logits"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(r["logits.grad"].shape, (std::vector<int64_t>{2, 3}));
  expectNear(r["logits"], logits, 1e-12);
  expectNear(r["logits.grad"], grad, 1e-12);

  // Observing changes nothing else the step computes.
  Tiny plain;
  Program q = tinyProgram(plain, [&](const Tensor &x) { return plain.fc(x); });
  std::map<std::string, Buffer> expected = step(q);
  for (const char *name : {"#0", "fc.weight", "fc.bias", "fc.weight.momentum_buffer"})
    expectNear(r[name], expected[name].data, 0.0);
}

TEST(DslHooks, ObserveCallGivesGradInputAndGradOutput) {
  Tiny model;
  Program p = tinyProgram(model, [&](const Tensor &x) { return observe_call("fc", model.fc, x); });
  std::map<std::string, Buffer> r = step(p);
  expectNear(r["fc.input"], kX.data, 0.0);
  std::vector<double> logits, gradOutput;
  closedForm(logits, gradOutput);
  expectNear(r["fc.output"], logits, 1e-12);
  expectNear(r["fc.output.grad"], gradOutput, 1e-12);
  // grad_input = grad_output W: [2, 3] x [3, 4], for the data input too.
  std::vector<double> gradInput(8, 0.0);
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 4; ++k)
      for (int c = 0; c < 3; ++c)
        gradInput[4 * n + k] += gradOutput[3 * n + c] * kW[4 * c + k];
  expectNear(r["fc.input.grad"], gradInput, 1e-12);
}

TEST(DslHooks, MicroBatchObservationsStackOnALeadingAxis) {
  // Two micro-batches of one sample: each observation is [2, 1, 3], and
  // holds the full batch's values, since the mean of the two micro-losses
  // is the full batch's mean loss.
  Tiny model;
  Program p = tinyProgram(
      model, [&](const Tensor &x) { return observe(model.fc(x), "logits"); }, 2);
  std::map<std::string, Buffer> r = step(p);
  std::vector<double> logits, grad;
  closedForm(logits, grad);
  EXPECT_EQ(r["logits"].shape, (std::vector<int64_t>{2, 1, 3}));
  EXPECT_EQ(r["logits.grad"].shape, (std::vector<int64_t>{2, 1, 3}));
  expectNear(r["logits"], logits, 1e-12);
  expectNear(r["logits.grad"], grad, 1e-12);
}

TEST(DslHooks, MisuseIsAClearError) {
  Tiny a, c, d;
  const std::string twice = errorOf([&] {
    tinyProgram(a, [&](const Tensor &x) { return observe(a.fc(observe(x, "h")), "h"); });
  });
  EXPECT_NE(twice.find("HooksTest.cpp:"), std::string::npos) << twice;
  EXPECT_NE(twice.find("observe: the name 'h' is observed twice in one step"),
            std::string::npos)
      << twice;
  EXPECT_NE(errorOf([&] {
              tinyProgram(c, [&](const Tensor &x) { return observe(c.fc(x), "fc.weight"); });
            }).find("model 'tiny': the observation 'fc.weight' has the name of another "
                    "state tensor"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              tinyProgram(d, [&](const Tensor &x) {
                observe(full({2}, 1.0, DType::i32), "classes");
                return d.fc(x);
              });
            }).find("observe: 'classes' is not a float tensor, so it has no gradient"),
            std::string::npos);
}

} // namespace
