//===- TargetSelection.cpp - triple, CPU, features and float ABI ----------===//
//
// LLVM trusts its callers: an unknown CPU is a warning on stderr and then,
// on x86, a fatal error; an unknown feature is a warning; a hard-float ABI on
// a CPU without FPU silently produces code no linker should accept. kilnc
// gets these from users, so everything is checked here against the target's
// own CPU and feature tables before a TargetMachine exists.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/TargetSelection.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Triple.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/Host.h"
#include "llvm/Support/raw_ostream.h"

#include <fcntl.h>
#include <mutex>
#include <unistd.h>

using namespace kiln;

namespace {
std::string hostFeatures() {
  llvm::StringMap<bool> features;
  std::string result;
  if (!llvm::sys::getHostCPUFeatures(features))
    return result;
  for (auto &feature : features) {
    if (!result.empty())
      result += ",";
    result += (feature.second ? "+" : "-") + feature.first().str();
  }
  return result;
}

std::unique_ptr<llvm::MCSubtargetInfo>
subtarget(const llvm::Target &target, llvm::StringRef triple,
          llvm::StringRef cpu, llvm::StringRef features) {
  return std::unique_ptr<llvm::MCSubtargetInfo>(
      target.createMCSubtargetInfo(triple, cpu, features));
}

/// LLVM 16 keeps each target's feature table private and answers an unknown
/// feature only with a warning on stderr, so a feature is probed by toggling
/// it on a scratch subtarget with stderr silenced: only a known feature
/// changes the feature bits. The redirection is process-wide, so probes
/// (from compiles on several threads of one process) take turns.
bool isKnownFeature(llvm::MCSubtargetInfo &probe, llvm::StringRef name) {
  static std::mutex stderrRedirection;
  std::lock_guard<std::mutex> lock(stderrRedirection);
  llvm::errs().flush();
  int savedStderr = dup(STDERR_FILENO);
  int devNull = open("/dev/null", O_WRONLY);
  if (savedStderr >= 0 && devNull >= 0)
    dup2(devNull, STDERR_FILENO);
  llvm::FeatureBitset before = probe.getFeatureBits();
  probe.ToggleFeature(name);
  bool known = probe.getFeatureBits() != before;
  probe.setFeatureBits(before);
  llvm::errs().flush();
  if (savedStderr >= 0 && devNull >= 0)
    dup2(savedStderr, STDERR_FILENO);
  if (devNull >= 0)
    close(devNull);
  if (savedStderr >= 0)
    close(savedStderr);
  return known;
}

/// A triple kiln supports whose target knows `cpu`, to suggest with
/// --target (empty when none does).
std::string tripleKnowingCpu(llvm::StringRef cpu) {
  for (const char *candidate :
       {"thumbv7em-none-eabihf", "thumbv6m-none-eabi", "aarch64-linux-gnu",
        "riscv64-linux-gnu", "riscv32-unknown-elf", "x86_64-linux-gnu"}) {
    std::string triple = llvm::Triple::normalize(candidate), ignored;
    const llvm::Target *target =
        llvm::TargetRegistry::lookupTarget(triple, ignored);
    if (target && subtarget(*target, triple, "", "")->isCPUStringValid(cpu))
      return candidate;
  }
  return "";
}

/// The CPU a bare-metal ARM triple names by its architecture, so that
/// thumbv7em-none-eabihf gets a Cortex-M4 with its FPU rather than a
/// generic core without one.
std::string defaultArmCpu(const llvm::Triple &triple) {
  switch (triple.getSubArch()) {
  case llvm::Triple::ARMSubArch_v7em:
    return "cortex-m4";
  case llvm::Triple::ARMSubArch_v7m:
    return "cortex-m3";
  case llvm::Triple::ARMSubArch_v6m:
    return "cortex-m0plus";
  case llvm::Triple::ARMSubArch_v8m_mainline:
    return "cortex-m33";
  default:
    return "generic";
  }
}

bool isArmHardFloatTriple(const llvm::Triple &triple) {
  switch (triple.getEnvironment()) {
  case llvm::Triple::EABIHF:
  case llvm::Triple::GNUEABIHF:
  case llvm::Triple::MuslEABIHF:
    return true;
  default:
    return false;
  }
}

/// ARM: soft keeps floats out of FPU registers and instructions, softfp uses
/// the FPU but passes floats in integer registers, hard passes them in FPU
/// registers (the eabihf convention).
bool selectArmFloatABI(SelectedTarget &selected, const llvm::Triple &triple,
                       llvm::StringRef requested, std::string &error) {
  bool fromTriple = requested.empty();
  std::string abi = fromTriple
                        ? (isArmHardFloatTriple(triple) ? "hard" : "soft")
                        : requested.str();
  if (abi == "soft") {
    selected.features += std::string(selected.features.empty() ? "" : ",") +
                         "+soft-float,-fpregs";
    selected.floatABI = llvm::FloatABI::Soft;
    return true;
  }
  if (!subtarget(*selected.target, selected.triple, selected.cpu,
                 selected.features)
           ->checkFeatures("+fpregs")) {
    error = fromTriple ? "'" + triple.str() +
                             "' uses the hard-float ABI but CPU '" +
                             selected.cpu +
                             "' has no FPU; choose a CPU with one, a "
                             "soft-float triple (...-eabi) or --float-abi=soft"
                       : "--float-abi=" + abi + " needs an FPU but CPU '" +
                             selected.cpu + "' of '" + triple.str() +
                             "' has none; use --float-abi=soft";
    return false;
  }
  selected.floatABI = abi == "hard" ? llvm::FloatABI::Hard : llvm::FloatABI::Soft;
  return true;
}

/// RISC-V names its float ABI in the psABI: lp64/ilp32 (soft), lp64f,
/// lp64d (floats in F/D registers). Hard is the default whenever the core
/// has an FPU, which is what Debian's riscv64 toolchain links against.
bool selectRiscvFloatABI(SelectedTarget &selected, const llvm::Triple &triple,
                         llvm::StringRef requested, std::string &error) {
  auto sti = subtarget(*selected.target, selected.triple, selected.cpu,
                       selected.features);
  bool hasDouble = sti->checkFeatures("+d"), hasFloat = sti->checkFeatures("+f");
  std::string abi =
      requested.empty() ? (hasFloat ? "hard" : "soft") : requested.str();
  if (abi == "softfp") {
    error = "--float-abi=softfp is an ARM float ABI; RISC-V has soft "
            "(lp64/ilp32) and hard (lp64d/ilp32d)";
    return false;
  }
  if (abi == "hard" && !hasFloat) {
    error = "--float-abi=hard needs the F or D extension, which '" +
            triple.str() + "' with CPU '" + selected.cpu + "'" +
            (selected.features.empty() ? "" : " and --mattr=" + selected.features) +
            " lacks; add --mattr=+f,+d";
    return false;
  }
  selected.abiName = triple.isArch64Bit() ? "lp64" : "ilp32";
  if (abi == "hard")
    selected.abiName += hasDouble ? "d" : "f";
  selected.floatABI =
      abi == "hard" ? llvm::FloatABI::Hard : llvm::FloatABI::Soft;
  return true;
}
} // namespace

std::optional<SelectedTarget> kiln::selectTarget(const TargetOptions &options,
                                                 std::string &error) {
  SelectedTarget selected;
  bool host = options.triple.empty();
  selected.triple = host ? llvm::sys::getDefaultTargetTriple()
                         : llvm::Triple::normalize(options.triple);
  std::string lookupError;
  selected.target =
      llvm::TargetRegistry::lookupTarget(selected.triple, lookupError);
  if (!selected.target) {
    error = "unknown target '" + selected.triple + "': " + lookupError;
    return std::nullopt;
  }
  llvm::Triple triple(selected.triple);
  auto probe = subtarget(*selected.target, selected.triple, "", "");

  const std::string &cpu = options.cpu;
  if (!cpu.empty() && cpu != "generic" && !probe->isCPUStringValid(cpu)) {
    error = "'" + cpu + "' is not a CPU of " + selected.triple;
    if (host)
      error += " (the host: kilnc compiles for it without --target)";
    std::string suggestion = tripleKnowingCpu(cpu);
    if (!suggestion.empty())
      error += "; pass --target=" + suggestion;
    return std::nullopt;
  }
  llvm::SmallVector<llvm::StringRef> features;
  llvm::SplitString(options.features, features, ",");
  llvm::SmallVector<llvm::StringRef> llvmFeatures;
  for (llvm::StringRef feature : features) {
    if (!feature.startswith("+") && !feature.startswith("-")) {
      error = "--mattr feature '" + feature.str() +
              "' must start with '+' (enable) or '-' (disable)";
      return std::nullopt;
    }
    // kiln's own NVPTX feature (tensor-core matmuls, NVPTXDriver.cpp), not
    // LLVM's: it never reaches the target machine.
    if (triple.isNVPTX() && feature.drop_front() == "tf32")
      continue;
    llvmFeatures.push_back(feature);
    if (!isKnownFeature(*probe, feature)) {
      error = "'" + feature.drop_front().str() + "' is not a feature of " +
              selected.triple + " (--mattr)";
      return std::nullopt;
    }
  }

  selected.cpu = cpu;
  selected.features = llvm::join(llvmFeatures, ",");
  if (host && cpu.empty()) {
    // Tuned for the build machine; --mcpu=generic gives a portable object.
    selected.cpu = llvm::sys::getHostCPUName().str();
    if (selected.features.empty())
      selected.features = hostFeatures();
  }
  if (selected.cpu.empty() && triple.isNVPTX())
    selected.cpu = "sm_80"; // NVPTX has no "generic"; docs/gpu.md's default
  if (selected.cpu.empty())
    selected.cpu = triple.isARM() || triple.isThumb() ? defaultArmCpu(triple)
                                                      : "generic";
  if (triple.isRISCV() && cpu.empty() && selected.features.empty() &&
      triple.isOSLinux())
    selected.features = "+m,+a,+f,+d,+c"; // rv64gc, as Linux distributions

  bool arm = triple.isARM() || triple.isThumb();
  if (arm)
    return selectArmFloatABI(selected, triple, options.floatABI, error)
               ? std::optional(selected)
               : std::nullopt;
  if (triple.isRISCV())
    return selectRiscvFloatABI(selected, triple, options.floatABI, error)
               ? std::optional(selected)
               : std::nullopt;
  if (!options.floatABI.empty()) {
    error = "--float-abi applies to ARM and RISC-V targets, not '" +
            selected.triple + "'";
    return std::nullopt;
  }
  return selected;
}
