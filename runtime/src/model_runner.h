//===- model_runner.h - Where the trainer's steps run (private) -*- C++ -*-===//
//
// The trainer keeps the model state in a host arena (checkpoints are read
// into it and written from it); a runner executes init's result, the steps
// and predictions somewhere: on the host, in that arena, or on a GPU with
// its own copy of the state (cuda_trainer.cpp). Steps may complete later
// than they are issued, so losses are collected with takeLosses.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_MODEL_RUNNER_H
#define KILN_RUNTIME_SRC_MODEL_RUNNER_H

#include "kiln/runtime/model_abi.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::runtime {

class ModelRunner {
public:
  virtual ~ModelRunner() = default;
  /// Makes the runner's state that of the host arena (after init or a
  /// checkpoint was loaded into it).
  virtual bool upload(std::string &error) = 0;
  /// Copies the runner's state into the host arena (before it is saved or
  /// read); waits for every issued step.
  virtual bool download(std::string &error) = 0;
  /// Issues one training step; its loss comes out of takeLosses.
  virtual bool step(const float *x, const void *targets, float lr, std::string &error) = 0;
  /// Whether the losses must be taken now (they are kept for few steps).
  virtual bool lossesDue() const = 0;
  /// Appends the losses of the steps issued since the last call, in order.
  virtual bool takeLosses(std::vector<float> &losses, std::string &error) = 0;
  /// Writes the outputs for one batch to host memory \p logits.
  virtual bool predict(const float *x, float *logits, std::string &error) = 0;
};

/// Runs the model's own (host) functions in the trainer's arena.
class HostRunner final : public ModelRunner {
public:
  HostRunner(const kiln_model_info *model, void *arena) : model(model), arena(arena) {}
  bool upload(std::string &) override { return true; }
  bool download(std::string &) override { return true; }
  bool step(const float *x, const void *targets, float lr, std::string &error) override {
    if (int status = model->train_step(arena, x, targets, lr, &loss)) {
      error = "train_step failed with status " + std::to_string(status);
      return false;
    }
    return true;
  }
  bool lossesDue() const override { return true; }
  bool takeLosses(std::vector<float> &losses, std::string &) override {
    losses.push_back(loss);
    return true;
  }
  bool predict(const float *x, float *logits, std::string &error) override {
    if (int status = model->predict(arena, x, logits)) {
      error = "predict failed with status " + std::to_string(status);
      return false;
    }
    return true;
  }

private:
  const kiln_model_info *model;
  void *arena;
  float loss = 0;
};

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_MODEL_RUNNER_H
