//===- trainer_state.h - The trainer's checkpoints (private) ----*- C++ -*-===//
//
// What kiln_train_main reads from and writes to checkpoints: where a run
// stands (Progress, kept in the metadata), the loaded state and its check for
// non-finite values, and the observation dump. Kept apart from the training
// loop so each file stays small. Private to the runtime: not installed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_TRAINER_STATE_H
#define KILN_RUNTIME_SRC_TRAINER_STATE_H

#include "kiln/runtime/model_abi.h"
#include "trainer_flags.h"

#include <cstdint>
#include <string>

namespace kiln::runtime {

/// The test metric of a model's task: accuracy (classification: argmax
/// equals the label; binary: output > 0 equals target > 0.5, per output) or,
/// for regression, the mean squared error over all outputs.
struct Metric {
  const char *name = "accuracy";
  const char *metadataKey = "kiln.test_accuracy";
  double value = 0;
};

/// Where a run stands: completed epochs and, for a checkpoint saved by
/// --save-every inside an epoch, the steps of the next epoch already trained
/// and the sum of their losses (so the epoch's mean loss comes out the same).
/// Metadata keys: kiln.epoch, kiln.step_in_epoch, kiln.epoch_loss_sum,
/// kiln.global_step (docs/checkpoints.md).
struct Progress {
  int epoch = 0;
  int64_t stepInEpoch = 0;
  double epochLossSum = 0;
  int64_t globalStep = -1; ///< As the checkpoint recorded it; -1 if it did not.
};

/// Where --resume continues: the checkpoint's progress, and its seed,
/// learning rate and schedule where the command line gives none.
bool readResumePoint(TrainerFlags &flags, Progress &progress, std::string &error);

/// loadCheckpoint, adding which model wrote the file if it is another one
/// (the usual cause of a missing tensor or a shape mismatch).
bool loadState(const kiln_model_info *m, void *arena, const std::string &path,
               bool parametersOnly, bool partial, std::string &error);

/// Refuses a state whose floating-point tensors hold NaN or infinity, naming
/// the first such tensor (\p path is the file it came from).
bool checkFiniteState(const kiln_model_info *m, const void *arena, const std::string &path,
                      std::string &error);

/// Saves the arena to --save with what --resume needs (progress, seed, lr,
/// schedule) and what a reader may want to see (model, last train loss, test
/// metric; \p trainLoss and \p metric may be null). Checks the path again
/// first: something may have put a link or a FIFO there since training began.
bool saveTrainerCheckpoint(const kiln_model_info *m, const void *arena, const TrainerFlags &flags,
                           float lr, const Progress &progress, const double *trainLoss,
                           const Metric *metric, std::string &error);

/// Writes the observation entries of the state table (the model's observe()
/// calls, as the last training step left them) for --dump-observations.
bool dumpObservations(const kiln_model_info *m, const void *arena, const std::string &path,
                      std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_TRAINER_STATE_H
