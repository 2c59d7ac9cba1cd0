//===- CompiledParallelMatmulTest.cpp - threaded products, serial bits ----===//
//
// kiln-vectorize-matmul's parallel forms must give the serial kernel's bits
// for every thread count, each element of C being summed by one thread in k
// order: the column split with the k blocks inside each worker, and the
// split of MR-row blocks for a product with fewer than two column panels.
// Each product is compiled without and with parallel loops, the latter run
// on 1, 2 and 3 OpenMP threads (3 splits the blocks unevenly). A product
// larger than L2 (prefetches, chunks of packed A) is also checked against
// a plain loop that sums each element in k order, the kernel's contract.
// kiln-vectorize-channel-sums' per-channel sums (channels in the lanes of a
// vector, groups of channels on threads) are checked the same way.
//
//===----------------------------------------------------------------------===//

#include "CompiledCode.h"
#include "CompiledHarness.h"

#include "kiln/runtime/threads.h"

#include <cmath>
#include <random>

// libomp's, called directly so that the linker keeps libomp, whose
// __kmpc_* entry points the JIT-compiled parallel loops call.
extern "C" int omp_get_max_threads();

using namespace mlir;
using kiln::interp::Buffer;

namespace {

/// Returns the serial build's outputs for the inputs it makes.
std::vector<Buffer> expectThreadsGiveSerialBits(StringRef ir, std::vector<Buffer> *made = nullptr) {
  MLIRContext context(kiln::test::makeRegistry());
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &context);
  EXPECT_TRUE(module);
  if (!module)
    return {};
  kiln::test::CompiledCode serial, parallel;
  std::string error;
  kiln::CPUPipelineOptions threaded;
  threaded.parallel = true;
  if (!serial.build(*module, error) || !parallel.build(*module, error, threaded)) {
    ADD_FAILURE() << error;
    return {};
  }

  auto fn = module->lookupSymbol<func::FuncOp>("f");
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<Buffer> inputs;
  for (Type type : fn.getArgumentTypes()) {
    auto tensor = type.cast<RankedTensorType>();
    Buffer input{{tensor.getShape().begin(), tensor.getShape().end()}, {}};
    for (int64_t e = 0; e < input.numElements(); ++e)
      input.data.push_back(dist(rng));
    inputs.push_back(std::move(input));
  }
  std::vector<Buffer> expected = serial.call("f", inputs);
  for (int threads : {1, 2, 3}) {
    // The trainers' setting; it returns 1 where no libomp is linked.
    EXPECT_EQ(kiln_set_model_threads(threads), threads);
    EXPECT_EQ(omp_get_max_threads(), threads);
    std::vector<Buffer> actual = parallel.call("f", inputs);
    EXPECT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
      kiln::test::expectBitEqual(actual[i], expected[i],
                                 std::to_string(threads) + " threads, output " + std::to_string(i));
  }
  if (made)
    *made = std::move(inputs);
  return expected;
}

/// Expects `outputs` to be the one product op(A) x B of `inputs` (A stored
/// k x m, B k x n) with every element the sum of its k products in k order,
/// as the loop below adds them (a fused multiply-add each where the target
/// has one: the kernel contracts).
void expectKOrderSumsOfTransposedA(const std::vector<Buffer> &outputs,
                                   const std::vector<Buffer> &inputs) {
  ASSERT_EQ(outputs.size(), 1u);
  ASSERT_EQ(inputs.size(), 2u);
  const int64_t k = inputs[0].shape[0], m = inputs[0].shape[1],
                n = inputs[1].shape[1];
  Buffer fusedSums{{m, n}, std::vector<double>(m * n)};
  Buffer plainSums = fusedSums;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float fused = 0.0f, plain = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk) {
        float a = float(inputs[0].data[kk * m + i]);
        float b = float(inputs[1].data[kk * n + j]);
        fused = std::fma(a, b, fused);
        float product = a * b; // its own statement: never contracted
        plain = plain + product;
      }
      fusedSums.data[i * n + j] = fused;
      plainSums.data[i * n + j] = plain;
    }
  bool fusedBits = outputs[0].data == fusedSums.data;
  kiln::test::expectBitEqual(outputs[0], fusedBits ? fusedSums : plainSums, "k-order sums");
}

TEST(CompiledParallelMatmul, RowBlocksOfAFewColumnsProduct) {
  // 10 columns, no full panel: 1024 rows in MR-row blocks on the workers
  // (1024 x 10 x a 128-deep k block is past the pipeline's 1 << 20).
  expectThreadsGiveSerialBits(R"mlir(
func.func @f(%a: tensor<1024x300xf32>, %b: tensor<300x10xf32>) -> tensor<1024x10xf32> {
  %0 = kiln.matmul %a, %b : tensor<1024x300xf32>, tensor<300x10xf32> -> tensor<1024x10xf32>
  return %0 : tensor<1024x10xf32>
})mlir");
}

TEST(CompiledParallelMatmul, ColumnPanelsWithKBlocksInsideTheWorkers) {
  // Five 32-column panels and 8 more columns, k = 300: three k blocks
  // (the last 44 deep) inside each worker; the 8 columns run after the join.
  expectThreadsGiveSerialBits(R"mlir(
func.func @f(%a: tensor<64x300xf32>, %b: tensor<300x168xf32>) -> tensor<64x168xf32> {
  %0 = kiln.matmul %a, %b : tensor<64x300xf32>, tensor<300x168xf32> -> tensor<64x168xf32>
  return %0 : tensor<64x168xf32>
})mlir");
}

TEST(CompiledParallelMatmul, PackedChunksOfALargerThanL2) {
  // dW = dy^T x at odd sizes past every blocking: k = 301 in two k blocks
  // (AVX2: 152 and 149 deep), 517 rows of packed A in chunks of 174, 174
  // and 169 rows (MC 252), 450 columns = 28 panels and 2 more; C (930 KB)
  // and B (542 KB) are larger than L2, so the tiles prefetch C's next tile
  // and the packing B's next panel. Every element must still be the sum of
  // its k products in k order.
  std::vector<Buffer> inputs;
  std::vector<Buffer> outputs = expectThreadsGiveSerialBits(R"mlir(
func.func @f(%a: tensor<301x517xf32>, %b: tensor<301x450xf32>) -> tensor<517x450xf32> {
  %at = kiln.transpose %a, [1, 0] : tensor<301x517xf32> -> tensor<517x301xf32>
  %0 = kiln.matmul %at, %b : tensor<517x301xf32>, tensor<301x450xf32> -> tensor<517x450xf32>
  return %0 : tensor<517x450xf32>
})mlir",
                                                            &inputs);
  expectKOrderSumsOfTransposedA(outputs, inputs);
}

TEST(CompiledParallelMatmul, TilesPrefetchingNextCBeforeTheirLastSteps) {
  // C (130 x 1024, 532 KB) larger than L2 with rows 4 KiB apart: each tile
  // prefetches the next tile's C 64 k steps before its end, between two
  // loops over its k steps: k = 100 runs 36 steps, then 64; k = 40 is
  // shallower than 64, the first loop empty.
  for (int64_t k : {100, 40}) {
    SCOPED_TRACE("k = " + std::to_string(k));
    std::string at = "tensor<" + std::to_string(k) + "x130xf32>";
    std::string a = "tensor<130x" + std::to_string(k) + "xf32>";
    std::string b = "tensor<" + std::to_string(k) + "x1024xf32>";
    std::string ir = "func.func @f(%a: " + at + ", %b: " + b +
                     ") -> tensor<130x1024xf32> {\n"
                     "  %at = kiln.transpose %a, [1, 0] : " + at + " -> " + a + "\n"
                     "  %0 = kiln.matmul %at, %b : " + a + ", " + b +
                     " -> tensor<130x1024xf32>\n"
                     "  return %0 : tensor<130x1024xf32>\n}";
    std::vector<Buffer> inputs;
    std::vector<Buffer> outputs = expectThreadsGiveSerialBits(ir, &inputs);
    expectKOrderSumsOfTransposedA(outputs, inputs);
  }
}

TEST(CompiledParallelMatmul, SharedPanelsOfBAcrossChunksOfA) {
  // 1030 rows of A in three chunks of packed A (width 16: MC 504, chunks of
  // 350, 350, 330) and a B larger than L2 (540 KB): each k block of B
  // (k = 300: three of 112, 112, 76) is packed once into the arena's shared
  // panels, the workers splitting the 14 full 32-column panels, the 2
  // leftover columns in the last slot; as stored (x W) and transposed
  // (x W^T, panels transposed in registers).
  expectThreadsGiveSerialBits(R"mlir(
func.func @f(%a: tensor<1030x300xf32>, %b: tensor<300x450xf32>, %w: tensor<450x300xf32>) -> (tensor<1030x450xf32>, tensor<1030x450xf32>) {
  %0 = kiln.matmul %a, %b : tensor<1030x300xf32>, tensor<300x450xf32> -> tensor<1030x450xf32>
  %wt = kiln.transpose %w, [1, 0] : tensor<450x300xf32> -> tensor<300x450xf32>
  %1 = kiln.matmul %a, %wt : tensor<1030x300xf32>, tensor<300x450xf32> -> tensor<1030x450xf32>
  return %0, %1 : tensor<1030x450xf32>, tensor<1030x450xf32>
})mlir");
}

TEST(CompiledParallelMatmul, ChannelSumsAddInTheScalarLoopsOrder) {
  // A bias gradient's shape: the sum over n and 14 x 14 pixels of each of
  // 16 channels (two groups of 8 lanes, on threads: 37632 terms) of a
  // product fused in. Each channel must add its terms in n, then pixel
  // order, as the scalar loop does, across 24 blocks of 8 pixels
  // transposed in registers and a masked block of 4.
  std::vector<Buffer> inputs;
  std::vector<Buffer> outputs = expectThreadsGiveSerialBits(R"mlir(
func.func @f(%dy: tensor<12x16x14x14xf32>, %y: tensor<12x16x14x14xf32>) -> tensor<16xf32> {
  %p = kiln.mul %dy, %y : tensor<12x16x14x14xf32>, tensor<12x16x14x14xf32> -> tensor<12x16x14x14xf32>
  %s = kiln.reduce_sum %p axes = [0, 2, 3] : tensor<12x16x14x14xf32> -> tensor<16xf32>
  return %s : tensor<16xf32>
})mlir",
                                                            &inputs);
  ASSERT_EQ(outputs.size(), 1u);
  ASSERT_EQ(inputs.size(), 2u);
  const int64_t batch = 12, channels = 16, pixels = 196;
  Buffer sums{{channels}, std::vector<double>(channels)};
  for (int64_t c = 0; c < channels; ++c) {
    float sum = 0.0f;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t p = 0; p < pixels; ++p) {
        int64_t at = (n * channels + c) * pixels + p;
        float term = float(inputs[0].data[at]) * float(inputs[1].data[at]);
        sum = sum + term;
      }
    sums.data[c] = sum;
  }
  kiln::test::expectBitEqual(outputs[0], sums, "n, then pixel order");
}

TEST(CompiledParallelMatmul, FoldedFillSumsFromPositiveZero) {
  // kiln.matmul fills C with +0.0 and adds the product to it; that fill is
  // folded into the product's first k block (its accumulators start from
  // +0.0, C is not read). Every term here is -0.0 (-1 x +0.0), so every
  // sum must stay +0.0 + -0.0 + ... = +0.0 as with the fill, not -0.0 (a
  // kernel that started from the first product). k = 300 (three k blocks,
  // the later ones load C), 40 columns (a panel, a vector and a masked
  // tail), 70 rows; serial and threaded.
  MLIRContext context(kiln::test::makeRegistry());
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(R"mlir(
func.func @f(%a: tensor<70x300xf32>, %b: tensor<300x40xf32>) -> tensor<70x40xf32> {
  %0 = kiln.matmul %a, %b : tensor<70x300xf32>, tensor<300x40xf32> -> tensor<70x40xf32>
  return %0 : tensor<70x40xf32>
})mlir",
                                                             &context);
  ASSERT_TRUE(module);
  std::vector<Buffer> inputs = {{{70, 300}, std::vector<double>(70 * 300, -1.0)},
                                {{300, 40}, std::vector<double>(300 * 40, 0.0)}};
  kiln::CPUPipelineOptions threaded;
  threaded.parallel = true;
  for (const kiln::CPUPipelineOptions &options : {kiln::CPUPipelineOptions(), threaded}) {
    kiln::test::CompiledCode code;
    std::string error;
    ASSERT_TRUE(code.build(*module, error, options)) << error;
    std::vector<Buffer> outputs = code.call("f", inputs);
    ASSERT_EQ(outputs.size(), 1u);
    int negativeZeros = 0;
    for (double value : outputs[0].data) {
      EXPECT_EQ(value, 0.0);
      negativeZeros += std::signbit(value);
    }
    EXPECT_EQ(negativeZeros, 0) << (options.parallel ? "threaded" : "serial");
  }
}

} // namespace
