//===- trainer_data.cpp - The trainer's datasets --------------------------===//
//
// Implements trainer_data.h: the data of kiln_train_main and its checks
// against the model.
//
//===----------------------------------------------------------------------===//

#include "trainer_data.h"

#include "kiln/runtime/csv.h"
#include "file_checks.h"

#include <utility>

#include <fmt/format.h>

namespace kiln::runtime {

bool checkLabels(const Dataset &d, const char *split, int32_t numClasses, std::string &error) {
  for (int64_t i = 0; i < d.size; ++i) {
    if (d.y[i] < 0 || d.y[i] >= numClasses) {
      error = fmt::format("{} label {} at index {} is out of range for {} classes", split,
                          d.y[i], i, numClasses);
      return false;
    }
  }
  return true;
}

bool loadImageData(const kiln_model_info *m, const TrainerFlags &flags, Dataset &train,
                   Dataset &test, std::string &error) {
  if (m->task != KILN_TASK_CLASSIFICATION) {
    error = std::string("model ") + m->name + " has " +
            (m->task == KILN_TASK_REGRESSION ? "regression" : "binary") +
            " targets, which Fashion-MNIST does not provide; pass --train-csv, --test-csv "
            "and --label-column";
    return false;
  }
  return loadFashionMnist(flags.dataDir, true, train, error) &&
         loadFashionMnist(flags.dataDir, false, test, error);
}

bool loadCsvData(const kiln_model_info *m, const TrainerFlags &flags, Dataset &train,
                 std::vector<float> &trainTargets, Dataset &test,
                 std::vector<float> &testTargets, std::string &error) {
  if (m->task != KILN_TASK_CLASSIFICATION && m->num_classes != 1) {
    error = fmt::format("model {} has {} outputs per sample, but a CSV table gives one target "
                        "(--label-column)",
                        m->name, m->num_classes);
    return false;
  }
  CsvOptions options;
  options.label_column = flags.labelColumn;
  options.max_file_bytes = flags.maxCsvBytes;
  options.label_kind =
      m->task == KILN_TASK_CLASSIFICATION ? CsvLabelKind::ClassIndex : CsvLabelKind::Regression;
  CsvData trainTable, testTable;
  if (!readCsv(flags.trainCsv, options, trainTable, error) ||
      !readCsv(flags.testCsv, options, testTable, error))
    return false;
  if (trainTable.feature_names != testTable.feature_names) {
    error = flags.testCsv + ": its feature columns differ from those of " + flags.trainCsv;
    return false;
  }
  // The model's targets checked where the user can fix them: file:line.
  const std::string column = "column '" + printableExcerpt(flags.labelColumn, 64) + "': ";
  for (const CsvData *t : {&trainTable, &testTable}) {
    const std::string &file = t == &trainTable ? flags.trainCsv : flags.testCsv;
    auto at = [&](size_t i) { return fmt::format("{}:{}: ", file, t->sample_lines[i]); };
    if (m->task == KILN_TASK_BINARY) {
      for (size_t i = 0; i < t->targets.size(); ++i)
        if (t->targets[i] != 0.0f && t->targets[i] != 1.0f) {
          error = fmt::format("{}{}target {:g} is not 0 or 1, which a binary model needs", at(i),
                              column, t->targets[i]);
          return false;
        }
    } else if (m->task == KILN_TASK_CLASSIFICATION) {
      const std::vector<int32_t> &y = t->dataset.y;
      for (size_t i = 0; i < y.size(); ++i)
        if (y[i] >= m->num_classes) {
          error = fmt::format("{}{}class {} is out of range for {} classes", at(i), column, y[i],
                              m->num_classes);
          return false;
        }
    }
  }
  train = std::move(trainTable.dataset);
  test = std::move(testTable.dataset);
  trainTargets = std::move(trainTable.targets);
  testTargets = std::move(testTable.targets);
  return true;
}

} // namespace kiln::runtime
