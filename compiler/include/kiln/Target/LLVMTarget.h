//===- LLVMTarget.h - LLVM IR, target machines, object files ----*- C++ -*-===//
#ifndef KILN_TARGET_LLVMTARGET_H
#define KILN_TARGET_LLVMTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/Timing.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace kiln {

struct TargetOptions {
  std::string triple;   ///< empty: the host
  std::string cpu;      ///< empty: the host CPU, or a default per triple
  std::string features; ///< LLVM feature string, e.g. "+m,+a,+f,+d,+c"
  /// "soft", "softfp" (ARM) or "hard"; empty: from the triple (ARM eabi:
  /// soft, eabihf: hard) or the CPU (RISC-V: hard when it has an FPU).
  std::string floatABI;
  unsigned optLevel = 3;
  /// No fused multiply-add in code generation (FPOpFusion::Strict): every
  /// f32 multiply and add is rounded on its own, as on a core without FMA
  /// (kilnc --deterministic).
  bool strictFloat = false;
};

/// A TargetMachine for `options`, or an error message naming the triple.
std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const TargetOptions &options, std::string &error);

/// Translates a module in the LLVM dialect to LLVM IR and optimizes it for
/// `machine` at `optLevel`. With an enabled `timing` scope, the translation
/// and the optimization are timed in it and LLVM's per-pass times are
/// printed to stderr (kilnc --timing). The module is optimized in parts on
/// up to `threads` threads (ModuleParts.h; 0: KILN_COMPILE_THREADS, else
/// the host's cores for a module above 4000 instructions), with the same
/// result as on one.
std::unique_ptr<llvm::Module>
translateAndOptimize(mlir::ModuleOp module, llvm::LLVMContext &context,
                     llvm::TargetMachine &machine, unsigned optLevel,
                     mlir::TimingScope *timing = nullptr, unsigned threads = 0);

/// Writes an object file (or assembly) for `module`; timed like
/// translateAndOptimize.
mlir::LogicalResult emitMachineCode(llvm::Module &module,
                                    llvm::TargetMachine &machine,
                                    bool assembly, llvm::raw_pwrite_stream &os,
                                    mlir::TimingScope *timing = nullptr);

} // namespace kiln

#endif // KILN_TARGET_LLVMTARGET_H
