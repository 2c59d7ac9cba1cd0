//===- CompiledCode.cpp - a kiln module compiled and JIT-loaded -----------===//

#include "CompiledCode.h"

#include "AbiCall.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Pipelines/Pipelines.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <cstdlib>
#include <cstring>

using namespace mlir;

namespace kiln::test {

namespace {
constexpr size_t kGuardBytes = 64;
constexpr unsigned char kGuard = 0xA5;
} // namespace

CompiledCode::~CompiledCode() {
  jit_.reset();
  std::free(arena_);
}

bool CompiledCode::build(ModuleOp source, std::string &error,
                         const CPUPipelineOptions &options,
                         const BufferizePipelineOptions &bufferize) {
  module_ = source.clone();
  MLIRContext *ctx = source.getContext();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
    return success();
  });
  PassManager front(ctx);
  buildKilnDifferentiatePipeline(front);
  // As kilnc: arena room for the products that the lowering's matmul pass
  // packs B once per k block.
  BufferizePipelineOptions planned = bufferize;
  planned.matmulVectorWidth = options.vectorWidth;
  buildKilnBufferizePipeline(front, planned);
  if (failed(front.run(*module_))) {
    error = "differentiate/bufferize failed:\n" + diagnostics;
    return false;
  }
  auto abi = extractAbi(*module_);
  if (failed(abi)) {
    error = "extractAbi failed:\n" + diagnostics;
    return false;
  }
  abi_ = *abi;
  PassManager back(ctx);
  // KILN_TEST_GPU_KERNELS=1: the NVPTX backend's kernels, run as host loops.
  const char *gpuKernels = std::getenv("KILN_TEST_GPU_KERNELS");
  if (gpuKernels && std::string(gpuKernels) == "1") {
    back.addNestedPass<func::FuncOp>(createKilnMapToGPU());
    back.addNestedPass<func::FuncOp>(createKilnEmulateGPULaunches());
  }
  buildKilnLowerToLLVMPipeline(back, options);
  if (failed(back.run(*module_))) {
    error = "lower-to-llvm failed:\n" + diagnostics;
    return false;
  }
  jit_ = JitModule::create(*module_, error);
  if (!jit_)
    return false;
  size_t arenaBytes = static_cast<size_t>(abi_.arenaBytes);
  allocated_ = (arenaBytes + kGuardBytes + 63) / 64 * 64;
  arena_ = static_cast<unsigned char *>(std::aligned_alloc(64, allocated_));
  std::memset(arena_, 0xFF, arenaBytes); // NaN: scratch must be written first
  std::memset(arena_ + arenaBytes, kGuard, allocated_ - arenaBytes);
  return true;
}

std::vector<interp::Buffer>
CompiledCode::call(const std::string &name,
                   const std::vector<interp::Buffer> &inputs) {
  const AbiFunction *fn = abi_.lookup(name);
  void *address = jit_ ? jit_->lookup(name) : nullptr;
  if (!fn || !address) {
    ADD_FAILURE() << "no compiled function @" << name;
    return {};
  }
  if (fn->inputs.size() != inputs.size()) {
    ADD_FAILURE() << "@" << name << " takes " << fn->inputs.size()
                  << " inputs, got " << inputs.size();
    return {};
  }
  std::vector<HostTensor> in, out;
  std::vector<void *> args{arena_};
  for (auto [abiIn, value] : llvm::zip(fn->inputs, inputs)) {
    EXPECT_EQ(abiIn.shape, value.shape) << "@" << name << " input";
    in.emplace_back(abiIn);
    writeElements(in.back().data(), abiIn.cType, value.data);
  }
  for (const AbiBuffer &abiOut : fn->outputs)
    out.emplace_back(abiOut);
  for (HostTensor &t : in)
    args.push_back(t.data());
  for (HostTensor &t : out)
    args.push_back(t.data());
  std::vector<std::vector<uint64_t>> before;
  for (HostTensor &t : in)
    before.push_back(t.storage);

  callBare(address, args);

  for (size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(in[i].storage, before[i])
        << "@" << name << " modified input #" << i;
  for (size_t b = static_cast<size_t>(abi_.arenaBytes); b < allocated_; ++b)
    if (arena_[b] != kGuard) {
      ADD_FAILURE() << "@" << name << " wrote byte " << b << " past the arena";
      break;
    }
  std::vector<interp::Buffer> results;
  for (HostTensor &t : out)
    results.push_back(t.toBuffer());
  return results;
}

interp::Buffer CompiledCode::readState(const std::string &name) const {
  for (const AbiStateEntry &entry : abi_.state)
    if (entry.name == name)
      return interp::Buffer{entry.buffer.shape,
                            readElements(arena_ + entry.offset,
                                         entry.buffer.cType,
                                         entry.buffer.elements)};
  ADD_FAILURE() << "no state '" << name << "'";
  return {};
}

void CompiledCode::writeState(const std::string &name,
                              const interp::Buffer &value) {
  for (const AbiStateEntry &entry : abi_.state)
    if (entry.name == name) {
      EXPECT_EQ(entry.buffer.shape, value.shape) << name;
      writeElements(arena_ + entry.offset, entry.buffer.cType, value.data);
      return;
    }
  ADD_FAILURE() << "no state '" << name << "'";
}

} // namespace kiln::test
