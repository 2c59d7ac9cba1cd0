//===- MapToGPUReduction.cpp - long reductions as block reductions --------===//
//
// A row or full reduction (sum, mean's sum, max, log_softmax's and
// cross-entropy's max and sum of exponentials, a bias gradient's column
// sums) over many elements would leave one thread looping over the whole
// row while the rest of the GPU idles. Here each output gets a block: its
// threads stride over the reduction (neighbouring threads, neighbouring
// elements), each keeping a partial result, and the partials are combined
// in shared memory as a tree, halving the active threads each level with a
// barrier between levels. Only memory crosses the barriers, so
// kiln-emulate-gpu-launches runs the kernel exactly on the CPU.
//
//===----------------------------------------------------------------------===//

#include "MapToGPU.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace kiln::gpu_mapping {
namespace {
/// The op of a reduction's body that folds the element's term into the
/// accumulator, and the value it starts from.
struct Combiner {
  Operation *op;
  unsigned accumulatorOperand;
  TypedAttr identity;

  /// `op` again, on `accumulator` and `term`.
  Value combine(OpBuilder &b, Value accumulator, Value term) const {
    IRMapping mapping;
    mapping.map(op->getOperand(accumulatorOperand), accumulator);
    mapping.map(op->getOperand(1 - accumulatorOperand), term);
    return b.clone(*op, mapping)->getResult(0);
  }
};

TypedAttr identityOf(Operation *combine, Type type) {
  Builder b(combine->getContext());
  if (auto floatType = type.dyn_cast<FloatType>()) {
    const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
    // -0, not +0: -0 + x is x for every x, +0 included.
    if (isa<arith::AddFOp>(combine))
      return b.getFloatAttr(floatType,
                            APFloat::getZero(semantics, /*Negative=*/true));
    if (isa<arith::MulFOp>(combine))
      return b.getFloatAttr(floatType, 1.0);
    if (isa<arith::MaxFOp>(combine))
      return b.getFloatAttr(floatType,
                            APFloat::getInf(semantics, /*Negative=*/true));
    if (isa<arith::MinFOp>(combine))
      return b.getFloatAttr(floatType, APFloat::getInf(semantics));
    return {};
  }
  if (type.isa<IntegerType>()) {
    if (isa<arith::AddIOp, arith::OrIOp, arith::XOrIOp>(combine))
      return b.getIntegerAttr(type, 0);
    if (isa<arith::MulIOp>(combine))
      return b.getIntegerAttr(type, 1);
  }
  return {};
}

/// The combiner of a one-output reduction whose accumulator only meets the
/// element's term in one associative, commutative op that is yielded.
std::optional<Combiner> findCombiner(linalg::LinalgOp op) {
  if (op.getNumDpsInits() != 1)
    return std::nullopt;
  OpOperand *init = op.getDpsInitOperand(0);
  AffineMap initMap = op.getMatchingIndexingMap(init);
  for (AffineExpr expr : initMap.getResults()) {
    auto dim = expr.dyn_cast<AffineDimExpr>();
    if (!dim || op.getIteratorTypesArray()[dim.getPosition()] !=
                    utils::IteratorType::parallel)
      return std::nullopt;
  }
  Block *body = op.getBlock();
  BlockArgument accumulator = body->getArgument(init->getOperandNumber());
  Operation *combine = body->getTerminator()->getOperand(0).getDefiningOp();
  if (!combine || combine->getBlock() != body ||
      combine->getNumOperands() != 2 || combine->getNumResults() != 1 ||
      !accumulator.hasOneUse())
    return std::nullopt;
  unsigned accumulatorOperand;
  if (combine->getOperand(0) == accumulator)
    accumulatorOperand = 0;
  else if (combine->getOperand(1) == accumulator)
    accumulatorOperand = 1;
  else
    return std::nullopt;
  TypedAttr identity = identityOf(combine, accumulator.getType());
  if (!identity)
    return std::nullopt;
  return Combiner{combine, accumulatorOperand, identity};
}
} // namespace

std::optional<LogicalResult>
KernelBuilder::buildBlockReduction(linalg::LinalgOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> parallelDims, reductionDims;
  SmallVector<int64_t> parallelRanges, reductionRanges;
  int64_t outputs = 1, perOutput = 1;
  for (auto [dim, range] : llvm::enumerate(ranges)) {
    bool parallel = iterators[dim] == utils::IteratorType::parallel;
    (parallel ? parallelDims : reductionDims).push_back(dim);
    (parallel ? parallelRanges : reductionRanges).push_back(range);
    (parallel ? outputs : perOutput) *= range;
  }
  if (reductionDims.empty() || perOutput < shapes.blockReductionMinSize)
    return std::nullopt;
  std::optional<Combiner> combiner = findCombiner(op);
  if (!combiner)
    return std::nullopt;
  // Every thread has at least one element; the tree wants a power of two.
  int64_t threads =
      std::min<int64_t>(shapes.blockSize, llvm::PowerOf2Floor(perOutput));

  Location loc = op.getLoc();
  OpBuilder b(op);
  gpu::LaunchOp launch = createLaunch(op, outputs, threads, b);
  OpOperand *init = op.getDpsInitOperand(0);
  Type elementType = combiner->identity.getType();
  Value partials = b.create<memref::AllocaOp>(
      loc, MemRefType::get({threads}, elementType, MemRefLayoutAttrInterface(),
                           b.getI64IntegerAttr(kWorkgroupMemorySpace)));
  Value thread = launch.getThreadIds().x;

  // Phase 1: this thread's partial result over elements thread,
  // thread + threads, ... of its block's output.
  SmallVector<Value> ivs(ranges.size());
  for (auto [dim, iv] :
       llvm::zip(parallelDims,
                 delinearize(b, loc, launch.getBlockIds().x, parallelRanges)))
    ivs[dim] = iv;
  for (OpOperand *input : op.getDpsInputOperands())
    if (failed(materialize(input->get(), b)))
      return failure();
  Value identity = b.create<arith::ConstantOp>(loc, combiner->identity);
  auto loop = b.create<scf::ForOp>(loc, thread, index(b, loc, perOutput),
                                   index(b, loc, threads), identity);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    for (auto [dim, iv] :
         llvm::zip(reductionDims, delinearize(b, loc, loop.getInductionVar(),
                                              reductionRanges)))
      ivs[dim] = iv;
    DenseMap<unsigned, Value> accumulator{
        {init->getOperandNumber(), loop.getRegionIterArg(0)}};
    FailureOr<SmallVector<Value>> yielded = cloneBody(b, op, ivs, accumulator);
    if (failed(yielded))
      return failure();
    b.create<scf::YieldOp>(loc, yielded->front());
  }
  b.create<memref::StoreOp>(loc, loop.getResult(0), partials, thread);

  // The tree: at each level the lower half of the active threads folds in
  // the upper half's partials. No barrier after the last level: thread 0
  // wrote the total and reads it itself.
  for (int64_t stride = threads / 2; stride >= 1; stride /= 2) {
    b.create<gpu::BarrierOp>(loc);
    Value active = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                           thread, index(b, loc, stride));
    auto level = b.create<scf::IfOp>(loc, active, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(level.thenBlock());
    Value other = b.create<arith::AddIOp>(loc, thread, index(b, loc, stride));
    Value mine = b.create<memref::LoadOp>(loc, partials, thread);
    Value theirs = b.create<memref::LoadOp>(loc, partials, other);
    b.create<memref::StoreOp>(loc, combiner->combine(b, mine, theirs), partials,
                              thread);
  }

  // Thread 0 folds the total into the output, as the op's body would.
  Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, thread,
                                        index(b, loc, 0));
  auto last = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
  b.setInsertionPointToStart(last.thenBlock());
  mapping.clear(); // what phase 1 read stays in phase 1
  FailureOr<Value> output = materialize(init->get(), b);
  if (failed(output))
    return failure();
  SmallVector<Value> outputIndices = indicesOf(b, op, init, ivs);
  Value old = b.create<memref::LoadOp>(loc, *output, outputIndices);
  Value total =
      b.create<memref::LoadOp>(loc, partials, ValueRange{index(b, loc, 0)});
  b.create<memref::StoreOp>(loc, combiner->combine(b, old, total), *output,
                            outputIndices);
  op->erase();
  return success();
}

} // namespace kiln::gpu_mapping
