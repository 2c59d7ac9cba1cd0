//===- functional.h - pointwise math, masks and random normals --*- C++ -*-===//
//
// torch.* pointwise functions on traced tensors. Primitives append one kiln
// op each (sqrt, tanh, abs, maximum, minimum, pow, where = kiln.select,
// random_normal); composites (sigmoid, softmax, clamp) are built from
// primitives and differentiate through them. Binary functions broadcast as
// in NumPy; a `double` operand becomes a constant of the tensor's type.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_FUNCTIONAL_H
#define KILN_DSL_FUNCTIONAL_H

#include "kiln/dsl/Tensor.h"

namespace kiln::dsl {

Tensor sqrt(const Tensor &x, Loc loc = Loc::current());
Tensor tanh(const Tensor &x, Loc loc = Loc::current());
/// |x|; the gradient is sign(x), 0 at 0 (as PyTorch).
Tensor abs(const Tensor &x, Loc loc = Loc::current());

/// torch.maximum / torch.minimum: NaN-propagating; the gradient goes to the
/// chosen operand, ties split it evenly.
Tensor maximum(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor minimum(const Tensor &a, const Tensor &b, Loc loc = Loc::current());

/// torch.pow: x^y with C's special cases (x^0 = 1; a negative base needs an
/// integral exponent, else NaN).
Tensor pow(const Tensor &x, const Tensor &y, Loc loc = Loc::current());
Tensor pow(const Tensor &x, double exponent, Loc loc = Loc::current());
Tensor pow(double base, const Tensor &exponent, Loc loc = Loc::current());

/// torch.where: `cond != 0 ? a : b`, with `cond` a 0/1 float mask as the
/// comparisons below make; the three shapes broadcast. The gradient flows
/// to the chosen operand; the mask gets none.
Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b,
             Loc loc = Loc::current());
Tensor where(const Tensor &cond, const Tensor &a, double b,
             Loc loc = Loc::current());
Tensor where(const Tensor &cond, double a, const Tensor &b,
             Loc loc = Loc::current());

/// 0/1 masks of the comparison, in the operands' float type (gt and eq are
/// in Tensor.h). No gradient flows through a comparison.
Tensor lt(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor le(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor ge(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor ne(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor lt(const Tensor &a, double b, Loc loc = Loc::current());
Tensor le(const Tensor &a, double b, Loc loc = Loc::current());
Tensor gt(const Tensor &a, double b, Loc loc = Loc::current());
Tensor ge(const Tensor &a, double b, Loc loc = Loc::current());
Tensor eq(const Tensor &a, double b, Loc loc = Loc::current());
Tensor ne(const Tensor &a, double b, Loc loc = Loc::current());

/// 1 / (1 + exp(-x)), computed from exp(-|x|) so that no branch overflows:
/// finite values and gradients for any finite x.
Tensor sigmoid(const Tensor &x, Loc loc = Loc::current());
/// exp(log_softmax(x, dim)).
Tensor softmax(const Tensor &x, int64_t dim, Loc loc = Loc::current());
/// torch.clamp: min(max(x, lo), hi) as a new tensor (NaN stays NaN). The
/// gradient passes where lo <= x <= hi, as in PyTorch.
Tensor clamp(const Tensor &x, double lo, double hi, Loc loc = Loc::current());
Tensor clamp_min(const Tensor &x, double lo, Loc loc = Loc::current());
Tensor clamp_max(const Tensor &x, double hi, Loc loc = Loc::current());

/// Counter-based normal random values N(mean, std^2) (Box-Muller on the
/// splitmix64 counters of random_uniform): element i depends only on
/// (seed, stream, i), and compiled code reproduces the reference
/// interpreter's values bit for bit. `seed` is a 0-d i64 tensor.
Tensor random_normal(const Tensor &seed, Shape shape, double mean, double std,
                     int64_t stream, DType dtype = DType::f32,
                     Loc loc = Loc::current());

} // namespace kiln::dsl

#endif // KILN_DSL_FUNCTIONAL_H
