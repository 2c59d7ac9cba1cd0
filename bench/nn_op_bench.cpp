//===- nn_op_bench.cpp - time the compiled NN ops at the models' shapes ---===//
//
// Compiles each convolution, its two gradients, each max pooling and its
// gradient (and the convnet's largest matmul) alone through kiln's CPU
// pipeline with the host's vector width, JIT-loads it with the tests' harness
// (tests/unittests/CompiledCode.h) and prints the median thread CPU time of 5
// bare calls (one thread): where a model's step time goes, op by op. Not a
// test; docs/benchmarks.md says how to run it.
//
// usage: nn_op_bench [lenet|convnet]...   (default: both)
//
//===----------------------------------------------------------------------===//

#include "AbiCall.h"
#include "nn/NNShapes.h"
#include "nn/NNTestUtil.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

using namespace mlir;
using namespace nntest;

namespace {

/// Median thread CPU time of \p reps bare calls of @f on \p in, after one
/// warm-up call: the machine is shared, so wall time is not ours alone.
/// CompiledModule::call converts, copies and checks every argument element,
/// which costs more than a pooling itself; only the compiled code is timed.
double medianMs(CompiledModule &code, const std::vector<Buffer> &in,
                int reps = 5) {
  auto cpuMs = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
  };
  const kiln::AbiFunction *fn = code.abi().lookup("f");
  std::vector<std::vector<uint64_t>> storage;
  auto allocate = [&](const kiln::AbiBuffer &buffer) {
    size_t bytes = buffer.elements * kiln::test::elementBytes(buffer.cType);
    storage.emplace_back((bytes + 7) / 8);
    return static_cast<void *>(storage.back().data());
  };
  std::vector<void *> args{code.arena()};
  for (size_t i = 0; i < in.size(); ++i) {
    args.push_back(allocate(fn->inputs[i]));
    kiln::test::writeElements(args.back(), fn->inputs[i].cType, in[i].data);
  }
  for (const kiln::AbiBuffer &out : fn->outputs)
    args.push_back(allocate(out));
  void *address = code.address("f");
  kiln::test::callBare(address, args);
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    double start = cpuMs();
    kiln::test::callBare(address, args);
    times.push_back(cpuMs() - start);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// The driver's CPU options for this host (Driver.cpp, vectorWidthFor): the
/// vector width of its widest registers, 8 f32 lanes without AVX-512, where
/// CPUPipelineOptions' default of 16 would time kernels the trainers do not
/// run. Serial: the times are one thread's CPU time.
kiln::CPUPipelineOptions hostOptions() {
  kiln::CPUPipelineOptions options;
  llvm::StringMap<bool> features;
  bool avx512 = llvm::sys::getHostCPUFeatures(features) && features.lookup("avx512f");
  options.vectorWidth = avx512 ? 16 : 8;
  return options;
}

/// Compiles @f of \p ir and prints its median time; false on a compile error.
bool bench(MLIRContext &context, const std::string &what, const std::string &ir) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &context);
  if (!module) {
    std::fprintf(stderr, "nn_op_bench: %s: cannot parse:\n%s", what.c_str(), ir.c_str());
    return false;
  }
  auto fn = *module->getOps<func::FuncOp>().begin();
  std::vector<Buffer> inputs;
  for (Type t : fn.getArgumentTypes()) {
    ArrayRef<int64_t> shape = t.cast<RankedTensorType>().getShape();
    inputs.push_back(seqX(std::vector<int64_t>(shape.begin(), shape.end())));
  }
  CompiledModule compiled;
  std::string error;
  if (!compiled.build(*module, error, hostOptions())) {
    std::fprintf(stderr, "nn_op_bench: %s: %s\n", what.c_str(), error.c_str());
    return false;
  }
  std::printf("%-40s %8.2f ms\n", what.c_str(), medianMs(compiled, inputs));
  std::fflush(stdout);
  return true;
}

bool benchConvs(MLIRContext &context,
                std::initializer_list<std::pair<const char *, Conv>> convs) {
  for (auto [name, c] : convs) {
    std::string X = typeOf(c.x, "f32"), W = typeOf(c.w, "f32"), Y = typeOf(c.y(), "f32");
    if (!bench(context, std::string(name) + " forward",
               "func.func @f(%x: " + X + ", %w: " + W + ") -> " + Y +
                   " {\n  %y = kiln.conv2d %x, %w" + c.attrs() + ": " + X + ", " + W +
                   " -> " + Y + "\n  return %y : " + Y + "\n}\n") ||
        !bench(context, std::string(name) + " weight grad",
               "func.func @f(%x: " + X + ", %gy: " + Y + ") -> " + W +
                   " {\n  %g = kiln.conv2d_weight_grad %x, %gy" + c.attrs() + ": " + X +
                   ", " + Y + " -> " + W + "\n  return %g : " + W + "\n}\n") ||
        !bench(context, std::string(name) + " input grad",
               "func.func @f(%gy: " + Y + ", %w: " + W + ") -> " + X +
                   " {\n  %g = kiln.conv2d_input_grad %gy, %w" + c.attrs() + ": " + Y +
                   ", " + W + " -> " + X + "\n  return %g : " + X + "\n}\n"))
      return false;
  }
  return true;
}

bool benchPools(MLIRContext &context,
                std::initializer_list<std::pair<const char *, Pool>> pools) {
  for (auto [name, p] : pools) {
    std::string X = typeOf(p.x, "f32"), Y = typeOf(p.y(), "f32");
    if (!bench(context, std::string(name) + " forward",
               "func.func @f(%x: " + X + ") -> " + Y + " {\n  %y = kiln.max_pool2d %x" +
                   p.attrs() + ": " + X + " -> " + Y + "\n  return %y : " + Y + "\n}\n") ||
        !bench(context, std::string(name) + " grad",
               "func.func @f(%x: " + X + ", %g: " + Y + ") -> " + X +
                   " {\n  %y = kiln.max_pool2d_grad %x, %g" + p.attrs() + ": " + X + ", " +
                   Y + " -> " + X + "\n  return %y : " + X + "\n}\n"))
      return false;
  }
  return true;
}

/// examples/fashion_mnist/lenet.cpp at batch 128.
bool lenetShapes(MLIRContext &context) {
  return benchConvs(context, {{"conv1", Conv{{128, 1, 28, 28}, {6, 1, 5, 5}, 1, 1, 2, 2}},
                              {"conv2", Conv{{128, 6, 14, 14}, {16, 6, 5, 5}, 1, 1, 0, 0}}}) &&
         benchPools(context, {{"pool1", Pool{{128, 6, 28, 28}, 2, 2, 2, 2}},
                              {"pool2", Pool{{128, 16, 10, 10}, 2, 2, 2, 2}}});
}

/// examples/fashion_mnist/convnet.cpp at batch 64.
bool convnetShapes(MLIRContext &context) {
  return benchConvs(context,
                    {{"conv1", Conv{{64, 1, 28, 28}, {32, 1, 5, 5}, 1, 1, 2, 2}},
                     {"conv2", Conv{{64, 32, 14, 14}, {64, 32, 5, 5}, 1, 1, 2, 2}}}) &&
         benchPools(context, {{"pool1", Pool{{64, 32, 28, 28}, 2, 2, 2, 2}},
                              {"pool2", Pool{{64, 64, 14, 14}, 2, 2, 2, 2}}}) &&
         bench(context, "fc1 matmul [64,3136]x[3136,1024]", R"mlir(
func.func @f(%a: tensor<64x3136xf32>, %b: tensor<3136x1024xf32>) -> tensor<64x1024xf32> {
  %y = kiln.matmul %a, %b : tensor<64x3136xf32>, tensor<3136x1024xf32> -> tensor<64x1024xf32>
  return %y : tensor<64x1024xf32>
})mlir");
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> models(argv + 1, argv + argc);
  if (models.empty())
    models = {"lenet", "convnet"};
  MLIRContext context(kiln::test::makeRegistry());
  context.loadAllAvailableDialects();
  for (const std::string &model : models) {
    if (model != "lenet" && model != "convnet") {
      std::fprintf(stderr, "usage: nn_op_bench [lenet|convnet]...\n");
      return 2;
    }
    std::printf("%s shapes:\n", model.c_str());
    if (!(model == "lenet" ? lenetShapes(context) : convnetShapes(context)))
      return 1;
  }
  return 0;
}
