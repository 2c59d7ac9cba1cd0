//===- KilnToLinalgPool.cpp - lowering of max pooling ---------------------===//
//
// Patterns of convert-kiln-to-linalg for max_pool2d and its gradient.
//
// max_pool2d is a max reduction over the padded input; its gradient finds
// each window's first argmax (a two-result reduction), then gathers, for
// each input element, the cotangents of the windows whose argmax it is.
// As in KilnToLinalgNN.cpp, every indexing map is a projected permutation:
// windows that tile the input exactly are read through a [N, C, OH, KH, OW,
// KW] view, other windows are gathered with tensor.extract in the body.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "KilnToLinalgCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

using utils::IteratorType;

namespace {

TypedAttr negativeInfinity(OpBuilder &b, Type type) {
  return b.getFloatAttr(
      type, APFloat::getInf(type.cast<FloatType>().getFloatSemantics(),
                            /*Negative=*/true));
}

/// The maps of a pooling reduction over loops (n, c, i, j | p, q): the
/// window-shape operand's (p, q) and the output's (n, c, i, j). The input is
/// read in the body (poolElement).
SmallVector<AffineMap> poolMaps(MLIRContext *ctx) {
  SmallVector<AffineExpr> d = dims(6, ctx);
  return {AffineMap::get(6, 0, {d[4], d[5]}, ctx),
          AffineMap::get(6, 0, {d[0], d[1], d[2], d[3]}, ctx)};
}

/// xp[n, c, i*s + p*d, j*s + q*d] for the current loop indices.
Value poolElement(OpBuilder &b, Location loc, Value xp,
                  ArrayRef<int64_t> stride, ArrayRef<int64_t> dilation) {
  return windowElement(b, loc, xp, loopIndex(b, loc, 0), loopIndex(b, loc, 1),
                       loopIndex(b, loc, 2), loopIndex(b, loc, 3),
                       loopIndex(b, loc, 4), loopIndex(b, loc, 5), stride,
                       dilation);
}

/// v > acc || isnan(v): the first maximum wins and a NaN propagates, as in
/// PyTorch's max pooling (and the interpreter).
Value beatsMax(OpBuilder &b, Location loc, Value v, Value acc) {
  Value greater = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, v, acc);
  Value isNaN = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNO, v, v);
  return b.create<arith::OrIOp>(loc, greater, isNaN);
}

Value negInfPad(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> padding) {
  ArrayRef<int64_t> shape = tensorType(x).getShape();
  Type elementType = tensorType(x).getElementType();
  return padDilate(b, loc, x,
                   {padding[0], 1, shape[2], shape[2] + 2 * padding[0]},
                   {padding[1], 1, shape[3], shape[3] + 2 * padding[1]},
                   negativeInfinity(b, elementType));
}

/// Whether the windows of a pooling tile its [N, C, H, W] input exactly:
/// stride == kernel, no padding, no dilation, H = OH * KH and W = OW * KW
/// (every 2x2 / stride-2 pooling of an even-sized input). The input is then
/// a view [N, C, OH, KH, OW, KW] (windowsView) and each window element an
/// affine load: no index arithmetic, and outermost loops that
/// kiln-mark-parallel-loops can prove independent and split across threads
/// (it cannot for the tensor.extract gathers of the general form).
template <typename OpTy> bool windowsTileInput(OpTy op) {
  ArrayRef<int64_t> k = op.getKernel(), s = op.getStride(),
                    p = op.getPadding(), d = op.getDilation();
  ArrayRef<int64_t> x = tensorType(op.getInput()).getShape();
  for (unsigned dim = 0; dim < 2; ++dim)
    if (s[dim] != k[dim] || p[dim] != 0 || d[dim] != 1 ||
        x[dim + 2] % k[dim] != 0)
      return false;
  return true;
}

SmallVector<ReassociationIndices> tiledWindowsReassociation() {
  return {{0}, {1}, {2, 3}, {4, 5}};
}

/// [N, C, OH*KH, OW*KW] -> [N, C, OH, KH, OW, KW], a view.
Value windowsView(OpBuilder &b, Location loc, Value x,
                  ArrayRef<int64_t> kernel) {
  ArrayRef<int64_t> shape = tensorType(x).getShape();
  return b.create<tensor::ExpandShapeOp>(
      loc,
      withShape(x, {shape[0], shape[1], shape[2] / kernel[0], kernel[0],
                    shape[3] / kernel[1], kernel[1]}),
      x, tiledWindowsReassociation());
}

/// The maps of a reduction over loops (n, c, i, j | p, q) that reads the
/// windowsView of its input: the view's (n, c, i, p, j, q) and the
/// output's (n, c, i, j).
SmallVector<AffineMap> tiledPoolMaps(MLIRContext *ctx) {
  SmallVector<AffineExpr> d = dims(6, ctx);
  return {AffineMap::get(6, 0, {d[0], d[1], d[2], d[4], d[3], d[5]}, ctx),
          AffineMap::get(6, 0, {d[0], d[1], d[2], d[3]}, ctx)};
}

struct MaxPool2DLowering : OpConversionPattern<MaxPool2DOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MaxPool2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = tensorType(op.getResult());
    Type elementType = type.getElementType();
    ArrayRef<int64_t> k = op.getKernel();
    if (windowsTileInput(op)) {
      Value init = createFilled(rewriter, loc, type,
                                negativeInfinity(rewriter, elementType));
      Value result = buildGeneric(
          rewriter, loc, init, windowsView(rewriter, loc, adaptor.getInput(), k),
          tiledPoolMaps(getContext()), iterators(4, 2),
          [&](OpBuilder &b, Location l, ValueRange v) -> Value {
            return b.create<arith::SelectOp>(l, beatsMax(b, l, v[0], v[1]),
                                             v[0], v[1]);
          });
      rewriter.replaceOp(op, result);
      return success();
    }
    Value xp = negInfPad(rewriter, loc, adaptor.getInput(), op.getPadding());
    Value init =
        createFilled(rewriter, loc, type, negativeInfinity(rewriter, elementType));
    ArrayRef<int64_t> stride = op.getStride(), dilation = op.getDilation();
    Value result = buildGeneric(
        rewriter, loc, init,
        windowShape(rewriter, loc, k[0], k[1], elementType),
        poolMaps(getContext()), iterators(4, 2),
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value x = poolElement(b, l, xp, stride, dilation);
          return b.create<arith::SelectOp>(l, beatsMax(b, l, x, v[1]), x,
                                           v[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// 1. argmax[n, c, i, j] = p * KW + q of the window's first maximum (-1 if
///    nothing beats -inf), with the maximum as a second result;
/// 2. gx[n, c, h, w] = sum over window offsets (p, q) such that
///    (h + pad - p*d) / s = i and (w + pad - q*d) / s = j are whole, in-range
///    window indices and argmax[n, c, i, j] = p * KW + q, of gy[n, c, i, j].
///    Windows that do not overlap (the usual stride == kernel) need no sum:
///    each input element has at most one window, found by division.
struct MaxPool2DGradLowering : OpConversionPattern<MaxPool2DGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MaxPool2DGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    Value x = adaptor.getInput(), gy = adaptor.getGradOutput();
    RankedTensorType inputType = tensorType(x);
    RankedTensorType gyType = tensorType(gy);
    Type elementType = inputType.getElementType();
    Type i32 = rewriter.getI32Type();
    ArrayRef<int64_t> k = op.getKernel(), s = op.getStride(),
                      p = op.getPadding(), d = op.getDilation();

    // 1. First argmax of each window, read from the input's windowsView
    //    where the windows tile it, else gathered from the padded input.
    bool tiled = windowsTileInput(op);
    Value xp = tiled ? windowsView(rewriter, loc, x, k) : negInfPad(rewriter, loc, x, p);
    Value maxInit = createFilled(rewriter, loc, gyType,
                                 negativeInfinity(rewriter, elementType));
    auto indexType = RankedTensorType::get(gyType.getShape(), i32);
    Value indexInit =
        createFilled(rewriter, loc, indexType, rewriter.getI32IntegerAttr(-1));
    SmallVector<AffineMap> maps = tiled ? tiledPoolMaps(ctx) : poolMaps(ctx);
    maps.push_back(maps.back());
    auto windowOffset = [&](OpBuilder &b, Location l, Value pIndex,
                            Value qIndex) -> Value {
      Value offset = b.create<arith::AddIOp>(
          l, b.create<arith::MulIOp>(l, pIndex, indexConstant(b, l, k[1])),
          qIndex);
      return b.create<arith::IndexCastOp>(l, i32, offset);
    };
    auto argmax = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{gyType, indexType},
        ValueRange{tiled ? xp
                         : windowShape(rewriter, loc, k[0], k[1], elementType)},
        ValueRange{maxInit, indexInit}, maps, iterators(4, 2),
        [&](OpBuilder &b, Location l, ValueRange v) {
          Value x = tiled ? v[0] : poolElement(b, l, xp, s, d);
          Value take = beatsMax(b, l, x, v[1]);
          Value offset32 = windowOffset(b, l, loopIndex(b, l, 4),
                                        loopIndex(b, l, 5));
          b.create<linalg::YieldOp>(
              l, ValueRange{b.create<arith::SelectOp>(l, take, x, v[1]),
                            b.create<arith::SelectOp>(l, take, offset32,
                                                      v[2])});
        });
    Value winner = argmax.getResult(1);

    if (tiled) {
      // 2. Each input element of the view [N, C, OH, KH, OW, KW] takes its
      //    window's cotangent where it is the window's argmax: loops
      //    (n, c, i, p, j, q), all independent, reading argmax and gy at
      //    (n, c, i, j).
      SmallVector<AffineExpr> e = dims(6, ctx);
      AffineMap window = AffineMap::get(6, 0, {e[0], e[1], e[2], e[4]}, ctx);
      Value view = buildGeneric(
          rewriter, loc, createEmpty(rewriter, loc, tensorType(xp)),
          ValueRange{winner, gy},
          {window, window, AffineMap::getMultiDimIdentityMap(6, ctx)},
          iterators(6, 0), [&](OpBuilder &b, Location l, ValueRange v) -> Value {
            Value hit = b.create<arith::CmpIOp>(
                l, arith::CmpIPredicate::eq, v[0],
                windowOffset(b, l, loopIndex(b, l, 3), loopIndex(b, l, 5)));
            return b.create<arith::SelectOp>(
                l, hit, v[1], scalarConstant(b, l, elementType, 0.0));
          });
      rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
          op, inputType, view, tiledWindowsReassociation());
      return success();
    }

    // 2. Gather into the input's shape.
    int64_t oh = gyType.getDimSize(2), ow = gyType.getDimSize(3);
    auto isWinnerAt = [&](OpBuilder &b, Location l, Value n, Value c, Value i,
                          Value j, Value pIndex, Value qIndex) {
      Value at = b.create<tensor::ExtractOp>(l, winner, ValueRange{n, c, i, j});
      return b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, at,
                                     windowOffset(b, l, pIndex, qIndex));
    };
    bool disjoint = d[0] * (k[0] - 1) + 1 <= s[0] && d[1] * (k[1] - 1) + 1 <= s[1];
    if (disjoint) {
      // Windows do not overlap: input row h is in at most one window, row
      // i = (h + pad) / s at offset (h + pad) % s = p * d. No reduction.
      Value result = buildGeneric(
          rewriter, loc, createEmpty(rewriter, loc, inputType), ValueRange{},
          {AffineMap::getMultiDimIdentityMap(4, ctx)}, iterators(4, 0),
          [&](OpBuilder &b, Location l, ValueRange) -> Value {
            auto window = [&](unsigned dim, int64_t stride, int64_t pad,
                              int64_t dilation, int64_t kernel,
                              int64_t windows) {
              Value pos = b.create<arith::AddIOp>(
                  l, loopIndex(b, l, dim), indexConstant(b, l, pad));
              Value strideValue = indexConstant(b, l, stride);
              Value row = b.create<arith::DivUIOp>(l, pos, strideValue);
              Value offset = b.create<arith::RemUIOp>(l, pos, strideValue);
              auto [tap, tapValid] =
                  spreadIndex(b, l, offset, {0, dilation, kernel, 0});
              Value last = indexConstant(b, l, windows - 1);
              Value valid = b.create<arith::AndIOp>(
                  l, tapValid,
                  b.create<arith::CmpIOp>(l, arith::CmpIPredicate::ule, row,
                                          last));
              row = b.create<arith::MinUIOp>(l, row, last);
              return std::make_tuple(row, tap, valid);
            };
            auto [i, pIndex, iValid] = window(2, s[0], p[0], d[0], k[0], oh);
            auto [j, qIndex, jValid] = window(3, s[1], p[1], d[1], k[1], ow);
            Value n = loopIndex(b, l, 0), c = loopIndex(b, l, 1);
            Value hit = b.create<arith::AndIOp>(
                l, isWinnerAt(b, l, n, c, i, j, pIndex, qIndex),
                b.create<arith::AndIOp>(l, iValid, jValid));
            Value g = b.create<tensor::ExtractOp>(l, gy, ValueRange{n, c, i, j});
            return b.create<arith::SelectOp>(
                l, hit, g, scalarConstant(b, l, elementType, 0.0));
          });
      rewriter.replaceOp(op, result);
      return success();
    }
    SmallVector<AffineExpr> e = dims(6, ctx); // n, c, h, w, p, q
    SmallVector<AffineMap> gatherMaps = {
        AffineMap::get(6, 0, {e[4], e[5]}, ctx),
        AffineMap::get(6, 0, {e[0], e[1], e[2], e[3]}, ctx)};
    Value zero = createFilled(rewriter, loc, inputType,
                              rewriter.getFloatAttr(elementType, 0.0));
    Value result = buildGeneric(
        rewriter, loc, zero,
        windowShape(rewriter, loc, k[0], k[1], elementType), gatherMaps,
        iterators(4, 2), [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value n = b.create<linalg::IndexOp>(l, 0);
          Value c = b.create<linalg::IndexOp>(l, 1);
          Value pIndex = b.create<linalg::IndexOp>(l, 4);
          Value qIndex = b.create<linalg::IndexOp>(l, 5);
          // Window row i with h = i * s - pad + p * d: i * s = h + pad - p * d.
          auto windowIndex = [&](unsigned dim, Value offset, int64_t stride,
                                 int64_t pad, int64_t dilation,
                                 int64_t windows) {
            Value pos = b.create<arith::AddIOp>(
                l, b.create<linalg::IndexOp>(l, dim),
                indexConstant(b, l, pad));
            Value shifted = b.create<arith::SubIOp>(
                l, pos,
                b.create<arith::MulIOp>(l, offset,
                                        indexConstant(b, l, dilation)));
            return spreadIndex(b, l, shifted, {0, stride, windows, 0});
          };
          auto [i, iValid] = windowIndex(2, pIndex, s[0], p[0], d[0], oh);
          auto [j, jValid] = windowIndex(3, qIndex, s[1], p[1], d[1], ow);
          Value hit = b.create<arith::AndIOp>(
              l, isWinnerAt(b, l, n, c, i, j, pIndex, qIndex),
              b.create<arith::AndIOp>(l, iValid, jValid));
          Value g = b.create<tensor::ExtractOp>(l, gy, ValueRange{n, c, i, j});
          Value contribution = b.create<arith::SelectOp>(
              l, hit, g, scalarConstant(b, l, elementType, 0.0));
          return b.create<arith::AddFOp>(l, v[1], contribution);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void lowering::populatePoolGroupPatterns(RewritePatternSet &patterns) {
  patterns.add<MaxPool2DLowering, MaxPool2DGradLowering>(
      patterns.getContext());
}
