//===- optim.h - optimizers compiled into the training step -----*- C++ -*-===//
#ifndef KILN_DSL_OPTIM_H
#define KILN_DSL_OPTIM_H

#include "kiln/dsl/Tensor.h"

#include <string>
#include <vector>

namespace kiln::dsl::optim {

/// torch.optim.SGD: buf = momentum * buf + (g + weight_decay * p);
/// p -= lr * (nesterov ? g + momentum * buf : buf). The learning rate is a
/// runtime input of the step; `lr` here is the trainer's default.
struct SGD {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  /// Names of the per-parameter state buffers (PyTorch's names).
  std::vector<std::string> state_names() const;
  /// Traces one update; `state` holds this parameter's buffers in
  /// state_names() order and is replaced by the new buffers.
  Tensor step(const Tensor &param, const Tensor &grad, const Tensor &lr,
              std::vector<Tensor> &state) const;
};

} // namespace kiln::dsl::optim

#endif // KILN_DSL_OPTIM_H
