//===- MapToGPU.cpp - one gpu.launch per linalg op ------------------------===//
//
// One kernel per (fused) linalg op: a tiled shared-memory matmul
// (MapToGPUMatmul.cpp), a block reduction in shared memory for long
// reductions (MapToGPUReduction.cpp), else one thread per output element,
// each thread looping over the op's reduction dimensions. Upstream's
// parallel-loop mapping leaves 0-d ops, full reductions and reduction-outer
// loops on the host, where every pointer is a device pointer; this pass puts
// every memory access in a kernel whatever the order of the op's iterators.
//
//===----------------------------------------------------------------------===//

#include "MapToGPU.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNMAPTOGPU
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// Value of the constant a splat global holds, if `source` reads one.
TypedAttr splatGlobalValue(Value source) {
  auto getGlobal = source.getDefiningOp<memref::GetGlobalOp>();
  if (!getGlobal)
    return {};
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      getGlobal, getGlobal.getNameAttr());
  if (!global || !global.getConstant())
    return {};
  auto value =
      global.getConstantInitValue().dyn_cast_or_null<DenseElementsAttr>();
  if (!value || !value.isSplat())
    return {};
  return value.getSplatValue<TypedAttr>();
}

/// memref.copy -> linalg.fill (splat constant source) or a copy generic.
LogicalResult rewriteCopies(func::FuncOp func) {
  SmallVector<memref::CopyOp> copies;
  func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
  for (memref::CopyOp copy : copies) {
    OpBuilder b(copy);
    if (TypedAttr splat = splatGlobalValue(copy.getSource())) {
      Value scalar = b.create<arith::ConstantOp>(copy.getLoc(), splat);
      b.create<linalg::FillOp>(copy.getLoc(), ValueRange{scalar},
                               ValueRange{copy.getTarget()});
    } else {
      linalg::makeMemRefCopyOp(b, copy.getLoc(), copy.getSource(),
                               copy.getTarget());
    }
    copy.erase();
  }
  return success();
}

/// A top-level loop nest (slice, concat, gather, scatter_add lower to
/// these): it runs as one thread, in order, as scatter_add's repeated
/// indices need.
bool isSequentialNest(Operation *op) {
  return op->getNumRegions() > 0 && !isa<linalg::LinalgOp, gpu::LaunchOp>(op);
}

/// Bytes [begin, end) of the arena (the first argument) that `memref`
/// covers, if it is a view of it at a constant offset or a reshaping of one.
std::optional<std::pair<int64_t, int64_t>> arenaRange(Value memref,
                                                      Value arena) {
  Operation *def = memref.getDefiningOp();
  if (isa_and_nonnull<memref::SubViewOp, memref::CollapseShapeOp,
                      memref::ExpandShapeOp, memref::CastOp>(def))
    return arenaRange(def->getOperand(0), arena); // a superset
  auto view = dyn_cast_or_null<memref::ViewOp>(def);
  APInt offset;
  auto type = memref.getType().cast<MemRefType>();
  if (!view || view.getSource() != arena || !type.hasStaticShape() ||
      !matchPattern(view.getByteShift(), m_ConstantInt(&offset)))
    return std::nullopt;
  int64_t begin = offset.getSExtValue();
  return std::make_pair(begin,
                        begin + type.getNumElements() *
                                    int64_t(type.getElementTypeBitWidth() / 8));
}

/// Top-level reads a kernel may repeat later: nothing writes what they read
/// between the read and its last use (a dropout counter read from the
/// state, whose update the memory plan moved to the end), or, for an
/// argument other than the arena, nothing in the function writes it.
DenseSet<Operation *> findMovableReads(func::FuncOp func) {
  DenseSet<Operation *> movable;
  Block &body = func.getBody().front();
  Value arena = func.getNumArguments() ? func.getArgument(0) : Value();
  for (auto load : body.getOps<memref::LoadOp>()) {
    Value source = load.getMemRef();
    std::optional<std::pair<int64_t, int64_t>> range;
    bool argument = source.isa<BlockArgument>() && source != arena;
    if (!argument && !(range = arenaRange(source, arena)))
      continue;
    Operation *lastUse = load;
    for (Operation *user : load->getUsers()) {
      Operation *top = body.findAncestorOpInBlock(*user);
      if (top && lastUse->isBeforeInBlock(top))
        lastUse = top;
    }
    bool written = false;
    auto writes = [&](Value target) {
      if (argument)
        return target == source;
      auto targetRange = arenaRange(target, arena);
      return !targetRange || (targetRange->first < range->second &&
                              range->first < targetRange->second);
    };
    for (Operation &op : body) {
      if (!argument &&
          (op.isBeforeInBlock(load) || lastUse->isBeforeInBlock(&op)))
        continue;
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
        for (OpOperand *init : linalgOp.getDpsInitOperands())
          written |= writes(init->get());
      else if (isSequentialNest(&op))
        op.walk([&](memref::StoreOp store) {
          written |= writes(store.getMemRef());
        });
    }
    if (!written)
      movable.insert(load);
  }
  return movable;
}

} // namespace

namespace kiln::gpu_mapping {
KernelBuilder::KernelBuilder(func::FuncOp func, const KernelShapes &shapes)
    : func(func), shapes(shapes), movableReads(findMovableReads(func)) {}

gpu::LaunchOp KernelBuilder::createLaunch(Operation *op, int64_t grid,
                                          int64_t block, OpBuilder &b) {
  Location loc = op->getLoc();
  OpBuilder host(op);
  Value one = index(host, loc, 1);
  auto launch = host.create<gpu::LaunchOp>(
      loc, index(host, loc, grid), one, one, index(host, loc, block), one, one);
  Block &body = launch.getBody().front();
  b.setInsertionPointToEnd(&body);
  b.create<gpu::TerminatorOp>(loc);
  b.setInsertionPointToStart(&body);
  mapping.clear();
  return launch;
}

SmallVector<Value> KernelBuilder::delinearize(OpBuilder &b, Location loc,
                                              Value linear,
                                              ArrayRef<int64_t> sizes) {
  SmallVector<Value> coordinates(sizes.size());
  for (int64_t i = int64_t(sizes.size()) - 1; i >= 0; --i) {
    Value size = index(b, loc, sizes[i]);
    coordinates[i] = b.create<arith::RemUIOp>(loc, linear, size);
    linear = b.create<arith::DivUIOp>(loc, linear, size);
  }
  return coordinates;
}

SmallVector<Value> KernelBuilder::indicesOf(OpBuilder &b, linalg::LinalgOp op,
                                            OpOperand *operand,
                                            ArrayRef<Value> ivs) {
  Location loc = op.getLoc();
  AffineMap map = op.getMatchingIndexingMap(operand);
  SmallVector<Value> indices;
  for (AffineExpr expr : map.getResults()) {
    if (auto dim = expr.dyn_cast<AffineDimExpr>())
      indices.push_back(ivs[dim.getPosition()]);
    else if (auto constant = expr.dyn_cast<AffineConstantExpr>())
      indices.push_back(index(b, loc, constant.getValue()));
    else
      indices.push_back(b.create<AffineApplyOp>(
          loc, AffineMap::get(map.getNumDims(), 0, expr), ivs));
  }
  return indices;
}

FailureOr<SmallVector<Value>>
KernelBuilder::cloneBody(OpBuilder &b, linalg::LinalgOp op, ArrayRef<Value> ivs,
                         const DenseMap<unsigned, Value> &overrides) {
  Location loc = op.getLoc();
  Block *opBody = op.getBlock();
  for (OpOperand &operand : op->getOpOperands()) {
    unsigned number = operand.getOperandNumber();
    if (Value value = overrides.lookup(number)) {
      mapping.map(opBody->getArgument(number), value);
      continue;
    }
    FailureOr<Value> value = materialize(operand.get(), b);
    if (failed(value))
      return failure();
    Value element = *value;
    if (element.getType().isa<MemRefType>())
      element = b.create<memref::LoadOp>(loc, element,
                                         indicesOf(b, op, &operand, ivs));
    mapping.map(opBody->getArgument(number), element);
  }
  for (Operation &nested : opBody->without_terminator()) {
    if (auto indexOp = dyn_cast<linalg::IndexOp>(nested)) {
      mapping.map(indexOp.getResult(), ivs[indexOp.getDim()]);
      continue;
    }
    for (Value operand : nested.getOperands())
      if (!op->isAncestor(operand.getParentBlock()->getParentOp()) &&
          failed(materialize(operand, b)))
        return failure();
    b.clone(nested, mapping);
  }
  SmallVector<Value> yielded;
  for (Value value : opBody->getTerminator()->getOperands()) {
    // A yielded value may be defined outside the op (a constant, a value
    // computed from the seed).
    FailureOr<Value> inside = materialize(value, b);
    if (failed(inside))
      return failure();
    yielded.push_back(*inside);
  }
  return yielded;
}

FailureOr<Value> KernelBuilder::materialize(Value v, OpBuilder &b) {
  if (Value mapped = mapping.lookupOrNull(v))
    return mapped;
  if (v.isa<BlockArgument>())
    return v;
  Operation *def = v.getDefiningOp();
  // A constant global is referenced by name: outlining copies it into the
  // kernel's gpu.module, so it lives in device memory.
  bool clonable =
      isa<arith::ConstantOp, memref::ViewOp, memref::SubViewOp,
          memref::CollapseShapeOp, memref::ExpandShapeOp, memref::CastOp,
          memref::ReinterpretCastOp, memref::GetGlobalOp>(def) ||
      (isMemoryEffectFree(def) && def->getNumRegions() == 0);
  if (isa<memref::LoadOp>(def))
    clonable = movableReads.contains(def);
  if (!clonable)
    return def->emitOpError("kiln-map-to-gpu: this value would be computed "
                            "on the host, where every pointer is a device "
                            "pointer"),
           failure();
  for (Value operand : def->getOperands())
    if (failed(materialize(operand, b)))
      return failure();
  Operation *clone = b.clone(*def, mapping);
  return clone->getResult(v.cast<OpResult>().getResultNumber());
}

LogicalResult KernelBuilder::build(linalg::LinalgOp op) {
  for (int64_t range : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(range))
      return op.emitOpError("kiln-map-to-gpu: dynamic loop range");
  if (std::optional<LogicalResult> tiled = buildTiledMatmul(op))
    return *tiled;
  if (std::optional<LogicalResult> reduced = buildBlockReduction(op))
    return *reduced;
  return buildPerElement(op);
}

LogicalResult KernelBuilder::buildPerElement(linalg::LinalgOp op) {
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> parallelDims, reductionDims;
  SmallVector<int64_t> parallelRanges;
  int64_t threads = 1;
  for (auto [dim, range] : llvm::enumerate(ranges)) {
    if (iterators[dim] == utils::IteratorType::parallel) {
      parallelDims.push_back(dim);
      parallelRanges.push_back(range);
      threads *= range;
    } else {
      reductionDims.push_back(dim);
    }
  }
  int64_t block = std::max<int64_t>(1, std::min(shapes.blockSize, threads));
  int64_t grid = (threads + block - 1) / block;

  OpBuilder b(op);
  gpu::LaunchOp launch = createLaunch(op, grid, block, b);
  Value thread = b.create<arith::AddIOp>(
      loc,
      b.create<arith::MulIOp>(loc, launch.getBlockIds().x,
                              launch.getBlockSize().x),
      launch.getThreadIds().x);
  Value inRange = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                          thread, index(b, loc, threads));
  auto guard = b.create<scf::IfOp>(loc, inRange, /*withElseRegion=*/false);
  b.setInsertionPointToStart(guard.thenBlock());

  // Thread id -> parallel induction variables (row-major, last dim fastest
  // so that neighbouring threads touch neighbouring elements).
  SmallVector<Value> ivs(ranges.size());
  for (auto [dim, iv] :
       llvm::zip(parallelDims, delinearize(b, loc, thread, parallelRanges)))
    ivs[dim] = iv;
  for (unsigned dim : reductionDims) {
    auto loop = b.create<scf::ForOp>(
        loc, index(b, loc, 0), index(b, loc, ranges[dim]), index(b, loc, 1));
    ivs[dim] = loop.getInductionVar();
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }

  FailureOr<SmallVector<Value>> yielded =
      cloneBody(b, op, ivs, DenseMap<unsigned, Value>());
  if (failed(yielded))
    return failure();
  for (auto [init, value] : llvm::zip(op.getDpsInitOperands(), *yielded))
    b.create<memref::StoreOp>(loc, value, *materialize(init->get(), b),
                              indicesOf(b, op, init, ivs));
  op->erase();
  return success();
}

LogicalResult KernelBuilder::buildSequential(Operation *op) {
  OpBuilder b(op);
  createLaunch(op, 1, 1, b);
  llvm::SetVector<Value> outside;
  getUsedValuesDefinedAbove(op->getRegions(), outside);
  outside.insert(op->operand_begin(), op->operand_end());
  for (Value value : outside) {
    FailureOr<Value> inside = materialize(value, b);
    if (failed(inside))
      return failure();
    mapping.map(value, *inside);
  }
  Operation *clone = b.clone(*op, mapping);
  if (clone->getNumResults())
    return op->emitOpError("kiln-map-to-gpu: a top-level loop nest with "
                           "results"),
           failure();
  op->erase();
  return success();
}
} // namespace kiln::gpu_mapping

namespace {
struct KilnMapToGPU : kiln::impl::KilnMapToGPUBase<KilnMapToGPU> {
  using KilnMapToGPUBase::KilnMapToGPUBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || failed(rewriteCopies(func)))
      return;
    SmallVector<Operation *> ops;
    for (Operation &op : func.getBody().front())
      if (isa<linalg::LinalgOp>(op) || isSequentialNest(&op))
        ops.push_back(&op);
    kiln::gpu_mapping::KernelShapes shapes;
    shapes.blockSize = blockSize;
    shapes.blockReductionMinSize = blockReductionMinSize;
    shapes.tiledMatmulMinWork = tiledMatmulMinWork;
    shapes.tf32Matmuls = tf32;
    kiln::gpu_mapping::KernelBuilder builder(func, shapes);
    for (Operation *op : ops) {
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (linalgOp && !linalgOp.hasBufferSemantics()) {
        op->emitOpError("kiln-map-to-gpu: expected a bufferized op");
        return signalPassFailure();
      }
      if (failed(linalgOp ? builder.build(linalgOp)
                          : builder.buildSequential(op)))
        return signalPassFailure();
    }
    // Host reads whose users moved into kernels, unused views, constants.
    for (Operation &op :
         llvm::make_early_inc_range(llvm::reverse(func.getBody().front())))
      if (isOpTriviallyDead(&op))
        op.erase();
    // What is left on the host may only compute addresses.
    WalkResult result = func.walk([&](Operation *op) {
      if (op->getParentOfType<gpu::LaunchOp>() || isa<gpu::LaunchOp>(op) ||
          isa<func::ReturnOp, func::FuncOp>(op) || isMemoryEffectFree(op))
        return WalkResult::advance();
      op->emitOpError("kiln-map-to-gpu: cannot run this op on the host of a "
                      "GPU function");
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
