//===- metrics.cpp - What the trainer measures and logs -------------------===//
//
// Implements metrics.h. Numbers in the CSV are written with fmt's shortest
// round-trip form ("{}"), so a reader gets back exactly the number the
// trainer computed (the learning rate as the float32 the step received);
// samples/s, a noisy timing, keeps one decimal.
//
//===----------------------------------------------------------------------===//

#include "metrics.h"
#include "atomic_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace kiln::runtime {

double sampleLoss(const kiln_model_info *m, const float *row, int32_t label,
                  const float *targets) {
  const int32_t k = m->num_classes;
  if (m->task == KILN_TASK_CLASSIFICATION) {
    // log(sum exp(z)) - z[label], shifted by the largest logit so exp cannot
    // overflow.
    const double largest = *std::max_element(row, row + k);
    double sum = 0;
    for (int32_t c = 0; c < k; ++c)
      sum += std::exp(static_cast<double>(row[c]) - largest);
    return largest + std::log(sum) - row[label];
  }
  double total = 0;
  for (int32_t c = 0; c < k; ++c) {
    const double z = row[c], t = targets[c];
    // Binary: -t log(sigmoid z) - (1 - t) log(1 - sigmoid z), in the form
    // that neither overflows nor loses the small terms.
    total += m->task == KILN_TASK_REGRESSION
                 ? (z - t) * (z - t)
                 : std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::abs(z)));
  }
  return total / k;
}

bool evaluate(const kiln_model_info *m, ModelRunner &runner, DataLoader &loader, Batch &batch,
              std::vector<float> &logits, Metric &metric, double &testLoss,
              std::string &error, std::vector<float> *allLogits) {
  const int32_t k = m->num_classes;
  double sum = 0, lossSum = 0;
  int64_t count = 0, samples = 0;
  if (!loader.startEpoch(0, error))
    return false;
  while (loader.next(batch)) {
    if (!runner.predict(batch.x.data(), logits.data(), error))
      return false;
    if (allLogits)
      allLogits->insert(allLogits->end(), logits.begin(), logits.begin() + batch.valid * k);
    for (int64_t r = 0; r < batch.valid; ++r) {
      const float *row = logits.data() + r * k;
      const bool classification = m->task == KILN_TASK_CLASSIFICATION;
      const float *target = classification ? nullptr : batch.targets.data() + r * k;
      lossSum += sampleLoss(m, row, classification ? batch.y[r] : 0, target);
      ++samples;
      if (classification) {
        sum += std::max_element(row, row + k) - row == batch.y[r];
        ++count;
        continue;
      }
      for (int32_t c = 0; c < k; ++c) {
        const double d = static_cast<double>(row[c]) - target[c];
        sum += m->task == KILN_TASK_REGRESSION ? d * d : (row[c] > 0) == (target[c] > 0.5f);
      }
      count += k;
    }
  }
  metric.value = count ? sum / static_cast<double>(count) : 0.0;
  testLoss = samples ? lossSum / static_cast<double>(samples) : 0.0;
  return true;
}

MetricsLog::MetricsLog(std::string path) : path_(std::move(path)) {
  if (enabled())
    text_ = kHeader;
}

void MetricsLog::addStep(int64_t globalStep, int epoch, double trainLoss, float lr,
                         double samplesPerSecond) {
  if (enabled())
    fmt::format_to(std::back_inserter(text_), "step,{},{},{},{},{:.1f},,\n", globalStep, epoch,
                   trainLoss, lr, samplesPerSecond);
}

void MetricsLog::addEpoch(int64_t globalStep, int epoch, double trainLoss, float lr,
                          double samplesPerSecond, double testLoss,
                          std::optional<double> testAccuracy) {
  if (!enabled())
    return;
  fmt::format_to(std::back_inserter(text_), "epoch,{},{},{},{},{:.1f},{},", globalStep, epoch,
                 trainLoss, lr, samplesPerSecond, testLoss);
  if (testAccuracy)
    fmt::format_to(std::back_inserter(text_), "{}", *testAccuracy);
  text_ += '\n';
}

bool MetricsLog::write(std::string &error) const {
  if (!enabled())
    return true;
  std::string ioError;
  if (writeFileAtomically(path_, {{text_.data(), text_.size()}}, ioError))
    return true;
  error = fmt::format("--metrics {}: {}", path_, ioError);
  return false;
}

} // namespace kiln::runtime
