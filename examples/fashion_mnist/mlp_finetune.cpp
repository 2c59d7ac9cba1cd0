// mlp_finetune: the mlp example's backbone (fc1, fc2) frozen under a new
// head. Fine-tuning, as a PyTorch user does it:
//   mlp-train --save mlp.safetensors
//   mlp_finetune-train --init-from mlp.safetensors --partial
// --partial (load_state_dict(strict=False)) loads fc1.* and fc2.* from the
// mlp checkpoint, keeps the fresh initialization of head.* and ignores the
// old head fc3.*. Frozen parameters get no backward ops, no optimizer state
// and no update, so only the head trains (and the step is much cheaper).
// The head's call is observed (kiln/dsl/hooks.h): each step stores its input
// and output and their gradients (grad_input, grad_output), which
// --dump-observations FILE writes out.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct FineTuned : nn::Module {
  nn::Linear fc1{784, 512}, fc2{512, 512}; // the mlp's names: loaded
  nn::Linear head{512, 10};                // a new name: initialized

  FineTuned() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("head", head);
    fc1.requires_grad_(false);
    fc2.requires_grad_(false);
  }

  Tensor forward(const Tensor &images) const {
    Tensor x = flatten(images, 1);
    x = relu(fc1(x));
    x = relu(fc2(x));
    return observe_call("head", head, x);
  }
};

KILN_PROGRAM(mlp_finetune) {
  static FineTuned model;
  ClassifierOptions options;
  options.batch_size = 128;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.05, .momentum = 0.9};
  return build_classifier("mlp_finetune", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
