// convnet: the Fashion-MNIST benchmark's convnet (benchmark/convnet.py):
// Conv(1,32,5,same) ReLU MaxPool2, Conv(32,64,5,same) ReLU MaxPool2,
// Linear(3136,1024) ReLU Dropout(0.4) Linear(1024,10), batch 64,
// cross-entropy on logits.
//
// Optimizer: SGD lr 0.01 momentum 0.9 (the dataset's script uses Adam).
// `convnet-train --epochs 8` passes 0.90 test accuracy at epoch 6 and ends
// at 0.9121 (seed 0; docs/benchmarks.md). Dropout draws a new mask every step from its RNG counter
// (state `drop.rng_state`, seeded by init); predict runs in eval mode.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct ConvNet : nn::Module {
  nn::Conv2d conv1{1, 32, 5, /*stride=*/1, same};
  nn::Conv2d conv2{32, 64, 5, /*stride=*/1, same};
  nn::MaxPool2d pool{2};
  nn::Linear fc1{64 * 7 * 7, 1024}, fc2{1024, 10};
  nn::Dropout drop{0.4};

  ConvNet() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("drop", drop);
    register_module("fc2", fc2);
  }

  Tensor forward(const Tensor &images) const {
    Tensor x = reshape(images, {images.size(0), 1, 28, 28});
    x = pool(relu(conv1(x)));  // [N, 32, 14, 14]
    x = pool(relu(conv2(x)));  // [N, 64, 7, 7]
    x = relu(fc1(flatten(x, 1))); // [N, 1024]
    return fc2(drop(x));
  }
};

KILN_PROGRAM(convnet) {
  static ConvNet model;
  ClassifierOptions options;
  options.batch_size = 64;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.01, .momentum = 0.9};
  return build_classifier("convnet", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
