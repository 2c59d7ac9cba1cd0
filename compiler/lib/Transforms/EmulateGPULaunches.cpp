//===- EmulateGPULaunches.cpp - gpu.launch as host loops ------------------===//
//
// CI has no GPU; this is how the kernels kiln-map-to-gpu makes are checked
// against the reference interpreter anyway (tests/unittests, with
// KILN_TEST_GPU_KERNELS=1): the same bodies, their thread and block ids
// taken from loops.
//
// Kernels that synchronize are run exactly, not approximately: the body is
// cut at each gpu.barrier into phases, and every thread of a block runs a
// phase before any thread starts the next, which is all a barrier
// guarantees. Only memory may carry a thread's state across a barrier:
// workgroup memory (a top-level memref.alloca in a non-default memory
// space, one buffer per block) and private memory (a top-level
// memref.alloca in the default space, one buffer per thread). SSA values
// that cross a barrier are recomputed in the later phase when they are pure
// (indices, constants); anything else is refused with an error rather than
// emulated wrongly.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNEMULATEGPULAUNCHES
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
bool containsBarrier(Operation *op) {
  return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Workgroup memory is shared by the threads of a block: any memory space
/// but the default one marks it (MLIR 16's gpu.launch has no attributions).
bool isWorkgroupAlloca(memref::AllocaOp alloca) {
  return alloca.getType().getMemorySpace() != nullptr;
}

class LaunchEmulator {
public:
  explicit LaunchEmulator(gpu::LaunchOp launch) : launch(launch) {}
  LogicalResult run();

private:
  /// Emits `ops` for one block: phases between barriers, each looped over
  /// the block's threads; a loop holding barriers stays one loop around its
  /// body's phases (every thread takes the same trip count).
  LogicalResult emitBlockLevel(ArrayRef<Operation *> ops, OpBuilder &b,
                               IRMapping &blockMapping);
  LogicalResult emitPhase(ArrayRef<Operation *> ops, OpBuilder &b,
                          IRMapping blockMapping);
  /// `v` at the builder's point: mapped, defined outside the launch, or a
  /// pure computation redone from its operands.
  FailureOr<Value> recompute(Value v, OpBuilder &b, IRMapping &mapping);
  bool dependsOnThread(Value v);
  /// Makes every value `op` uses from outside itself available.
  LogicalResult recomputeOperands(Operation *op, OpBuilder &b,
                                  IRMapping &mapping);

  gpu::LaunchOp launch;
  Location loc = launch.getLoc();
  Value zero, one;
  /// Writes NaN over a block's float workgroup memory before it starts,
  /// so a kernel that reads what no thread of its block wrote fails.
  void poison(OpBuilder &b, Value buffer);

  SmallVector<Value> workgroupBuffers;
  /// Per thread: private alloca -> its per-block buffer [threads x shape].
  SmallVector<std::pair<memref::AllocaOp, Value>> privateBuffers;
};

FailureOr<Value> LaunchEmulator::recompute(Value v, OpBuilder &b,
                                           IRMapping &mapping) {
  if (Value mapped = mapping.lookupOrNull(v))
    return mapped;
  if (!launch->isAncestor(v.getParentRegion()->getParentOp()))
    return v;
  Operation *def = v.getDefiningOp();
  if (!def) {
    return emitError(v.getLoc(), "kiln-emulate-gpu-launches: a block "
                                 "argument used across a gpu.barrier"),
           failure();
  }
  if (!isMemoryEffectFree(def) || def->getNumRegions() != 0)
    return def->emitOpError("kiln-emulate-gpu-launches: this value is used "
                            "across a gpu.barrier (only memory may carry "
                            "state across one)"),
           failure();
  for (Value operand : def->getOperands())
    if (failed(recompute(operand, b, mapping)))
      return failure();
  Operation *clone = b.clone(*def, mapping);
  return clone->getResult(v.cast<OpResult>().getResultNumber());
}

bool LaunchEmulator::dependsOnThread(Value v) {
  gpu::KernelDim3 ids = launch.getThreadIds();
  if (v == ids.x || v == ids.y || v == ids.z)
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || !launch->isAncestor(def))
    return false;
  return llvm::any_of(def->getOperands(),
                      [&](Value operand) { return dependsOnThread(operand); });
}

LogicalResult LaunchEmulator::recomputeOperands(Operation *op, OpBuilder &b,
                                                IRMapping &mapping) {
  WalkResult result = op->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands()) {
      if (op->isAncestor(operand.getParentRegion()->getParentOp()))
        continue; // defined inside `op`, cloned with it
      if (failed(recompute(operand, b, mapping)))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

LogicalResult LaunchEmulator::emitPhase(ArrayRef<Operation *> ops, OpBuilder &b,
                                        IRMapping mapping) {
  if (ops.empty())
    return success();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  gpu::KernelDim3 threadIds = launch.getThreadIds();
  SmallVector<Value, 3> ids{threadIds.z, threadIds.y, threadIds.x};
  SmallVector<Value, 3> bounds{block.z, block.y, block.x};
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Value, 3> ivs;
  for (auto [id, bound] : llvm::zip(ids, bounds)) {
    auto loop = b.create<scf::ForOp>(loc, zero, bound, one);
    mapping.map(id, loop.getInductionVar());
    ivs.push_back(loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  // This thread's slice of each private buffer.
  if (!privateBuffers.empty()) {
    Value linear = b.create<arith::AddIOp>(
        loc,
        b.create<arith::MulIOp>(
            loc,
            b.create<arith::AddIOp>(
                loc, b.create<arith::MulIOp>(loc, ivs[0], block.y), ivs[1]),
            block.x),
        ivs[2]);
    for (auto [alloca, buffer] : privateBuffers) {
      MemRefType type = alloca.getType();
      SmallVector<OpFoldResult> offsets{linear}, sizes{b.getIndexAttr(1)},
          strides(type.getRank() + 1, b.getIndexAttr(1));
      for (int64_t size : type.getShape()) {
        offsets.push_back(b.getIndexAttr(0));
        sizes.push_back(b.getIndexAttr(size));
      }
      auto sliceType = memref::SubViewOp::inferRankReducedResultType(
                           type.getShape(), buffer.getType().cast<MemRefType>(),
                           offsets, sizes, strides)
                           .cast<MemRefType>();
      mapping.map(alloca.getResult(),
                  b.create<memref::SubViewOp>(loc, sliceType, buffer, offsets,
                                              sizes, strides));
    }
  }
  for (Operation *op : ops) {
    if (failed(recomputeOperands(op, b, mapping)))
      return failure();
    b.clone(*op, mapping);
  }
  return success();
}

LogicalResult LaunchEmulator::emitBlockLevel(ArrayRef<Operation *> ops,
                                             OpBuilder &b,
                                             IRMapping &blockMapping) {
  SmallVector<Operation *> phase;
  Operation *previous = nullptr;
  for (Operation *op : ops) {
    Operation *before = std::exchange(previous, op);
    if (!containsBarrier(op)) {
      phase.push_back(op);
      continue;
    }
    if (failed(emitPhase(phase, b, blockMapping)))
      return failure();
    phase.clear();
    if (isa<gpu::BarrierOp>(op))
      continue;
    auto loop = dyn_cast<scf::ForOp>(op);
    if (!loop || loop.getNumIterOperands() != 0)
      return op->emitOpError("kiln-emulate-gpu-launches: a gpu.barrier "
                             "may only sit at the top level of the kernel "
                             "or in an scf.for without results there"),
             failure();
    // The emulation separates phases where the loop starts, where an
    // iteration ends and where the loop ends; that is only exact where a
    // real barrier separates them too.
    Operation *last = loop.getBody()->getTerminator()->getPrevNode();
    if ((before && !isa<gpu::BarrierOp>(before)) || !last ||
        !isa<gpu::BarrierOp>(last))
      return loop.emitOpError("kiln-emulate-gpu-launches: a loop holding "
                              "gpu.barriers must follow a gpu.barrier (or "
                              "start the kernel) and end its body with one"),
             failure();
    SmallVector<Value, 3> bounds;
    for (Value bound : loop.getOperands())
      if (dependsOnThread(bound))
        return loop.emitOpError("kiln-emulate-gpu-launches: a loop around a "
                                "gpu.barrier has bounds that depend on the "
                                "thread"),
               failure();
    for (Value bound :
         {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()}) {
      FailureOr<Value> value = recompute(bound, b, blockMapping);
      if (failed(value))
        return failure();
      bounds.push_back(*value);
    }
    auto emulated = b.create<scf::ForOp>(loc, bounds[0], bounds[1], bounds[2]);
    IRMapping inner = blockMapping;
    inner.map(loop.getInductionVar(), emulated.getInductionVar());
    OpBuilder body = OpBuilder::atBlockBegin(emulated.getBody());
    body.setInsertionPoint(emulated.getBody()->getTerminator());
    SmallVector<Operation *> nested;
    for (Operation &child : loop.getBody()->without_terminator())
      nested.push_back(&child);
    if (failed(emitBlockLevel(nested, body, inner)))
      return failure();
  }
  return emitPhase(phase, b, blockMapping);
}

void LaunchEmulator::poison(OpBuilder &b, Value buffer) {
  auto type = buffer.getType().cast<MemRefType>();
  auto floatType = type.getElementType().dyn_cast<FloatType>();
  if (!floatType)
    return;
  OpBuilder::InsertionGuard guard(b);
  Value nan = b.create<arith::ConstantOp>(
      loc, b.getFloatAttr(floatType,
                          APFloat::getQNaN(floatType.getFloatSemantics())));
  SmallVector<Value> indices;
  for (int64_t size : type.getShape()) {
    auto loop = b.create<scf::ForOp>(
        loc, zero, b.create<arith::ConstantIndexOp>(loc, size), one);
    indices.push_back(loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  b.create<memref::StoreOp>(loc, nan, buffer, indices);
}

LogicalResult LaunchEmulator::run() {
  if (!launch.getBody().hasOneBlock() || launch.getAsyncToken() ||
      launch.getDynamicSharedMemorySize())
    return launch.emitOpError("kiln-emulate-gpu-launches: expected a "
                              "single-block synchronous launch");
  OpBuilder b(launch);
  zero = b.create<arith::ConstantIndexOp>(loc, 0);
  one = b.create<arith::ConstantIndexOp>(loc, 1);
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

  // Memory first, on the host's stack (outside every loop): workgroup
  // buffers once (a block finds its workgroup memory undefined, so reuse
  // across blocks is exact), private ones once per thread of a block.
  SmallVector<Operation *> ops;
  Value threadsPerBlock;
  for (Operation &op : launch.getBody().front().without_terminator()) {
    auto alloca = dyn_cast<memref::AllocaOp>(op);
    if (!alloca) {
      ops.push_back(&op);
      continue;
    }
    MemRefType type = alloca.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity())
      return alloca.emitOpError("kiln-emulate-gpu-launches: expected a "
                                "static identity-layout buffer");
    if (isWorkgroupAlloca(alloca)) {
      auto hostType = MemRefType::get(type.getShape(), type.getElementType());
      Value buffer = b.create<memref::AllocaOp>(loc, hostType);
      mapping.map(alloca.getResult(), buffer);
      workgroupBuffers.push_back(buffer);
      continue;
    }
    if (!threadsPerBlock)
      threadsPerBlock = b.create<arith::MulIOp>(
          loc, b.create<arith::MulIOp>(loc, block.x, block.y), block.z);
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    llvm::append_range(shape, type.getShape());
    Value buffer = b.create<memref::AllocaOp>(
        loc, MemRefType::get(shape, type.getElementType()),
        ValueRange{threadsPerBlock});
    privateBuffers.emplace_back(alloca, buffer);
  }
  // Nested allocas would be per thread and phase: refuse rather than guess.
  for (Operation *op : ops) {
    WalkResult nested = op->walk([](memref::AllocaOp alloca) {
      alloca.emitOpError("kiln-emulate-gpu-launches: kernel memory must be "
                         "allocated at the top level of the launch");
      return WalkResult::interrupt();
    });
    if (nested.wasInterrupted())
      return failure();
  }

  // Blocks outermost, then threads, x fastest: the order a single SM might
  // run them in, though any order must give the same result.
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  SmallVector<Value, 3> ids{blockIds.z, blockIds.y, blockIds.x};
  SmallVector<Value, 3> bounds{grid.z, grid.y, grid.x};
  for (auto [id, bound] : llvm::zip(ids, bounds)) {
    auto loop = b.create<scf::ForOp>(loc, zero, bound, one);
    mapping.map(id, loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  for (Value buffer : workgroupBuffers)
    poison(b, buffer);
  if (failed(emitBlockLevel(ops, b, mapping)))
    return failure();
  launch.erase();
  return success();
}

struct KilnEmulateGPULaunches
    : kiln::impl::KilnEmulateGPULaunchesBase<KilnEmulateGPULaunches> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp op) { launches.push_back(op); });
    for (gpu::LaunchOp launch : launches)
      if (failed(LaunchEmulator(launch).run()))
        return signalPassFailure();
  }
};
} // namespace
