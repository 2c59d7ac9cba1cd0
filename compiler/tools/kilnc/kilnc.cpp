//===- kilnc.cpp - the kiln compiler driver -------------------------------===//
//
// Compiles traced kiln IR (what a model generator emits with --emit=traced)
// to IR, assembly, or an object file and C header, for the host or a cross
// target. Given a model's C++ source instead, it builds and runs the model's
// generator (ModelSource.cpp).
//
//===----------------------------------------------------------------------===//

#include "ModelSource.h"

#include "kiln/Driver/Driver.h"
#include "kiln/InitAll.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

/// Bad input is diagnosed before it reaches LLVM; should some path still
/// end in report_fatal_error, the user gets an error and exit code 1, not
/// an abort with a crash report.
static void reportFatalError(void *, const char *reason, bool) {
  llvm::errs() << "kilnc: error: " << reason << "\n";
  llvm::errs().flush();
  std::_Exit(1);
}

int main(int argc, char **argv) {
  llvm::install_fatal_error_handler(reportFatalError);
  kiln::DriverOptions options;
  std::string error;
  bool help = false;
  if (!kiln::parseDriverOptions(argc, argv, /*takesInput=*/true, options,
                                error, help)) {
    llvm::errs() << "kilnc: error: " << error << "\n"
                 << kiln::driverUsage("kilnc", true);
    return 2;
  }
  if (help) {
    llvm::outs() << kiln::driverUsage("kilnc", true);
    return 0;
  }
  if (kiln::isModelSource(options.input))
    return kiln::compileModelSource(argv[0], options);
  kiln::registerAllPasses();
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(options.input, sourceMgr, &context);
  if (!module)
    return 1;
  // IR has no batch to split: only a model's generator re-traces its step in
  // micro-batches.
  options.budgetAttempt = "(kilnc compiles the step as written; a model's "
                          "generator, <model>-gen --memory-budget, also "
                          "splits its batch into micro-batches)";
  return kiln::runDriver(*module, options);
}
