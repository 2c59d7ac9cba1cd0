//===- CompiledVsInterpreterTest.cpp - each kiln op, compiled vs oracle ---===//
//
// Every kiln op on random inputs (and on NaN, infinities and ties where the
// semantics are subtle), compiled through the whole CPU pipeline and
// compared with the reference interpreter: within f32 rounding plus the
// error of the exp/log polynomials, bit for bit for random_uniform. Also the
// backward ops of every VJP rule, compiled.
//
//===----------------------------------------------------------------------===//

#include "CompiledHarness.h"

#include <cmath>

using kiln::interp::Buffer;
using kiln::test::CompiledVsInterpreter;
using kiln::test::expectBitEqual;
using kiln::test::Range;

namespace {

//===----------------------------------------------------------------------===//
// Constants and random_uniform
//===----------------------------------------------------------------------===//

TEST_F(CompiledVsInterpreter, Constant) {
  checkOp(R"mlir(
func.func @f(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<2xi32>, tensor<f32>) {
  %c = kiln.constant dense<[1.5, -2.0, 3.25]> : tensor<3xf32>
  %i = kiln.constant dense<[7, -1]> : tensor<2xi32>
  %s = kiln.constant dense<0.125> : tensor<f32>
  %y = kiln.add %x, %c : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return %y, %c, %i, %s : tensor<2x3xf32>, tensor<3xf32>, tensor<2xi32>, tensor<f32>
})mlir");
}

TEST_F(CompiledVsInterpreter, RandomUniformIsBitExact) {
  ASSERT_TRUE(build(R"mlir(
func.func @f(%seed: tensor<i64>) -> (tensor<4x3xf32>, tensor<7xf32>, tensor<2x3x5xf32>, tensor<f32>, tensor<3x3xf64>, tensor<5xf32>) {
  %a = kiln.random_uniform %seed stream 0 range [-0.5, 0.5] : tensor<i64> -> tensor<4x3xf32>
  %b = kiln.random_uniform %seed stream 1 range [0.0, 1.0] : tensor<i64> -> tensor<7xf32>
  %c = kiln.random_uniform %seed stream 12345 range [-3.0, 100.0] : tensor<i64> -> tensor<2x3x5xf32>
  %d = kiln.random_uniform %seed stream 7 range [-1.0, 1.0] : tensor<i64> -> tensor<f32>
  %e = kiln.random_uniform %seed stream 2 range [-0.1, 0.3] : tensor<i64> -> tensor<3x3xf64>
  %f = kiln.random_uniform %seed stream 3 range [2.0, 2.0] : tensor<i64> -> tensor<5xf32>
  return %a, %b, %c, %d, %e, %f : tensor<4x3xf32>, tensor<7xf32>, tensor<2x3x5xf32>, tensor<f32>, tensor<3x3xf64>, tensor<5xf32>
})mlir"));
  // Small, large (beyond 2^32) and negative seeds (used as u64 bits). All
  // are exact in a double, which is how the interpreter receives them.
  for (double seed : {0.0, 42.0, 1099511627783.0, -5.0}) {
    std::map<std::string, Buffer> noState;
    std::vector<Buffer> expected =
        runOracle("f", {Buffer::scalar(seed)}, noState);
    std::vector<Buffer> actual = runCompiled("f", {Buffer::scalar(seed)});
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
      expectBitEqual(actual[i], expected[i],
                     "seed " + std::to_string(seed) + " output #" +
                         std::to_string(i));
    // The values are in range and not all equal (the stream matters).
    for (double v : actual[0].data) {
      EXPECT_GE(v, -0.5);
      EXPECT_LT(v, 0.5);
    }
    EXPECT_NE(actual[0].data[0], actual[0].data[1]);
    for (double v : actual[5].data)
      EXPECT_EQ(v, 2.0);
  }
}

TEST_F(CompiledVsInterpreter, RandomUniformConstantSeedBeyond2To53) {
  // The interpreter reads a constant seed exactly, all 64 bits.
  ASSERT_TRUE(build(R"mlir(
func.func @f() -> (tensor<16xf32>, tensor<16xf32>) {
  %s1 = kiln.constant dense<-1> : tensor<i64>
  %s2 = kiln.constant dense<9007199254740993> : tensor<i64>
  %a = kiln.random_uniform %s1 stream 5 range [-1.0, 1.0] : tensor<i64> -> tensor<16xf32>
  %b = kiln.random_uniform %s2 stream 5 range [-1.0, 1.0] : tensor<i64> -> tensor<16xf32>
  return %a, %b : tensor<16xf32>, tensor<16xf32>
})mlir"));
  std::map<std::string, Buffer> noState;
  std::vector<Buffer> expected = runOracle("f", {}, noState);
  std::vector<Buffer> actual = runCompiled("f", {});
  ASSERT_EQ(actual.size(), 2u);
  expectBitEqual(actual[0], expected[0], "seed 2^64-1");
  expectBitEqual(actual[1], expected[1], "seed 2^53+1");
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

TEST_F(CompiledVsInterpreter, AddBroadcast) {
  checkOp(R"mlir(
func.func @f(%a: tensor<4x3xf32>, %b: tensor<3xf32>, %c: tensor<4x1xf32>, %s: tensor<f32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %0 = kiln.add %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %1 = kiln.add %c, %b : tensor<4x1xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %2 = kiln.add %s, %a : tensor<f32>, tensor<4x3xf32> -> tensor<4x3xf32>
  return %0, %1, %2 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, SubBroadcast) {
  checkOp(R"mlir(
func.func @f(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %0 = kiln.sub %a, %b : tensor<2x1x4xf32>, tensor<3x1xf32> -> tensor<2x3x4xf32>
  %1 = kiln.sub %b, %a : tensor<3x1xf32>, tensor<2x1x4xf32> -> tensor<2x3x4xf32>
  return %0, %1 : tensor<2x3x4xf32>, tensor<2x3x4xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, MulBroadcast) {
  checkOp(R"mlir(
func.func @f(%a: tensor<5x1xf32>, %b: tensor<1x6xf32>, %s: tensor<f32>) -> (tensor<5x6xf32>, tensor<f32>) {
  %0 = kiln.mul %a, %b : tensor<5x1xf32>, tensor<1x6xf32> -> tensor<5x6xf32>
  %1 = kiln.mul %s, %s : tensor<f32>, tensor<f32> -> tensor<f32>
  return %0, %1 : tensor<5x6xf32>, tensor<f32>
})mlir");
}

TEST_F(CompiledVsInterpreter, DivBroadcast) {
  checkOp(R"mlir(
func.func @f(%a: tensor<3x4xf32>, %b: tensor<4xf32>, %s: tensor<f32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %0 = kiln.div %a, %b : tensor<3x4xf32>, tensor<4xf32> -> tensor<3x4xf32>
  %1 = kiln.div %s, %a : tensor<f32>, tensor<3x4xf32> -> tensor<3x4xf32>
  return %0, %1 : tensor<3x4xf32>, tensor<3x4xf32>
})mlir",
          {{0.5, 2.0}, {0.5, 2.0}, {-2.0, 2.0}});
}

TEST_F(CompiledVsInterpreter, CompareEveryPredicate) {
  // Small integers so that equal elements (and ties) really occur.
  checkOp(R"mlir(
func.func @f(%a: tensor<4x5xf32>, %b: tensor<5xf32>) -> (tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>) {
  %0 = kiln.compare "eq", %a, %b : tensor<4x5xf32>, tensor<5xf32> -> tensor<4x5xf32>
  %1 = kiln.compare "ne", %a, %b : tensor<4x5xf32>, tensor<5xf32> -> tensor<4x5xf32>
  %2 = kiln.compare "lt", %a, %b : tensor<4x5xf32>, tensor<5xf32> -> tensor<4x5xf32>
  %3 = kiln.compare "le", %a, %b : tensor<4x5xf32>, tensor<5xf32> -> tensor<4x5xf32>
  %4 = kiln.compare "gt", %a, %b : tensor<4x5xf32>, tensor<5xf32> -> tensor<4x5xf32>
  %5 = kiln.compare "ge", %a, %b : tensor<4x5xf32>, tensor<5xf32> -> tensor<4x5xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>
})mlir",
          {{-2.0, 2.0, true}, {-2.0, 2.0, true}});
}

TEST_F(CompiledVsInterpreter, NegAndRelu) {
  checkOp(R"mlir(
func.func @f(%x: tensor<3x7xf32>) -> (tensor<3x7xf32>, tensor<3x7xf32>, tensor<3x7xf32>) {
  %0 = kiln.neg %x : tensor<3x7xf32>
  %1 = kiln.relu %x : tensor<3x7xf32>
  %2 = kiln.stop_gradient %x : tensor<3x7xf32>
  return %0, %1, %2 : tensor<3x7xf32>, tensor<3x7xf32>, tensor<3x7xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, Exp) {
  checkOp(R"mlir(
func.func @f(%x: tensor<64xf32>) -> tensor<64xf32> {
  %0 = kiln.exp %x : tensor<64xf32>
  return %0 : tensor<64xf32>
})mlir",
          {{-20.0, 20.0}});
}

TEST_F(CompiledVsInterpreter, Log) {
  checkOp(R"mlir(
func.func @f(%x: tensor<64xf32>) -> tensor<64xf32> {
  %0 = kiln.log %x : tensor<64xf32>
  return %0 : tensor<64xf32>
})mlir",
          {{0.01, 1000.0}});
}

TEST_F(CompiledVsInterpreter, CompareWithNaN) {
  // C++ semantics: every ordered comparison with NaN is false, != is true.
  ASSERT_TRUE(build(R"mlir(
func.func @f(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = kiln.compare "eq", %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %1 = kiln.compare "ne", %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %2 = kiln.compare "lt", %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %3 = kiln.compare "le", %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = kiln.compare "gt", %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %5 = kiln.compare "ge", %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
})mlir"));
  double nan = std::nan(""), inf = INFINITY;
  checkCall("f", {Buffer{{4}, {nan, 1.0, nan, -inf}},
                  Buffer{{4}, {1.0, nan, nan, -inf}}});
}

TEST_F(CompiledVsInterpreter, ExpAndLogSpecialValues) {
  // The polynomial approximations keep IEEE edge cases: overflow to +inf,
  // underflow to 0, log(0) = -inf, log(<0) = NaN, NaN in -> NaN out.
  ASSERT_TRUE(build(R"mlir(
func.func @f(%x: tensor<10xf32>, %y: tensor<8xf32>) -> (tensor<10xf32>, tensor<8xf32>) {
  %0 = kiln.exp %x : tensor<10xf32>
  %1 = kiln.log %y : tensor<8xf32>
  return %0, %1 : tensor<10xf32>, tensor<8xf32>
})mlir"));
  double nan = std::nan(""), inf = INFINITY;
  checkCall("f", {Buffer{{10}, {-inf, -200.0, -87.0, 0.0, 1.0, 88.0, 89.0,
                                200.0, inf, nan}},
                  Buffer{{8}, {0.0, -1.0, 1.0, 1e-30, 3e38, inf, nan,
                               0.5}}});
}

//===----------------------------------------------------------------------===//
// Linear algebra and layout
//===----------------------------------------------------------------------===//

TEST_F(CompiledVsInterpreter, Matmul) {
  checkOp(R"mlir(
func.func @f(%a: tensor<5x7xf32>, %b: tensor<7x3xf32>) -> tensor<5x3xf32> {
  %0 = kiln.matmul %a, %b : tensor<5x7xf32>, tensor<7x3xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, MatmulOddSizes) {
  // Sizes that are not multiples of any vector width.
  checkOp(R"mlir(
func.func @f(%a: tensor<33x65xf32>, %b: tensor<65x17xf32>) -> tensor<33x17xf32> {
  %0 = kiln.matmul %a, %b : tensor<33x65xf32>, tensor<65x17xf32> -> tensor<33x17xf32>
  return %0 : tensor<33x17xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, MatmulLarge) {
  checkOp(R"mlir(
func.func @f(%a: tensor<64x300xf32>, %b: tensor<300x128xf32>) -> tensor<64x128xf32> {
  %0 = kiln.matmul %a, %b : tensor<64x300xf32>, tensor<300x128xf32> -> tensor<64x128xf32>
  return %0 : tensor<64x128xf32>
})mlir",
          {{-1.0, 1.0}, {-1.0, 1.0}});
}

TEST_F(CompiledVsInterpreter, MatmulOfTransposes) {
  // The layouts autodiff produces: A^T G and G B^T.
  checkOp(R"mlir(
func.func @f(%a: tensor<37x19xf32>, %g: tensor<37x23xf32>, %b: tensor<19x23xf32>) -> (tensor<19x23xf32>, tensor<37x19xf32>) {
  %at = kiln.transpose %a, [1, 0] : tensor<37x19xf32> -> tensor<19x37xf32>
  %0 = kiln.matmul %at, %g : tensor<19x37xf32>, tensor<37x23xf32> -> tensor<19x23xf32>
  %bt = kiln.transpose %b, [1, 0] : tensor<19x23xf32> -> tensor<23x19xf32>
  %1 = kiln.matmul %g, %bt : tensor<37x23xf32>, tensor<23x19xf32> -> tensor<37x19xf32>
  return %0, %1 : tensor<19x23xf32>, tensor<37x19xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, MatmulTilesWithRemainders) {
  // The GPU's tiled matmul (64x64 tiles, 16 deep) with partial tiles in m,
  // n and k, and the transposed operands autodiff produces.
  checkOp(R"mlir(
func.func @f(%a: tensor<70x65xf32>, %b: tensor<65x90xf32>, %g: tensor<70x90xf32>) -> (tensor<70x90xf32>, tensor<65x90xf32>, tensor<70x65xf32>) {
  %0 = kiln.matmul %a, %b : tensor<70x65xf32>, tensor<65x90xf32> -> tensor<70x90xf32>
  %at = kiln.transpose %a, [1, 0] : tensor<70x65xf32> -> tensor<65x70xf32>
  %1 = kiln.matmul %at, %g : tensor<65x70xf32>, tensor<70x90xf32> -> tensor<65x90xf32>
  %bt = kiln.transpose %b, [1, 0] : tensor<65x90xf32> -> tensor<90x65xf32>
  %2 = kiln.matmul %g, %bt : tensor<70x90xf32>, tensor<90x65xf32> -> tensor<70x65xf32>
  return %0, %1, %2 : tensor<70x90xf32>, tensor<65x90xf32>, tensor<70x65xf32>
})mlir",
          {{-1.0, 1.0}, {-1.0, 1.0}, {-1.0, 1.0}});
}

TEST_F(CompiledVsInterpreter, MatmulBalancedBlocksOfATransposedA) {
  // dW = dy^T x deeper than a k block and taller than a chunk of packed A:
  // 300 = two k blocks of 152 (AVX2's KC is 256), 263 rows = chunks of 132
  // and 131 (MC 252), the second ending in a 5-row block;
  // 45 columns = two panels and 13 more (a vector and a masked 5).
  checkOp(R"mlir(
func.func @f(%a: tensor<300x263xf32>, %b: tensor<300x45xf32>) -> tensor<263x45xf32> {
  %at = kiln.transpose %a, [1, 0] : tensor<300x263xf32> -> tensor<263x300xf32>
  %0 = kiln.matmul %at, %b : tensor<263x300xf32>, tensor<300x45xf32> -> tensor<263x45xf32>
  return %0 : tensor<263x45xf32>
})mlir",
          {{-1.0, 1.0}, {-1.0, 1.0}});
}

TEST_F(CompiledVsInterpreter, MatmulSharedPanelsOfB) {
  // dW = dy^T x with two chunks of packed A (width 16: MC 504, chunks of
  // 266 and 254 rows) and a B larger than L2 (540 KB): each k block of B
  // (k = 260: 96, 96 and 68 deep) is packed once into the arena's shared
  // panels, which both chunks read: 16 full 32-column panels and 8 more
  // columns.
  checkOp(R"mlir(
func.func @f(%a: tensor<260x520xf32>, %b: tensor<260x520xf32>) -> tensor<520x520xf32> {
  %at = kiln.transpose %a, [1, 0] : tensor<260x520xf32> -> tensor<520x260xf32>
  %0 = kiln.matmul %at, %b : tensor<520x260xf32>, tensor<260x520xf32> -> tensor<520x520xf32>
  return %0 : tensor<520x520xf32>
})mlir",
          {{-1.0, 1.0}, {-1.0, 1.0}});
}

TEST_F(CompiledVsInterpreter, MatmulTransposedBDeep) {
  // x W^T deeper than a k block: the packed panels of W's rows are
  // transposed in registers in width x width blocks, the k tail of the short
  // last block and the ragged columns element by element.
  checkOp(R"mlir(
func.func @f(%x: tensor<9x300xf32>, %w: tensor<40x300xf32>) -> tensor<9x40xf32> {
  %wt = kiln.transpose %w, [1, 0] : tensor<40x300xf32> -> tensor<300x40xf32>
  %0 = kiln.matmul %x, %wt : tensor<9x300xf32>, tensor<300x40xf32> -> tensor<9x40xf32>
  return %0 : tensor<9x40xf32>
})mlir",
          {{-1.0, 1.0}, {-1.0, 1.0}});
}

TEST_F(CompiledVsInterpreter, BatchedMatmul) {
  checkOp(R"mlir(
func.func @f(%a: tensor<3x4x6xf32>, %b: tensor<3x6x5xf32>) -> tensor<3x4x5xf32> {
  %0 = kiln.matmul %a, %b : tensor<3x4x6xf32>, tensor<3x6x5xf32> -> tensor<3x4x5xf32>
  return %0 : tensor<3x4x5xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, Transpose) {
  checkOp(R"mlir(
func.func @f(%a: tensor<3x5xf32>, %b: tensor<2x3x4xf32>) -> (tensor<5x3xf32>, tensor<4x2x3xf32>, tensor<3x2x4xf32>) {
  %0 = kiln.transpose %a, [1, 0] : tensor<3x5xf32> -> tensor<5x3xf32>
  %1 = kiln.transpose %b, [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %2 = kiln.transpose %b, [1, 0, 2] : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  return %0, %1, %2 : tensor<5x3xf32>, tensor<4x2x3xf32>, tensor<3x2x4xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, TransposeLarge) {
  checkOp(R"mlir(
func.func @f(%a: tensor<67x129xf32>, %b: tensor<5x33x17xf32>) -> (tensor<129x67xf32>, tensor<17x33x5xf32>, tensor<5x17x33xf32>) {
  %0 = kiln.transpose %a, [1, 0] : tensor<67x129xf32> -> tensor<129x67xf32>
  %1 = kiln.transpose %b, [2, 1, 0] : tensor<5x33x17xf32> -> tensor<17x33x5xf32>
  %2 = kiln.transpose %b, [0, 2, 1] : tensor<5x33x17xf32> -> tensor<5x17x33xf32>
  return %0, %1, %2 : tensor<129x67xf32>, tensor<17x33x5xf32>, tensor<5x17x33xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, Reshape) {
  checkOp(R"mlir(
func.func @f(%a: tensor<2x3x4xf32>, %s: tensor<f32>, %o: tensor<1x1xf32>, %i: tensor<2x3xi32>)
    -> (tensor<6x4xf32>, tensor<24xf32>, tensor<4x3x2xf32>, tensor<1x1xf32>, tensor<f32>, tensor<3x2xi32>) {
  %0 = kiln.reshape %a : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = kiln.reshape %a : tensor<2x3x4xf32> -> tensor<24xf32>
  %2 = kiln.reshape %a : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
  %3 = kiln.reshape %s : tensor<f32> -> tensor<1x1xf32>
  %4 = kiln.reshape %o : tensor<1x1xf32> -> tensor<f32>
  %5 = kiln.reshape %i : tensor<2x3xi32> -> tensor<3x2xi32>
  return %0, %1, %2, %3, %4, %5 : tensor<6x4xf32>, tensor<24xf32>, tensor<4x3x2xf32>, tensor<1x1xf32>, tensor<f32>, tensor<3x2xi32>
})mlir",
          {{}, {}, {}, {-1000.0, 1000.0}});
}

TEST_F(CompiledVsInterpreter, BroadcastTo) {
  checkOp(R"mlir(
func.func @f(%a: tensor<3xf32>, %b: tensor<4x1xf32>, %s: tensor<f32>) -> (tensor<2x4x3xf32>, tensor<4x5xf32>, tensor<2x2xf32>) {
  %0 = kiln.broadcast_to %a : tensor<3xf32> -> tensor<2x4x3xf32>
  %1 = kiln.broadcast_to %b : tensor<4x1xf32> -> tensor<4x5xf32>
  %2 = kiln.broadcast_to %s : tensor<f32> -> tensor<2x2xf32>
  return %0, %1, %2 : tensor<2x4x3xf32>, tensor<4x5xf32>, tensor<2x2xf32>
})mlir");
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

TEST_F(CompiledVsInterpreter, ReduceSum) {
  checkOp(R"mlir(
func.func @f(%a: tensor<4x3xf32>, %b: tensor<2x3x5xf32>) -> (tensor<3xf32>, tensor<4x1xf32>, tensor<f32>, tensor<3xf32>, tensor<2x1x5xf32>, tensor<1x1x1xf32>) {
  %0 = kiln.reduce_sum %a axes = [0] : tensor<4x3xf32> -> tensor<3xf32>
  %1 = kiln.reduce_sum %a axes = [1] keepdims : tensor<4x3xf32> -> tensor<4x1xf32>
  %2 = kiln.reduce_sum %a axes = [0, 1] : tensor<4x3xf32> -> tensor<f32>
  %3 = kiln.reduce_sum %b axes = [0, 2] : tensor<2x3x5xf32> -> tensor<3xf32>
  %4 = kiln.reduce_sum %b axes = [1] keepdims : tensor<2x3x5xf32> -> tensor<2x1x5xf32>
  %5 = kiln.reduce_sum %b axes = [0, 1, 2] keepdims : tensor<2x3x5xf32> -> tensor<1x1x1xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<3xf32>, tensor<4x1xf32>, tensor<f32>, tensor<3xf32>, tensor<2x1x5xf32>, tensor<1x1x1xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, ReduceMean) {
  checkOp(R"mlir(
func.func @f(%a: tensor<4x3xf32>, %b: tensor<2x3x5xf32>) -> (tensor<3xf32>, tensor<f32>, tensor<2x1x1xf32>, tensor<2x3x5xf32>) {
  %0 = kiln.reduce_mean %a axes = [0] : tensor<4x3xf32> -> tensor<3xf32>
  %1 = kiln.reduce_mean %a axes = [0, 1] : tensor<4x3xf32> -> tensor<f32>
  %2 = kiln.reduce_mean %b axes = [1, 2] keepdims : tensor<2x3x5xf32> -> tensor<2x1x1xf32>
  %3 = kiln.reduce_mean %b axes = [] : tensor<2x3x5xf32> -> tensor<2x3x5xf32>
  return %0, %1, %2, %3 : tensor<3xf32>, tensor<f32>, tensor<2x1x1xf32>, tensor<2x3x5xf32>
})mlir");
}

TEST_F(CompiledVsInterpreter, ReduceMax) {
  // Integer-valued inputs give ties; all-negative rows check the -inf start.
  checkOp(R"mlir(
func.func @f(%a: tensor<4x3xf32>, %b: tensor<2x3x5xf32>, %n: tensor<3x4xf32>) -> (tensor<3xf32>, tensor<4x1xf32>, tensor<f32>, tensor<2x5xf32>, tensor<3xf32>) {
  %0 = kiln.reduce_max %a axes = [0] : tensor<4x3xf32> -> tensor<3xf32>
  %1 = kiln.reduce_max %a axes = [1] keepdims : tensor<4x3xf32> -> tensor<4x1xf32>
  %2 = kiln.reduce_max %b axes = [0, 1, 2] : tensor<2x3x5xf32> -> tensor<f32>
  %3 = kiln.reduce_max %b axes = [1] : tensor<2x3x5xf32> -> tensor<2x5xf32>
  %4 = kiln.reduce_max %n axes = [1] : tensor<3x4xf32> -> tensor<3xf32>
  return %0, %1, %2, %3, %4 : tensor<3xf32>, tensor<4x1xf32>, tensor<f32>, tensor<2x5xf32>, tensor<3xf32>
})mlir",
          {{-3.0, 3.0, true}, {-3.0, 3.0}, {-1e6, -1e3}});
}

TEST_F(CompiledVsInterpreter, ReduceMaxPropagatesNaN) {
  // The interpreter's reduce_max returns NaN when a reduced element is NaN
  // (like torch.amax); the compiled code must agree.
  ASSERT_TRUE(build(R"mlir(
func.func @f(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = kiln.reduce_max %a axes = [1] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
})mlir"));
  double nan = std::nan("");
  checkCall("f", {Buffer{{2, 3}, {1.0, nan, 2.0, nan, -1.0, -2.0}}});
}

TEST_F(CompiledVsInterpreter, LongReductions) {
  // Long enough for the GPU's block reductions (KILN_TEST_GPU_KERNELS=1):
  // row and column sums, a full sum and mean, maxima over rows that are not
  // a power of two long (threads with one element more than others).
  checkOp(R"mlir(
func.func @f(%a: tensor<3x300xf32>, %b: tensor<130x5xf32>, %c: tensor<1000xf32>, %n: tensor<2x100xf32>)
    -> (tensor<3xf32>, tensor<5xf32>, tensor<f32>, tensor<f32>, tensor<2xf32>, tensor<5xf32>) {
  %0 = kiln.reduce_sum %a axes = [1] : tensor<3x300xf32> -> tensor<3xf32>
  %1 = kiln.reduce_sum %b axes = [0] : tensor<130x5xf32> -> tensor<5xf32>
  %2 = kiln.reduce_sum %c axes = [0] : tensor<1000xf32> -> tensor<f32>
  %3 = kiln.reduce_mean %a axes = [0, 1] : tensor<3x300xf32> -> tensor<f32>
  %4 = kiln.reduce_max %n axes = [1] : tensor<2x100xf32> -> tensor<2xf32>
  %5 = kiln.reduce_max %b axes = [0] : tensor<130x5xf32> -> tensor<5xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<3xf32>, tensor<5xf32>, tensor<f32>, tensor<f32>, tensor<2xf32>, tensor<5xf32>
})mlir",
          {{-1.0, 1.0}, {-3.0, 3.0, true}, {-1.0, 1.0}, {-1e6, -1e3}});
}

TEST_F(CompiledVsInterpreter, LongReduceMaxPropagatesNaN) {
  // A NaN anywhere in a long row survives the GPU's tree of maxima.
  ASSERT_TRUE(build(R"mlir(
func.func @f(%a: tensor<2x100xf32>) -> tensor<2xf32> {
  %0 = kiln.reduce_max %a axes = [1] : tensor<2x100xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
})mlir"));
  std::vector<double> values(200);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = double(i % 17) - 8.0;
  values[77] = std::nan("");
  checkCall("f", {Buffer{{2, 100}, values}});
}

//===----------------------------------------------------------------------===//
// Classification helpers
//===----------------------------------------------------------------------===//

TEST_F(CompiledVsInterpreter, LogSoftmax) {
  checkOp(R"mlir(
func.func @f(%a: tensor<4x10xf32>, %b: tensor<5x3xf32>, %c: tensor<2x6x3xf32>) -> (tensor<4x10xf32>, tensor<5x3xf32>, tensor<2x6x3xf32>) {
  %0 = kiln.log_softmax %a axis = 1 : tensor<4x10xf32>
  %1 = kiln.log_softmax %b axis = 0 : tensor<5x3xf32>
  %2 = kiln.log_softmax %c axis = 1 : tensor<2x6x3xf32>
  return %0, %1, %2 : tensor<4x10xf32>, tensor<5x3xf32>, tensor<2x6x3xf32>
})mlir",
          {{-5.0, 5.0}, {-5.0, 5.0}, {-5.0, 5.0}});
}

TEST_F(CompiledVsInterpreter, LogSoftmaxLargeValues) {
  // exp(1000) overflows f32 (and f64): only the max-shifted form is finite.
  checkOp(R"mlir(
func.func @f(%a: tensor<4x10xf32>, %b: tensor<4x10xf32>, %c: tensor<3x8xf32>) -> (tensor<4x10xf32>, tensor<4x10xf32>, tensor<3x8xf32>) {
  %0 = kiln.log_softmax %a axis = 1 : tensor<4x10xf32>
  %1 = kiln.log_softmax %b axis = 1 : tensor<4x10xf32>
  %2 = kiln.log_softmax %c axis = 1 : tensor<3x8xf32>
  return %0, %1, %2 : tensor<4x10xf32>, tensor<4x10xf32>, tensor<3x8xf32>
})mlir",
          {{990.0, 1010.0}, {-1010.0, -990.0}, {-200.0, 200.0}});
}

TEST_F(CompiledVsInterpreter, LogSoftmaxLongRows) {
  // 200 classes: the max and the sum of exponentials are block reductions
  // on the GPU.
  checkOp(R"mlir(
func.func @f(%a: tensor<3x200xf32>) -> tensor<3x200xf32> {
  %0 = kiln.log_softmax %a axis = 1 : tensor<3x200xf32>
  return %0 : tensor<3x200xf32>
})mlir",
          {{-20.0, 20.0}});
}

TEST_F(CompiledVsInterpreter, OneHot) {
  // Indices include -2, -1 and >= classes: all-zero rows.
  checkOp(R"mlir(
func.func @f(%a: tensor<9xi32>, %b: tensor<2x3xi64>) -> (tensor<9x5xf32>, tensor<2x3x4xf32>) {
  %0 = kiln.one_hot %a : tensor<9xi32> -> tensor<9x5xf32>
  %1 = kiln.one_hot %b : tensor<2x3xi64> -> tensor<2x3x4xf32>
  return %0, %1 : tensor<9x5xf32>, tensor<2x3x4xf32>
})mlir",
          {{-2.0, 6.0}, {-1.0, 4.0}});
}

//===----------------------------------------------------------------------===//
// Gradients: the backward ops of every rule, compiled
//===----------------------------------------------------------------------===//

TEST_F(CompiledVsInterpreter, GradientsThroughEveryRule) {
  checkOp(R"mlir(
func.func @f(%x: tensor<3x4xf32>, %w: tensor<4x5xf32>, %p: tensor<5xf32>, %q: tensor<2x6xf32>)
    -> (tensor<f32>, tensor<3x4xf32>, tensor<4x5xf32>, tensor<5xf32>, tensor<2x6xf32>) {
  %m = kiln.matmul %x, %w : tensor<3x4xf32>, tensor<4x5xf32> -> tensor<3x5xf32>
  %d = kiln.div %m, %p : tensor<3x5xf32>, tensor<5xf32> -> tensor<3x5xf32>
  %e = kiln.exp %d : tensor<3x5xf32>
  %l = kiln.log %e : tensor<3x5xf32>
  %n = kiln.neg %l : tensor<3x5xf32>
  %r = kiln.relu %n : tensor<3x5xf32>
  %t = kiln.transpose %r, [1, 0] : tensor<3x5xf32> -> tensor<5x3xf32>
  %mx = kiln.reduce_max %t axes = [1] keepdims : tensor<5x3xf32> -> tensor<5x1xf32>
  %s = kiln.sub %t, %mx : tensor<5x3xf32>, tensor<5x1xf32> -> tensor<5x3xf32>
  %ls = kiln.log_softmax %s axis = 0 : tensor<5x3xf32>
  %rs = kiln.reshape %ls : tensor<5x3xf32> -> tensor<15xf32>
  %mean = kiln.reduce_mean %rs axes = [0] : tensor<15xf32> -> tensor<f32>
  %qb = kiln.broadcast_to %q : tensor<2x6xf32> -> tensor<3x2x6xf32>
  %qq = kiln.mul %qb, %qb : tensor<3x2x6xf32>, tensor<3x2x6xf32> -> tensor<3x2x6xf32>
  %qs = kiln.reduce_sum %qq axes = [0, 1, 2] : tensor<3x2x6xf32> -> tensor<f32>
  %loss = kiln.add %mean, %qs : tensor<f32>, tensor<f32> -> tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %g:4 = kiln.vjp %loss, %one wrt %x, %w, %p, %q : tensor<f32>, tensor<3x4xf32>, tensor<4x5xf32>, tensor<5xf32>, tensor<2x6xf32>
  return %loss, %g#0, %g#1, %g#2, %g#3 : tensor<f32>, tensor<3x4xf32>, tensor<4x5xf32>, tensor<5xf32>, tensor<2x6xf32>
})mlir",
          {{-1.0, 1.0}, {-1.0, 1.0}, {0.5, 2.0}, {-1.0, 1.0}});
}

} // namespace
