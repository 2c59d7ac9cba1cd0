//===- CollapseElementwiseDims.cpp - whole-vector elementwise rows --------===//
//
// Merges the contiguous inner loops of elementwise generics on memrefs, so
// that the vectorized innermost loop walks a long row that ends on a whole
// vector rather than many short rows that each end in a masked one (see the
// pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCOLLAPSEELEMENTWISEDIMS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The position of the result of `map` that reads loop `dim`, or -1.
int resultReading(AffineMap map, unsigned dim) {
  for (auto [position, result] : llvm::enumerate(map.getResults()))
    if (result.isFunctionOfDim(dim))
      return position;
  return -1;
}

/// Whether loops first..last can be one loop for an operand of `type` read
/// through `map`: it reads none of them, or reads them as consecutive
/// results, in loop order, of dimensions that are contiguous in memory.
bool loopsMergeableFor(AffineMap map, Type type, unsigned first,
                       unsigned last) {
  int start = resultReading(map, first);
  for (unsigned dim = first; dim <= last; ++dim) {
    int position = resultReading(map, dim);
    if (start < 0 ? position >= 0 : position != start + int(dim - first))
      return false;
  }
  if (start < 0)
    return true;
  auto memref = type.dyn_cast<MemRefType>();
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!memref || failed(getStridesAndOffset(memref, strides, offset)))
    return false;
  for (unsigned position = start; position < start + (last - first);
       ++position) {
    int64_t innerSize = memref.getDimSize(position + 1);
    if (ShapedType::isDynamic(strides[position]) ||
        ShapedType::isDynamic(strides[position + 1]) ||
        ShapedType::isDynamic(innerSize) ||
        strides[position] != strides[position + 1] * innerSize)
      return false;
  }
  return true;
}

/// An all-parallel generic on memrefs whose body does not read its loop
/// indices and whose operands are read at plain loop indices (or constant
/// 0s, a broadcast's unit dimensions).
bool isElementwiseOnMemrefs(linalg::GenericOp op) {
  if (!op.hasBufferSemantics() || op.getNumLoops() < 3 ||
      llvm::any_of(op.getIteratorTypesArray(), [](utils::IteratorType type) {
        return type != utils::IteratorType::parallel;
      }))
    return false;
  bool readsIndex = false;
  op.getRegion().walk([&](linalg::IndexOp) { readsIndex = true; });
  return !readsIndex &&
         llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) {
           return map.isProjectedPermutation(/*allowZeroInResults=*/true);
         });
}

/// The loops of `op` in groups of consecutive loops that every operand
/// allows to merge; loop 0 (the one split across threads) stays alone.
SmallVector<ReassociationIndices> mergeableLoops(linalg::GenericOp op) {
  SmallVector<ReassociationIndices> groups = {{0}};
  for (unsigned dim = 1; dim < op.getNumLoops(); ++dim) {
    ReassociationIndices &group = groups.back();
    bool extend = group.front() != 0 &&
                  llvm::all_of(op->getOpOperands(), [&](OpOperand &operand) {
                    return loopsMergeableFor(
                        op.getMatchingIndexingMap(&operand),
                        operand.get().getType(), group.front(), dim);
                  });
    if (extend)
      group.push_back(dim);
    else
      groups.push_back({dim});
  }
  return groups;
}

/// Replaces `op` by a generic over `groups.size()` loops, each operand read
/// through a collapse_shape view that merges the dimensions of a group.
void mergeLoops(linalg::GenericOp op, ArrayRef<ReassociationIndices> groups,
                IRRewriter &rewriter) {
  MLIRContext *ctx = op.getContext();
  SmallVector<unsigned> groupOfLoop(op.getNumLoops());
  for (auto [index, group] : llvm::enumerate(groups))
    for (int64_t loop : group)
      groupOfLoop[loop] = index;

  rewriter.setInsertionPoint(op);
  SmallVector<Value> operands;
  SmallVector<AffineMap> maps;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    SmallVector<ReassociationIndices> reassociation;
    SmallVector<AffineExpr> results;
    for (auto [position, read] : llvm::enumerate(map.getResults())) {
      AffineExpr result = read;
      if (auto dim = result.dyn_cast<AffineDimExpr>()) {
        unsigned group = groupOfLoop[dim.getPosition()];
        // A later loop of a group: the dimension right after its first.
        if (groups[group].front() != dim.getPosition()) {
          reassociation.back().push_back(position);
          continue;
        }
        result = getAffineDimExpr(group, ctx);
      }
      results.push_back(result);
      reassociation.push_back({static_cast<int64_t>(position)});
    }
    Value value = operand.get();
    if (reassociation.size() < map.getNumResults())
      value = rewriter.create<memref::CollapseShapeOp>(op.getLoc(), value,
                                                       reassociation);
    operands.push_back(value);
    maps.push_back(AffineMap::get(groups.size(), 0, results, ctx));
  }

  unsigned numInputs = op.getNumDpsInputs();
  auto merged = rewriter.create<linalg::GenericOp>(
      op.getLoc(), TypeRange{}, ArrayRef(operands).take_front(numInputs),
      ArrayRef(operands).drop_front(numInputs), maps,
      SmallVector<utils::IteratorType>(groups.size(),
                                       utils::IteratorType::parallel));
  rewriter.inlineRegionBefore(op.getRegion(), merged.getRegion(),
                              merged.getRegion().begin());
  for (NamedAttribute attribute : op->getAttrs())
    if (!merged->hasAttr(attribute.getName()))
      merged->setAttr(attribute.getName(), attribute.getValue());
  rewriter.eraseOp(op);
}

struct CollapseElementwiseDimsPass
    : public kiln::impl::KilnCollapseElementwiseDimsBase<
          CollapseElementwiseDimsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isElementwiseOnMemrefs(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : candidates) {
      SmallVector<ReassociationIndices> groups = mergeableLoops(op);
      if (groups.size() < op.getNumLoops())
        mergeLoops(op, groups, rewriter);
    }
  }
};

} // namespace
