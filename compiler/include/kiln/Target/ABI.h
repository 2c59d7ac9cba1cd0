//===- ABI.h - the C ABI of a compiled kiln module --------------*- C++ -*-===//
//
// After kiln-static-memory-plan the signature of every function is final:
// `void f(uint8_t *arena, inputs..., outputs...)` with bare pointers. This
// file reads that signature off the IR and writes the matching C header, so
// the header can never drift from the object file.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGET_ABI_H
#define KILN_TARGET_ABI_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace kiln {

struct AbiBuffer {
  std::string cType;          ///< "float", "int32_t", ...
  std::vector<int64_t> shape; ///< static shape; empty for a scalar
  int64_t elements = 1;
};

struct AbiFunction {
  std::string name;
  std::vector<AbiBuffer> inputs, outputs; ///< after the arena argument
};

struct AbiStateEntry {
  std::string name;
  int64_t offset = 0;
  AbiBuffer buffer;
  /// A value a step stores for the caller (KILN_STATE_OBSERVATION).
  bool observation = false;
};

/// Describes a classifier built by the DSL's trainer helpers
/// (module attribute `kiln.model`); absent for plain function modules.
struct AbiModel {
  std::string name;
  int64_t batchSize = 0, numClasses = 0;
  std::vector<int64_t> inputShape; ///< one sample
  double defaultLearningRate = 0.01;
  /// KILN_TASK_* of model_abi.h: 0 classification, 1 regression, 2 binary.
  int task = 0;
};

struct ModuleAbi {
  int64_t arenaBytes = 0, stateBytes = 0;
  std::vector<AbiFunction> functions;
  std::vector<AbiStateEntry> state;
  std::optional<AbiModel> model;
  /// kilnc --check-numerics: the text of each check site, id - 1 (empty in
  /// normal builds); a call stores the first failing id in the state entry
  /// kiln.numerics.first_nonfinite.
  std::vector<std::string> numericsSites;
  const AbiFunction *lookup(llvm::StringRef name) const;
};

/// Reads the ABI from a module that went through kiln-static-memory-plan.
mlir::FailureOr<ModuleAbi> extractAbi(mlir::ModuleOp module);

/// Writes a self-contained C header (C99/C++ compatible) declaring every
/// function, the arena size and, for a model, a kiln_model_info accessor.
void emitCHeader(const ModuleAbi &abi, llvm::StringRef guardName,
                 llvm::raw_ostream &os);

} // namespace kiln

#endif // KILN_TARGET_ABI_H
