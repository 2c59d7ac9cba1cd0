//===- KilnToLinalgStructured.cpp - kiln-to-linalg beyond elementwise -----===//
//
// Patterns of convert-kiln-to-linalg for the ops that are not plain
// elementwise maps: matmul (loop order chosen for vectorization), transpose,
// reshape, the reductions, log_softmax, one_hot and random_uniform.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "KilnToLinalgCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

using utils::IteratorType;

namespace {

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

/// C = A x B as a linalg.generic with loops ([b,] i, k, j): after
/// convert-linalg-to-loops the innermost loop walks j, which is contiguous in
/// both B and C, so LLVM vectorizes it (the i, j, k order of linalg.matmul
/// would make it a strided dot product). C starts as a linalg.fill of 0.
/// With `foldTransposes`, a 2-D operand that is a kiln.transpose is read
/// through a swapped map instead ((k, i) for A, (j, k) for B): the layers'
/// x W^T and the backward products then make no transposed copy (time and
/// arena bytes), and kiln-vectorize-matmul reads them in place.
struct MatmulLowering : OpConversionPattern<MatmulOp> {
  MatmulLowering(MLIRContext *ctx, bool foldTransposes)
      : OpConversionPattern(ctx), foldTransposes(foldTransposes) {}
  bool foldTransposes;

  /// The untransposed source of `operand` if it is a 2-D transpose.
  Value transposedSource(Value operand,
                         ConversionPatternRewriter &rewriter) const {
    auto transpose = operand.getDefiningOp<TransposeOp>();
    if (!foldTransposes || !transpose ||
        transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return Value();
    return rewriter.getRemappedValue(transpose.getInput());
  }

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    RankedTensorType type = tensorType(op.getResult());
    Type elementType = type.getElementType();
    bool batched = type.getRank() == 3;

    unsigned numLoops = batched ? 4 : 3;
    SmallVector<AffineExpr> batch;
    if (batched)
      batch.push_back(getAffineDimExpr(0, ctx));
    AffineExpr i = getAffineDimExpr(numLoops - 3, ctx);
    AffineExpr k = getAffineDimExpr(numLoops - 2, ctx);
    AffineExpr j = getAffineDimExpr(numLoops - 1, ctx);
    auto map = [&](AffineExpr row, AffineExpr col) {
      SmallVector<AffineExpr> exprs(batch);
      exprs.append({row, col});
      return AffineMap::get(numLoops, 0, exprs, ctx);
    };
    SmallVector<AffineMap> maps = {map(i, k), map(k, j), map(i, j)};
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    if (!batched) {
      if (Value source = transposedSource(op.getLhs(), rewriter)) {
        lhs = source;
        maps[0] = map(k, i);
      }
      if (Value source = transposedSource(op.getRhs(), rewriter)) {
        rhs = source;
        maps[1] = map(j, k);
      }
    }
    SmallVector<IteratorType> iterators(batch.size(), IteratorType::parallel);
    iterators.append({IteratorType::parallel, IteratorType::reduction,
                      IteratorType::parallel});

    Value zero = createFilled(rewriter, loc, type,
                              rewriter.getFloatAttr(elementType, 0.0));
    Value result = buildGeneric(
        rewriter, loc, zero, {lhs, rhs}, maps,
        iterators, [](OpBuilder &b, Location loc, ValueRange x) -> Value {
          Value product = b.create<arith::MulFOp>(loc, x[0], x[1]);
          return b.create<arith::AddFOp>(loc, x[2], product);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// transpose, reshape
//===----------------------------------------------------------------------===//

/// Result dim i is input dim permutation[i]: loop over the result and read
/// the input through the permuted map.
struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    RankedTensorType type = tensorType(op.getResult());
    ArrayRef<int64_t> perm = op.getPermutation();
    int64_t rank = type.getRank();

    SmallVector<AffineExpr> inputExprs(rank);
    for (int64_t d = 0; d < rank; ++d)
      inputExprs[perm[d]] = getAffineDimExpr(d, ctx);
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank, 0, inputExprs, ctx),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, op.getLoc(), createEmpty(rewriter, op.getLoc(), type),
        adaptor.getInput(), maps, iterators,
        [](OpBuilder &, Location, ValueRange x) { return x[0]; });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Row-major reshape as views: collapse the input to 1-D, then expand to the
/// target; canonicalization merges the pair where a finer grouping exists.
/// A rank-0 tensor holds one element, so it expands straight to an all-ones
/// shape, and an all-ones shape collapses straight to rank 0 (both with an
/// empty reassociation).
struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    RankedTensorType inType = tensorType(input);
    RankedTensorType outType = tensorType(op.getResult());
    if (inType == outType) {
      rewriter.replaceOp(op, input);
      return success();
    }
    if (inType.getRank() == 0) {
      rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
          op, outType, input, ArrayRef<ReassociationIndices>{});
      return success();
    }
    if (outType.getRank() == 0) {
      rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
          op, outType, input, ArrayRef<ReassociationIndices>{});
      return success();
    }
    auto allDims = [](int64_t rank) {
      ReassociationIndices dims;
      for (int64_t d = 0; d < rank; ++d)
        dims.push_back(d);
      return SmallVector<ReassociationIndices>{dims};
    };
    Value flat = input;
    if (inType.getRank() != 1)
      flat = rewriter.create<tensor::CollapseShapeOp>(
          loc,
          RankedTensorType::get({inType.getNumElements()},
                                inType.getElementType()),
          input, allDims(inType.getRank()));
    if (outType.getRank() != 1)
      flat = rewriter.create<tensor::ExpandShapeOp>(loc, outType, flat,
                                                    allDims(outType.getRank()));
    rewriter.replaceOp(op, flat);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

enum class ReduceKind { Sum, Max };

/// `rank` loops writing to the dims that are not in `axes`.
AffineMap reducedMap(int64_t rank, ArrayRef<int64_t> axes, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

SmallVector<IteratorType> reductionIterators(int64_t rank,
                                             ArrayRef<int64_t> axes) {
  SmallVector<IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d)
    iterators.push_back(llvm::is_contained(axes, d) ? IteratorType::reduction
                                                    : IteratorType::parallel);
  return iterators;
}

/// The input type without the dims in `axes` (keepdims off).
RankedTensorType reducedType(RankedTensorType type, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!llvm::is_contained(axes, d))
      shape.push_back(type.getDimSize(d));
  return RankedTensorType::get(shape, type.getElementType());
}

/// Sum or max of `input` over `axes`, keepdims off: a linalg.fill with the
/// identity (0, or -inf / the smallest integer), then a generic whose loops
/// follow the input's row-major order, so the innermost loop reads
/// contiguous memory. Integer sums wrap around, integer maxima are signed.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
             ReduceKind kind) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType inType = tensorType(input);
  Type elementType = inType.getElementType();
  int64_t rank = inType.getRank();
  TypedAttr identity;
  if (kind == ReduceKind::Sum)
    identity = b.getZeroAttr(elementType);
  else if (auto floatType = elementType.dyn_cast<FloatType>())
    identity = b.getFloatAttr(
        elementType,
        APFloat::getInf(floatType.getFloatSemantics(), /*Negative=*/true));
  else
    identity = b.getIntegerAttr(
        elementType,
        APInt::getSignedMinValue(elementType.getIntOrFloatBitWidth()));
  Value init = createFilled(b, loc, reducedType(inType, axes), identity);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 reducedMap(rank, axes, ctx)};
  return buildGeneric(
      b, loc, init, input, maps, reductionIterators(rank, axes),
      [&](OpBuilder &nested, Location nestedLoc, ValueRange x) -> Value {
        if (!isFloat(x[0])) {
          if (kind == ReduceKind::Sum)
            return nested.create<arith::AddIOp>(nestedLoc, x[1], x[0]);
          return nested.create<arith::MaxSIOp>(nestedLoc, x[1], x[0]);
        }
        if (kind == ReduceKind::Sum)
          return nested.create<arith::AddFOp>(nestedLoc, x[1], x[0]);
        // NaN-propagating max, as the interpreter and torch.amax:
        // arith.maxf lowers to llvm.maxnum, which drops NaNs.
        Value greater = nested.create<arith::CmpFOp>(
            nestedLoc, arith::CmpFPredicate::OGT, x[0], x[1]);
        Value isNaN = nested.create<arith::CmpFOp>(
            nestedLoc, arith::CmpFPredicate::UNO, x[0], x[0]);
        Value takeNew = nested.create<arith::OrIOp>(nestedLoc, greater, isNaN);
        return nested.create<arith::SelectOp>(nestedLoc, takeNew, x[0], x[1]);
      });
}

/// reduce_sum, reduce_max, reduce_mean (a sum, then an elementwise division
/// by the number of reduced elements). keepdims reduces to the smaller shape,
/// then re-inserts the size-1 dims with tensor.expand_shape, a free view, so
/// every generic keeps projected-permutation maps.
template <typename OpTy, ReduceKind kind, bool mean = false>
struct ReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    RankedTensorType inType = tensorType(input);
    ArrayRef<int64_t> axes = op.getAxes();
    Value result = reduce(rewriter, loc, input, axes, kind);

    if (mean) {
      int64_t count = 1;
      for (int64_t axis : axes)
        count *= inType.getDimSize(axis);
      result = buildElementwise(
          rewriter, loc, tensorType(result), result,
          [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
            Value n = scalarConstant(b, loc, x[0].getType(), double(count));
            return b.create<arith::DivFOp>(loc, x[0], n);
          });
    }

    if (op.getKeepdims()) {
      // Each kept dim groups with the reduced (size-1) dims before it;
      // trailing reduced dims join the last group. With every dim reduced
      // the source is rank 0 and the reassociation is empty.
      SmallVector<ReassociationIndices> groups;
      ReassociationIndices pending;
      for (int64_t d = 0; d < inType.getRank(); ++d) {
        pending.push_back(d);
        if (!llvm::is_contained(axes, d)) {
          groups.push_back(pending);
          pending.clear();
        }
      }
      if (!groups.empty())
        groups.back().append(pending.begin(), pending.end());
      result = rewriter.create<tensor::ExpandShapeOp>(
          loc, tensorType(op.getResult()), result, groups);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// log_softmax, one_hot
//===----------------------------------------------------------------------===//

/// Numerically stable log_softmax along `axis`, in three generics:
///   m = max_axis(x);  s = sum_axis(exp(x - m));  out = (x - m) - log(s)
/// so exp never overflows and the largest term of s is exp(0) = 1.
struct LogSoftmaxLowering : OpConversionPattern<LogSoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LogSoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    Value x = adaptor.getInput();
    RankedTensorType type = tensorType(x);
    int64_t rank = type.getRank();
    int64_t axes[] = {static_cast<int64_t>(op.getAxis())};

    Value max = reduce(rewriter, loc, x, axes, ReduceKind::Max);

    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap reduced = reducedMap(rank, axes, ctx);
    Value zeros =
        createFilled(rewriter, loc, reducedType(type, axes),
                     rewriter.getFloatAttr(type.getElementType(), 0.0));
    Value sum = buildGeneric(
        rewriter, loc, zeros, {x, max}, {identity, reduced, reduced},
        reductionIterators(rank, axes),
        [](OpBuilder &b, Location loc, ValueRange v) -> Value {
          Value shifted = b.create<arith::SubFOp>(loc, v[0], v[1]);
          Value e = b.create<math::ExpOp>(loc, shifted);
          return b.create<arith::AddFOp>(loc, v[2], e);
        });

    SmallVector<IteratorType> parallel(rank, IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, createEmpty(rewriter, loc, type), {x, max, sum},
        {identity, reduced, reduced, identity}, parallel,
        [](OpBuilder &b, Location loc, ValueRange v) -> Value {
          Value shifted = b.create<arith::SubFOp>(loc, v[0], v[1]);
          Value logSum = b.create<math::LogOp>(loc, v[2]);
          return b.create<arith::SubFOp>(loc, shifted, logSum);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// out[..., c] = (indices[...] == c) ? 1 : 0 over the result shape, with c
/// from linalg.index on the class dim. The index is widened to `index` with
/// its sign, so a negative or too-large index matches no class: a zero row.
struct OneHotLowering : OpConversionPattern<OneHotOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OneHotOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    RankedTensorType type = tensorType(op.getResult());
    int64_t rank = type.getRank();
    // The indices are read at every loop dim but the class dim (the last).
    SmallVector<AffineExpr> indexExprs;
    for (int64_t d = 0; d + 1 < rank; ++d)
      indexExprs.push_back(getAffineDimExpr(d, ctx));
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank, 0, indexExprs, ctx),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, op.getLoc(), createEmpty(rewriter, op.getLoc(), type),
        adaptor.getIndices(), maps, iterators,
        [&](OpBuilder &b, Location loc, ValueRange x) -> Value {
          Value label =
              b.create<arith::IndexCastOp>(loc, b.getIndexType(), x[0]);
          Value cls = b.create<linalg::IndexOp>(loc, rank - 1);
          Value hit = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                              label, cls);
          Type elementType = type.getElementType();
          return b.create<arith::SelectOp>(
              loc, hit, scalarConstant(b, loc, elementType, 1.0),
              scalarConstant(b, loc, elementType, 0.0));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// random_uniform
//===----------------------------------------------------------------------===//

/// Counter-based uniform random numbers. The interpreter implements the same
/// formula; compiled-vs-interpreter tests need the u64 arithmetic to agree
/// bit for bit. All u64 arithmetic wraps modulo 2^64, shifts are logical:
///
///   i = row-major linear index of the element (u64)
///   z = seed + (u64)stream * 0x9E3779B97F4A7C15 + i * 0xBF58476D1CE4E5B9
///   z ^= z >> 30;  z *= 0xBF58476D1CE4E5B9;
///   z ^= z >> 27;  z *= 0x94D049BB133111EB;
///   z ^= z >> 31;                                  (splitmix64 finalizer)
///   f64 results:
///     u = (double)(z >> 11) * 0x1p-53              (exact, in [0, 1))
///     r = low + (high - low) * u                   (double, no FMA)
///   other float types, in float32 only (a Cortex-M needs no double helpers):
///     u = (float)(int32)(z >> 40) * 0x1p-24        (exact, in [0, 1))
///     r = (float)low + (float)(high - low) * u     (float, no FMA)
///   result = (element type) r                      (round to nearest)
///
/// `seed + stream * C1` is loop-invariant: computed once, outside the loop
/// nest (the same value modulo 2^64); `high - low` is folded in double.
struct RandomUniformLowering : OpConversionPattern<RandomUniformOp> {
  using OpConversionPattern::OpConversionPattern;

  static constexpr uint64_t kStreamMul = 0x9E3779B97F4A7C15ULL;
  static constexpr uint64_t kIndexMul = 0xBF58476D1CE4E5B9ULL;
  static constexpr uint64_t kMix1 = 0xBF58476D1CE4E5B9ULL;
  static constexpr uint64_t kMix2 = 0x94D049BB133111EBULL;

  LogicalResult
  matchAndRewrite(RandomUniformOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = tensorType(op.getResult());
    ArrayRef<int64_t> shape = type.getShape();
    Type i64 = rewriter.getI64Type(), f64 = rewriter.getF64Type();
    auto u64Constant = [&](OpBuilder &b, Location loc, uint64_t v) -> Value {
      return b.create<arith::ConstantOp>(
          loc, b.getIntegerAttr(i64, static_cast<int64_t>(v)));
    };

    Value seed = rewriter.create<tensor::ExtractOp>(loc, adaptor.getSeed(),
                                                    ValueRange{});
    Value base = rewriter.create<arith::AddIOp>(
        loc, seed, u64Constant(rewriter, loc, op.getStream() * kStreamMul));
    double low = op.getLow().convertToDouble();
    double range = op.getHigh().convertToDouble() - low;
    Type computeType =
        type.getElementType() == f64 ? f64 : Type(rewriter.getF32Type());

    int64_t rank = type.getRank();
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank, getContext())};
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, createEmpty(rewriter, loc, type), ValueRange{}, maps,
        iterators, [&](OpBuilder &b, Location loc, ValueRange) -> Value {
          // Row-major linear index by Horner's rule (0 for rank 0).
          Value i;
          for (int64_t d = 0; d < rank; ++d) {
            Value idx = b.create<arith::IndexCastOp>(
                loc, i64, b.create<linalg::IndexOp>(loc, d));
            if (d == 0) {
              i = idx;
              continue;
            }
            Value scaled =
                b.create<arith::MulIOp>(loc, i, u64Constant(b, loc, shape[d]));
            i = b.create<arith::AddIOp>(loc, scaled, idx);
          }
          if (!i)
            i = u64Constant(b, loc, 0);
          auto xorShift = [&](Value z, uint64_t s) -> Value {
            Value shifted =
                b.create<arith::ShRUIOp>(loc, z, u64Constant(b, loc, s));
            return b.create<arith::XOrIOp>(loc, z, shifted);
          };
          auto mul = [&](Value z, uint64_t c) -> Value {
            return b.create<arith::MulIOp>(loc, z, u64Constant(b, loc, c));
          };
          Value z = b.create<arith::AddIOp>(loc, base, mul(i, kIndexMul));
          z = mul(xorShift(z, 30), kMix1);
          z = mul(xorShift(z, 27), kMix2);
          z = xorShift(z, 31);
          Value u;
          if (computeType == f64) {
            Value top53 =
                b.create<arith::ShRUIOp>(loc, z, u64Constant(b, loc, 11));
            u = b.create<arith::MulFOp>(
                loc, b.create<arith::UIToFPOp>(loc, f64, top53),
                scalarConstant(b, loc, f64, 0x1p-53));
          } else {
            Value top24 = b.create<arith::TruncIOp>(
                loc, b.getI32Type(),
                b.create<arith::ShRUIOp>(loc, z, u64Constant(b, loc, 40)));
            u = b.create<arith::MulFOp>(
                loc, b.create<arith::SIToFPOp>(loc, computeType, top24),
                scalarConstant(b, loc, computeType, 0x1p-24));
          }
          Value r = b.create<arith::AddFOp>(
              loc, scalarConstant(b, loc, computeType, low),
              b.create<arith::MulFOp>(
                  loc, scalarConstant(b, loc, computeType, range), u));
          if (type.getElementType() == computeType)
            return r;
          return b.create<arith::TruncFOp>(loc, type.getElementType(), r);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void lowering::populateStructuredPatterns(RewritePatternSet &patterns,
                                          bool foldTransposesIntoMatmuls) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<MatmulLowering>(ctx, foldTransposesIntoMatmuls);
  patterns.add<TransposeLowering, ReshapeLowering,
               ReduceLowering<ReduceSumOp, ReduceKind::Sum>,
               ReduceLowering<ReduceMaxOp, ReduceKind::Max>,
               ReduceLowering<ReduceMeanOp, ReduceKind::Sum, /*mean=*/true>,
               LogSoftmaxLowering, OneHotLowering, RandomUniformLowering>(ctx);
}
