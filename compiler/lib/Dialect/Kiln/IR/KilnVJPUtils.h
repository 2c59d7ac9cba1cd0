//===- KilnVJPUtils.h - helpers shared by the VJP rules ---------*- C++ -*-===//
//
// The VJP rules of each op group live in one file beside the group's shape
// rules: KilnOps.td -> KilnVJP.cpp, Kiln<Group>Ops.td -> Kiln<Group>VJP.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_DIALECT_KILN_IR_KILNVJPUTILS_H
#define KILN_LIB_DIALECT_KILN_IR_KILNVJPUTILS_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

namespace kiln::vjp {

inline mlir::RankedTensorType tensorOf(mlir::Value v) {
  return v.getType().cast<mlir::RankedTensorType>();
}

/// A splat zero tensor of `type`.
mlir::Value zeros(mlir::OpBuilder &b, mlir::Location loc,
                  mlir::RankedTensorType type);

/// A rank-0 constant of `value`, broadcastable against any shape.
mlir::Value scalar(mlir::OpBuilder &b, mlir::Location loc, double value,
                   mlir::Type elementType);

/// Sums `grad` over the dimensions that broadcasting added or stretched, so
/// that it has `target`'s shape again.
mlir::Value unbroadcast(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value grad, mlir::Type target);

} // namespace kiln::vjp

#endif // KILN_LIB_DIALECT_KILN_IR_KILNVJPUTILS_H
