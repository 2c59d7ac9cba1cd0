// linear_regression: y = x W^T + b on the 8-feature "linear" table
// (make_tables.cpp), batch 32, SGD lr 0.1, mean squared error.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct LinearRegression : nn::Module {
  nn::Linear fc{8, 1};

  LinearRegression() { register_module("fc", fc); }
};

KILN_PROGRAM(linear_regression) {
  static LinearRegression model;
  ClassifierOptions options;
  options.task = Task::regression; // f32 targets [32, 1]; loss mse_loss
  options.batch_size = 32;
  options.input_shape = {8};
  options.num_classes = 1;
  options.optimizer = optim::SGD{.lr = 0.1};
  return build_classifier("linear_regression", model, options,
                          [](const Tensor &x) { return model.fc(x); });
}
