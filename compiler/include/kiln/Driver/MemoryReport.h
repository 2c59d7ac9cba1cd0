//===- MemoryReport.h - the arena plan, as a report and a budget -*- C++
//-*-===//
//
// kilnc --emit=memory-report prints the plan of kiln-static-memory-plan
// (recorded with its record-plan option) as a table; --memory-budget checks
// the arena against a byte count and, when it does not fit, names the
// buffers that dominate. Sizes come from the pass, never recomputed here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DRIVER_MEMORYREPORT_H
#define KILN_DRIVER_MEMORYREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// One scratch buffer of a function, as placed in the arena.
struct PlannedBuffer {
  int64_t offset = 0, bytes = 0; ///< arena offset (after the state), aligned
  int64_t first = 0, last = 0;   ///< live range: top-level op positions
  std::string firstOp, lastOp;   ///< the ops at those positions
  std::string type;              ///< memref type
  std::string source;            ///< model.cpp:LINE:COL of the op it holds
};

struct PlannedFunction {
  std::string name;
  int64_t scratchBytes = 0;
  /// Inputs and outputs: the caller's memory, outside the arena.
  int64_t ioBytes = 0;
  std::vector<PlannedBuffer> buffers; ///< by offset, then live range
};

struct PlannedState {
  std::string name;
  int64_t offset = 0, bytes = 0;
};

struct MemoryPlan {
  int64_t arenaBytes = 0, stateBytes = 0;
  std::vector<PlannedState> state;
  std::vector<PlannedFunction> functions;
  /// The function whose scratch sets the arena size.
  const PlannedFunction *largest() const;
};

/// Reads the plan recorded by kiln-static-memory-plan{record-plan} from a
/// bufferized module and removes the per-function attributes it added.
MemoryPlan takeMemoryPlan(mlir::ModuleOp module);

/// The report of --emit=memory-report (format: docs/devices.md).
void printMemoryReport(const MemoryPlan &plan, llvm::raw_ostream &os);

/// "262144", "262144B", "256KiB", "1MiB" -> bytes; nullopt for anything
/// else (other suffixes, overflow, empty, negative).
std::optional<int64_t> parseByteSize(llvm::StringRef text);

/// Why `plan` does not fit `budget`: the arena and its parts, then the
/// largest buffers of the function that sets the scratch size, with their
/// source lines. `reached` says how the plan was obtained (e.g. "with 8
/// micro-batches"), empty when the compiler had no other way to try.
void explainOverBudget(const MemoryPlan &plan, int64_t budget,
                       llvm::StringRef reached, llvm::raw_ostream &os);

} // namespace kiln

#endif // KILN_DRIVER_MEMORYREPORT_H
