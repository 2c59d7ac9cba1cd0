//===- NVPTXPipeline.cpp - kiln's NVIDIA GPU compilation pipeline ---------===//
//
// Starts from the same differentiated, bufferized and planned IR as the CPU
// pipeline (one arena; on the GPU a device allocation of the same size)
// and ends with a host module in the LLVM dialect whose functions launch
// kernels through kiln's CUDA runtime, their PTX embedded as constants.
// Built from typed pass constructors, so option mistakes fail to compile.
//
//===----------------------------------------------------------------------===//

#include "kiln/Pipelines/Pipelines.h"

#include "PipelineSteps.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

std::string kiln::NVPTXPipelineOptions::features() const {
  return "+ptx" + std::to_string(ptx);
}

void kiln::buildKilnNVPTXKernelPipeline(OpPassManager &pm,
                                        const NVPTXPipelineOptions &options) {
  // NVPTX has no exp/log instructions LLVM 16 selects, and libdevice is not
  // linked: polynomials instead, as on microcontrollers.
  pm.addPass(createKilnApproximateMath());
  KilnMapToGPUOptions kernels;
  kernels.tf32 = options.tf32;
  pm.addNestedPass<func::FuncOp>(createKilnMapToGPU(kernels));
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createCanonicalizerPass());

  // Device side, one gpu.module per host function.
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  // Shared memory of the block reductions and tiled matmuls.
  device.addPass(createKilnGPUWorkgroupMemory());
  device.addPass(createLowerAffinePass());
  device.addPass(createConvertSCFToCFPass());
  device.addPass(memref::createExpandStridedMetadataPass());
  device.addPass(createLowerAffinePass());
  // The NVVM lowering would call libdevice's __nv_* for what is left of
  // math after the approximations.
  device.addPass(createKilnExpandMathForNVPTX());
  device.addPass(createLowerGpuOpsToNVVMOpsPass(/*indexBitwidth=*/64));
  device.addPass(createReconcileUnrealizedCastsPass());

  KilnSerializeToPTXOptions serialize;
  serialize.chip = "sm_" + std::to_string(options.sm);
  serialize.features = options.features();
  pm.addPass(createKilnSerializeToPTX(serialize));
}

void kiln::buildKilnNVPTXHostPipeline(OpPassManager &pm) {
  pm.addPass(createKilnGPUToRuntimeCalls());

  // Host side: address arithmetic and runtime calls only.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createMemRefToLLVMConversionPass());
  pm.addPass(createFuncToLLVMWithBarePointers());
  pm.addPass(cf::createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void kiln::buildKilnNVPTXLowerPipeline(OpPassManager &pm,
                                       const NVPTXPipelineOptions &options) {
  buildKilnNVPTXKernelPipeline(pm, options);
  buildKilnNVPTXHostPipeline(pm);
}

void kiln::buildKilnNVPTXPipeline(OpPassManager &pm,
                                  const NVPTXPipelineOptions &options) {
  buildKilnDifferentiatePipeline(pm);
  BufferizePipelineOptions bufferize;
  bufferize.useGPUKernelLayout();
  buildKilnBufferizePipeline(pm, bufferize);
  buildKilnNVPTXLowerPipeline(pm, options);
}

namespace {
struct NVPTXPipelineCommandLine
    : public PassPipelineOptions<NVPTXPipelineCommandLine> {
  Option<unsigned> sm{*this, "sm",
                      llvm::cl::desc("compute capability: 80 or 90"),
                      llvm::cl::init(80)};
  Option<unsigned> ptx{*this, "ptx",
                       llvm::cl::desc("PTX ISA version x10 (LLVM 16: <= 78)"),
                       llvm::cl::init(78)};
  Option<bool> tf32{*this, "tf32",
                    llvm::cl::desc("tiled matmuls on tensor cores, inputs "
                                   "rounded to TF32 (default: exact FP32)"),
                    llvm::cl::init(false)};

  kiln::NVPTXPipelineOptions typed() const {
    kiln::NVPTXPipelineOptions options;
    options.sm = sm;
    options.ptx = ptx;
    options.tf32 = tf32;
    return options;
  }
};
} // namespace

void kiln::registerKilnNVPTXPipelines() {
  PassPipelineRegistration<NVPTXPipelineCommandLine>(
      "kiln-nvptx-lower", "Lower planned memrefs to NVPTX kernels + host calls",
      [](OpPassManager &pm, const NVPTXPipelineCommandLine &options) {
        buildKilnNVPTXLowerPipeline(pm, options.typed());
      });
  PassPipelineRegistration<NVPTXPipelineCommandLine>(
      "kiln-nvptx-pipeline", "The whole kiln NVPTX pipeline",
      [](OpPassManager &pm, const NVPTXPipelineCommandLine &options) {
        buildKilnNVPTXPipeline(pm, options.typed());
      });
}
