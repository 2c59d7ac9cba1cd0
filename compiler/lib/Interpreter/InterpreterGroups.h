//===- InterpreterGroups.h - op groups of the reference interpreter -*- C++ -*-===//
//
// Each op group (elementwise, layout, NN) evaluates its own ops in its own
// file. An evaluator returns std::nullopt for an op outside its group, else
// one Buffer per op result (or failure, after emitting an error on the op).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_INTERPRETER_INTERPRETERGROUPS_H
#define KILN_LIB_INTERPRETER_INTERPRETERGROUPS_H

#include "kiln/Interpreter/Interpreter.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include <optional>
#include <vector>

namespace kiln::interp::detail {

/// Operand values, in operand order.
using Inputs = llvm::ArrayRef<const Buffer *>;
using GroupResult = std::optional<mlir::FailureOr<std::vector<Buffer>>>;

GroupResult evalElementwiseGroup(mlir::Operation &op, Inputs inputs);
GroupResult evalLayoutGroup(mlir::Operation &op, Inputs inputs);
GroupResult evalNNGroup(mlir::Operation &op, Inputs inputs);

} // namespace kiln::interp::detail

#endif // KILN_LIB_INTERPRETER_INTERPRETERGROUPS_H
