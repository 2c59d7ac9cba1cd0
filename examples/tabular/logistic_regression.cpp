// logistic_regression: one logit x W^T + b on the 4-feature "logistic"
// table (make_tables.cpp), batch 32, SGD lr 0.1 with momentum 0.9,
// binary cross-entropy on the logit (BCEWithLogits, the stable form).
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct LogisticRegression : nn::Module {
  nn::Linear fc{4, 1};

  LogisticRegression() { register_module("fc", fc); }
};

KILN_PROGRAM(logistic_regression) {
  static LogisticRegression model;
  ClassifierOptions options;
  // f32 0/1 targets [32, 1]; the default loss is then
  // nn::binary_cross_entropy_with_logits.
  options.task = Task::binary;
  options.batch_size = 32;
  options.input_shape = {4};
  options.num_classes = 1;
  options.optimizer = optim::SGD{.lr = 0.1, .momentum = 0.9};
  return build_classifier("logistic_regression", model, options,
                          [](const Tensor &x) { return model.fc(x); });
}
