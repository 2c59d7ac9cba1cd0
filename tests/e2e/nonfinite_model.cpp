// A model whose forward pass takes the square root of a linear layer's
// output, negative for most samples: built with --check-numerics, its trainer
// must stop at step 1 naming the sqrt's line (line 17, checked in
// tests/e2e/CMakeLists.txt).
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct SqrtOfLinear : nn::Module {
  nn::Linear fc{784, 10};
  SqrtOfLinear() { register_module("fc", fc); }

  Tensor forward(const Tensor &images) const {
    Tensor scores = fc(flatten(images, 1));
    // sqrt of a negative score is NaN; the loss is NaN too, but only the
    // checked build can say that this line made it.
    return sqrt(scores);
  }
};

KILN_PROGRAM(nonfinite) {
  static SqrtOfLinear model;
  ClassifierOptions options;
  options.batch_size = 32;
  options.input_shape = {28, 28};
  options.num_classes = 10;
  return build_classifier("nonfinite", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
