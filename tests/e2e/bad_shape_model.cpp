// A model with a shape bug: fc2 expects 256 features but fc1 makes 128.
// Tracing must fail at the fc2 call below, naming this file, the line and
// both shapes (tests/lit/Integration/model-shape-error.test checks it).
#include "kiln/dsl/kiln.h"

using namespace kiln::dsl;

struct BadShape : nn::Module {
  nn::Linear fc1{784, 128}, fc2{256, 10};
  BadShape() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor &x) const {
    Tensor h = relu(fc1(flatten(x, 1)));
    return fc2(h); // line 16: the shape error
  }
};

KILN_PROGRAM(bad_shape) {
  static BadShape model;
  ClassifierOptions options;
  options.input_shape = {28, 28};
  return build_classifier("bad_shape", model, options,
                          [](const Tensor &x) { return model.forward(x); });
}
