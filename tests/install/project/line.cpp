// The model of the out-of-tree project (tests/install): y = x W^T + b with
// two inputs, batch 4, mean squared error, SGD with learning rate 0.1.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct Line : nn::Module {
  nn::Linear fc{2, 1};

  Line() { register_module("fc", fc); }
};

KILN_PROGRAM(line) {
  static Line model;
  ClassifierOptions options;
  options.task = Task::regression;
  options.batch_size = 4;
  options.input_shape = {2};
  options.num_classes = 1;
  options.optimizer = optim::SGD{.lr = 0.1};
  return build_classifier("line", model, options,
                          [](const Tensor &x) { return model.fc(x); });
}
