//===- EmulateGPULaunches.cpp - gpu.launch as host loops ------------------===//
//
// CI has no GPU; this is how the kernels kiln-map-to-gpu makes are checked
// against the reference interpreter anyway (tests/unittests, with
// KILN_TEST_GPU_KERNELS=1): the same bodies, their thread and block ids
// taken from loops.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNEMULATEGPULAUNCHES
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
LogicalResult emulate(gpu::LaunchOp launch) {
  if (!launch.getBody().hasOneBlock() || launch.getAsyncToken() ||
      launch.getDynamicSharedMemorySize())
    return launch.emitOpError("kiln-emulate-gpu-launches: expected a "
                              "single-block synchronous launch");
  OpBuilder b(launch);
  Location loc = launch.getLoc();
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  IRMapping mapping;
  gpu::KernelDim3 gridArgs = launch.getGridSize();
  gpu::KernelDim3 blockArgs = launch.getBlockSize();
  SmallVector<Value, 6> sizeArgs{gridArgs.x,  gridArgs.y,  gridArgs.z,
                                 blockArgs.x, blockArgs.y, blockArgs.z};
  SmallVector<Value, 6> sizes{grid.x,  grid.y,  grid.z,
                              block.x, block.y, block.z};
  for (auto [arg, value] : llvm::zip(sizeArgs, sizes))
    mapping.map(arg, value);
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  gpu::KernelDim3 threadIds = launch.getThreadIds();
  // Blocks outermost, then threads, x fastest: the order a single SM might
  // run them in, though any order must give the same result.
  SmallVector<Value, 6> ids{blockIds.z,  blockIds.y,  blockIds.x,
                            threadIds.z, threadIds.y, threadIds.x};
  SmallVector<Value, 6> bounds{grid.z,  grid.y,  grid.x,
                               block.z, block.y, block.x};
  for (auto [id, bound] : llvm::zip(ids, bounds)) {
    auto loop = b.create<scf::ForOp>(loc, zero, bound, one);
    mapping.map(id, loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  for (Operation &op : launch.getBody().front().without_terminator())
    b.clone(op, mapping);
  launch.erase();
  return success();
}

struct KilnEmulateGPULaunches
    : kiln::impl::KilnEmulateGPULaunchesBase<KilnEmulateGPULaunches> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp op) { launches.push_back(op); });
    for (gpu::LaunchOp launch : launches)
      if (failed(emulate(launch)))
        return signalPassFailure();
  }
};
} // namespace
