//===- reductions.cpp - amin, logsumexp, var, norms, argmax, argmin -------===//
//
// Composites: each opens a LocationScope, so that its ops and errors point
// at the user's call.
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/reductions.h"

#include "Trace.h"

#include "kiln/dsl/functional.h"
#include "kiln/dsl/layout.h"

#include <cmath>

using namespace kiln::dsl::detail;

namespace kiln::dsl {

Tensor amin(const Tensor &x, Shape dims, bool keepdim, Loc loc) {
  LocationScope scope(loc);
  return -amax(-x, std::move(dims), keepdim);
}

// torch's form: the maximum m is a constant of the gradient (detached), and
// an infinite m is replaced by 0 so that x - m stays defined (all -inf
// gives log(0) = -inf; a +inf gives +inf).
Tensor logsumexp(const Tensor &input, Shape dims, bool keepdim, Loc loc) {
  LocationScope scope(loc);
  Tensor x = floatOperand(input, loc);
  Tensor m = amax(x, dims, /*keepdim=*/true).detach();
  m = where(eq(abs(m), INFINITY), 0.0, m);
  Tensor s = sum(exp(x - m), dims, keepdim);
  return log(s) + (keepdim ? m : reshape(m, s.shape()));
}

Tensor var(const Tensor &x, Shape dims, int64_t correction, bool keepdim,
           Loc loc) {
  if (!isFloating(x.dtype()))
    fail(loc, "var: expects a float tensor, got an integer one (torch.var "
              "rejects it too); convert it with .to(DType::f32)");
  LocationScope scope(loc);
  int64_t n = 1;
  for (int64_t d : dims)
    n *= x.size(d);
  Tensor centered = x - mean(x, dims, /*keepdim=*/true);
  return sum(centered * centered, dims, keepdim) /
         static_cast<double>(n - correction);
}

Tensor stddev(const Tensor &x, Shape dims, int64_t correction, bool keepdim,
           Loc loc) {
  LocationScope scope(loc);
  return sqrt(var(x, std::move(dims), correction, keepdim, loc));
}

// The root of a zero sum would give the gradient 0 * inf = NaN; where(zero)
// around a root of a safe value keeps it at 0, as torch's norm backward.
Tensor vector_norm(const Tensor &x, double ord, Shape dims, bool keepdim,
                   Loc loc) {
  if (!isFloating(x.dtype()))
    fail(loc, "vector_norm: expects a float tensor, got an integer one; "
              "convert it with .to(DType::f32)");
  if (std::isnan(ord) || (ord < 0 && !std::isinf(ord)))
    fail(loc, "vector_norm: ord must be > 0, 0, inf or -inf, got " +
                  std::to_string(ord));
  LocationScope scope(loc);
  if (std::isinf(ord))
    return ord > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
  if (ord == 0)
    return sum(ne(x, 0.0), dims, keepdim).detach();
  if (ord == 1)
    return sum(abs(x), dims, keepdim);
  Tensor powers = ord == 2 ? x * x : pow(abs(x), ord);
  Tensor s = sum(powers, dims, keepdim);
  Tensor zero = eq(s, 0.0);
  Tensor safe = where(zero, 1.0, s);
  Tensor root = ord == 2 ? sqrt(safe) : pow(safe, 1.0 / ord);
  return where(zero, 0.0, root);
}

Tensor vector_norm(const Tensor &x, double ord, Loc loc) {
  Shape all(x.rank());
  for (int64_t d = 0; d < x.rank(); ++d)
    all[d] = d;
  return vector_norm(x, ord, all, false, loc);
}

namespace {
// topk compares floats; integers up to 2^53 convert exactly to f64.
Tensor position(const Tensor &x, int64_t dim, bool keepdim, bool largest,
                Loc loc) {
  LocationScope scope(loc);
  Tensor values = isFloating(x.dtype()) ? x : to(x, DType::f64);
  Tensor indices = topk(values, 1, dim, largest).indices;
  return keepdim ? indices : squeeze(indices, dim);
}
} // namespace

Tensor argmax(const Tensor &x, int64_t dim, bool keepdim, Loc loc) {
  return position(x, dim, keepdim, /*largest=*/true, loc);
}
Tensor argmax(const Tensor &x, Loc loc) {
  LocationScope scope(loc);
  return position(flatten(x), 0, false, /*largest=*/true, loc);
}
Tensor argmin(const Tensor &x, int64_t dim, bool keepdim, Loc loc) {
  return position(x, dim, keepdim, /*largest=*/false, loc);
}
Tensor argmin(const Tensor &x, Loc loc) {
  LocationScope scope(loc);
  return position(flatten(x), 0, false, /*largest=*/false, loc);
}

} // namespace kiln::dsl
