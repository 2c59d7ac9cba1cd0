//===- CompiledParallelMatmulTest.cpp - threaded products, serial bits ----===//
//
// kiln-vectorize-matmul's parallel forms must give the serial kernel's bits
// for every thread count, each element of C being summed by one thread in k
// order: the column split with the k blocks inside each worker, and the
// split of MR-row blocks for a product with fewer than two column panels.
// Each product is compiled without and with parallel loops, the latter run
// on 1, 2 and 3 OpenMP threads (3 splits the blocks unevenly).
//
//===----------------------------------------------------------------------===//

#include "CompiledCode.h"
#include "CompiledHarness.h"

#include "kiln/runtime/threads.h"

#include <random>

// libomp's, called directly so that the linker keeps libomp, whose
// __kmpc_* entry points the JIT-compiled parallel loops call.
extern "C" int omp_get_max_threads();

using namespace mlir;
using kiln::interp::Buffer;

namespace {

void expectThreadsGiveSerialBits(StringRef ir) {
  MLIRContext context(kiln::test::makeRegistry());
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &context);
  ASSERT_TRUE(module);
  kiln::test::CompiledCode serial, parallel;
  std::string error;
  ASSERT_TRUE(serial.build(*module, error)) << error;
  kiln::CPUPipelineOptions threaded;
  threaded.parallel = true;
  ASSERT_TRUE(parallel.build(*module, error, threaded)) << error;

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
    ASSERT_EQ(kiln_set_model_threads(threads), threads);
    ASSERT_EQ(omp_get_max_threads(), threads);
    std::vector<Buffer> actual = parallel.call("f", inputs);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i)
      kiln::test::expectBitEqual(actual[i], expected[i],
                                 std::to_string(threads) + " threads, output " +
                                     std::to_string(i));
  }
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

} // namespace
