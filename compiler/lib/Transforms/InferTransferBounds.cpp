//===- InferTransferBounds.cpp - unmasked vector transfers ----------------===//
//
// Sets `in_bounds` on vector transfers whose indices provably leave room
// for the whole vector, so that they lower to plain loads and stores
// instead of masked ones (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <iterator>
#include <optional>

namespace kiln {
#define GEN_PASS_DEF_KILNINFERTRANSFERBOUNDS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The values an index can take: [min, max].
struct Interval {
  int64_t min, max;
};

/// A loop from `lb` to `ub` (exclusive) by `step`: its induction variable's
/// first and last values (lb alone for an empty loop).
std::optional<Interval> loopRange(int64_t lb, int64_t ub, int64_t step) {
  if (step <= 0)
    return std::nullopt;
  if (ub <= lb)
    return Interval{lb, lb};
  return Interval{lb, lb + step * ((ub - lb - 1) / step)};
}

Interval add(Interval a, Interval b) { return {a.min + b.min, a.max + b.max}; }

Interval multiply(Interval a, Interval b) {
  int64_t products[] = {a.min * b.min, a.min * b.max, a.max * b.min,
                        a.max * b.max};
  return {*std::min_element(std::begin(products), std::end(products)),
          *std::max_element(std::begin(products), std::end(products))};
}

std::optional<Interval> bound(Value value, int depth = 0);

/// The range of an affine expression over operands with ranges `operands`
/// (dims, then symbols): sums, products and constants only.
std::optional<Interval> boundExpr(AffineExpr expr,
                                  ArrayRef<std::optional<Interval>> operands,
                                  unsigned numDims) {
  if (auto constant = expr.dyn_cast<AffineConstantExpr>())
    return Interval{constant.getValue(), constant.getValue()};
  if (auto dim = expr.dyn_cast<AffineDimExpr>())
    return operands[dim.getPosition()];
  if (auto symbol = expr.dyn_cast<AffineSymbolExpr>())
    return operands[numDims + symbol.getPosition()];
  auto binary = expr.dyn_cast<AffineBinaryOpExpr>();
  if (!binary)
    return std::nullopt;
  std::optional<Interval> lhs = boundExpr(binary.getLHS(), operands, numDims);
  std::optional<Interval> rhs = boundExpr(binary.getRHS(), operands, numDims);
  if (!lhs || !rhs)
    return std::nullopt;
  switch (expr.getKind()) {
  case AffineExprKind::Add:
    return add(*lhs, *rhs);
  case AffineExprKind::Mul:
    return multiply(*lhs, *rhs);
  default: // floordiv, ceildiv, mod: not in the transfers seen here
    return std::nullopt;
  }
}

/// The range of the index `value`, where it is a constant, a loop's
/// induction variable with constant bounds, or sums and products of those.
std::optional<Interval> bound(Value value, int depth) {
  if (depth > 8)
    return std::nullopt;
  if (auto constant = value.getDefiningOp<arith::ConstantIndexOp>())
    return Interval{constant.value(), constant.value()};
  if (auto affineLoop = getForInductionVarOwner(value)) {
    if (!affineLoop.hasConstantBounds())
      return std::nullopt;
    return loopRange(affineLoop.getConstantLowerBound(),
                     affineLoop.getConstantUpperBound(),
                     affineLoop.getStep());
  }
  if (auto scfLoop = scf::getForInductionVarOwner(value)) {
    auto lb = getConstantIntValue(scfLoop.getLowerBound());
    auto ub = getConstantIntValue(scfLoop.getUpperBound());
    auto step = getConstantIntValue(scfLoop.getStep());
    if (!lb || !ub || !step)
      return std::nullopt;
    return loopRange(*lb, *ub, *step);
  }
  if (auto apply = value.getDefiningOp<AffineApplyOp>()) {
    SmallVector<std::optional<Interval>> operands;
    for (Value operand : apply.getMapOperands())
      operands.push_back(bound(operand, depth + 1));
    AffineMap map = apply.getAffineMap();
    return boundExpr(map.getResult(0), operands, map.getNumDims());
  }
  auto binary = [&](Operation *op,
                    Interval (*combine)(Interval, Interval))
      -> std::optional<Interval> {
    std::optional<Interval> lhs = bound(op->getOperand(0), depth + 1);
    std::optional<Interval> rhs = bound(op->getOperand(1), depth + 1);
    if (!lhs || !rhs)
      return std::nullopt;
    return combine(*lhs, *rhs);
  };
  if (auto addOp = value.getDefiningOp<arith::AddIOp>())
    return binary(addOp, add);
  if (auto mulOp = value.getDefiningOp<arith::MulIOp>())
    return binary(mulOp, multiply);
  return std::nullopt;
}

/// Marks the dims of `op` whose vector provably fits; true if any changed.
bool inferInBounds(VectorTransferOpInterface op) {
  auto shapedType = op.getShapedType().dyn_cast<MemRefType>();
  if (!shapedType || op.getMask())
    return false;
  VectorType vectorType = op.getVectorType();
  AffineMap permutation = op.permutation_map();
  SmallVector<bool> inBounds;
  bool changed = false;
  for (unsigned dim = 0; dim < vectorType.getRank(); ++dim) {
    // A broadcast dim (a constant result) reads one element: in bounds.
    bool fits = op.isDimInBounds(dim) || op.isBroadcastDim(dim);
    auto memrefDim = permutation.getResult(dim).dyn_cast<AffineDimExpr>();
    if (!fits && memrefDim) {
      unsigned position = memrefDim.getPosition();
      int64_t size = shapedType.getDimSize(position);
      std::optional<Interval> index = bound(op.indices()[position]);
      fits = !ShapedType::isDynamic(size) && index && index->min >= 0 &&
             index->max + vectorType.getDimSize(dim) <= size;
      changed |= fits;
    }
    inBounds.push_back(fits);
  }
  if (changed)
    op->setAttr(op.getInBoundsAttrStrName(),
                Builder(op.getContext()).getBoolArrayAttr(inBounds));
  return changed;
}

/// Splits the last, partial vector of a vectorized row loop (`0 to 196
/// step 8` ends at 192, past the row's end) into a copy of the loop that
/// runs that iteration alone, where the loop's transfers then fit: they
/// become plain loads and stores, and only the copy's stay masked (every
/// row of a convnet's 14 x 14 bias + ReLU stored masked). Not a loop with
/// results (a reduction's partial sums would have to flow into the copy).
void peelPartialVector(AffineForOp loop) {
  if (!loop.hasConstantBounds() || loop.getNumResults() > 0)
    return;
  int64_t lb = loop.getConstantLowerBound();
  int64_t ub = loop.getConstantUpperBound();
  int64_t step = loop.getStep();
  if (step <= 1 || ub - lb <= step || (ub - lb) % step == 0)
    return;
  // The copy first: it must keep the transfers as they are now (masked
  // where they may cross the end).
  OpBuilder b(loop);
  b.setInsertionPointAfter(loop);
  auto tail = cast<AffineForOp>(b.clone(*loop.getOperation()));
  int64_t split = lb + (ub - lb) / step * step;
  tail.setConstantLowerBound(split);
  // One vector: not worth waking threads for.
  tail->removeAttr(kiln::KilnDialect::getParallelAttrName());
  loop.setConstantUpperBound(split);
  bool fits = false;
  loop.walk([&](VectorTransferOpInterface op) { fits |= inferInBounds(op); });
  if (!fits) {
    tail.erase();
    loop.setConstantUpperBound(ub);
  }
}

struct InferTransferBoundsPass
    : public kiln::impl::KilnInferTransferBoundsBase<InferTransferBoundsPass> {
  void runOnOperation() override {
    getOperation().walk(
        [](VectorTransferOpInterface op) { inferInBounds(op); });
    // Then only the transfers that need the shorter loop make it peel.
    SmallVector<AffineForOp> loops;
    getOperation().walk([&](AffineForOp loop) { loops.push_back(loop); });
    for (AffineForOp loop : loops)
      peelPartialVector(loop);
  }
};

} // namespace
