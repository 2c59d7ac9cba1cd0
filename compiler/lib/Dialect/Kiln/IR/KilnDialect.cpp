//===- KilnDialect.cpp - kiln dialect registration ------------------------===//
//
// Registers the kiln ops, materializes folded constants as kiln.constant and
// verifies the discardable kiln.* attributes that passes and the ABI read.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/FunctionInterfaces.h"

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
  InFlightDiagnostic diag = op->emitError("'")
                            << KilnDialect::getModelAttrName() << "' needs \""
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
    return op->emitError("'") << KilnDialect::getModelAttrName()
                              << "' must be a dictionary, got " << value;
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

/// An error unless every element of `value` is an AttrT.
template <typename AttrT>
LogicalResult expectArrayOf(Operation *op, StringRef name, Attribute value,
                            StringRef elements) {
  auto array = value.dyn_cast<ArrayAttr>();
  if (!array ||
      !llvm::all_of(array, [](Attribute a) { return a.isa<AttrT>(); }))
    return op->emitError("'")
           << name << "' must be an array of " << elements << ", got " << value;
  return success();
}

LogicalResult expectNonNegativeInteger(Operation *op, StringRef name,
                                       Attribute value) {
  auto integer = value.dyn_cast<IntegerAttr>();
  if (!integer || !integer.getType().isSignlessInteger() ||
      integer.getValue().isNegative())
    return op->emitError("'")
           << name << "' must be a non-negative integer, got " << value;
  return success();
}

/// kiln.state_args names each argument. Before bufferization a function
/// has one entry per argument (and kiln.state_results one per result);
/// once results become out-parameters, the two lists together name the
/// arguments.
LogicalResult verifyStateArgs(FunctionOpInterface fn, ArrayAttr args) {
  unsigned numArgs = fn.getNumArguments();
  auto results =
      fn->getAttrOfType<ArrayAttr>(KilnDialect::getStateResultsAttrName());
  bool outParameters = fn.getNumResults() == 0 && results &&
                       args.size() + results.size() == numArgs;
  if (args.size() == numArgs || outParameters)
    return success();
  return fn.emitError("'") << KilnDialect::getStateArgsAttrName() << "' names "
                           << args.size() << " arguments but the function has "
                           << numArgs;
}

LogicalResult verifyStateResults(FunctionOpInterface fn, ArrayAttr results) {
  if (fn.getNumResults() == 0 || results.size() == fn.getNumResults())
    return success();
  return fn.emitError("'") << KilnDialect::getStateResultsAttrName()
                           << "' names " << results.size()
                           << " results but the function has "
                           << fn.getNumResults();
}

/// kiln.state_layout: what kiln::extractAbi reads into the C header.
LogicalResult verifyStateLayout(Operation *op, Attribute value) {
  StringRef name = KilnDialect::getStateLayoutAttrName();
  if (failed(expectArrayOf<DictionaryAttr>(op, name, value, "dictionaries")))
    return failure();
  for (Attribute entry : value.cast<ArrayAttr>()) {
    auto dict = entry.cast<DictionaryAttr>();
    if (!dict.getAs<StringAttr>("name") || !dict.getAs<IntegerAttr>("offset") ||
        !dict.getAs<TypeAttr>("type"))
      return op->emitError("'")
             << name << "' entries need a string \"name\", an integer "
             << "\"offset\" and a type \"type\", got " << dict;
  }
  return success();
}
} // namespace

/// Traced IR is also read from files (kilnc), so the attributes the passes
/// and the ABI take apart get checked here: a damaged or misplaced one is a
/// diagnostic instead of a crash in a later pass.
LogicalResult KilnDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  Attribute value = attribute.getValue();
  auto onModule = [&]() -> LogicalResult {
    if (isa<ModuleOp>(op))
      return success();
    return op->emitError("'") << name << "' belongs on a module";
  };
  auto onFunction = [&]() -> LogicalResult {
    if (isa<FunctionOpInterface>(op))
      return success();
    return op->emitError("'") << name << "' belongs on a function";
  };

  if (name == getModelAttrName())
    return failure(failed(onModule()) || failed(verifyModelInfo(op, value)));
  if (name == getStateArgsAttrName() || name == getStateResultsAttrName() ||
      name == getObservationsAttrName()) {
    if (failed(onFunction()) ||
        failed(expectArrayOf<StringAttr>(op, name, value, "strings")))
      return failure();
    auto fn = cast<FunctionOpInterface>(op);
    if (name == getStateArgsAttrName())
      return verifyStateArgs(fn, value.cast<ArrayAttr>());
    if (name == getStateResultsAttrName())
      return verifyStateResults(fn, value.cast<ArrayAttr>());
    return success();
  }
  if (name == getNumOutputsAttrName())
    return failure(failed(onFunction()) ||
                   failed(expectNonNegativeInteger(op, name, value)));
  if (name == getStateBytesAttrName() || name == getArenaBytesAttrName())
    return failure(failed(onModule()) ||
                   failed(expectNonNegativeInteger(op, name, value)));
  if (name == getStateLayoutAttrName())
    return failure(failed(onModule()) || failed(verifyStateLayout(op, value)));
  if (name == getNumericsSitesAttrName())
    return failure(failed(onModule()) || failed(expectArrayOf<StringAttr>(
                                             op, name, value, "strings")));
  if (name == getPtxAttrName()) {
    if (failed(onModule()))
      return failure();
    if (!value.isa<StringAttr>())
      return op->emitError("'") << name << "' must be a string, got " << value;
    return success();
  }
  if (name == getParallelAttrName() || name == getChunkLanesAttrName()) {
    if (!value.isa<UnitAttr>())
      return op->emitError("'") << name << "' must be a unit attribute, got "
                                << value;
    StringRef loop =
        name == getParallelAttrName() ? "affine.for" : "scf.for";
    if (op->getName().getStringRef() != loop)
      return op->emitError("'") << name << "' belongs on an " << loop;
    return success();
  }
  if (name == getMemoryPlanAttrName())
    return failure(failed(onFunction()) ||
                   failed(expectArrayOf<DictionaryAttr>(op, name, value,
                                                        "dictionaries")));
  if (name == getScratchBytesAttrName())
    return failure(failed(onFunction()) ||
                   failed(expectNonNegativeInteger(op, name, value)));
  return op->emitError("unknown kiln attribute '") << name << "'";
}
