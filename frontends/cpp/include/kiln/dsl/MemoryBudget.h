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

/// Picks the micro-batches for options.memoryBudget: none when the program
/// fits as written, else the fewest that fit, else those of the smallest
/// arena (more stop helping once the state and the batch-independent
/// buffers dominate). Sets micro_batch_override() for the next trace of
/// `build` and says what it tried in options.budgetAttempt, for the error
/// when even that does not fit. Models with batch norm or dropout state are
/// not split. False after a diagnostic (the program does not compile).
bool fit_memory_budget(ProgramBuilder build, kiln::DriverOptions &options);

} // namespace kiln::dsl

#endif // KILN_DSL_MEMORYBUDGET_H
