//===- fuzz_kilnc_ir.cpp - libFuzzer target for kilnc's IR input ----------===//
//
// Bytes are parsed as MLIR with every kiln dialect registered, exactly as
// kilnc reads its input; what parses goes through kilnc's driver (verify,
// differentiate, bufferize, extract the ABI, lower to LLVM IR) as
// `kilnc --emit=llvm -O0`. Any input must end in a diagnostic, never in a
// crash or an abort: passes and verifiers run with LLVM built without
// assertions (Debian's), so an invariant a verifier misses shows up here as a
// segfault or an llvm_unreachable.
//
// Built by the main build (g++, not clang): the compiler libraries are
// LLVM/MLIR-heavy and rebuilding them instrumented would take long on small
// machines, so this target links them as built and adds libFuzzer's driver
// (libclang_rt.fuzzer). With no compiler-inserted coverage, the harness feeds
// libFuzzer's coverage counters itself: one counter per op name in a parsed
// input (bumped per occurrence) and per distinct message from verifiers and
// passes, plus one for the driver's exit code. An input that uses a new op, a new op count, or
// fails in a new way (a new message) is kept and mutated further, so the
// corpus spreads over ops and error paths instead of collapsing to nothing.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/Driver.h"
#include "kiln/InitAll.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

// libFuzzer's hook for instrumented modules' counters; called here by hand.
extern "C" void __sanitizer_cov_8bit_counters_init(uint8_t *start,
                                                   uint8_t *stop);

namespace {
constexpr size_t kFeatureSlots = 1 << 16;
uint8_t featureCounters[kFeatureSlots];
// Registered at load time, as instrumented code registers its counters.
[[maybe_unused]] const bool countersRegistered = [] {
  __sanitizer_cov_8bit_counters_init(featureCounters,
                                     featureCounters + kFeatureSlots);
  return true;
}();

/// Bumps the counter of one feature (libFuzzer clears them between runs and
/// buckets the counts: 1, 2, 3, 4-7, 8-15, ...).
void noteFeature(llvm::StringRef kind, llvm::StringRef what) {
  uint8_t &counter =
      featureCounters[llvm::hash_combine(kind, what) % kFeatureSlots];
  if (counter != 255)
    ++counter;
}
} // namespace

/// libFuzzer prints a crash's stack with this sanitizer hook when it
/// exists; without a sanitizer runtime (the g++ build), LLVM's unwinder
/// stands in. Weak, so a sanitizer runtime's own definition wins.
extern "C" __attribute__((weak)) void __sanitizer_print_stack_trace() {
  llvm::sys::PrintStackTrace(llvm::errs());
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  kiln::registerAllPasses();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    kiln::registerAllDialects(r);
    return r;
  }();
  // A fresh context per input: nothing interned by one input leaks into the
  // next. No thread pool: it would be created and joined for every input.
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  // Diagnostics are the expected outcome for most inputs: keep them quiet,
  // but count each distinct message from verifiers and passes as a feature.
  // Parse errors are not: their messages quote the input, so every broken
  // token would look new and the corpus would fill with unparsable inputs.
  bool parsed = false;
  context.getDiagEngine().registerHandler([&](mlir::Diagnostic &diag) {
    if (parsed)
      noteFeature("diagnostic", diag.str());
    return mlir::success();
  });

  // A copy, so the lexer finds the terminating NUL it relies on.
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz.mlir"),
      llvm::SMLoc());
  // Syntax only: runDriver verifies first thing, once `parsed` is set, so
  // verifier messages count as features.
  mlir::ParserConfig config(&context, /*verifyAfterParse=*/false);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, config);
  if (!module)
    return 0;
  parsed = true;
  module->walk([](mlir::Operation *op) {
    noteFeature("op", op->getName().getStringRef());
  });

  kiln::DriverOptions options;
  options.emit = kiln::EmitKind::Llvm;
  options.output = "/dev/null";
  // -O0: LLVM's own optimizer is not under test and -O3 would take most of
  // each run.
  options.target.optLevel = 0;
  int exitCode = kiln::runDriver(*module, options);
  noteFeature("exit code", std::to_string(exitCode));
  return 0;
}
