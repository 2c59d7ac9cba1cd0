// logreg: flatten, Linear(784,10), batch 128, SGD lr 0.1,
// cross-entropy on logits.
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct LogReg : nn::Module {
  nn::Linear fc{784, 10};

  LogReg() { register_module("fc", fc); }

  Tensor forward(const Tensor &images) const { return fc(flatten(images, 1)); }
};

KILN_PROGRAM(logreg) {
  static LogReg model;
  ClassifierOptions options;
  options.batch_size = 128;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  options.optimizer = optim::SGD{.lr = 0.1};
  return build_classifier("logreg", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
