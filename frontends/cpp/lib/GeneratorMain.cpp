//===- GeneratorMain.cpp - main() of a model's generator executable -------===//
//
// A model source defines its program with KILN_PROGRAM(name) and links this
// main: running the generator traces the program and compiles it with the
// same flags as kilnc (`mlp-gen --emit=obj -o mlp.o`).
//
// With --memory-budget, a program whose arena does not fit is traced again
// with its train step's batch split into micro-batches (gradient
// accumulation, the fewest that fit): the step computes the same update
// with the activations of one micro-batch.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/Driver.h"
#include "kiln/dsl/MemoryBudget.h"
#include "kiln/dsl/ProgramMLIR.h"

#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  kiln::DriverOptions options;
  std::string error;
  bool help = false;
  llvm::StringRef tool = argv[0];
  if (!kiln::parseDriverOptions(argc, argv, /*takesInput=*/false, options,
                                error, help)) {
    llvm::errs() << tool << ": error: " << error << "\n"
                 << kiln::driverUsage(tool, false);
    return 2;
  }
  if (help) {
    llvm::outs() << kiln::driverUsage(tool, false);
    return 0;
  }
  auto build = kiln::dsl::registered_program();
  if (!build) {
    llvm::errs() << tool << ": error: no KILN_PROGRAM(...) in this generator\n";
    return 2;
  }
  try {
    if (!options.memoryBudget)
      return kiln::runDriver(kiln::dsl::moduleOf(build()), options);
    std::optional<kiln::dsl::Program> program =
        kiln::dsl::fit_memory_budget(build, options);
    if (!program)
      return 1;
    // Compiles a copy, as fit_memory_budget planned one: the arena can
    // depend on the order of each value's uses, which copying changes.
    mlir::OwningOpRef<mlir::ModuleOp> copy =
        kiln::dsl::moduleOf(*program).clone();
    return kiln::runDriver(*copy, options);
  } catch (const kiln::dsl::Error &e) {
    llvm::errs() << e.what() << "\n";
    return 1;
  }
}
