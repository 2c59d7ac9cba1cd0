//===- Autodiff.h - gradients in the kiln C++ DSL ---------------*- C++ -*-===//
//
// Differentiation is symbolic: these calls record a kiln.vjp op, and the
// compiler's kiln-autodiff pass turns it into backward ops. Gradients of
// several calls add up like PyTorch's `.grad` accumulation:
// grad(l1, w) + grad(l2, w) == grad(l1 + l2, w).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_AUTODIFF_H
#define KILN_DSL_AUTODIFF_H

#include "kiln/dsl/Tensor.h"

#include <utility>
#include <vector>

namespace kiln::dsl {

/// d(output)/d(wrt) for a scalar `output` (PyTorch: output.backward()).
/// A non-scalar output is an error: use vjp() with a seed.
std::vector<Tensor> grad(const Tensor &output, const std::vector<Tensor> &wrt,
                         Loc loc = Loc::current());

/// The loss and its gradients.
std::pair<Tensor, std::vector<Tensor>>
value_and_grad(const Tensor &output, const std::vector<Tensor> &wrt,
               Loc loc = Loc::current());

/// seed^T d(output)/d(wrt): PyTorch's output.backward(gradient=seed).
std::vector<Tensor> vjp(const Tensor &output, const Tensor &seed,
                        const std::vector<Tensor> &wrt,
                        Loc loc = Loc::current());

} // namespace kiln::dsl

#endif // KILN_DSL_AUTODIFF_H
