//===- MemoryBudgetTest.cpp - generators fitting --memory-budget ----------===//
//
// fit_memory_budget (what `<model>-gen --memory-budget=...` runs) splits the
// train step's batch into micro-batches until the arena fits; the split step
// must compute the whole batch's update.
//
//===----------------------------------------------------------------------===//

#include "NNTestUtil.h"

#include "kiln/dsl/MemoryBudget.h"
#include "kiln/dsl/ProgramMLIR.h"
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;
using nntest::Buffer;
using nntest::expectNear;

namespace {
/// A wide hidden layer on few features: activations outweigh parameters.
struct WideNet : nn::Module {
  nn::Linear fc1{8, 64}, fc2{64, 4};
  WideNet() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
};

Program buildWideNet() {
  static WideNet model;
  ClassifierOptions options;
  options.batch_size = 64;
  options.input_shape = {8};
  options.num_classes = 4;
  options.optimizer = optim::SGD{.lr = 0.1, .momentum = 0.9};
  return build_classifier("wide", model, options, [](const Tensor &x) {
    return model.fc2(relu(model.fc1(x)));
  });
}

/// Leaves the override as a fresh process has it.
struct OverrideReset {
  ~OverrideReset() { micro_batch_override() = MicroBatchOverride{}; }
};

TEST(MemoryBudget, MicroBatchesFitTheBudgetAndComputeTheWholeBatchStep) {
  OverrideReset reset;
  nntest::CompiledModule whole, split;
  std::string error;
  ASSERT_TRUE(whole.build(moduleOf(buildWideNet()), error)) << error;
  const int64_t wholeArena = whole.abi().arenaBytes;

  kiln::DriverOptions options;
  options.memoryBudget = wholeArena * 3 / 4;
  std::optional<Program> fitted = fit_memory_budget(&buildWideNet, options);
  ASSERT_TRUE(fitted);
  EXPECT_GT(micro_batch_override().accumulation_steps, 1);
  ASSERT_TRUE(split.build(moduleOf(*fitted), error)) << error;
  EXPECT_LE(split.abi().arenaBytes, *options.memoryBudget)
      << "whole batch: " << wholeArena << " bytes, "
      << micro_batch_override().accumulation_steps
      << " micro-batches: " << split.abi().arenaBytes;

  whole.call("wide_init", {Buffer::scalar(3)});
  split.call("wide_init", {Buffer::scalar(3)});
  Buffer x = nntest::seqX({64, 8});
  Buffer y{{64}, {}};
  for (int i = 0; i < 64; ++i)
    y.data.push_back(i * 7 % 4);
  for (int step = 0; step < 2; ++step) {
    auto expected = whole.call("wide_train_step", {x, y, Buffer::scalar(0.1)});
    auto actual = split.call("wide_train_step", {x, y, Buffer::scalar(0.1)});
    expectNear(actual[0], expected[0].data, 1e-6, "loss", 1e-5);
    for (const char *name : {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                             "fc1.weight.momentum_buffer"})
      expectNear(split.readState(name), whole.readState(name).data, 1e-6,
                 "step " + std::to_string(step) + " " + name, 1e-5);
  }
  auto expected = whole.call("wide_predict", {x});
  auto actual = split.call("wide_predict", {x});
  expectNear(actual[0], expected[0].data, 1e-6, "logits", 1e-5);
}

TEST(MemoryBudget, AModelThatFitsIsNotSplit) {
  OverrideReset reset;
  kiln::DriverOptions options;
  options.memoryBudget = int64_t(1) << 30;
  ASSERT_TRUE(fit_memory_budget(&buildWideNet, options));
  EXPECT_EQ(micro_batch_override().accumulation_steps, 0);
  EXPECT_EQ(micro_batch_override().traced_accumulation_steps, 1);
  EXPECT_EQ(options.budgetAttempt, "");
}
} // namespace
