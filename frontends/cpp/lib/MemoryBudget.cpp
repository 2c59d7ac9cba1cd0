//===- MemoryBudget.cpp - fit a program into --memory-budget --------------===//

#include "kiln/dsl/MemoryBudget.h"

#include "kiln/dsl/ProgramMLIR.h"

#include "llvm/Support/raw_ostream.h"

using namespace kiln::dsl;

namespace {
/// The arena of the program traced with `steps` micro-batches (0: as the
/// model asks), nullopt after a diagnostic.
std::optional<int64_t> arenaWith(ProgramBuilder build, int64_t steps,
                                 const kiln::DriverOptions &options) {
  micro_batch_override() = MicroBatchOverride{};
  micro_batch_override().accumulation_steps = steps;
  kiln::dsl::Program program = build();
  std::optional<kiln::MemoryPlan> plan =
      kiln::planMemory(kiln::dsl::moduleOf(program), options);
  if (!plan)
    return std::nullopt;
  return plan->arenaBytes;
}
} // namespace

bool kiln::dsl::fit_memory_budget(ProgramBuilder build,
                                  kiln::DriverOptions &options) {
  auto &override = micro_batch_override();
  std::optional<int64_t> arena = arenaWith(build, 0, options);
  if (!arena)
    return false;
  int64_t batch = override.batch_size,
          first = override.traced_accumulation_steps;
  if (*arena <= *options.memoryBudget || batch == 0)
    return true;
  if (!override.batch_coupled_state.empty()) {
    options.budgetAttempt = "(not split into micro-batches: '" +
                            override.batch_coupled_state +
                            "' is batch norm or dropout state, which a "
                            "micro-batch would change)";
    return true;
  }
  int64_t best = first, bestArena = *arena;
  for (int64_t steps = first + 1; steps <= batch; ++steps) {
    if (batch % steps != 0)
      continue;
    std::optional<int64_t> candidate = arenaWith(build, steps, options);
    if (!candidate)
      return false;
    if (*candidate >= bestArena)
      break;
    best = steps;
    bestArena = *candidate;
    if (bestArena <= *options.memoryBudget)
      break;
  }
  override.accumulation_steps = best;
  if (best == first) {
    options.budgetAttempt = "(more micro-batches do not make it smaller)";
    return true;
  }
  llvm::errs() << "kiln: note: --memory-budget: the train step runs " << best
               << " micro-batches of " << batch / best << " rows (arena "
               << *arena << " -> " << bestArena << " bytes)\n";
  options.budgetAttempt = "with the batch of " + std::to_string(batch) +
                          " in " + std::to_string(best) + " micro-batches of " +
                          std::to_string(batch / best) + " rows";
  return true;
}
