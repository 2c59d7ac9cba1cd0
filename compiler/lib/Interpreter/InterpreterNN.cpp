//===- InterpreterNN.cpp - reference semantics of the NN ops ---------===//

#include "InterpreterGroups.h"

using namespace mlir;

std::optional<FailureOr<std::vector<kiln::interp::Buffer>>>
kiln::interp::detail::evalNNGroup(Operation &op, Inputs inputs) {
  return std::nullopt;
}
