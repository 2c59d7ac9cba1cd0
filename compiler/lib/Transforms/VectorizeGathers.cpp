//===- VectorizeGathers.cpp - vector copies for im2col-like gathers -------===//
//
// Convolutions read their windows through gathers: generics without inputs
// whose body loads `src[f(i...)]` at indices computed from linalg.index (see
// KilnToLinalgNN.cpp). The affine super-vectorizer cannot see through the
// index arithmetic, and LLVM cannot vectorize the resulting copy loops
// either: source and destination are views of the same arena, so it cannot
// prove that they do not overlap. When the innermost loop walks the source's
// last dimension with unit stride, the loop is a row copy, and this pass
// emits it as vector loads and stores directly.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "VectorRows.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

#include <optional>

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZEGATHERS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace vector_rows = kiln::vector_rows;

namespace {

bool hasUnitInnerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return type.getRank() > 0 &&
         succeeded(getStridesAndOffset(type, strides, offset)) &&
         strides.back() == 1;
}

/// The coefficient of loop `dim` in the index `v` computed inside `body`:
/// v = coefficient * index(dim) + (terms without index(dim)), or nullopt
/// when `v` is not linear in it.
std::optional<int64_t> coefficientOf(Value v, unsigned dim, Block &body) {
  // Values from outside the body (an enclosing loop's induction variable,
  // as in a chunked im2col) are invariant; the body's own arguments are
  // elements, not indices.
  if (auto argument = v.dyn_cast<BlockArgument>())
    return argument.getOwner() == &body ? std::nullopt
                                        : std::optional<int64_t>(0);
  Operation *def = v.getDefiningOp();
  if (def->getBlock() != &body)
    return 0;
  if (auto index = dyn_cast<linalg::IndexOp>(def))
    return index.getDim() == dim ? 1 : 0;
  if (isa<arith::ConstantIndexOp>(def))
    return 0;
  auto both = [&](Operation *op) -> std::optional<std::pair<int64_t, int64_t>> {
    auto a = coefficientOf(op->getOperand(0), dim, body);
    auto b = coefficientOf(op->getOperand(1), dim, body);
    if (!a || !b)
      return std::nullopt;
    return std::pair{*a, *b};
  };
  if (isa<arith::AddIOp, arith::SubIOp>(def)) {
    auto c = both(def);
    if (!c)
      return std::nullopt;
    return isa<arith::AddIOp>(def) ? c->first + c->second
                                   : c->first - c->second;
  }
  if (isa<arith::MulIOp>(def)) {
    auto c = both(def);
    if (!c)
      return std::nullopt;
    if (c->first == 0 && c->second == 0)
      return 0;
    // Linear only when the other factor is a constant.
    APInt k;
    for (unsigned side : {0u, 1u})
      if (matchPattern(def->getOperand(1 - side), m_ConstantInt(&k)))
        return (side == 0 ? c->first : c->second) * k.getSExtValue();
    return std::nullopt;
  }
  // Anything else (divisions, min/max, selects) must not involve `dim`.
  for (Value operand : def->getOperands()) {
    auto c = coefficientOf(operand, dim, body);
    if (!c || *c != 0)
      return std::nullopt;
  }
  return 0;
}

/// A generic on memrefs `out[i...] = src[f(i...)]` whose innermost loop
/// reads consecutive elements of `src`: the load the body yields, or null.
memref::LoadOp rowGather(linalg::GenericOp op) {
  if (!op.hasBufferSemantics() || op.getNumDpsInputs() != 0 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0)
    return {};
  auto outType = op.getDpsInitOperand(0)->get().getType().dyn_cast<MemRefType>();
  if (!outType || !outType.hasStaticShape() || !hasUnitInnerStride(outType) ||
      !op.getIndexingMapsArray()[0].isIdentity() ||
      outType.getShape().back() < 2)
    return {};
  Block &body = op.getRegion().front();
  auto load = body.getTerminator()->getOperand(0).getDefiningOp<memref::LoadOp>();
  if (!load || load->getBlock() != &body ||
      !hasUnitInnerStride(load.getMemRefType()) ||
      load.getMemRef().getParentBlock() == &body)
    return {};
  // Only index arithmetic besides the load: nothing else to vectorize.
  for (Operation &inner : body.without_terminator())
    if (&inner != load.getOperation() &&
        (inner.getNumResults() != 1 || !inner.getResult(0).getType().isIndex() ||
         !isMemoryEffectFree(&inner)))
      return {};
  unsigned innermost = op.getNumLoops() - 1;
  ValueRange indices = load.getIndices();
  for (unsigned k = 0; k < indices.size(); ++k) {
    auto c = coefficientOf(indices[k], innermost, body);
    if (!c || *c != (k + 1 == indices.size() ? 1 : 0))
      return {};
  }
  return load;
}

/// Emits the gather as loops over the outer dimensions around vector
/// copies of `width` lanes, and one shorter copy for a ragged end.
void emitVectorGather(linalg::GenericOp op, memref::LoadOp load,
                      int64_t width, int64_t parallelMinWork) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value out = op.getDpsInitOperand(0)->get();
  ArrayRef<int64_t> shape = out.getType().cast<MemRefType>().getShape();
  Type elementType = load.getType();
  Block &body = op.getRegion().front();

  // Every element is written once: the outermost loop may be split across
  // threads.
  bool parallel = shape.size() > 1 &&
                  vector_rows::worthAFork(op, shape[0],
                                          ShapedType::getNumElements(shape),
                                          parallelMinWork);
  SmallVector<Value> ivs =
      vector_rows::buildOuterLoops(b, loc, shape.drop_back(), parallel);
  // One vector copy of `lanes` elements starting at column `start`.
  auto copy = [&](Value start, int64_t lanes) {
    IRMapping map;
    for (Operation &inner : body.without_terminator()) {
      if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
        map.map(idx.getResult(),
                idx.getDim() < ivs.size() ? ivs[idx.getDim()] : start);
        continue;
      }
      if (&inner != load.getOperation()) {
        b.clone(inner, map);
        continue;
      }
      SmallVector<Value> at;
      for (Value i : load.getIndices())
        at.push_back(map.lookupOrDefault(i));
      Value row = b.create<vector::LoadOp>(
          loc, VectorType::get({lanes}, elementType), load.getMemRef(), at);
      SmallVector<Value> to(ivs);
      to.push_back(start);
      b.create<vector::StoreOp>(loc, row, out, to);
    }
  };
  vector_rows::forEachVectorBlock(b, loc, shape.back(), width, copy);
  op.erase();
}

struct VectorizeGathersPass
    : public kiln::impl::KilnVectorizeGathersBase<VectorizeGathersPass> {
  using KilnVectorizeGathersBase::KilnVectorizeGathersBase;

  void runOnOperation() override {
    if (vectorWidth < 2)
      return;
    SmallVector<std::pair<linalg::GenericOp, memref::LoadOp>> gathers;
    getOperation().walk([&](linalg::GenericOp op) {
      if (memref::LoadOp load = rowGather(op))
        gathers.push_back({op, load});
    });
    for (auto [op, load] : gathers)
      emitVectorGather(op, load, vectorWidth, parallelMinWork);
  }
};
} // namespace
