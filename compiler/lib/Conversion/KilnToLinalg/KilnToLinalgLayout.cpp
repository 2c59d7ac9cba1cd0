//===- KilnToLinalgLayout.cpp - lowering of the layout ops ----------------===//
//
// Patterns of convert-kiln-to-linalg for slice, slice_scatter, concat,
// gather, scatter_add and topk.
//
// The data-movement ops read or write at computed positions, so they become
// scf.for nests over a static shape that carry the result tensor as an
// iteration argument and move one element per iteration with tensor.extract
// and tensor.insert; one-shot bufferization turns them into loads and stores
// in place. They are deliberately not linalg.generic ops with tensor.extract
// in the body: the affine super-vectorizer would try to widen those
// data-dependent loads. topk is two linalg.generic ops with plain affine
// maps (a rank count, then a selection by rank).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "KilnToLinalgCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

using utils::IteratorType;

namespace {

/// Moves elements into `init`: one scf.for per dimension of `shape`
/// (row-major), with `init` carried through the nest. `body` receives the
/// loop indices and the current tensor and returns the updated tensor.
/// Returns the final tensor.
Value buildCopyNest(
    OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value init,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> body) {
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t size : shape) {
    lbs.push_back(indexConstant(b, loc, 0));
    ubs.push_back(indexConstant(b, loc, size));
    steps.push_back(indexConstant(b, loc, 1));
  }
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{init},
      [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs,
          ValueRange args) -> scf::ValueVector {
        return {body(nested, nestedLoc, ivs, args.front())};
      });
  return nest.results.front();
}

/// offset + index * stride, on `index` values.
Value affineIndex(OpBuilder &b, Location loc, Value index, int64_t offset,
                  int64_t stride) {
  Value v = index;
  if (stride != 1)
    v = b.create<arith::MulIOp>(loc, v, indexConstant(b, loc, stride));
  if (offset != 0)
    v = b.create<arith::AddIOp>(loc, v, indexConstant(b, loc, offset));
  return v;
}

/// An element of `index` (i32 or i64) as an `index` value, with a flag that
/// it lies in [0, size) and a copy clamped into that range (always safe to
/// read).
struct CheckedIndex {
  Value inRange, clamped;
};
CheckedIndex checkIndex(OpBuilder &b, Location loc, Value raw, int64_t size) {
  Value idx = b.create<arith::IndexCastOp>(loc, b.getIndexType(), raw);
  Value zero = indexConstant(b, loc, 0);
  Value limit = indexConstant(b, loc, size);
  Value nonNegative =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, idx, zero);
  Value below =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, idx, limit);
  Value inRange = b.create<arith::AndIOp>(loc, nonNegative, below);
  Value clamped = b.create<arith::MaxSIOp>(loc, idx, zero);
  clamped = b.create<arith::MinSIOp>(loc, clamped,
                                     indexConstant(b, loc, size - 1));
  return {inRange, clamped};
}

TypedAttr zeroAttr(OpBuilder &b, Type type) {
  if (type.isa<FloatType>())
    return b.getFloatAttr(type, 0.0);
  return b.getIntegerAttr(type, 0);
}

//===----------------------------------------------------------------------===//
// slice, slice_scatter, concat
//===----------------------------------------------------------------------===//

/// result[r] = input[offsets + r * strides], into a fresh tensor.
struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = tensorType(op.getResult());
    ArrayRef<int64_t> offsets = op.getOffsets(), strides = op.getStrides();
    Value input = adaptor.getInput();
    Value result = buildCopyNest(
        rewriter, loc, type.getShape(), createEmpty(rewriter, loc, type),
        [&](OpBuilder &b, Location loc, ValueRange ivs, Value acc) -> Value {
          SmallVector<Value> src;
          for (auto [d, iv] : llvm::enumerate(ivs))
            src.push_back(affineIndex(b, loc, iv, offsets[d], strides[d]));
          Value v = b.create<tensor::ExtractOp>(loc, input, src);
          return b.create<tensor::InsertOp>(loc, v, acc, ivs);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// dest[offsets + r * strides] = source[r], in a copy of dest.
struct SliceScatterLowering : OpConversionPattern<SliceScatterOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SliceScatterOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    ArrayRef<int64_t> offsets = op.getOffsets(), strides = op.getStrides();
    Value source = adaptor.getSource();
    Value result = buildCopyNest(
        rewriter, loc, tensorType(source).getShape(), adaptor.getDest(),
        [&](OpBuilder &b, Location loc, ValueRange ivs, Value acc) -> Value {
          SmallVector<Value> dst;
          for (auto [d, iv] : llvm::enumerate(ivs))
            dst.push_back(affineIndex(b, loc, iv, offsets[d], strides[d]));
          Value v = b.create<tensor::ExtractOp>(loc, source, ivs);
          return b.create<tensor::InsertOp>(loc, v, acc, dst);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// One copy nest per input, each shifted along `dim` by the sizes before it.
struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t dim = op.getDim();
    Value result =
        createEmpty(rewriter, loc, tensorType(op.getResult()));
    int64_t start = 0;
    for (Value input : adaptor.getInputs()) {
      ArrayRef<int64_t> shape = tensorType(input).getShape();
      result = buildCopyNest(
          rewriter, loc, shape, result,
          [&](OpBuilder &b, Location loc, ValueRange ivs, Value acc) -> Value {
            SmallVector<Value> dst(ivs.begin(), ivs.end());
            dst[dim] = affineIndex(b, loc, dst[dim], start, 1);
            Value v = b.create<tensor::ExtractOp>(loc, input, ivs);
            return b.create<tensor::InsertOp>(loc, v, acc, dst);
          });
      start += shape[dim];
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// gather, scatter_add
//===----------------------------------------------------------------------===//

/// result[p] = input[p with dim := index[p]]; 0 for an out-of-range index
/// (the position read is clamped, the value replaced).
struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = tensorType(op.getResult());
    int64_t dim = op.getDim();
    Value input = adaptor.getInput(), index = adaptor.getIndex();
    int64_t size = tensorType(input).getDimSize(dim);
    Value result = buildCopyNest(
        rewriter, loc, type.getShape(), createEmpty(rewriter, loc, type),
        [&](OpBuilder &b, Location loc, ValueRange ivs, Value acc) -> Value {
          Value raw = b.create<tensor::ExtractOp>(loc, index, ivs);
          CheckedIndex at = checkIndex(b, loc, raw, size);
          SmallVector<Value> src(ivs.begin(), ivs.end());
          src[dim] = at.clamped;
          Value v = b.create<tensor::ExtractOp>(loc, input, src);
          Value zero = b.create<arith::ConstantOp>(
              loc, zeroAttr(b, type.getElementType()));
          v = b.create<arith::SelectOp>(loc, at.inRange, v, zero);
          return b.create<tensor::InsertOp>(loc, v, acc, ivs);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// result = input; result[p with dim := index[p]] += source[p] over the
/// index's shape, in order; an out-of-range index leaves result unchanged.
struct ScatterAddLowering : OpConversionPattern<ScatterAddOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ScatterAddOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t dim = op.getDim();
    Value index = adaptor.getIndex(), source = adaptor.getSource();
    int64_t size = tensorType(adaptor.getInput()).getDimSize(dim);
    Value result = buildCopyNest(
        rewriter, loc, tensorType(index).getShape(), adaptor.getInput(),
        [&](OpBuilder &b, Location loc, ValueRange ivs, Value acc) -> Value {
          Value raw = b.create<tensor::ExtractOp>(loc, index, ivs);
          CheckedIndex at = checkIndex(b, loc, raw, size);
          SmallVector<Value> dst(ivs.begin(), ivs.end());
          dst[dim] = at.clamped;
          Value old = b.create<tensor::ExtractOp>(loc, acc, dst);
          Value add = b.create<tensor::ExtractOp>(loc, source, ivs);
          Value sum = b.create<arith::AddFOp>(loc, old, add);
          sum = b.create<arith::SelectOp>(loc, at.inRange, sum, old);
          return b.create<tensor::InsertOp>(loc, sum, acc, dst);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// topk
//===----------------------------------------------------------------------===//

/// True when `a` ranks before `b`: larger first (or smaller first), NaN as
/// the largest value, as in the interpreter.
Value ranksBefore(OpBuilder &b, Location loc, Value a, Value c,
                  bool largest) {
  using P = arith::CmpFPredicate;
  Value aNan = b.create<arith::CmpFOp>(loc, P::UNO, a, a);
  Value cNan = b.create<arith::CmpFOp>(loc, P::UNO, c, c);
  Value trueValue = b.create<arith::ConstantIntOp>(loc, 1, 1);
  if (largest) {
    // a > c, or a is NaN and c is not.
    Value cNum = b.create<arith::XOrIOp>(loc, cNan, trueValue);
    Value nanFirst = b.create<arith::AndIOp>(loc, aNan, cNum);
    return b.create<arith::OrIOp>(
        loc, b.create<arith::CmpFOp>(loc, P::OGT, a, c), nanFirst);
  }
  // a < c, or c is NaN and a is not.
  Value aNum = b.create<arith::XOrIOp>(loc, aNan, trueValue);
  Value nanLast = b.create<arith::AndIOp>(loc, cNan, aNum);
  return b.create<arith::OrIOp>(
      loc, b.create<arith::CmpFOp>(loc, P::OLT, a, c), nanLast);
}

/// The loop dims of a nest over `rank` dims plus one extra dim (position
/// `rank`), with the extra dim in place of `dim`.
AffineMap extraDimMap(int64_t rank, int64_t dim, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d == dim ? rank : d, ctx));
  return AffineMap::get(rank + 1, 0, exprs, ctx);
}

/// The first `rank` loop dims of a nest of `rank + 1`.
AffineMap leadingDimsMap(int64_t rank, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank + 1, 0, exprs, ctx);
}

/// rank[i] = #{j : x[j] ranks before x[i], or x[j] ties with x[i] and
/// j < i} along `dim`: the position of x[i] in the stable sorted order.
/// Then values[r] / indices[r] = x[i] / i for the i whose rank is r < k.
/// O(n^2) per line; simple, branch-free and exact.
struct TopKLowering : OpConversionPattern<TopKOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TopKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    Value x = adaptor.getInput();
    RankedTensorType inType = tensorType(x);
    int64_t rank = inType.getRank(), dim = op.getDim();
    bool largest = op.getLargest();
    Type i64 = rewriter.getI64Type();
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    iterators.push_back(IteratorType::reduction);

    // Loops (d0 .. d{rank-1}, j): x[i] at the leading dims, x[j] with j in
    // place of dim.
    auto rankType = RankedTensorType::get(inType.getShape(), i64);
    Value rankInit =
        createFilled(rewriter, loc, rankType, rewriter.getI64IntegerAttr(0));
    AffineMap lead = leadingDimsMap(rank, ctx);
    AffineMap extra = extraDimMap(rank, dim, ctx);
    Value ranks = buildGeneric(
        rewriter, loc, rankInit, {x, x}, {lead, extra, lead}, iterators,
        [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
          Value xi = v[0], xj = v[1], acc = v[2];
          Value i = b.create<linalg::IndexOp>(loc, dim);
          Value j = b.create<linalg::IndexOp>(loc, rank);
          Value before = ranksBefore(b, loc, xj, xi, largest);
          Value after = ranksBefore(b, loc, xi, xj, largest);
          Value tie = b.create<arith::XOrIOp>(
              loc, b.create<arith::OrIOp>(loc, before, after),
              b.create<arith::ConstantIntOp>(loc, 1, 1));
          Value earlier =
              b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, j, i);
          Value counts = b.create<arith::OrIOp>(
              loc, before, b.create<arith::AndIOp>(loc, tie, earlier));
          return b.create<arith::AddIOp>(
              loc, acc, b.create<arith::ExtUIOp>(loc, i64, counts));
        });

    // Loops (d0 .. d{rank-1}, i) over the output shape plus the input's
    // dim: pick the element whose rank is the output position.
    RankedTensorType valuesType = tensorType(op.getValues());
    RankedTensorType indicesType = tensorType(op.getIndices());
    Value valuesInit = createFilled(
        rewriter, loc, valuesType,
        rewriter.getFloatAttr(valuesType.getElementType(), 0.0));
    Value indicesInit = createFilled(rewriter, loc, indicesType,
                                     rewriter.getI64IntegerAttr(0));
    auto select = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{valuesType, indicesType}, ValueRange{ranks, x},
        ValueRange{valuesInit, indicesInit},
        ArrayRef<AffineMap>{extra, extra, lead, lead}, iterators,
        [&](OpBuilder &b, Location loc, ValueRange v) {
          Value r = b.create<arith::IndexCastOp>(
              loc, i64, b.create<linalg::IndexOp>(loc, dim));
          Value i = b.create<arith::IndexCastOp>(
              loc, i64, b.create<linalg::IndexOp>(loc, rank));
          Value hit =
              b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, v[0], r);
          Value value = b.create<arith::SelectOp>(loc, hit, v[1], v[2]);
          Value position = b.create<arith::SelectOp>(loc, hit, i, v[3]);
          b.create<linalg::YieldOp>(loc, ValueRange{value, position});
        });
    rewriter.replaceOp(op, select.getResults());
    return success();
  }
};

} // namespace

void lowering::populateLayoutGroupPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<SliceLowering, SliceScatterLowering, ConcatLowering,
               GatherLowering, ScatterAddLowering, TopKLowering>(ctx);
}
