//===- KilnLayoutOps.cpp - shape rules of the layout ops ------------------===//
//
// Shape inference and folders of kiln.slice, slice_scatter, concat, gather,
// scatter_add and topk. The DSL calls the same inference at trace time, so
// every message names the shapes involved. Their VJP rules are in
// KilnLayoutVJP.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace kiln;

namespace {
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
