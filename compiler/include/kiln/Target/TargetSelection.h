//===- TargetSelection.h - triple, CPU, features and float ABI --*- C++ -*-===//
//
// Turns the user's --target/--mcpu/--mattr/--float-abi into what LLVM needs,
// with the defaults each triple deserves (Cortex-M4 with its FPU for
// thumbv7em, rv64gc/lp64d for riscv64 Linux, the build machine's CPU for the
// host) and a clear error for anything LLVM would otherwise only warn about
// or abort on (an unknown CPU or feature, a hard-float ABI without an FPU).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGET_TARGETSELECTION_H
#define KILN_TARGET_TARGETSELECTION_H

#include "kiln/Target/LLVMTarget.h"
#include "llvm/Target/TargetOptions.h"

#include <optional>
#include <string>

namespace llvm {
class Target;
} // namespace llvm

namespace kiln {

struct SelectedTarget {
  const llvm::Target *target = nullptr;
  std::string triple, cpu, features;
  llvm::FloatABI::ABIType floatABI = llvm::FloatABI::Default;
  /// The psABI name for targets that encode the float ABI in it (RISC-V's
  /// lp64d); empty otherwise.
  std::string abiName;
};

/// Resolves `options` for LLVM, or returns std::nullopt with `error` set to
/// a message for the user.
std::optional<SelectedTarget> selectTarget(const TargetOptions &options,
                                           std::string &error);

} // namespace kiln

#endif // KILN_TARGET_TARGETSELECTION_H
