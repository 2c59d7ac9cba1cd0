//===- optim.cpp - optimizer updates traced into the step -----------------===//

#include "kiln/dsl/optim.h"

namespace kiln::dsl::optim {

std::vector<std::string> SGD::state_names() const {
  if (momentum == 0.0)
    return {};
  return {"momentum_buffer"};
}

Tensor SGD::step(const Tensor &param, const Tensor &grad, const Tensor &lr,
                 std::vector<Tensor> &state) const {
  Tensor g = grad;
  if (weight_decay != 0.0)
    g = g + weight_decay * param;
  if (momentum != 0.0) {
    // A zero-initialized buffer makes the first step buf = g, as in PyTorch.
    Tensor buf = momentum * state[0] + g;
    state[0] = buf;
    g = nesterov ? g + momentum * buf : buf;
  }
  return param - lr * g;
}

} // namespace kiln::dsl::optim
