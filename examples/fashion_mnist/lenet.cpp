// lenet: Conv(1,6,5,pad 2) ReLU MaxPool2, Conv(6,16,5) ReLU MaxPool2,
// Linear(400,120) ReLU Linear(120,84) ReLU Linear(84,10), batch 128,
// SGD lr 0.05 momentum 0.9, cross-entropy on logits.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct LeNet : nn::Module {
  nn::Conv2d conv1{1, 6, 5, /*stride=*/1, /*padding=*/2};
  nn::Conv2d conv2{6, 16, 5};
  nn::MaxPool2d pool{2};
  nn::Linear fc1{16 * 5 * 5, 120}, fc2{120, 84}, fc3{84, 10};

  LeNet() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }

  Tensor forward(const Tensor &images) const {
    Tensor x = reshape(images, {images.size(0), 1, 28, 28});
    x = pool(relu(conv1(x)));  // [N, 6, 14, 14]
    x = pool(relu(conv2(x)));  // [N, 16, 5, 5]
    x = flatten(x, 1);            // [N, 400]
    x = relu(fc1(x));
    x = relu(fc2(x));
    return fc3(x);
  }
};

KILN_PROGRAM(lenet) {
  static LeNet model;
  ClassifierOptions options;
  options.batch_size = 128;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.05, .momentum = 0.9};
  return build_classifier("lenet", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
