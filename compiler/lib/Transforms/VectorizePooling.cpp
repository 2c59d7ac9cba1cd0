//===- VectorizePooling.cpp - vector code for tiled max pooling -----------===//
//
// A max pooling whose windows tile its input (stride == kernel, the usual
// 2x2 / stride 2) reads the input through a [N, C, OH, KH, OW, KW] view
// (KilnToLinalgPool.cpp): window column q of output column j is element
// j * KW + q of an input row. The affine super-vectorizer cannot vectorize
// the j loop (a stride of KW), so the pooling, its argmax and its gradient
// ran as scalar loops. This pass emits them as vector code over blocks of
// output columns instead:
//
//   window reductions  (n, c, i, j | p, q) -> out[n, c, i, j], the forward
//     max and the gradient's first argmax: for each window row p, one load
//     of KW * lanes consecutive inputs, deinterleaved by a shuffle into KW
//     vectors; the body is applied lane-wise for q = 0, 1, ... in turn.
//   window spreads  (n, c, i, p, j, q) -> view[n, c, i, p, j, q] with
//     inputs at (n, c, i, j), the gradient's scatter (KW = 2): the body's
//     values for q = 0 and q = 1, interleaved by a shuffle into one row.
//
// Each output element folds its window in the generic's own order (p, then
// q), so the results are the scalar loops' bits: the first maximum wins
// ties, a NaN propagates as before, and thread counts change nothing.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "VectorRows.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

#include <variant>

namespace kiln {
#define GEN_PASS_DEF_KILNVECTORIZEPOOLING
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace vector_rows = kiln::vector_rows;

namespace {

using utils::IteratorType;

/// Most window elements a reduction unrolls (KH * KW).
constexpr int64_t kMaxWindow = 16;

AffineMap mapOf(MLIRContext *ctx, ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(6, 0, exprs, ctx);
}

/// A static memref of rank `rank` with unit inner stride; a 6-D window view
/// [N, C, OH, KH, OW, KW] must also step KW elements per output column, so
/// that each window row (OW x KW) collapses into one contiguous row.
bool hasContiguousRows(Value v, unsigned rank) {
  auto type = v.getType().dyn_cast<MemRefType>();
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!type || !type.hasStaticShape() || type.getRank() != rank ||
      !type.getElementType().isIntOrFloat() ||
      failed(getStridesAndOffset(type, strides, offset)) ||
      strides.back() != 1)
    return false;
  return rank != 6 || strides[4] == type.getDimSize(5);
}

/// The body computes lane-wise: only arith ops (no memory), and
/// linalg.index of the loops in `uniform`, which are the same for every
/// lane of a vector. Block arguments are used only as listed by
/// `argumentUsable`.
bool hasLaneWiseBody(linalg::GenericOp op, ArrayRef<unsigned> uniform,
                     ArrayRef<bool> argumentUsable) {
  Block &body = op.getRegion().front();
  for (BlockArgument arg : body.getArguments())
    if (!argumentUsable[arg.getArgNumber()] && !arg.use_empty())
      return false;
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      if (!llvm::is_contained(uniform, index.getDim()))
        return false;
      continue;
    }
    if (inner.getDialect()->getNamespace() != "arith" ||
        inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner) ||
        inner.getNumResults() != 1)
      return false;
  }
  return true;
}

/// A window reduction: loops (n, c, i, j | p, q), one input read at
/// (n, c, i, p, j, q) through contiguous rows, outputs at (n, c, i, j).
bool isWindowReduction(linalg::GenericOp op) {
  MLIRContext *ctx = op.getContext();
  if (!op.hasBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumLoops() != 6 ||
      op.getIteratorTypesArray() !=
          SmallVector<IteratorType>{IteratorType::parallel,
                                    IteratorType::parallel,
                                    IteratorType::parallel,
                                    IteratorType::parallel,
                                    IteratorType::reduction,
                                    IteratorType::reduction})
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0] != mapOf(ctx, {0, 1, 2, 4, 3, 5}))
    return false;
  for (AffineMap map : ArrayRef(maps).drop_front())
    if (map != mapOf(ctx, {0, 1, 2, 3}))
      return false;
  Value input = op.getDpsInputOperand(0)->get();
  if (!hasContiguousRows(input, 6))
    return false;
  for (OpOperand *init : op.getDpsInitOperands())
    if (!hasContiguousRows(init->get(), 4))
      return false;
  ArrayRef<int64_t> shape = input.getType().cast<MemRefType>().getShape();
  if (shape[3] * shape[5] > kMaxWindow)
    return false;
  SmallVector<bool> usable(op.getNumDpsInputs() + op.getNumDpsInits(), true);
  return hasLaneWiseBody(op, {4, 5}, usable);
}

/// A window spread: loops (n, c, i, p, j, q) all parallel, inputs read at
/// (n, c, i, j), the output written at (n, c, i, p, j, q) through
/// contiguous rows of KW = 2; the body does not read the output.
bool isWindowSpread(linalg::GenericOp op) {
  MLIRContext *ctx = op.getContext();
  if (!op.hasBufferSemantics() || op.getNumDpsInputs() == 0 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 6 ||
      op.getNumReductionLoops() != 0)
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (AffineMap map : ArrayRef(maps).drop_back())
    if (map != mapOf(ctx, {0, 1, 2, 4}))
      return false;
  if (!maps.back().isIdentity())
    return false;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!hasContiguousRows(input->get(), 4))
      return false;
  Value out = op.getDpsInitOperand(0)->get();
  if (!hasContiguousRows(out, 6) ||
      out.getType().cast<MemRefType>().getDimSize(5) != 2)
    return false;
  SmallVector<bool> usable(op.getNumDpsInputs() + 1, true);
  usable.back() = false;
  return hasLaneWiseBody(op, {3, 5}, usable);
}

/// Emits vector code for the generics this pass handles.
class PoolingEmitter {
public:
  PoolingEmitter(linalg::GenericOp op, int64_t width, int64_t parallelMinWork)
      : op(op), b(op), loc(op.getLoc()), width(width),
        parallelMinWork(parallelMinWork) {}

  void emitReduction() {
    Value input = collapseRows(op.getDpsInputOperand(0)->get());
    ArrayRef<int64_t> view =
        op.getDpsInputOperand(0)->get().getType().cast<MemRefType>().getShape();
    int64_t kh = view[3], ow = view[4], kw = view[5];
    SmallVector<Value> outs;
    for (OpOperand *init : op.getDpsInitOperands())
      outs.push_back(init->get());
    forEachRow(outs[0], {view[0], view[1], view[2]}, [&](ValueRange at) {
      forEachBlock(ow, [&](Value j0, int64_t lanes) {
        SmallVector<Value> where(at.begin(), at.end());
        where.push_back(j0);
        SmallVector<Value> accs;
        for (Value out : outs)
          accs.push_back(b.create<vector::LoadOp>(
              loc, vectorOf(out, lanes), out, where));
        Value start = b.create<arith::MulIOp>(loc, j0, index(kw));
        for (int64_t p = 0; p < kh; ++p) {
          Value row = b.create<vector::LoadOp>(
              loc, VectorType::get({lanes * kw}, elementOf(input)), input,
              ValueRange{at[0], at[1], at[2], index(p), start});
          for (int64_t q = 0; q < kw; ++q) {
            SmallVector<int64_t> lanesOfQ;
            for (int64_t l = 0; l < lanes; ++l)
              lanesOfQ.push_back(l * kw + q);
            Value v = b.create<vector::ShuffleOp>(loc, row, row, lanesOfQ);
            SmallVector<Value> args = {v};
            args.append(accs);
            accs = applyBody(args, {{4, p}, {5, q}}, lanes);
          }
        }
        for (auto [acc, out] : llvm::zip(accs, outs))
          b.create<vector::StoreOp>(loc, acc, out, where);
      });
    });
    op.erase();
  }

  void emitSpread() {
    Value outView = op.getDpsInitOperand(0)->get();
    ArrayRef<int64_t> view = outView.getType().cast<MemRefType>().getShape();
    Value out = collapseRows(outView);
    SmallVector<Value> inputs;
    for (OpOperand *input : op.getDpsInputOperands())
      inputs.push_back(input->get());
    forEachRow(out, {view[0], view[1], view[2], view[3]}, [&](ValueRange at) {
      forEachBlock(view[4], [&](Value j0, int64_t lanes) {
        SmallVector<Value> args;
        for (Value input : inputs)
          args.push_back(b.create<vector::LoadOp>(
              loc, vectorOf(input, lanes), input,
              ValueRange{at[0], at[1], at[2], j0}));
        // The output's block argument is unused (isWindowSpread).
        args.push_back(Value());
        Value even = applyBody(args, {{3, at[3]}, {5, int64_t(0)}}, lanes)[0];
        Value odd = applyBody(args, {{3, at[3]}, {5, int64_t(1)}}, lanes)[0];
        SmallVector<int64_t> interleave;
        for (int64_t l = 0; l < lanes; ++l) {
          interleave.push_back(l);
          interleave.push_back(lanes + l);
        }
        Value row = b.create<vector::ShuffleOp>(loc, even, odd, interleave);
        Value start = b.create<arith::MulIOp>(loc, j0, index(2));
        b.create<vector::StoreOp>(
            loc, row, out, ValueRange{at[0], at[1], at[2], at[3], start});
      });
    });
    op.erase();
  }

private:
  /// A loop index the body reads: a constant or an enclosing loop's value.
  using Uniform = std::pair<unsigned, std::variant<int64_t, Value>>;

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }

  static Type elementOf(Value memref) {
    return memref.getType().cast<MemRefType>().getElementType();
  }
  static VectorType vectorOf(Value memref, int64_t lanes) {
    return VectorType::get({lanes}, elementOf(memref));
  }

  /// [..., OW, KW] -> [..., OW * KW]: one contiguous row per window row.
  Value collapseRows(Value view) {
    int64_t rank = view.getType().cast<MemRefType>().getRank();
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < rank - 2; ++d)
      groups.push_back({d});
    groups.push_back({rank - 2, rank - 1});
    return b.create<memref::CollapseShapeOp>(loc, view, groups);
  }

  /// Loops over `extents` (the outermost split across threads where that
  /// pays), calling `body` with their induction variables inside the
  /// innermost.
  void forEachRow(Value out, ArrayRef<int64_t> extents,
                  function_ref<void(ValueRange)> body) {
    OpBuilder::InsertionGuard guard(b);
    int64_t elements = ShapedType::getNumElements(
        out.getType().cast<MemRefType>().getShape());
    bool parallel = vector_rows::worthAFork(op, extents[0], elements,
                                            parallelMinWork);
    body(vector_rows::buildOuterLoops(b, loc, extents, parallel));
  }

  void forEachBlock(int64_t columns, function_ref<void(Value, int64_t)> body) {
    vector_rows::forEachVectorBlock(b, loc, columns, width, body);
  }

  /// The body on `lanes`-wide vectors bound to its block arguments, with
  /// the uniform loop indices given: the yielded values, as vectors.
  SmallVector<Value> applyBody(ArrayRef<Value> args,
                               ArrayRef<Uniform> uniforms, int64_t lanes) {
    Block &body = op.getRegion().front();
    IRMapping map;
    for (auto [arg, value] : llvm::zip(body.getArguments(), args))
      if (value)
        map.map(arg, value);
    for (Operation &inner : body.without_terminator()) {
      if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
        for (const auto &[dim, value] : uniforms)
          if (dim == idx.getDim())
            map.map(idx.getResult(),
                    std::holds_alternative<Value>(value)
                        ? std::get<Value>(value)
                        : index(std::get<int64_t>(value)));
        continue;
      }
      vector_rows::applyLaneWise(b, loc, inner, map, lanes);
    }
    SmallVector<Value> results;
    for (Value yielded : body.getTerminator()->getOperands())
      results.push_back(vector_rows::broadcastTo(
          b, loc, map.lookupOrDefault(yielded), lanes));
    return results;
  }

  linalg::GenericOp op;
  OpBuilder b;
  Location loc;
  int64_t width, parallelMinWork;
};

struct VectorizePoolingPass
    : public kiln::impl::KilnVectorizePoolingBase<VectorizePoolingPass> {
  using KilnVectorizePoolingBase::KilnVectorizePoolingBase;

  void runOnOperation() override {
    if (vectorWidth < 2)
      return;
    SmallVector<linalg::GenericOp> reductions, spreads;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isWindowReduction(op))
        reductions.push_back(op);
      else if (isWindowSpread(op))
        spreads.push_back(op);
    });
    for (linalg::GenericOp op : reductions)
      PoolingEmitter(op, vectorWidth, parallelMinWork).emitReduction();
    for (linalg::GenericOp op : spreads)
      PoolingEmitter(op, vectorWidth, parallelMinWork).emitSpread();
  }
};
} // namespace
