//===- KilnVJPUtils.h - helpers shared by the VJP rules ---------*- C++ -*-===//
#ifndef KILN_LIB_DIALECT_KILN_IR_KILNVJPUTILS_H
#define KILN_LIB_DIALECT_KILN_IR_KILNVJPUTILS_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

namespace kiln::vjp {

/// A rank-0 constant of `value`, broadcastable against any shape.
mlir::Value scalar(mlir::OpBuilder &b, mlir::Location loc, double value,
                   mlir::Type elementType);

/// Sums `grad` over the dimensions that broadcasting added or stretched, so
/// that it has `target`'s shape again.
mlir::Value unbroadcast(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value grad, mlir::Type target);

} // namespace kiln::vjp

#endif // KILN_LIB_DIALECT_KILN_IR_KILNVJPUTILS_H
