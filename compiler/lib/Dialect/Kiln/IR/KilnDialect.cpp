//===- KilnDialect.cpp - kiln dialect registration ------------------------===//
//
// Registers the kiln ops, materializes folded constants as kiln.constant and
// verifies the discardable kiln.* attributes that passes and the ABI read.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"

using namespace mlir;
using namespace kiln;

#include "kiln/Dialect/Kiln/IR/KilnOpsDialect.cpp.inc"
#include "kiln/Dialect/Kiln/IR/KilnInterfaces.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/Kiln/IR/KilnOps.cpp.inc"
      >();
}

Operation *KilnDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = value.dyn_cast<ElementsAttr>();
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}

namespace {
/// An error unless `dict` holds `field` of kind `AttrT` (or, when
/// `optional`, no `field` at all).
template <typename AttrT>
LogicalResult expectField(Operation *op, DictionaryAttr dict, StringRef field,
                          StringRef kind, bool optional = false) {
  Attribute value = dict.get(field);
  if ((!value && optional) || (value && value.isa<AttrT>()))
    return success();
  InFlightDiagnostic diag = op->emitError("'kiln.model' needs \"")
                            << field << "\" as " << kind;
  if (value)
    diag << ", got " << value;
  return diag;
}

/// kiln.model: what the DSL's Program::set_model_info writes and what the C
/// header's kiln_model_info is made of.
LogicalResult verifyModelInfo(Operation *op, Attribute value) {
  auto dict = value.dyn_cast<DictionaryAttr>();
  if (!dict)
    return op->emitError("'kiln.model' must be a dictionary, got ") << value;
  return success(
      succeeded(expectField<StringAttr>(op, dict, "name", "a string")) &&
      succeeded(expectField<IntegerAttr>(op, dict, "batch_size", "an integer")) &&
      succeeded(
          expectField<IntegerAttr>(op, dict, "num_classes", "an integer")) &&
      succeeded(expectField<DenseI64ArrayAttr>(op, dict, "input_shape",
                                               "array<i64: ...>")) &&
      succeeded(expectField<FloatAttr>(op, dict, "default_lr", "a float")) &&
      succeeded(expectField<StringAttr>(op, dict, "task", "a string",
                                        /*optional=*/true)));
}
} // namespace

/// Traced IR is also read from files (kilnc), so the attributes the passes
/// and the ABI take apart get checked here: a damaged one is a diagnostic
/// instead of a crash in a later pass.
LogicalResult KilnDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  Attribute value = attribute.getValue();
  if (name == "kiln.model")
    return verifyModelInfo(op, value);
  // Per-function state names: one string per argument or result ("" for
  // plain inputs and outputs), and the observation names.
  if (name == "kiln.state_args" || name == "kiln.state_results" ||
      name == "kiln.observations") {
    auto array = value.dyn_cast<ArrayAttr>();
    if (!array ||
        !llvm::all_of(array, [](Attribute a) { return a.isa<StringAttr>(); }))
      return op->emitError("'") << name << "' must be an array of strings, got "
                                << value;
  }
  return success();
}
