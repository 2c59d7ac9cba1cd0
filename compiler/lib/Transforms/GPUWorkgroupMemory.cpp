//===- GPUWorkgroupMemory.cpp - kernel allocas to workgroup attributions --===//
//
// kiln-map-to-gpu marks a kernel's shared memory as a top-level alloca in
// memory space 3 (MLIR 16's gpu.launch has no attributions); after
// outlining it becomes what convert-gpu-to-nvvm turns into PTX `.shared`.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUWORKGROUPMEMORY
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct KilnGPUWorkgroupMemory
    : kiln::impl::KilnGPUWorkgroupMemoryBase<KilnGPUWorkgroupMemory> {
  void runOnOperation() override {
    for (auto kernel : getOperation().getOps<gpu::GPUFuncOp>()) {
      if (kernel.getBody().empty())
        continue;
      // Outlining branches from an entry block to the launch's body: the
      // allocas sit in the kernel's top region, not always its first block.
      SmallVector<memref::AllocaOp> shared;
      for (Block &block : kernel.getBody())
        for (auto alloca : block.getOps<memref::AllocaOp>())
          if (alloca.getType().getMemorySpace())
            shared.push_back(alloca);
      for (memref::AllocaOp alloca : shared) {
        if (alloca.getType().getMemorySpaceAsInt() != kWorkgroupMemorySpace) {
          alloca.emitOpError("kiln-gpu-workgroup-memory: expected memory "
                             "space 3 (workgroup)");
          return signalPassFailure();
        }
        BlockArgument buffer =
            kernel.addWorkgroupAttribution(alloca.getType(), alloca.getLoc());
        alloca.replaceAllUsesWith(buffer);
        alloca.erase();
      }
    }
  }

  /// NVVM's shared address space, which convert-gpu-to-nvvm gives
  /// workgroup attributions.
  static constexpr unsigned kWorkgroupMemorySpace = 3;
};
} // namespace
