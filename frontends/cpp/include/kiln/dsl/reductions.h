//===- reductions.h - amin, logsumexp, var, norms, argmax, argmin -*- C++ -*-===//
//
// torch reductions composed from kiln's sum, amax and topk, so that they
// differentiate through those ops' VJPs. `dims` lists the reduced dimensions
// (negative counts from the end), as for sum/mean/amax in Tensor.h.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_REDUCTIONS_H
#define KILN_DSL_REDUCTIONS_H

#include "kiln/dsl/Tensor.h"

namespace kiln::dsl {

/// torch.amin: the minimum over `dims`; integer tensors keep their type.
Tensor amin(const Tensor &x, Shape dims, bool keepdim = false,
            Loc loc = Loc::current());

/// torch.logsumexp: log(sum(exp(x))) over `dims`, computed around the
/// maximum so that large inputs do not overflow; its gradient is the
/// softmax over `dims`. Integer inputs give f32.
Tensor logsumexp(const Tensor &x, Shape dims, bool keepdim = false,
                 Loc loc = Loc::current());

/// torch.var: sum((x - mean)^2) / (n - correction) over `dims`; the default
/// correction 1 is Bessel's (the unbiased estimate), 0 the population
/// variance. n <= correction divides by zero (inf or NaN), as in torch.
/// Floats only.
Tensor var(const Tensor &x, Shape dims, int64_t correction = 1,
           bool keepdim = false, Loc loc = Loc::current());
/// torch.std: sqrt(var(x, dims, correction, keepdim)). Not named `std`: a
/// function of that name would make `std::` ambiguous in code that says
/// `using namespace kiln::dsl`.
Tensor stddev(const Tensor &x, Shape dims, int64_t correction = 1,
           bool keepdim = false, Loc loc = Loc::current());

/// torch.linalg.vector_norm: (sum |x|^ord)^(1/ord) over `dims`; ord 2 (the
/// default), 1, any ord > 0, inf (max |x|), -inf (min |x|) or 0 (the number
/// of non-zero elements). As in torch, the gradient at a zero norm is 0
/// (not NaN). Floats only; ord < 0 other than -inf is an error.
Tensor vector_norm(const Tensor &x, double ord, Shape dims,
                   bool keepdim = false, Loc loc = Loc::current());
/// vector_norm over all elements: a 0-d tensor.
Tensor vector_norm(const Tensor &x, double ord = 2.0, Loc loc = Loc::current());

/// torch.argmax(x, dim, keepdim): i64 positions of the maxima along `dim`;
/// the first of tied maxima, and NaN counts as the largest (as torch).
Tensor argmax(const Tensor &x, int64_t dim, bool keepdim = false,
              Loc loc = Loc::current());
/// torch.argmax(x): the position in the flattened tensor (a 0-d i64).
Tensor argmax(const Tensor &x, Loc loc = Loc::current());
/// torch.argmin: as argmax, for the minima. NaNs are never chosen (torch
/// would return the position of a NaN).
Tensor argmin(const Tensor &x, int64_t dim, bool keepdim = false,
              Loc loc = Loc::current());
Tensor argmin(const Tensor &x, Loc loc = Loc::current());

} // namespace kiln::dsl

#endif // KILN_DSL_REDUCTIONS_H
