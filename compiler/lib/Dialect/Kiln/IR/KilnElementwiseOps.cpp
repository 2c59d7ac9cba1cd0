//===- KilnElementwiseOps.cpp - shape rules of the elementwise ops --------===//
//
// The ops of KilnElementwiseOps.td: result shapes (NumPy broadcasting, as in
// KilnOps.cpp) and the random_normal verifier. Their VJP rules are in
// KilnElementwiseVJP.cpp.
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

/// Broadcast shape of all `operands`, which must share one element type.
LogicalResult inferBroadcast(StringRef opName, std::optional<Location> loc,
                             ValueRange operands,
                             SmallVectorImpl<Type> &types) {
  Type element = tensorOf(operands[0]).getElementType();
  SmallVector<int64_t> shape(tensorOf(operands[0]).getShape());
  for (Value operand : operands.drop_front()) {
    auto type = tensorOf(operand);
    if (type.getElementType() != element)
      return emitOptionalError(loc, opName, ": element types differ (", element,
                               " vs ", type.getElementType(), ")");
    auto next = broadcastShapes(shape, type.getShape());
    if (failed(next))
      return emitOptionalError(loc, opName, ": shapes ", formatShape(shape),
                               " and ", formatShape(type.getShape()),
                               " cannot be broadcast together");
    shape = *next;
  }
  types.push_back(RankedTensorType::get(shape, element));
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Shape inference and verifiers
//===----------------------------------------------------------------------===//

#define KILN_BROADCAST_INFER(OP, NAME)                                         \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, ValueRange operands,         \
      DictionaryAttr, RegionRange, SmallVectorImpl<Type> &types) {             \
    return inferBroadcast(NAME, loc, operands, types);                         \
  }
KILN_BROADCAST_INFER(MaximumOp, "maximum")
KILN_BROADCAST_INFER(MinimumOp, "minimum")
KILN_BROADCAST_INFER(PowOp, "pow")
KILN_BROADCAST_INFER(SelectOp, "select")
#undef KILN_BROADCAST_INFER

LogicalResult RandomNormalOp::verify() {
  if (tensorOf(getSeed()).getRank() != 0)
    return emitOpError("seed must be a 0-d tensor<i64>");
  double stddev = getStd().convertToDouble();
  if (!(stddev >= 0.0))
    return emitOpError("std must be non-negative, got ") << stddev;
  return success();
}

//===----------------------------------------------------------------------===//
// VJP rules
//===----------------------------------------------------------------------===//
