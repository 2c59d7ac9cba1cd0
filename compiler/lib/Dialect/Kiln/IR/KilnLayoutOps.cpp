//===- KilnLayoutOps.cpp - shape rules and VJPs of the layout ops ---------===//
//
// Shape inference, folders and vector-Jacobian products of kiln.slice,
// slice_scatter, concat, gather, scatter_add and topk. The DSL calls the
// same inference at trace time, so every message names the shapes involved.
// The VJP rules only use these ops and kiln.constant: slice <-> slice_scatter
// and gather <-> scatter_add are each other's adjoints.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace kiln;

namespace {
using Grads = SmallVector<Value>;

RankedTensorType tensorOf(Value v) {
  return v.getType().cast<RankedTensorType>();
}

/// The DenseI64ArrayAttr `name` of `attrs`, or failure after an error.
FailureOr<ArrayRef<int64_t>> arrayAttr(std::optional<Location> loc,
                                       StringRef opName, DictionaryAttr attrs,
                                       StringRef name) {
  auto attr = attrs ? attrs.getAs<DenseI64ArrayAttr>(name) : nullptr;
  if (!attr)
    return emitOptionalError(loc, opName, ": missing attribute '", name, "'");
  return attr.asArrayRef();
}

/// The I64 attribute `name` of `attrs`, or failure after an error.
FailureOr<int64_t> intAttr(std::optional<Location> loc, StringRef opName,
                           DictionaryAttr attrs, StringRef name) {
  auto attr = attrs ? attrs.getAs<IntegerAttr>(name) : nullptr;
  if (!attr)
    return emitOptionalError(loc, opName, ": missing attribute '", name, "'");
  return attr.getInt();
}

/// Checks that `dim` indexes a tensor of `shape` (rank at least 1).
LogicalResult checkDim(std::optional<Location> loc, StringRef opName,
                       int64_t dim, ArrayRef<int64_t> shape) {
  if (shape.empty())
    return emitOptionalError(loc, opName,
                             ": expects tensors of rank at least 1");
  if (dim < 0 || dim >= static_cast<int64_t>(shape.size()))
    return emitOptionalError(loc, opName, ": dim ", dim,
                             " is out of range for shape ", formatShape(shape));
  return success();
}

/// Checks one strided window per dimension of `shape`: the per-dimension
/// lists have one entry per dimension, and offset + (size - 1) * stride is
/// inside the dimension.
LogicalResult checkWindow(std::optional<Location> loc, StringRef opName,
                          ArrayRef<int64_t> shape, ArrayRef<int64_t> offsets,
                          ArrayRef<int64_t> sizes, ArrayRef<int64_t> strides) {
  size_t rank = shape.size();
  if (offsets.size() != rank || sizes.size() != rank || strides.size() != rank)
    return emitOptionalError(loc, opName, ": a rank-", rank, " tensor ",
                             formatShape(shape), " needs ", rank,
                             " offsets, sizes and strides, got ",
                             offsets.size(), ", ", sizes.size(), " and ",
                             strides.size());
  for (size_t d = 0; d < rank; ++d) {
    if (offsets[d] < 0 || sizes[d] < 1 || strides[d] < 1)
      return emitOptionalError(
          loc, opName, ": dimension ", d, " has offset ", offsets[d],
          ", size ", sizes[d], ", stride ", strides[d],
          " (expected offset >= 0, size >= 1, stride >= 1)");
    int64_t last = offsets[d] + (sizes[d] - 1) * strides[d];
    if (last >= shape[d])
      return emitOptionalError(
          loc, opName, ": window offset ", offsets[d], ", size ", sizes[d],
          ", stride ", strides[d], " reads index ", last,
          " of dimension ", d, " of ", formatShape(shape));
  }
  return success();
}

/// A splat zero tensor of `type`.
Value zeros(OpBuilder &b, Location loc, RankedTensorType type) {
  return b.create<ConstantOp>(
      loc, type,
      DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), 0.0)));
}

SmallVector<int64_t> unitStrides(int64_t rank) {
  return SmallVector<int64_t>(rank, 1);
}
} // namespace

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        ValueRange operands,
                                        DictionaryAttr attrs, RegionRange,
                                        SmallVectorImpl<Type> &types) {
  auto input = tensorOf(operands[0]);
  auto offsets = arrayAttr(loc, "slice", attrs, "offsets");
  auto sizes = arrayAttr(loc, "slice", attrs, "sizes");
  auto strides = arrayAttr(loc, "slice", attrs, "strides");
  if (failed(offsets) || failed(sizes) || failed(strides) ||
      failed(checkWindow(loc, "slice", input.getShape(), *offsets, *sizes,
                         *strides)))
    return failure();
  types.push_back(RankedTensorType::get(*sizes, input.getElementType()));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  // The whole tensor with unit strides.
  if (getInput().getType() == getType() &&
      llvm::all_of(getOffsets(), [](int64_t o) { return o == 0; }) &&
      llvm::all_of(getStrides(), [](int64_t s) { return s == 1; }))
    return getInput();
  return {};
}

// y = x[window]: dx = g in the window, 0 elsewhere.
Grads SliceOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value base = zeros(b, loc, tensorOf(getInput()));
  return {b.create<SliceScatterOp>(loc, cts[0], base, getOffsets(),
                                   getStrides())};
}

//===----------------------------------------------------------------------===//
// SliceScatterOp
//===----------------------------------------------------------------------===//

LogicalResult SliceScatterOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, RegionRange, SmallVectorImpl<Type> &types) {
  auto source = tensorOf(operands[0]), dest = tensorOf(operands[1]);
  if (source.getElementType() != dest.getElementType())
    return emitOptionalError(loc, "slice_scatter: element types differ (",
                             source.getElementType(), " vs ",
                             dest.getElementType(), ")");
  if (source.getRank() != dest.getRank())
    return emitOptionalError(loc, "slice_scatter: source ",
                             formatShape(source.getShape()), " and dest ",
                             formatShape(dest.getShape()),
                             " have different ranks");
  auto offsets = arrayAttr(loc, "slice_scatter", attrs, "offsets");
  auto strides = arrayAttr(loc, "slice_scatter", attrs, "strides");
  if (failed(offsets) || failed(strides) ||
      failed(checkWindow(loc, "slice_scatter", dest.getShape(), *offsets,
                         source.getShape(), *strides)))
    return failure();
  types.push_back(dest);
  return success();
}

// r = dest with window := source: dsource = g[window], ddest = g with the
// window zeroed.
Grads SliceScatterOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value g = cts[0];
  auto sourceType = tensorOf(getSource());
  Value gSource = b.create<SliceOp>(loc, g, getOffsets(),
                                    sourceType.getShape(), getStrides());
  Value gDest = b.create<SliceScatterOp>(loc, zeros(b, loc, sourceType), g,
                                         getOffsets(), getStrides());
  return {gSource, gDest};
}

//===----------------------------------------------------------------------===//
// ConcatOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         ValueRange operands,
                                         DictionaryAttr attrs, RegionRange,
                                         SmallVectorImpl<Type> &types) {
  if (operands.empty())
    return emitOptionalError(loc, "concat: expects at least one input");
  auto dim = intAttr(loc, "concat", attrs, "dim");
  if (failed(dim))
    return failure();
  auto first = tensorOf(operands[0]);
  ArrayRef<int64_t> firstShape = first.getShape();
  if (failed(checkDim(loc, "concat", *dim, firstShape)))
    return failure();
  SmallVector<int64_t> shape(firstShape);
  for (Value operand : operands.drop_front()) {
    auto type = tensorOf(operand);
    if (type.getElementType() != first.getElementType())
      return emitOptionalError(loc, "concat: element types differ (",
                               first.getElementType(), " vs ",
                               type.getElementType(), ")");
    ArrayRef<int64_t> s = type.getShape();
    bool compatible = s.size() == firstShape.size();
    for (size_t d = 0; compatible && d < s.size(); ++d)
      compatible = static_cast<int64_t>(d) == *dim || s[d] == firstShape[d];
    if (!compatible)
      return emitOptionalError(loc, "concat: shapes ", formatShape(firstShape),
                               " and ", formatShape(s),
                               " differ outside dimension ", *dim);
    shape[*dim] += s[*dim];
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1)
    return getInputs().front();
  return {};
}

// y = [x0, x1, ...] along dim: dx_k = the slice of g that x_k filled.
Grads ConcatOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  int64_t dim = getDim();
  auto resultType = tensorOf(getResult());
  SmallVector<int64_t> offsets(resultType.getRank(), 0);
  SmallVector<int64_t> strides = unitStrides(resultType.getRank());
  Grads grads;
  for (Value input : getInputs()) {
    ArrayRef<int64_t> sizes = tensorOf(input).getShape();
    grads.push_back(b.create<SliceOp>(loc, cts[0], offsets, sizes, strides));
    offsets[dim] += sizes[dim];
  }
  return grads;
}

//===----------------------------------------------------------------------===//
// GatherOp and ScatterAddOp
//===----------------------------------------------------------------------===//

/// torch.gather/scatter_add shape rules: `index` has `target`'s rank, and
/// index.size(d) <= target.size(d) for every d != dim.
static LogicalResult checkIndexShape(std::optional<Location> loc,
                                     StringRef opName, StringRef targetName,
                                     ArrayRef<int64_t> target,
                                     ArrayRef<int64_t> index, int64_t dim) {
  if (index.size() != target.size())
    return emitOptionalError(loc, opName, ": index of shape ",
                             formatShape(index), " must have the rank of the ",
                             targetName, " ", formatShape(target), " (",
                             index.size(), " vs ", target.size(), ")");
  if (failed(checkDim(loc, opName, dim, target)))
    return failure();
  for (size_t d = 0; d < index.size(); ++d)
    if (static_cast<int64_t>(d) != dim && index[d] > target[d])
      return emitOptionalError(
          loc, opName, ": index shape ", formatShape(index), " exceeds ",
          targetName, " shape ", formatShape(target), " in dimension ", d,
          " (only dimension ", dim, " may be larger)");
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         ValueRange operands,
                                         DictionaryAttr attrs, RegionRange,
                                         SmallVectorImpl<Type> &types) {
  auto input = tensorOf(operands[0]), index = tensorOf(operands[1]);
  auto dim = intAttr(loc, "gather", attrs, "dim");
  if (failed(dim) ||
      failed(checkIndexShape(loc, "gather", "input", input.getShape(),
                             index.getShape(), *dim)))
    return failure();
  types.push_back(
      RankedTensorType::get(index.getShape(), input.getElementType()));
  return success();
}

// y[p] = x[p with dim := index[p]]: dx = scatter_add of g into zeros.
Grads GatherOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value base = zeros(b, loc, tensorOf(getInput()));
  return {b.create<ScatterAddOp>(loc, base, getIndex(), cts[0], getDim()),
          Value()};
}

LogicalResult ScatterAddOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, RegionRange, SmallVectorImpl<Type> &types) {
  auto input = tensorOf(operands[0]), index = tensorOf(operands[1]),
       source = tensorOf(operands[2]);
  if (input.getElementType() != source.getElementType())
    return emitOptionalError(loc, "scatter_add: element types differ (",
                             input.getElementType(), " vs ",
                             source.getElementType(), ")");
  auto dim = intAttr(loc, "scatter_add", attrs, "dim");
  if (failed(dim) ||
      failed(checkIndexShape(loc, "scatter_add", "input", input.getShape(),
                             index.getShape(), *dim)))
    return failure();
  ArrayRef<int64_t> s = source.getShape(), i = index.getShape();
  bool fits = s.size() == i.size();
  for (size_t d = 0; fits && d < s.size(); ++d)
    fits = i[d] <= s[d];
  if (!fits)
    return emitOptionalError(loc, "scatter_add: index shape ", formatShape(i),
                             " does not fit in source shape ", formatShape(s));
  types.push_back(input);
  return success();
}

// r = x + scatter(src): dx = g, dsrc[p] = g[p with dim := index[p]] (zero
// outside the index-shaped corner of src).
Grads ScatterAddOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value g = cts[0];
  Value gSource = b.create<GatherOp>(loc, g, getIndex(), getDim());
  auto sourceType = tensorOf(getSource());
  if (tensorOf(gSource) != sourceType) {
    SmallVector<int64_t> offsets(sourceType.getRank(), 0);
    gSource = b.create<SliceScatterOp>(loc, gSource, zeros(b, loc, sourceType),
                                       offsets,
                                       unitStrides(sourceType.getRank()));
  }
  return {g, Value(), gSource};
}

//===----------------------------------------------------------------------===//
// TopKOp
//===----------------------------------------------------------------------===//

LogicalResult TopKOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc,
                                       ValueRange operands,
                                       DictionaryAttr attrs, RegionRange,
                                       SmallVectorImpl<Type> &types) {
  auto input = tensorOf(operands[0]);
  auto k = intAttr(loc, "topk", attrs, "k");
  auto dim = intAttr(loc, "topk", attrs, "dim");
  if (failed(k) || failed(dim) ||
      failed(checkDim(loc, "topk", *dim, input.getShape())))
    return failure();
  int64_t n = input.getDimSize(*dim);
  if (*k < 1 || *k > n)
    return emitOptionalError(loc, "topk: k = ", *k, " is out of range for ",
                             "dimension ", *dim, " of size ", n, " in ",
                             formatShape(input.getShape()),
                             " (expected 1 <= k <= ", n, ")");
  SmallVector<int64_t> shape(input.getShape());
  shape[*dim] = *k;
  types.push_back(RankedTensorType::get(shape, input.getElementType()));
  types.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  return success();
}

// values = x[indices] along dim: dx = the values' cotangent scattered to
// the selected positions (indices are distinct, so nothing accumulates).
Grads TopKOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  if (!cts[0])
    return {Value()};
  Location loc = getLoc();
  Value base = zeros(b, loc, tensorOf(getInput()));
  return {b.create<ScatterAddOp>(loc, base, getIndices(), cts[0], getDim())};
}
