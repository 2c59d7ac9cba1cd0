//===- MemoryBudget.h - fit a program into --memory-budget ------*- C++ -*-===//
//
// A generator compiling to a memory budget traces its program again with the
// train step's batch split into micro-batches (gradient accumulation): the
// step computes the same update with the activations of one micro-batch.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_MEMORYBUDGET_H
#define KILN_DSL_MEMORYBUDGET_H

#include "kiln/Driver/Driver.h"
#include "kiln/dsl/Classifier.h"

namespace kiln::dsl {

using ProgramBuilder = Program (*)();

/// Traces `build` for options.memoryBudget and returns the trace to compile:
/// as the model asks when it fits, else with the fewest micro-batches that
/// fit, else with those of the smallest arena (more stop helping once the
/// state and the batch-independent buffers dominate). Leaves the chosen
/// count in micro_batch_override().accumulation_steps and says what it
/// tried in options.budgetAttempt, for the driver's error when even that
/// does not fit. Models with batch norm or dropout state are not split.
/// nullopt after a diagnostic (the program does not compile).
std::optional<Program> fit_memory_budget(ProgramBuilder build,
                                         kiln::DriverOptions &options);

} // namespace kiln::dsl

#endif // KILN_DSL_MEMORYBUDGET_H
