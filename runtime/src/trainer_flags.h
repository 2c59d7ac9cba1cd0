//===- trainer_flags.h - Trainer command-line flags (private) ---*- C++ -*-===//
//
// Flag parsing for kiln_train_main, kept apart from the training loop so each
// file stays small. Private to the runtime: not installed, not part of the ABI.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_TRAINER_FLAGS_H
#define KILN_RUNTIME_SRC_TRAINER_FLAGS_H

#include <cstdint>
#include <cstdio>
#include <string>

namespace kiln::runtime {

/// Trainer settings after flag parsing; defaults match --help.
struct TrainerFlags {
  int64_t epochs = 5;    ///< Total epochs; with --resume, counting the checkpoint's.
  double lr = 0;         ///< Only meaningful if lrSet; else the model default.
  bool lrSet = false;
  uint64_t seed = 0;
  bool seedSet = false;  ///< --seed given (else --resume takes the checkpoint's).
  std::string dataDir;
  std::string trainCsv, testCsv; ///< CSV tables instead of Fashion-MNIST.
  std::string labelColumn;       ///< The CSV column holding the target.
  uint64_t maxCsvBytes = uint64_t(2) << 30; ///< Larger CSV files are refused.
  int64_t maxSteps = 0;  ///< Steps per epoch; 0 = the whole epoch.
  int64_t logEvery = 50; ///< 0 disables progress lines.
  std::string lossCsv;   ///< Empty = no CSV.
  std::string metrics;   ///< The --metrics CSV (metrics.h); empty = none.
  std::string lrSchedule; ///< Empty = constant lr (see lr_schedule.h).
  std::string save;      ///< Checkpoint after every epoch and at the end.
  int64_t saveEvery = 0; ///< Also checkpoint every N global steps; 0 = off.
  std::string resume;    ///< Checkpoint to continue from (state + epoch).
  std::string initFrom;  ///< Checkpoint to take the parameters from.
  bool partial = false;  ///< --init-from may miss or add tensors (strict=False).
  std::string dumpLogits; ///< Write the final test-set logits here.
  std::string dumpObservations; ///< Write the last step's observations here.
  bool fullPrecision = false; ///< Print losses/accuracies with %.17g.
  std::string device = "cpu"; ///< "cpu" or "cuda" (a trainer built with TARGET cuda).
  bool cudaGraph = false;     ///< --device cuda: replay each step as a CUDA graph.
  int64_t threads = 0;   ///< Threads for the model's parallel loops; 0 = every core.
  bool help = false;
};

/// Parses argv[1..argc) into \p flags (which should start out holding the
/// defaults). Accepts "--flag value" and "--flag=value". Returns false and
/// sets \p error on an unknown flag, a missing or malformed value, a value
/// out of range, or both --resume and --init-from.
bool parseTrainerFlags(int argc, char **argv, TrainerFlags &flags, std::string &error);

/// Prints the --help text for a trainer binary named \p prog training the
/// model \p modelName with default learning rate \p defaultLr.
void printTrainerUsage(std::FILE *out, const char *prog, const char *modelName,
                       double defaultLr, const std::string &defaultDataDir);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_TRAINER_FLAGS_H
