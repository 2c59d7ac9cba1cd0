//===- trainer_outputs.h - The files the trainer writes (private) -*- C++ -*-===//
//
// The output paths kiln_train_main checks before it reads data (so a bad path
// fails at once, not after the first epoch), the --loss-csv file it opens
// and the --dump-logits file it writes after training. Kept apart from the
// training loop so each file stays small. Private to the runtime: not
// installed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_TRAINER_OUTPUTS_H
#define KILN_RUNTIME_SRC_TRAINER_OUTPUTS_H

#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/dataset.h"
#include "kiln/runtime/model_abi.h"
#include "model_runner.h"
#include "trainer_flags.h"

#include <cstdio>
#include <string>
#include <vector>

namespace kiln::runtime {

/// Checks every file the run will write (--save, --loss-csv, --metrics,
/// --dump-logits, --dump-observations): each must be a writable regular file
/// or a new one, and no two flags may name the same file.
bool checkOutputs(const TrainerFlags &flags, std::string &error);

/// Opens the --loss-csv file for writing without following a symbolic link
/// or blocking on a FIFO; null, with \p error set, if it cannot.
std::FILE *openLossCsv(const std::string &path, std::string &error);

/// Writes the test-set outputs of every valid row and the labels (or float
/// targets) to the safetensors file \p path, for --dump-logits.
bool dumpLogits(const kiln_model_info *m, ModelRunner &runner, DataLoader &loader, Batch &batch,
                std::vector<float> &logits, const Dataset &test,
                const std::vector<float> &testTargets, const std::string &path,
                std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_TRAINER_OUTPUTS_H
