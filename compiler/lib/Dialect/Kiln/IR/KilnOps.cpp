//===- KilnOps.cpp - kiln op shape inference, verifiers, folders ----------===//
//
// Shape rules live here and only here: the DSL calls the same inference at
// trace time, so a mismatch in a user's model is reported at the user's
// file:line with both shapes.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace kiln;

std::string kiln::formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleaveComma(shape, os);
  os << "]";
  return os.str();
}

FailureOr<SmallVector<int64_t>> kiln::broadcastShapes(ArrayRef<int64_t> lhs,
                                                      ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < lhs.size() ? lhs[lhs.size() - 1 - i] : 1;
    int64_t r = i < rhs.size() ? rhs[rhs.size() - 1 - i] : 1;
    if (l != r && l != 1 && r != 1)
      return failure();
    result[rank - 1 - i] = l == 1 ? r : l;
  }
  return result;
}

static RankedTensorType tensorOf(Value v) {
  return v.getType().cast<RankedTensorType>();
}

/// Checks that every axis is in range, sorted and unique.
static LogicalResult verifyAxes(std::optional<Location> loc, StringRef opName,
                                ArrayRef<int64_t> axes, int64_t rank) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= rank)
      return emitOptionalError(loc, opName, ": axis ", axes[i],
                               " is out of range for a rank-", rank, " tensor");
    if (i > 0 && axes[i] <= axes[i - 1])
      return emitOptionalError(loc, opName,
                               ": axes must be sorted and unique");
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange, DictionaryAttr attrs,
    RegionRange, SmallVectorImpl<Type> &types) {
  auto value = attrs.getAs<ElementsAttr>("value");
  if (!value)
    return failure();
  types.push_back(value.getType());
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValueAttr(); }

//===----------------------------------------------------------------------===//
// RandomUniformOp
//===----------------------------------------------------------------------===//

LogicalResult RandomUniformOp::verify() {
  if (tensorOf(getSeed()).getRank() != 0)
    return emitOpError("seed must be a 0-d tensor<i64>");
  if (getLow().convertToDouble() > getHigh().convertToDouble())
    return emitOpError("low must not exceed high");
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

static LogicalResult inferBroadcastBinary(StringRef opName,
                                          std::optional<Location> loc,
                                          ValueRange operands,
                                          SmallVectorImpl<Type> &types) {
  auto lhs = tensorOf(operands[0]), rhs = tensorOf(operands[1]);
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, opName, ": element types differ (",
                             lhs.getElementType(), " vs ",
                             rhs.getElementType(), ")");
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (failed(shape))
    return emitOptionalError(loc, opName, ": shapes ",
                             formatShape(lhs.getShape()), " and ",
                             formatShape(rhs.getShape()),
                             " cannot be broadcast together");
  types.push_back(RankedTensorType::get(*shape, lhs.getElementType()));
  return success();
}

#define KILN_BROADCAST_BINARY_INFER(OP, NAME)                                  \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, ValueRange operands,         \
      DictionaryAttr, RegionRange, SmallVectorImpl<Type> &types) {             \
    return inferBroadcastBinary(NAME, loc, operands, types);                   \
  }
KILN_BROADCAST_BINARY_INFER(AddOp, "add")
KILN_BROADCAST_BINARY_INFER(SubOp, "sub")
KILN_BROADCAST_BINARY_INFER(MulOp, "mul")
KILN_BROADCAST_BINARY_INFER(DivOp, "div")
#undef KILN_BROADCAST_BINARY_INFER

LogicalResult CompareOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr, RegionRange, SmallVectorImpl<Type> &types) {
  return inferBroadcastBinary("compare", loc, operands, types);
}

LogicalResult CompareOp::verify() {
  static constexpr StringRef kPredicates[] = {"eq", "ne", "lt",
                                              "le", "gt", "ge"};
  if (!llvm::is_contained(kPredicates, getPredicate()))
    return emitOpError("unknown predicate '")
           << getPredicate() << "' (expected eq, ne, lt, le, gt or ge)";
  return success();
}


//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr, RegionRange, SmallVectorImpl<Type> &types) {
  auto lhs = tensorOf(operands[0]), rhs = tensorOf(operands[1]);
  ArrayRef<int64_t> l = lhs.getShape(), r = rhs.getShape();
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, "matmul: element types differ (",
                             lhs.getElementType(), " vs ",
                             rhs.getElementType(), ")");
  if (l.size() != r.size() || (l.size() != 2 && l.size() != 3))
    return emitOptionalError(
        loc, "matmul: expects two rank-2 or two rank-3 tensors, got ",
        formatShape(l), " and ", formatShape(r));
  size_t n = l.size();
  if (l[n - 1] != r[n - 2] || (n == 3 && l[0] != r[0]))
    return emitOptionalError(loc, "matmul: shapes ", formatShape(l), " and ",
                             formatShape(r), " are incompatible (inner ",
                             "dimensions ", l[n - 1], " and ", r[n - 2],
                             n == 3 ? ", batch dimensions must match)" : ")");
  SmallVector<int64_t> shape(l.begin(), l.end());
  shape[n - 1] = r[n - 1];
  types.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, RegionRange regions, SmallVectorImpl<Type> &types) {
  Adaptor adaptor(operands, attrs, regions);
  auto input = tensorOf(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  int64_t rank = input.getRank();
  SmallVector<bool> seen(rank, false);
  if (static_cast<int64_t>(perm.size()) != rank)
    return emitOptionalError(loc, "transpose: permutation has ", perm.size(),
                             " entries but the input has rank ", rank);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return emitOptionalError(loc, "transpose: ",
                               formatShape(perm), " is not a permutation");
    seen[p] = true;
    shape.push_back(input.getDimSize(p));
  }
  types.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i))
      return {};
  return getInput();
}

//===----------------------------------------------------------------------===//
// ReshapeOp and BroadcastToOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = tensorOf(getInput()), out = tensorOf(getResult());
  if (in.getElementType() != out.getElementType())
    return emitOpError("element type changes from ")
           << in.getElementType() << " to " << out.getElementType();
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << formatShape(in.getShape()) << " (" << in.getNumElements()
           << " elements) to " << formatShape(out.getShape()) << " ("
           << out.getNumElements() << " elements)";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult BroadcastToOp::verify() {
  auto in = tensorOf(getInput()), out = tensorOf(getResult());
  if (in.getElementType() != out.getElementType())
    return emitOpError("element type changes from ")
           << in.getElementType() << " to " << out.getElementType();
  auto shape = broadcastShapes(in.getShape(), out.getShape());
  if (failed(shape) || ArrayRef<int64_t>(*shape) != out.getShape())
    return emitOpError("cannot broadcast ")
           << formatShape(in.getShape()) << " to "
           << formatShape(out.getShape());
  return success();
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

template <typename OpTy>
static LogicalResult inferReduce(StringRef opName, std::optional<Location> loc,
                                 ValueRange operands, DictionaryAttr attrs,
                                 RegionRange regions,
                                 SmallVectorImpl<Type> &types) {
  typename OpTy::Adaptor adaptor(operands, attrs, regions);
  auto input = tensorOf(adaptor.getInput());
  ArrayRef<int64_t> axes = adaptor.getAxes();
  if (failed(verifyAxes(loc, opName, axes, input.getRank())))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < input.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(input.getDimSize(d));
    else if (adaptor.getKeepdims())
      shape.push_back(1);
  }
  types.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

#define KILN_REDUCE_INFER(OP, NAME)                                            \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, ValueRange operands,         \
      DictionaryAttr attrs, RegionRange regions,                               \
      SmallVectorImpl<Type> &types) {                                          \
    return inferReduce<OP>(NAME, loc, operands, attrs, regions, types);        \
  }
KILN_REDUCE_INFER(ReduceSumOp, "reduce_sum")
KILN_REDUCE_INFER(ReduceMeanOp, "reduce_mean")
KILN_REDUCE_INFER(ReduceMaxOp, "reduce_max")
#undef KILN_REDUCE_INFER

//===----------------------------------------------------------------------===//
// LogSoftmaxOp, OneHotOp
//===----------------------------------------------------------------------===//

LogicalResult LogSoftmaxOp::verify() {
  int64_t rank = tensorOf(getInput()).getRank();
  int64_t axis = static_cast<int64_t>(getAxis());
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for a rank-"
                                << rank << " tensor";
  return success();
}

LogicalResult OneHotOp::verify() {
  auto in = tensorOf(getIndices()), out = tensorOf(getResult());
  if (out.getRank() != in.getRank() + 1 ||
      out.getShape().drop_back() != in.getShape())
    return emitOpError("result shape ")
           << formatShape(out.getShape()) << " must be the indices' shape "
           << formatShape(in.getShape()) << " plus a class dimension";
  return success();
}

//===----------------------------------------------------------------------===//
// VJPOp
//===----------------------------------------------------------------------===//

LogicalResult VJPOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                      ValueRange operands, DictionaryAttr,
                                      RegionRange,
                                      SmallVectorImpl<Type> &types) {
  for (Value wrt : operands.drop_front(2))
    types.push_back(wrt.getType());
  return success();
}

#define GET_OP_CLASSES
#include "kiln/Dialect/Kiln/IR/KilnOps.cpp.inc"
