// mlp_wide: Linear(784,4096) ReLU Linear(4096,4096) ReLU Linear(4096,10),
// batch 1024, SGD lr 0.05 momentum 0.9, cross-entropy on logits. The MLP
// benchmark whose matrix products are large enough to keep every core busy
// (about 120 GFLOP per step). The module repeats mlp.cpp's with other widths
// rather than sharing a header: tests/lit/Integration/check-numerics.test and
// docs/architecture.md quote source locations inside mlp.cpp.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct WideMLP : nn::Module {
  nn::Linear fc1{784, 4096}, fc2{4096, 4096}, fc3{4096, 10};

  WideMLP() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }

  Tensor forward(const Tensor &images) const {
    Tensor x = flatten(images, 1);
    x = relu(fc1(x));
    x = relu(fc2(x));
    return fc3(x);
  }
};

KILN_PROGRAM(mlp_wide) {
  static WideMLP model;
  ClassifierOptions options;
  options.batch_size = 1024;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.05, .momentum = 0.9};
  return build_classifier("mlp_wide", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
