//===- MemoryBudget.cpp - fit a program into --memory-budget --------------===//

#include "kiln/dsl/MemoryBudget.h"

#include "kiln/dsl/ProgramMLIR.h"

#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln::dsl;

namespace {
/// A trace and the arena its plan needs.
struct Candidate {
  Program program;
  int64_t arenaBytes = 0;
};

/// Traces `build` with `steps` micro-batches (0: as the model asks) and
/// plans a copy of it: the program itself stays as traced, to be compiled
/// if chosen (a second trace of the same model objects need not give the
/// same IR). nullopt after a diagnostic.
std::optional<Candidate> trace(ProgramBuilder build, int64_t steps,
                               const kiln::DriverOptions &options) {
  micro_batch_override() = MicroBatchOverride{};
  micro_batch_override().accumulation_steps = steps;
  Candidate candidate{build()};
  mlir::OwningOpRef<mlir::ModuleOp> copy = moduleOf(candidate.program).clone();
  std::optional<kiln::MemoryPlan> plan = kiln::planMemory(*copy, options);
  if (!plan)
    return std::nullopt;
  candidate.arenaBytes = plan->arenaBytes;
  return candidate;
}
} // namespace

std::optional<Program>
kiln::dsl::fit_memory_budget(ProgramBuilder build,
                             kiln::DriverOptions &options) {
  std::optional<Candidate> best = trace(build, 0, options);
  if (!best)
    return std::nullopt;
  MicroBatchOverride traced = micro_batch_override();
  const int64_t batch = traced.batch_size;
  const int64_t first = traced.traced_accumulation_steps;
  const int64_t wholeArena = best->arenaBytes;
  if (wholeArena <= *options.memoryBudget || batch == 0)
    return std::move(best->program);
  if (!traced.batch_coupled_state.empty()) {
    options.budgetAttempt = "(not split into micro-batches: '" +
                            traced.batch_coupled_state +
                            "' is batch norm or dropout state, which a "
                            "micro-batch would change)";
    return std::move(best->program);
  }
  int64_t bestSteps = first;
  for (int64_t steps = first + 1; steps <= batch; ++steps) {
    if (batch % steps != 0)
      continue;
    std::optional<Candidate> candidate = trace(build, steps, options);
    if (!candidate)
      return std::nullopt;
    if (candidate->arenaBytes >= best->arenaBytes)
      break;
    best = std::move(candidate);
    bestSteps = steps;
    if (best->arenaBytes <= *options.memoryBudget)
      break;
  }
  micro_batch_override().accumulation_steps = bestSteps;
  if (bestSteps == first) {
    options.budgetAttempt = "(more micro-batches do not make it smaller)";
    return std::move(best->program);
  }
  llvm::errs() << "kiln: note: --memory-budget: the train step runs "
               << bestSteps << " micro-batches of " << batch / bestSteps
               << " rows (arena " << wholeArena << " -> " << best->arenaBytes
               << " bytes)\n";
  options.budgetAttempt = "with the batch of " + std::to_string(batch) +
                          " in " + std::to_string(bestSteps) +
                          " micro-batches of " +
                          std::to_string(batch / bestSteps) + " rows";
  return std::move(best->program);
}
