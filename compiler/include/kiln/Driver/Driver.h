//===- Driver.h - kilnc's command line, shared by generators ----*- C++ -*-===//
//
// `kilnc model.mlir --emit=obj -o model.o` and a model's generator
// (`mlp-gen --emit=obj -o mlp.o`) accept the same flags and share this code.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DRIVER_DRIVER_H
#define KILN_DRIVER_DRIVER_H

#include "kiln/Target/LLVMTarget.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace kiln {

enum class EmitKind {
  Traced, ///< the IR as traced, kiln.vjp unexpanded
  Mlir,   ///< kiln IR with forward and generated backward ops
  Memref, ///< bufferized, planned into one arena: the ABI is final here
  Llvm,   ///< LLVM IR text
  Asm,    ///< target assembly
  Obj,    ///< object file + C header
  Header, ///< the C header only
  Ptx,    ///< nvptx64 only: the kernels' PTX
};

struct DriverOptions {
  EmitKind emit = EmitKind::Mlir;
  std::string input;        ///< kilnc only: an .mlir file ("-": stdin)
  std::string output = "-"; ///< "-": stdout (not for obj)
  std::string header;       ///< obj: defaults to the output with .h
  TargetOptions target;
  bool approximateMath = true;
  bool debugLocations = false; ///< print each op's source location in IR
  /// Record the first op making a NaN/Inf per call (kiln-check-numerics).
  bool checkNumerics = false;
  /// Bit-identical results on every CPU target: every sum in source order
  /// whatever the vector width (no vectorized reductions) and no fused
  /// multiply-adds (docs/devices.md).
  bool deterministic = false;
};

/// Parses kilnc-style flags. Returns false with `error` set on bad input;
/// `help` is set when --help was given.
bool parseDriverOptions(int argc, char **argv, bool takesInput,
                        DriverOptions &options, std::string &error,
                        bool &help);
std::string driverUsage(llvm::StringRef tool, bool takesInput);

/// Where --emit=obj writes the header: --header, else the output with .h.
std::string headerPathFor(const DriverOptions &options);

/// Compiles `module` as requested. Diagnostics go to stderr; returns a
/// process exit code.
int runDriver(mlir::ModuleOp module, const DriverOptions &options);

} // namespace kiln

#endif // KILN_DRIVER_DRIVER_H
