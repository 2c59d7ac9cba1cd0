// tiny_mlp: Linear(196,32) ReLU Linear(32,10) on 14x14 Fashion-MNIST images,
// batch 16, SGD lr 0.05 momentum 0.9, cross-entropy on logits. Sized to train
// on a Cortex-M4 with 256 KiB of RAM: 6634 parameters plus as many momentum
// values are 53 KB of state (train_fashion_mnist.c, docs/devices.md).
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct TinyMLP : nn::Module {
  nn::Linear fc1{196, 32}, fc2{32, 10};

  TinyMLP() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  Tensor forward(const Tensor &images) const {
    return fc2(relu(fc1(flatten(images, 1))));
  }
};

KILN_PROGRAM(tiny_mlp) {
  static TinyMLP model;
  ClassifierOptions options;
  options.batch_size = 16;
  options.input_shape = {14, 14};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.05, .momentum = 0.9};
  return build_classifier("tiny_mlp", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
