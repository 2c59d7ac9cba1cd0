// mlp: Linear(784,512) ReLU Linear(512,512) ReLU Linear(512,10),
// batch 128, SGD lr 0.05 momentum 0.9, cross-entropy on logits.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct MLP : nn::Module {
  nn::Linear fc1{784, 512}, fc2{512, 512}, fc3{512, 10};

  MLP() {
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

KILN_PROGRAM(mlp) {
  static MLP model;
  ClassifierOptions options;
  options.batch_size = 128;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.05, .momentum = 0.9};
  return build_classifier("mlp", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
