//===- metrics.h - What the trainer measures and logs (private) -*- C++ -*-===//
//
// The test-set evaluation (the task's metric and a test loss computed from
// the model's outputs) and the --metrics CSV log. Kept apart from the
// training loop so each file stays small. Private to the runtime: not
// installed.
//
// The --metrics CSV (docs/metrics.md) has the header
//   kind,step,epoch,train_loss,lr,samples_per_s,test_loss,test_accuracy
// and two kinds of rows:
//   step   every --log-every steps: the mean training loss over the steps
//          since the previous step row, the last step's learning rate and the
//          throughput over those steps; test_loss and test_accuracy empty.
//   epoch  after each epoch's evaluation: the epoch's mean training loss, its
//          last step's learning rate, its training throughput (evaluation
//          excluded), the test loss and, unless the task is regression, the
//          test accuracy.
// `step` is the global step (1-based, counted over the whole run) the row
// ends at; `epoch` is 1-based.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_METRICS_H
#define KILN_RUNTIME_SRC_METRICS_H

#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/model_abi.h"
#include "model_runner.h"
#include "trainer_state.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::runtime {

/// The loss of one sample's outputs \p row (num_classes values) against its
/// target, as the trainer reports it on the test set: softmax cross-entropy
/// of the logits against class \p label (classification), the mean squared
/// error over the outputs (regression), or the mean binary cross-entropy of
/// the logits against 0/1 \p targets (binary). A model whose own loss adds
/// label smoothing or regularization trains on a different number.
double sampleLoss(const kiln_model_info *m, const float *row, int32_t label,
                  const float *targets);

/// Runs predict over every batch of \p loader and sets \p metric (accuracy,
/// or the mean squared error for regression) and \p testLoss (the mean of
/// sampleLoss over the valid rows). If \p allLogits is given, it receives
/// the outputs of every valid row.
bool evaluate(const kiln_model_info *m, ModelRunner &runner, DataLoader &loader, Batch &batch,
              std::vector<float> &logits, Metric &metric, double &testLoss,
              std::string &error, std::vector<float> *allLogits = nullptr);

/// The rows of the --metrics CSV, kept in memory and written out whole (the
/// file is small: one row per logged step and per epoch), so that a reader
/// never sees a half-written row and a crash never truncates the file.
class MetricsLog {
public:
  static constexpr const char *kHeader =
      "kind,step,epoch,train_loss,lr,samples_per_s,test_loss,test_accuracy\n";

  /// An empty \p path keeps no log: every call then does nothing.
  explicit MetricsLog(std::string path);

  bool enabled() const { return !path_.empty(); }

  void addStep(int64_t globalStep, int epoch, double trainLoss, float lr,
               double samplesPerSecond);
  /// \p testAccuracy is empty for regression, which has no accuracy.
  void addEpoch(int64_t globalStep, int epoch, double trainLoss, float lr,
                double samplesPerSecond, double testLoss, std::optional<double> testAccuracy);

  /// The CSV as it stands: the header and every row added so far.
  const std::string &text() const { return text_; }

  /// Replaces the file with text() atomically (atomic_file.h). On failure
  /// sets \p error to "--metrics <path>: <reason>".
  bool write(std::string &error) const;

private:
  std::string path_;
  std::string text_;
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_METRICS_H
