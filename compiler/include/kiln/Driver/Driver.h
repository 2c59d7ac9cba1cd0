//===- Driver.h - kilnc's command line, shared by generators ----*- C++ -*-===//
//
// `kilnc model.mlir --emit=obj -o model.o` and a model's generator
// (`mlp-gen --emit=obj -o mlp.o`) accept the same flags and share this code.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DRIVER_DRIVER_H
#define KILN_DRIVER_DRIVER_H

#include "kiln/Driver/MemoryReport.h"
#include "kiln/Target/LLVMTarget.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>
#include <vector>

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
  MemoryReport, ///< the arena plan as a table (docs/devices.md)
};

struct DriverOptions {
  EmitKind emit = EmitKind::Mlir;
  std::string input; ///< kilnc only: an .mlir file ("-": stdin) or a model source
  /// The arguments other than the input, as given: what kilnc runs a model
  /// source's generator with.
  std::vector<std::string> flags;
  std::string output = "-"; ///< "-": stdout (not for obj)
  std::string header;       ///< obj: defaults to the output with .h
  /// Also write the differentiated kiln IR (what --emit=mlir prints) here,
  /// so a build gets the object and the IR from one compilation.
  std::string mlirOutput;
  TargetOptions target;
  bool approximateMath = true;
  bool debugLocations = false; ///< print each op's source location in IR
  /// Record the first op making a NaN/Inf per call (kiln-check-numerics).
  bool checkNumerics = false;
  /// Threaded loops (OpenMP, libomp): unset = on for the host only, so that
  /// cross-compiled objects stay single-threaded and freestanding.
  std::optional<bool> parallel;
  /// --memory-budget: the arena (state + scratch) must fit in this many
  /// bytes, else the compilation fails naming the dominant buffers.
  std::optional<int64_t> memoryBudget;
  /// How a generator reached the module it compiles under a budget ("with 8
  /// micro-batches of 16 rows"), for the error when it still does not fit.
  std::string budgetAttempt;
  /// Bit-identical results on every CPU target: every sum in source order
  /// whatever the vector width (no vectorized reductions) and no fused
  /// multiply-adds (docs/devices.md).
  bool deterministic = false;
  /// --timing: print where the compilation's time goes (MLIR passes, LLVM
  /// passes and code generation) to stderr.
  bool timing = false;
  /// --compile-threads: threads optimizing the LLVM module in parts; 0:
  /// KILN_COMPILE_THREADS, else the host's cores for a big module.
  unsigned compileThreads = 0;
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

/// Differentiates and bufferizes `module` in place (as runDriver does) and
/// returns its arena plan; nullopt after a diagnostic. A generator compiling
/// to a memory budget compares the plans of several traces with this.
std::optional<MemoryPlan> planMemory(mlir::ModuleOp module,
                                     const DriverOptions &options);

} // namespace kiln

#endif // KILN_DRIVER_DRIVER_H
