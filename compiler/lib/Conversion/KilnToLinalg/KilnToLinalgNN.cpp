//===- KilnToLinalgNN.cpp - lowering of the NN ops ------------------------===//
//
// Patterns of convert-kiln-to-linalg for KilnNNOps.td: conv2d and its two
// gradients, and the elementwise rsqrt and increment (one linalg.generic
// each, as in KilnToLinalgElementwise.cpp); max_pool2d and its gradient are
// in KilnToLinalgPool.cpp, which shares the padding and window builders
// defined here.
//
// Convolutions become im2col + one 2-D matrix product, so that the matmul
// kernels of kiln-vectorize-matmul do the arithmetic:
//
//   conv2d         col[N*OH*OW, C*KH*KW] x weight^T[C*KH*KW, O]
//   weight grad    (col^T[C*KH*KW, N*OH*OW] x grad_out[N*OH*OW, O])^T
//   input grad     a stride-1 conv2d of grad_out, dilated by the stride and
//                  padded by dilation*(K-1) - padding, with the weight
//                  flipped and its channel dims swapped (a transposed conv)
//
// The products are linalg.generic ops of exactly the form the vectorizer
// recognizes (maps (i,k), (k,j), (i,j); iterators parallel, reduction,
// parallel; body out + a * b). Grouped convolutions (groups > 1) use one
// direct loop nest instead.
//
// A whole batch's im2col is the largest buffer of a convolutional step (40
// MB of LeNet's 50 MB arena at batch 128). Where it exceeds the pass's
// im2col-chunk-bytes, the batch runs in chunks of images in one scf.for: the
// chunk's im2col and product are buffers of the chunk's size, reused by
// every iteration, and the weight gradient accumulates the chunks' products
// in order, so each sum runs over (n, i, j) as before.
//
// Every indexing map here is a projected permutation: the CPU pipeline
// lowers linalg to affine loops and runs the affine super-vectorizer, which
// cannot vectorize the affine.apply ops that a window map (i * s + p * d)
// turns into. Windowed reads (padding, im2col, pooling windows, the
// flipped weight) are therefore gathers: tensor.extract at indices computed
// from linalg.index in the body, loops that stay scalar for LLVM to
// optimize.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "KilnToLinalgCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

using utils::IteratorType;

//===----------------------------------------------------------------------===//
// Builders shared with KilnToLinalgPool.cpp (see KilnToLinalgCommon.h)
//===----------------------------------------------------------------------===//

Value lowering::indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return b.create<arith::ConstantIndexOp>(loc, value);
}

Value lowering::loopIndex(OpBuilder &b, Location loc, int64_t dim) {
  return b.create<linalg::IndexOp>(loc, dim);
}

SmallVector<IteratorType> lowering::iterators(int64_t parallel,
                                              int64_t reduction) {
  SmallVector<IteratorType> result(parallel, IteratorType::parallel);
  result.append(reduction, IteratorType::reduction);
  return result;
}

SmallVector<AffineExpr> lowering::dims(int64_t count, MLIRContext *ctx) {
  SmallVector<AffineExpr> result;
  for (int64_t d = 0; d < count; ++d)
    result.push_back(getAffineDimExpr(d, ctx));
  return result;
}

RankedTensorType lowering::withShape(Value like, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, tensorType(like).getElementType());
}

Value lowering::windowShape(OpBuilder &b, Location loc, int64_t rows,
                            int64_t cols, Type elementType) {
  return createEmpty(b, loc, RankedTensorType::get({rows, cols}, elementType));
}

std::pair<Value, Value> lowering::spreadIndex(OpBuilder &b, Location loc,
                                              Value i, const Spread &s) {
  Value zero = indexConstant(b, loc, 0);
  Value t =
      s.before == 0
          ? i
          : b.create<arith::SubIOp>(loc, i, indexConstant(b, loc, s.before));
  Value valid =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, t, zero);
  Value source = b.create<arith::MaxSIOp>(loc, t, zero);
  if (s.step != 1) {
    Value step = indexConstant(b, loc, s.step);
    Value rem = b.create<arith::RemUIOp>(loc, source, step);
    valid = b.create<arith::AndIOp>(
        loc, valid,
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, rem, zero));
    source = b.create<arith::DivUIOp>(loc, source, step);
  }
  Value last = indexConstant(b, loc, s.size - 1);
  valid = b.create<arith::AndIOp>(
      loc, valid,
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sle, source, last));
  source = b.create<arith::MinSIOp>(loc, source, last);
  return {source, valid};
}

Value lowering::padDilate(OpBuilder &b, Location loc, Value x,
                          const Spread &rows, const Spread &cols,
                          TypedAttr padValue) {
  if (rows.isIdentity() && cols.isIdentity())
    return x;
  ArrayRef<int64_t> shape = tensorType(x).getShape();
  RankedTensorType type =
      withShape(x, {shape[0], shape[1], rows.result, cols.result});
  MLIRContext *ctx = b.getContext();
  if (rows.isPlainPadding() && cols.isPlainPadding()) {
    // The pad value everywhere (a vectorized, threaded fill), then x copied
    // into the interior: a gather into the slice, which
    // kiln-vectorize-gathers turns into row copies. The general form below
    // selects per element between a clamped read and the pad value, in
    // scalar loops that no pass can split across threads.
    Value filled = createFilled(b, loc, type, padValue);
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr(rows.before),
                                         b.getIndexAttr(cols.before)};
    SmallVector<OpFoldResult> sizes, strides(4, b.getIndexAttr(1));
    for (int64_t dim : shape)
      sizes.push_back(b.getIndexAttr(dim));
    Value interior = b.create<tensor::ExtractSliceOp>(
        loc, tensorType(x), filled, offsets, sizes, strides);
    Value copied = buildGeneric(
        b, loc, interior, ValueRange{},
        {AffineMap::getMultiDimIdentityMap(4, ctx)}, iterators(4, 0),
        [&](OpBuilder &nb, Location l, ValueRange) -> Value {
          SmallVector<Value> at;
          for (unsigned dim = 0; dim < 4; ++dim)
            at.push_back(loopIndex(nb, l, dim));
          return nb.create<tensor::ExtractOp>(l, x, at);
        });
    return b.create<tensor::InsertSliceOp>(loc, copied, filled, offsets, sizes,
                                           strides);
  }
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(4, ctx)};
  return buildGeneric(
      b, loc, createEmpty(b, loc, type), ValueRange{}, maps, iterators(4, 0),
      [&](OpBuilder &nb, Location l, ValueRange) -> Value {
        Value n = nb.create<linalg::IndexOp>(l, 0);
        Value c = nb.create<linalg::IndexOp>(l, 1);
        auto [h, hValid] =
            spreadIndex(nb, l, nb.create<linalg::IndexOp>(l, 2), rows);
        auto [w, wValid] =
            spreadIndex(nb, l, nb.create<linalg::IndexOp>(l, 3), cols);
        Value v = nb.create<tensor::ExtractOp>(l, x, ValueRange{n, c, h, w});
        Value valid = nb.create<arith::AndIOp>(l, hValid, wValid);
        Value pad = nb.create<arith::ConstantOp>(l, padValue);
        return nb.create<arith::SelectOp>(l, valid, v, pad);
      });
}

Value lowering::scaledSum(OpBuilder &b, Location loc, Value i, int64_t scale,
                          Value j, int64_t scale2) {
  auto times = [&](Value v, int64_t k) -> Value {
    if (k == 1)
      return v;
    return b.create<arith::MulIOp>(loc, v, indexConstant(b, loc, k));
  };
  return b.create<arith::AddIOp>(loc, times(i, scale), times(j, scale2));
}

Value lowering::windowElement(OpBuilder &b, Location loc, Value xp, Value n,
                              Value c, Value i, Value j, Value p, Value q,
                              ArrayRef<int64_t> stride,
                              ArrayRef<int64_t> dilation) {
  Value h = scaledSum(b, loc, i, stride[0], p, dilation[0]);
  Value w = scaledSum(b, loc, j, stride[1], q, dilation[1]);
  return b.create<tensor::ExtractOp>(loc, xp, ValueRange{n, c, h, w});
}

namespace {

Value zeroPad(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> padding) {
  ArrayRef<int64_t> shape = tensorType(x).getShape();
  Type elementType = tensorType(x).getElementType();
  return padDilate(b, loc, x,
                   {padding[0], 1, shape[2], shape[2] + 2 * padding[0]},
                   {padding[1], 1, shape[3], shape[3] + 2 * padding[1]},
                   b.getFloatAttr(elementType, 0.0));
}

//===----------------------------------------------------------------------===//
// Convolution cores (on an already padded input)
//===----------------------------------------------------------------------===//

struct ConvWindow {
  int64_t kh, kw, oh, ow;
  ArrayRef<int64_t> stride, dilation;
  int64_t groups;
  /// convert-kiln-to-linalg's im2col-chunk-bytes: 0 for the whole batch.
  int64_t im2colChunkBytes = 0;
};

/// C = A x B, or C = acc + A x B with `acc`, in the generic form
/// kiln-vectorize-matmul turns into register-blocked vector kernels.
Value matmul2D(OpBuilder &b, Location loc, Value lhs, Value rhs,
               Value acc = {}) {
  MLIRContext *ctx = b.getContext();
  int64_t m = tensorType(lhs).getDimSize(0);
  int64_t n = tensorType(rhs).getDimSize(1);
  RankedTensorType type = withShape(lhs, {m, n});
  Value zero = acc ? acc
                   : createFilled(b, loc, type,
                                  b.getFloatAttr(type.getElementType(), 0.0));
  AffineExpr i, k, j;
  bindDims(ctx, i, k, j);
  SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {i, k}, ctx),
                                 AffineMap::get(3, 0, {k, j}, ctx),
                                 AffineMap::get(3, 0, {i, j}, ctx)};
  SmallVector<IteratorType> its = {IteratorType::parallel,
                                   IteratorType::reduction,
                                   IteratorType::parallel};
  return buildGeneric(b, loc, zero, {lhs, rhs}, maps, its,
                      [](OpBuilder &nb, Location l, ValueRange x) -> Value {
                        Value product = nb.create<arith::MulFOp>(l, x[0], x[1]);
                        return nb.create<arith::AddFOp>(l, x[2], product);
                      });
}

/// [A, B] -> [B, A], the 2-D form kiln-tile-transposes tiles.
Value transpose2D(OpBuilder &b, Location loc, Value x) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = tensorType(x).getShape();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {j, i}, ctx),
                                 AffineMap::get(2, 0, {i, j}, ctx)};
  return buildGeneric(b, loc,
                      createEmpty(b, loc, withShape(x, {shape[1], shape[0]})),
                      x, maps, iterators(2, 0),
                      [](OpBuilder &, Location, ValueRange v) { return v[0]; });
}

/// The input channel of member `ci` of the group of output channel `o`:
/// (o / (O/groups)) * (C/groups) + ci.
Value groupChannel(OpBuilder &b, Location loc, Value o, Value ci,
                   int64_t outPerGroup, int64_t inPerGroup) {
  Value group =
      b.create<arith::DivUIOp>(loc, o, indexConstant(b, loc, outPerGroup));
  return scaledSum(b, loc, group, inPerGroup, ci, 1);
}

/// im2col of `images` images of a padded [N, C, Hp, Wp] from image
/// `firstImage` on (from 0 when null): col[(n,i,j), (c,p,q)] =
/// xp[firstImage + n, c, i*s0 + p*d0, j*s1 + q*d1] as
/// [images*OH*OW, C*KH*KW], or its transpose [C*KH*KW, images*OH*OW] with
/// `transposed`. A gather with tensor.extract: every indexing map stays a
/// projected permutation, which the affine lowering and super-vectorizer of
/// the CPU pipeline need.
Value im2col(OpBuilder &b, Location loc, Value xp, const ConvWindow &w,
             bool transposed, Value firstImage, int64_t images) {
  MLIRContext *ctx = b.getContext();
  int64_t c = tensorType(xp).getDimSize(1);
  // Loop dims of (n, i, j, c, p, q) in the result's order.
  SmallVector<unsigned> at = transposed ? SmallVector<unsigned>{3, 4, 5, 0, 1, 2}
                                        : SmallVector<unsigned>{0, 1, 2, 3, 4, 5};
  SmallVector<int64_t> sizes = {images, w.oh, w.ow, c, w.kh, w.kw},
                       resultShape(6);
  for (unsigned k = 0; k < 6; ++k)
    resultShape[at[k]] = sizes[k];
  Value cols = buildGeneric(
      b, loc, createEmpty(b, loc, withShape(xp, resultShape)), ValueRange{},
      {AffineMap::getMultiDimIdentityMap(6, ctx)}, iterators(6, 0),
      [&](OpBuilder &nb, Location l, ValueRange) -> Value {
        auto index = [&](unsigned k) { return loopIndex(nb, l, at[k]); };
        Value image = index(0);
        if (firstImage)
          image = nb.create<arith::AddIOp>(l, firstImage, image);
        return windowElement(nb, l, xp, image, index(3), index(1), index(2),
                             index(4), index(5), w.stride, w.dilation);
      });
  int64_t rows = images * w.oh * w.ow, columns = c * w.kh * w.kw;
  return b.create<tensor::CollapseShapeOp>(
      loc,
      withShape(xp, transposed ? SmallVector<int64_t>{columns, rows}
                               : SmallVector<int64_t>{rows, columns}),
      cols, SmallVector<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});
}

/// Images per im2col chunk: the largest divisor of the batch `n` (every
/// chunk has the same static shape, so one arena buffer serves them all)
/// whose chunk fits `chunkBytes`; at least one. All `n` when `chunkBytes`
/// is 0. Chunks of a few hundred KiB stay in the L2 cache between their
/// gather and the matmul that reads them (a whole batch's im2col, 40 MB for
/// LeNet at batch 128, runs from memory) and still give that matmul enough
/// columns for its vector tiles and threads.
int64_t imagesPerChunk(int64_t n, int64_t bytesPerImage, int64_t chunkBytes) {
  if (chunkBytes <= 0)
    return n;
  for (int64_t images = n; images > 1; --images)
    if (n % images == 0 && images * bytesPerImage <= chunkBytes)
      return images;
  return 1;
}

/// Images per im2col chunk of a convolution over the padded `xp` with
/// `window` = C*KH*KW. Chunked outputs are written through row gathers into
/// a strided slice, which only kiln-vectorize-gathers handles where rows
/// are single elements (the affine super-vectorizer cannot analyze strided
/// views): a one-column output keeps the whole batch.
int64_t convImagesPerChunk(Value xp, int64_t window, const ConvWindow &w) {
  int64_t n = tensorType(xp).getDimSize(0);
  if (w.ow < 2)
    return n;
  int64_t elementBytes = (tensorType(xp).getElementTypeBitWidth() + 7) / 8;
  return imagesPerChunk(n, window * w.oh * w.ow * elementBytes,
                        w.im2colChunkBytes);
}

/// Chunk body: given the chunk's first image (null for a single chunk of
/// the whole batch) and the value carried so far, returns the next value.
using ChunkBody =
    llvm::function_ref<Value(OpBuilder &, Location, Value, Value)>;

/// Runs `body` over the batch in chunks of `images` images, in order,
/// carrying `init` through them: one scf.for whose iteration buffers (the
/// im2col chunk, its product) bufferize to one static arena buffer each.
/// A batch that fits one chunk gets no loop. The loop is marked
/// kiln.chunk_lanes for kiln-parallelize-chunk-loops: each chunk either
/// writes its own slice of `init`, or adds into `init`, which must then be
/// zeros (a weight gradient's sum); no chunk reads what another writes.
Value forEachChunk(OpBuilder &b, Location loc, int64_t n, int64_t images,
                   Value init, ChunkBody body) {
  if (images == n)
    return body(b, loc, Value(), init);
  auto loop = b.create<scf::ForOp>(
      loc, indexConstant(b, loc, 0), indexConstant(b, loc, n),
      indexConstant(b, loc, images), ValueRange{init},
      [&](OpBuilder &nb, Location l, Value first, ValueRange carried) {
        nb.create<scf::YieldOp>(l, body(nb, l, first, carried[0]));
      });
  loop->setAttr(KilnDialect::getChunkLanesAttrName(), b.getUnitAttr());
  return loop.getResult(0);
}

/// `images` images of the [N, A, B, C] `x` from `firstImage` on (from 0
/// when null), with dims permuted: result dim k is x's dim `order[k]`.
/// A gather (tensor.extract in the body), like im2col: no strided view of
/// `x`, whose affine loads MLIR 16's super-vectorizer cannot analyze.
Value gatherImages(OpBuilder &b, Location loc, Value x, Value firstImage,
                   int64_t images, ArrayRef<unsigned> order) {
  SmallVector<int64_t> shape(tensorType(x).getShape());
  shape[0] = images;
  SmallVector<int64_t> resultShape;
  for (unsigned dim : order)
    resultShape.push_back(shape[dim]);
  return buildGeneric(
      b, loc, createEmpty(b, loc, withShape(x, resultShape)), ValueRange{},
      {AffineMap::getMultiDimIdentityMap(4, b.getContext())}, iterators(4, 0),
      [&](OpBuilder &nb, Location l, ValueRange) -> Value {
        SmallVector<Value> at(4);
        for (unsigned k = 0; k < 4; ++k)
          at[order[k]] = loopIndex(nb, l, k);
        if (firstImage)
          at[0] = nb.create<arith::AddIOp>(l, firstImage, at[0]);
        return nb.create<tensor::ExtractOp>(l, x, at);
      });
}

/// y with images [firstImage, firstImage + B) set to the [O, B, OH, OW]
/// `onhw` in NCHW order: a gather into the slice (written in place: the
/// pipeline's eliminate-empty-tensors), which kiln-vectorize-gathers turns
/// into row copies. For the whole batch (null `firstImage`), into `y`.
Value storeImages(OpBuilder &b, Location loc, Value y, Value firstImage,
                  Value onhw) {
  ArrayRef<int64_t> chunk = tensorType(onhw).getShape();
  SmallVector<int64_t> sliceShape = {chunk[1], chunk[0], chunk[2], chunk[3]};
  auto gather = [&](Value into) {
    return buildGeneric(
        b, loc, into, ValueRange{},
        {AffineMap::getMultiDimIdentityMap(4, b.getContext())}, iterators(4, 0),
        [&](OpBuilder &nb, Location l, ValueRange) -> Value {
          Value n = loopIndex(nb, l, 0), o = loopIndex(nb, l, 1);
          return nb.create<tensor::ExtractOp>(
              l, onhw,
              ValueRange{o, n, loopIndex(nb, l, 2), loopIndex(nb, l, 3)});
        });
  };
  if (!firstImage)
    return gather(y);
  SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0)), sizes,
      strides(4, b.getIndexAttr(1));
  offsets[0] = firstImage;
  for (int64_t dim : sliceShape)
    sizes.push_back(b.getIndexAttr(dim));
  Value slice = b.create<tensor::ExtractSliceOp>(loc, withShape(y, sliceShape),
                                                 y, offsets, sizes, strides);
  return b.create<tensor::InsertSliceOp>(loc, gather(slice), y, offsets, sizes,
                                         strides);
}

/// conv2d of a padded input xp [N, C, Hp, Wp] with weight [O, C/g, KH, KW].
Value convCore(OpBuilder &b, Location loc, Value xp, Value weight,
               const ConvWindow &w) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> ws = tensorType(weight).getShape();
  int64_t n = tensorType(xp).getDimSize(0), o = ws[0], cg = ws[1];
  RankedTensorType outType = withShape(xp, {n, o, w.oh, w.ow});
  Type elementType = outType.getElementType();
  if (w.groups == 1) {
    // Per chunk of images:
    // y^T [O, B*OH*OW] = weight [O, C*KH*KW] x col^T [C*KH*KW, B*OH*OW]:
    // the matmul kernel vectorizes along the long B*OH*OW columns, where
    // the [B*OH*OW, O] form would fill only O of 16 lanes for few channels
    // (6 in LeNet; C channels in an input gradient, often 1 to 6).
    int64_t window = cg * w.kh * w.kw;
    int64_t images = convImagesPerChunk(xp, window, w);
    Value flatWeight = b.create<tensor::CollapseShapeOp>(
        loc, withShape(weight, {o, window}), weight,
        SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
    return forEachChunk(
        b, loc, n, images, createEmpty(b, loc, outType),
        [&](OpBuilder &nb, Location l, Value first, Value y) {
          Value colsT =
              im2col(nb, l, xp, w, /*transposed=*/true, first, images);
          Value product = matmul2D(nb, l, flatWeight, colsT);
          // [O, B*OH*OW] -> [O, B, OH, OW] (a view) -> y[first:, O, OH, OW]
          Value onhw = nb.create<tensor::ExpandShapeOp>(
              l, withShape(product, {o, images, w.oh, w.ow}), product,
              SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
          return storeImages(nb, l, y, first, onhw);
        });
  }
  // Grouped: one loop nest (n, o, i, j | ci, p, q).
  SmallVector<AffineExpr> d = dims(7, ctx);
  AffineMap filter = AffineMap::get(7, 0, {d[1], d[4], d[5], d[6]}, ctx);
  AffineMap out = AffineMap::get(7, 0, {d[0], d[1], d[2], d[3]}, ctx);
  Value zero = createFilled(b, loc, outType, b.getFloatAttr(elementType, 0.0));
  int64_t og = o / w.groups;
  return buildGeneric(
      b, loc, zero, weight, {filter, out}, iterators(4, 3),
      [&](OpBuilder &nb, Location l, ValueRange v) -> Value {
        Value oc = loopIndex(nb, l, 1);
        Value c = groupChannel(nb, l, oc, loopIndex(nb, l, 4), og, cg);
        Value x = windowElement(nb, l, xp, loopIndex(nb, l, 0), c,
                                loopIndex(nb, l, 2), loopIndex(nb, l, 3),
                                loopIndex(nb, l, 5), loopIndex(nb, l, 6),
                                w.stride, w.dilation);
        Value p = nb.create<arith::MulFOp>(l, x, v[0]);
        return nb.create<arith::AddFOp>(l, v[1], p);
      });
}

/// Weight gradient of a conv2d whose padded input is xp.
Value convWeightGradCore(OpBuilder &b, Location loc, Value xp, Value gy,
                         RankedTensorType weightType, const ConvWindow &w) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> ws = weightType.getShape();
  int64_t n = tensorType(gy).getDimSize(0), o = ws[0], cg = ws[1];
  int64_t positions = w.oh * w.ow;
  if (w.groups == 1) {
    // Sums over the batch, chunk by chunk into one accumulator: each
    // weight's sum runs over (n, i, j) in order, as one whole-batch product
    // would.
    int64_t windowSize = cg * w.kh * w.kw;
    int64_t images = convImagesPerChunk(xp, windowSize, w);
    Type elementType = weightType.getElementType();
    // The matmul kernel vectorizes along the product's columns: make them
    // the larger of O and C*KH*KW. The long B*OH*OW reduction then walks
    // rows of the right operand:
    //   gw [O, C*KH*KW] += gy^T [O, B*OH*OW] x col [B*OH*OW, C*KH*KW], or
    //   gw^T [C*KH*KW, O] += col^T [C*KH*KW, B*OH*OW] x gy [B*OH*OW, O].
    bool weightLayout = windowSize > o;
    int64_t rows = weightLayout ? o : windowSize;
    int64_t columns = weightLayout ? windowSize : o;
    Value zero = createFilled(
        b, loc, RankedTensorType::get({rows, columns}, elementType),
        b.getFloatAttr(elementType, 0.0));
    Value product = forEachChunk(
        b, loc, n, images, zero,
        [&](OpBuilder &nb, Location l, Value first, Value acc) {
          Value cols =
              im2col(nb, l, xp, w, /*transposed=*/!weightLayout, first, images);
          if (weightLayout) {
            Value gyT = nb.create<tensor::CollapseShapeOp>(
                l, withShape(gy, {o, images * positions}),
                gatherImages(nb, l, gy, first, images, {1, 0, 2, 3}),
                SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
            return matmul2D(nb, l, gyT, cols, acc);
          }
          Value gy2 = nb.create<tensor::CollapseShapeOp>(
              l, withShape(gy, {images * positions, o}),
              gatherImages(nb, l, gy, first, images, {0, 2, 3, 1}),
              SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});
          return matmul2D(nb, l, cols, gy2, acc);
        });
    if (!weightLayout)
      product = transpose2D(b, loc, product);
    return b.create<tensor::ExpandShapeOp>(
        loc, weightType, product,
        SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  }
  // Grouped: one loop nest (o, ci, p, q | n, i, j).
  SmallVector<AffineExpr> d = dims(7, ctx);
  AffineMap grad = AffineMap::get(7, 0, {d[4], d[0], d[5], d[6]}, ctx);
  AffineMap out = AffineMap::get(7, 0, {d[0], d[1], d[2], d[3]}, ctx);
  Value zero = createFilled(b, loc, weightType,
                            b.getFloatAttr(weightType.getElementType(), 0.0));
  int64_t og = o / w.groups;
  return buildGeneric(
      b, loc, zero, gy, {grad, out}, iterators(4, 3),
      [&](OpBuilder &nb, Location l, ValueRange v) -> Value {
        Value c = groupChannel(nb, l, loopIndex(nb, l, 0), loopIndex(nb, l, 1),
                               og, cg);
        Value x = windowElement(nb, l, xp, loopIndex(nb, l, 4), c,
                                loopIndex(nb, l, 5), loopIndex(nb, l, 6),
                                loopIndex(nb, l, 2), loopIndex(nb, l, 3),
                                w.stride, w.dilation);
        Value p = nb.create<arith::MulFOp>(l, x, v[0]);
        return nb.create<arith::AddFOp>(l, v[1], p);
      });
}

template <typename OpTy>
ConvWindow convWindow(OpTy op, ArrayRef<int64_t> weightShape,
                      ArrayRef<int64_t> outputShape) {
  return {weightShape[2], weightShape[3], outputShape[2], outputShape[3],
          op.getStride(), op.getDilation(),
          static_cast<int64_t>(op.getGroups())};
}

//===----------------------------------------------------------------------===//
// Conversion patterns
//===----------------------------------------------------------------------===//

/// A convolution pattern, with the lowering's im2col chunk size.
template <typename OpTy> struct ConvPattern : OpConversionPattern<OpTy> {
  ConvPattern(MLIRContext *ctx, int64_t im2colChunkBytes)
      : OpConversionPattern<OpTy>(ctx), im2colChunkBytes(im2colChunkBytes) {}
  int64_t im2colChunkBytes;
};

struct Conv2DLowering : ConvPattern<Conv2DOp> {
  using ConvPattern::ConvPattern;

  LogicalResult
  matchAndRewrite(Conv2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value weight = adaptor.getWeight();
    ConvWindow w = convWindow(op, tensorType(weight).getShape(),
                              tensorType(op.getResult()).getShape());
    w.im2colChunkBytes = im2colChunkBytes;
    Value xp = zeroPad(rewriter, loc, adaptor.getInput(), op.getPadding());
    rewriter.replaceOp(op, convCore(rewriter, loc, xp, weight, w));
    return success();
  }
};

struct Conv2DWeightGradLowering : ConvPattern<Conv2DWeightGradOp> {
  using ConvPattern::ConvPattern;

  LogicalResult
  matchAndRewrite(Conv2DWeightGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType weightType = tensorType(op.getResult());
    Value gy = adaptor.getGradOutput();
    ConvWindow w =
        convWindow(op, weightType.getShape(), tensorType(gy).getShape());
    w.im2colChunkBytes = im2colChunkBytes;
    Value xp = zeroPad(rewriter, loc, adaptor.getInput(), op.getPadding());
    rewriter.replaceOp(
        op, convWeightGradCore(rewriter, loc, xp, gy, weightType, w));
    return success();
  }
};

/// gx = conv2d(spread(gy), flip(w)^T) with stride 1: gy dilated by the
/// stride and padded by dilation * (K - 1) - padding (a crop where that is
/// negative), to exactly H + dilation * (K - 1) rows, so the stride-1
/// convolution has H rows; the weight [O, C/g, KH, KW] becomes
/// [C, O/g, KH, KW], spatially flipped, with the channel roles swapped
/// within each group.
struct Conv2DInputGradLowering : ConvPattern<Conv2DInputGradOp> {
  using ConvPattern::ConvPattern;

  LogicalResult
  matchAndRewrite(Conv2DInputGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    RankedTensorType inputType = tensorType(op.getResult());
    Value gy = adaptor.getGradOutput(), weight = adaptor.getWeight();
    ArrayRef<int64_t> x = inputType.getShape(), ws =
                                                   tensorType(weight).getShape(),
                      ys = tensorType(gy).getShape();
    ArrayRef<int64_t> s = op.getStride(), p = op.getPadding(),
                      d = op.getDilation();
    int64_t groups = op.getGroups();
    int64_t o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
    int64_t c = x[1], og = o / groups;

    int64_t spanH = d[0] * (kh - 1), spanW = d[1] * (kw - 1);
    Value spread = padDilate(
        rewriter, loc, gy, {spanH - p[0], s[0], ys[2], x[2] + spanH},
        {spanW - p[1], s[1], ys[3], x[3] + spanW},
        rewriter.getFloatAttr(inputType.getElementType(), 0.0));

    // flipped[c, oi, p, q] = w[(c / cg) * og + oi, c % cg, KH-1-p, KW-1-q]
    Value flipped = buildGeneric(
        rewriter, loc,
        createEmpty(rewriter, loc, withShape(weight, {c, og, kh, kw})),
        ValueRange{}, {AffineMap::getMultiDimIdentityMap(4, ctx)},
        iterators(4, 0), [&](OpBuilder &b, Location l, ValueRange) -> Value {
          Value ci = loopIndex(b, l, 0), oi = loopIndex(b, l, 1);
          Value outChannel = oi, inChannel = ci;
          if (groups != 1) {
            Value cgValue = indexConstant(b, l, cg);
            Value group = b.create<arith::DivUIOp>(l, ci, cgValue);
            outChannel = scaledSum(b, l, group, og, oi, 1);
            inChannel = b.create<arith::RemUIOp>(l, ci, cgValue);
          }
          auto flip = [&](unsigned dim, int64_t size) -> Value {
            return b.create<arith::SubIOp>(l, indexConstant(b, l, size - 1),
                                           loopIndex(b, l, dim));
          };
          return b.create<tensor::ExtractOp>(
              l, weight, ValueRange{outChannel, inChannel, flip(2, kh),
                                    flip(3, kw)});
        });

    static const int64_t unit[] = {1, 1};
    ConvWindow w{kh, kw, x[2], x[3], unit, d, groups, im2colChunkBytes};
    rewriter.replaceOp(op, convCore(rewriter, loc, spread, flipped, w));
    return success();
  }
};

struct RsqrtLowering : OpConversionPattern<RsqrtOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RsqrtOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildElementwise(rewriter, op.getLoc(), tensorType(op.getResult()),
                             adaptor.getInput(),
                             [](OpBuilder &b, Location l, ValueRange x) -> Value {
                               return b.create<math::RsqrtOp>(l, x[0]);
                             }));
    return success();
  }
};

struct IncrementLowering : OpConversionPattern<IncrementOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(IncrementOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildElementwise(
                rewriter, op.getLoc(), tensorType(op.getResult()),
                adaptor.getInput(),
                [](OpBuilder &b, Location l, ValueRange x) -> Value {
                  Value one = b.create<arith::ConstantOp>(
                      l, b.getIntegerAttr(x[0].getType(), 1));
                  return b.create<arith::AddIOp>(l, x[0], one);
                }));
    return success();
  }
};

} // namespace

void lowering::populateNNGroupPatterns(RewritePatternSet &patterns,
                                       int64_t im2colChunkBytes) {
  MLIRContext *ctx = patterns.getContext();
  patterns
      .add<Conv2DLowering, Conv2DInputGradLowering, Conv2DWeightGradLowering>(
          ctx, im2colChunkBytes);
  patterns.add<RsqrtLowering, IncrementLowering>(ctx);
}
