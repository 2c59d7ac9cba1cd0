//===- Classifier.h - init/train_step/predict for a model -------*- C++ -*-===//
//
// Traces the three functions a trainer needs from a model, its forward and
// an optimizer:
//   <name>_init(seed) -> state                deterministic initialization
//   <name>_train_step(x, y, lr) -> loss       forward + backward + update,
//                                             state updated in place
//   <name>_predict(x) -> logits (or predictions)
// Despite the name, build_classifier builds any supervised model:
// ClassifierOptions::task selects class indices, real-valued (regression) or
// binary targets.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_CLASSIFIER_H
#define KILN_DSL_CLASSIFIER_H

#include "kiln/dsl/Program.h"
#include "kiln/dsl/nn.h"
#include "kiln/dsl/optim.h"

#include <functional>

namespace kiln::dsl {

struct ClassifierOptions {
  int64_t batch_size = 128;
  Shape input_shape;       ///< one sample, e.g. {28, 28}
  /// Outputs per sample: classes, regression targets or binary labels.
  int64_t num_classes = 10;
  /// The targets y of the step: i32 class indices [batch] (default loss
  /// cross_entropy), or f32 [batch, num_classes] values (regression:
  /// mse_loss) or 0/1 labels (binary: binary_cross_entropy_with_logits).
  Task task = Task::classification;
  optim::Optimizer optimizer; ///< SGD, Adam, AdamW or RMSprop
  /// Loss scaling, gradient clipping, per-group learning-rate factors.
  optim::UpdateOptions update;
  /// Gradient accumulation: the step splits its batch into this many equal
  /// micro-batches, runs the forward on each, and applies the mean of their
  /// gradients in one update (PyTorch: loss / k, backward per micro-batch,
  /// then optimizer.step()). batch_size must be divisible by it. Batch-norm
  /// running statistics then come from the last micro-batch. Each
  /// micro-batch's backward runs right after its forward, so the arena holds
  /// the activations of one micro-batch (and predict runs in the same chunks).
  int64_t accumulation_steps = 1;
};

using Forward = std::function<Tensor(const Tensor &x)>;
using Loss = std::function<Tensor(const Tensor &logits, const Tensor &labels)>;

/// Compiling to a memory budget (`<model>-gen --memory-budget=256KiB`): the
/// generator traces the program again with the train step's batch split into
/// more micro-batches. build_classifier reads and fills this; models never
/// touch it.
struct MicroBatchOverride {
  /// > 0: used instead of ClassifierOptions::accumulation_steps, unless the
  /// model has batch-coupled state (see below).
  int64_t accumulation_steps = 0;
  /// Filled by the last build_classifier: its batch size and the
  /// accumulation steps it traced with.
  int64_t batch_size = 0, traced_accumulation_steps = 0;
  /// The first module buffer of the last model traced ("bn.running_mean",
  /// "drop.rng_state"), empty if none: batch norm statistics and dropout
  /// masks would differ per micro-batch, so such a model is not split.
  std::string batch_coupled_state;
};
MicroBatchOverride &micro_batch_override();

Program build_classifier(const std::string &name, nn::Module &model,
                         const ClassifierOptions &options,
                         const Forward &forward, const Loss &loss = nullptr);

} // namespace kiln::dsl

#endif // KILN_DSL_CLASSIFIER_H
