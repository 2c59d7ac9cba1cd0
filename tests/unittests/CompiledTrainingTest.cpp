//===- CompiledTrainingTest.cpp - a classifier, compiled vs oracle --------===//
//
// A two-layer MLP: forward pass and loss, then init / train_step (kiln.vjp,
// SGD on parameters kept as state in the arena) / predict, run step by step
// compiled and interpreted with the state compared after every call. Also
// functions whose results alias their inputs or read state after its new
// value exists.
//
//===----------------------------------------------------------------------===//

#include "CompiledHarness.h"

using kiln::interp::Buffer;
using kiln::test::CompiledVsInterpreter;
using kiln::test::expectBitEqual;

namespace {

//===----------------------------------------------------------------------===//
// A small classifier
//===----------------------------------------------------------------------===//

/// Two-layer MLP on 8 samples of 16 features, 10 classes.
constexpr const char *kMlpForward = R"mlir(
func.func @f(%x: tensor<8x16xf32>, %w1: tensor<16x32xf32>, %b1: tensor<32xf32>,
             %w2: tensor<32x10xf32>, %b2: tensor<10xf32>, %labels: tensor<8xi32>)
    -> (tensor<8x10xf32>, tensor<f32>) {
  %h = kiln.matmul %x, %w1 : tensor<8x16xf32>, tensor<16x32xf32> -> tensor<8x32xf32>
  %hb = kiln.add %h, %b1 : tensor<8x32xf32>, tensor<32xf32> -> tensor<8x32xf32>
  %a = kiln.relu %hb : tensor<8x32xf32>
  %z = kiln.matmul %a, %w2 : tensor<8x32xf32>, tensor<32x10xf32> -> tensor<8x10xf32>
  %logits = kiln.add %z, %b2 : tensor<8x10xf32>, tensor<10xf32> -> tensor<8x10xf32>
  %lsm = kiln.log_softmax %logits axis = 1 : tensor<8x10xf32>
  %oh = kiln.one_hot %labels : tensor<8xi32> -> tensor<8x10xf32>
  %p = kiln.mul %lsm, %oh : tensor<8x10xf32>, tensor<8x10xf32> -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : tensor<8x10xf32> -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : tensor<8xf32> -> tensor<f32>
  %loss = kiln.neg %m : tensor<f32>
  return %logits, %loss : tensor<8x10xf32>, tensor<f32>
})mlir";

TEST_F(CompiledVsInterpreter, MlpForwardAndLoss) {
  checkOp(kMlpForward, {{-1.0, 1.0},
                        {-0.5, 0.5},
                        {-0.1, 0.1},
                        {-0.5, 0.5},
                        {-0.1, 0.1},
                        {0.0, 9.0}});
}

/// init / train_step (cross-entropy, vjp, SGD) / predict sharing the
/// parameters as state.
constexpr const char *kMlpTraining = R"mlir(
func.func @init(%seed: tensor<i64>) -> (tensor<16x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>)
    attributes {kiln.state_args = [""], kiln.state_results = ["w1", "b1", "w2", "b2"]} {
  %w1 = kiln.random_uniform %seed stream 0 range [-0.25, 0.25] : tensor<i64> -> tensor<16x32xf32>
  %b1 = kiln.constant dense<0.0> : tensor<32xf32>
  %w2 = kiln.random_uniform %seed stream 1 range [-0.18, 0.18] : tensor<i64> -> tensor<32x10xf32>
  %b2 = kiln.constant dense<0.0> : tensor<10xf32>
  return %w1, %b1, %w2, %b2 : tensor<16x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>
}

func.func @train_step(%w1: tensor<16x32xf32>, %b1: tensor<32xf32>, %w2: tensor<32x10xf32>, %b2: tensor<10xf32>,
                      %x: tensor<8x16xf32>, %labels: tensor<8xi32>, %lr: tensor<f32>)
    -> (tensor<16x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>, tensor<f32>)
    attributes {kiln.state_args = ["w1", "b1", "w2", "b2", "", "", ""],
                kiln.state_results = ["w1", "b1", "w2", "b2", ""]} {
  %h = kiln.matmul %x, %w1 : tensor<8x16xf32>, tensor<16x32xf32> -> tensor<8x32xf32>
  %hb = kiln.add %h, %b1 : tensor<8x32xf32>, tensor<32xf32> -> tensor<8x32xf32>
  %a = kiln.relu %hb : tensor<8x32xf32>
  %z = kiln.matmul %a, %w2 : tensor<8x32xf32>, tensor<32x10xf32> -> tensor<8x10xf32>
  %logits = kiln.add %z, %b2 : tensor<8x10xf32>, tensor<10xf32> -> tensor<8x10xf32>
  %lsm = kiln.log_softmax %logits axis = 1 : tensor<8x10xf32>
  %oh = kiln.one_hot %labels : tensor<8xi32> -> tensor<8x10xf32>
  %p = kiln.mul %lsm, %oh : tensor<8x10xf32>, tensor<8x10xf32> -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : tensor<8x10xf32> -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : tensor<8xf32> -> tensor<f32>
  %loss = kiln.neg %m : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %g:4 = kiln.vjp %loss, %one wrt %w1, %b1, %w2, %b2 : tensor<f32>, tensor<16x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>
  %s1 = kiln.mul %g#0, %lr : tensor<16x32xf32>, tensor<f32> -> tensor<16x32xf32>
  %n1 = kiln.sub %w1, %s1 : tensor<16x32xf32>, tensor<16x32xf32> -> tensor<16x32xf32>
  %s2 = kiln.mul %g#1, %lr : tensor<32xf32>, tensor<f32> -> tensor<32xf32>
  %n2 = kiln.sub %b1, %s2 : tensor<32xf32>, tensor<32xf32> -> tensor<32xf32>
  %s3 = kiln.mul %g#2, %lr : tensor<32x10xf32>, tensor<f32> -> tensor<32x10xf32>
  %n3 = kiln.sub %w2, %s3 : tensor<32x10xf32>, tensor<32x10xf32> -> tensor<32x10xf32>
  %s4 = kiln.mul %g#3, %lr : tensor<10xf32>, tensor<f32> -> tensor<10xf32>
  %n4 = kiln.sub %b2, %s4 : tensor<10xf32>, tensor<10xf32> -> tensor<10xf32>
  return %n1, %n2, %n3, %n4, %loss : tensor<16x32xf32>, tensor<32xf32>, tensor<32x10xf32>, tensor<10xf32>, tensor<f32>
}

func.func @predict(%w1: tensor<16x32xf32>, %b1: tensor<32xf32>, %w2: tensor<32x10xf32>, %b2: tensor<10xf32>,
                   %x: tensor<8x16xf32>) -> tensor<8x10xf32>
    attributes {kiln.state_args = ["w1", "b1", "w2", "b2", ""], kiln.state_results = [""]} {
  %h = kiln.matmul %x, %w1 : tensor<8x16xf32>, tensor<16x32xf32> -> tensor<8x32xf32>
  %hb = kiln.add %h, %b1 : tensor<8x32xf32>, tensor<32xf32> -> tensor<8x32xf32>
  %a = kiln.relu %hb : tensor<8x32xf32>
  %z = kiln.matmul %a, %w2 : tensor<8x32xf32>, tensor<32x10xf32> -> tensor<8x10xf32>
  %logits = kiln.add %z, %b2 : tensor<8x10xf32>, tensor<10xf32> -> tensor<8x10xf32>
  return %logits : tensor<8x10xf32>
})mlir";

TEST_F(CompiledVsInterpreter, MlpTrainStepWithState) {
  ASSERT_TRUE(build(kMlpTraining));
  // The ABI: state out of every signature, laid out once for the module.
  ASSERT_EQ(abi.state.size(), 4u);
  EXPECT_EQ(abi.state[0].name, "w1");
  EXPECT_EQ(abi.state[0].offset, 0);
  EXPECT_EQ(abi.state[0].buffer.shape, (std::vector<int64_t>{16, 32}));
  int64_t end = 0;
  for (const kiln::AbiStateEntry &entry : abi.state) {
    EXPECT_EQ(entry.offset % 64, 0) << entry.name;
    EXPECT_GE(entry.offset, end) << entry.name << " overlaps";
    end = entry.offset + entry.buffer.elements * 4;
  }
  EXPECT_LE(end, abi.stateBytes);
  EXPECT_LE(abi.stateBytes, abi.arenaBytes);
  const kiln::AbiFunction *step = abi.lookup("train_step");
  ASSERT_TRUE(step);
  ASSERT_EQ(step->inputs.size(), 3u); // x, labels, lr
  EXPECT_EQ(step->inputs[1].cType, "int32_t");
  ASSERT_EQ(step->outputs.size(), 1u); // loss
  EXPECT_TRUE(step->outputs[0].shape.empty());
  ASSERT_TRUE(abi.lookup("init"));
  EXPECT_EQ(abi.lookup("init")->inputs.size(), 1u);
  EXPECT_EQ(abi.lookup("init")->outputs.size(), 0u);

  // init in both worlds: random_uniform must match bit for bit, so the
  // compiled state equals the interpreted state exactly.
  checkCall("init", {Buffer::scalar(7)});
  for (auto &[name, value] : oracleState)
    expectBitEqual(readState(name), value, "init state '" + name + "'");

  std::vector<Buffer> batch = randomInputs(
      "train_step", {{-1.0, 1.0}, {0.0, 9.0}, {0.5, 0.5}}, /*seed=*/3);
  Buffer w2BeforeSteps = readState("w2");
  // Two steps on the same batch: the second starts from the state the first
  // left in the arena, and its loss is lower.
  std::vector<Buffer> first = checkCall("train_step", batch);
  std::vector<Buffer> second = checkCall("train_step", batch);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_GT(first[0].data[0], 0.0);
  EXPECT_LT(second[0].data[0], first[0].data[0]);
  Buffer w2AfterSteps = readState("w2");
  EXPECT_NE(w2AfterSteps.data, w2BeforeSteps.data);

  // predict reads the trained state and leaves it alone.
  std::vector<Buffer> x = {batch[0]};
  checkCall("predict", x);
  expectBitEqual(readState("w2"), w2AfterSteps, "w2 after predict");
}

TEST_F(CompiledVsInterpreter, ReturnedInputsAndRepeatedResults) {
  // Results that are an input, the same value twice, a constant, and state
  // initialised straight from an input.
  ASSERT_TRUE(build(R"mlir(
func.func @f(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %y = kiln.exp %x : tensor<2x3xf32>
  return %x, %y, %y, %x : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}
func.func @load(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>)
    attributes {kiln.state_args = [""], kiln.state_results = ["w", ""]} {
  return %x, %x : tensor<2x3xf32>, tensor<2x3xf32>
})mlir"));
  checkCall("f", randomInputs("f"));
  checkCall("load", randomInputs("load", {}, 4));
  checkCall("f", randomInputs("f", {}, 5));
}

//===----------------------------------------------------------------------===//
// State that is read after its new value exists
//===----------------------------------------------------------------------===//

TEST_F(CompiledVsInterpreter, OldStateAsPlainOutput) {
  // The step returns the parameter before the update as a plain output,
  // after the updated state: the output must be the old value.
  ASSERT_TRUE(build(R"mlir(
func.func @step(%w: tensor<4xf32>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    attributes {kiln.state_args = ["w", ""], kiln.state_results = ["w", ""]} {
  %nw = kiln.add %w, %x : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %nw, %w : tensor<4xf32>, tensor<4xf32>
})mlir"));
  writeState("w", Buffer{{4}, {1.0, 2.0, 3.0, 4.0}});
  checkCall("step", {Buffer{{4}, {10.0, 20.0, 30.0, 40.0}}});
  checkCall("step", {Buffer{{4}, {10.0, 20.0, 30.0, 40.0}}});
}

TEST_F(CompiledVsInterpreter, SwappedState) {
  // Double buffering: each state takes the other's old value.
  ASSERT_TRUE(build(R"mlir(
func.func @swap(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    attributes {kiln.state_args = ["a", "b"], kiln.state_results = ["a", "b"]} {
  return %b, %a : tensor<4xf32>, tensor<4xf32>
})mlir"));
  writeState("a", Buffer{{4}, {1.0, 2.0, 3.0, 4.0}});
  writeState("b", Buffer{{4}, {5.0, 6.0, 7.0, 8.0}});
  checkCall("swap", {});
}

TEST_F(CompiledVsInterpreter, StateReadAfterUpdateIsComputed) {
  // Both the new state and an output computed from the old one.
  ASSERT_TRUE(build(R"mlir(
func.func @step(%w: tensor<3x4xf32>, %m: tensor<3x4xf32>, %x: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<f32>)
    attributes {kiln.state_args = ["w", "m", ""], kiln.state_results = ["m", "w", ""]} {
  %nm = kiln.add %m, %x : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %nw = kiln.sub %w, %nm : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %p = kiln.mul %w, %m : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %s = kiln.reduce_sum %p axes = [0, 1] : tensor<3x4xf32> -> tensor<f32>
  return %nm, %nw, %s : tensor<3x4xf32>, tensor<3x4xf32>, tensor<f32>
})mlir"));
  writeState("w", randomInputs("step", {}, 5)[0]);
  writeState("m", randomInputs("step", {}, 6)[0]);
  for (unsigned seed : {7u, 8u, 9u})
    checkCall("step", randomInputs("step", {}, seed));
}

} // namespace
