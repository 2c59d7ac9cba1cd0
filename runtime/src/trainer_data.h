//===- trainer_data.h - The trainer's datasets (private) --------*- C++ -*-===//
//
// Reading the data kiln_train_main trains on, Fashion-MNIST from --data-dir
// or the --train-csv/--test-csv tables, and checking it against the model
// where the user can fix it (file:line). Kept apart from the training loop
// so each file stays small. Private to the runtime: not installed.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_TRAINER_DATA_H
#define KILN_RUNTIME_SRC_TRAINER_DATA_H

#include "kiln/runtime/dataset.h"
#include "kiln/runtime/model_abi.h"
#include "trainer_flags.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// Labels index the logits, so one out of range would make the model read
/// out of bounds: false, with \p error naming the \p split ("training") and
/// the index, for a label outside [0, numClasses).
bool checkLabels(const Dataset &d, const char *split, int32_t numClasses, std::string &error);

/// Fashion-MNIST from --data-dir: class labels only.
bool loadImageData(const kiln_model_info *m, const TrainerFlags &flags, Dataset &train,
                   Dataset &test, std::string &error);

/// The --train-csv/--test-csv tables: the label column is the class index or,
/// for regression and binary models, the (single) float target.
bool loadCsvData(const kiln_model_info *m, const TrainerFlags &flags, Dataset &train,
                 std::vector<float> &trainTargets, Dataset &test,
                 std::vector<float> &testTargets, std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_TRAINER_DATA_H
