//===- functional.cpp - pointwise math, masks and random normals ----------===//
//
// Primitives emit one kiln op and let the dialect infer and check shapes;
// composites open a LocationScope so that their ops (and errors) point at
// the user's call.
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/functional.h"

#include "Trace.h"

#include "kiln/dsl/Program.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>

using namespace mlir;
using namespace kiln::dsl::detail;

namespace kiln::dsl {

namespace {
template <typename OpTy> Tensor floatUnary(const Tensor &x, Loc loc) {
  return emit<OpTy>(loc, valueOf(floatOperand(x, loc), loc));
}
} // namespace

Tensor sqrt(const Tensor &x, Loc loc) { return floatUnary<SqrtOp>(x, loc); }
Tensor tanh(const Tensor &x, Loc loc) { return floatUnary<TanhOp>(x, loc); }
Tensor abs(const Tensor &x, Loc loc) {
  return emit<AbsOp>(loc, valueOf(x, loc));
}

Tensor maximum(const Tensor &a, const Tensor &b, Loc loc) {
  return promotedBinary<MaximumOp>(a, b, loc);
}
Tensor minimum(const Tensor &a, const Tensor &b, Loc loc) {
  return promotedBinary<MinimumOp>(a, b, loc);
}

Tensor pow(const Tensor &x, const Tensor &y, Loc loc) {
  if (!isFloating(promoteTypes(x.dtype(), y.dtype())))
    fail(loc, "pow: integer powers are not supported; convert the base "
              "with .to(DType::f32)");
  return promotedBinary<PowOp>(x, y, loc);
}
Tensor pow(const Tensor &x, double exponent, Loc loc) {
  return pow(x, scalarFor(x, exponent, loc), loc);
}
Tensor pow(double base, const Tensor &exponent, Loc loc) {
  return pow(scalarFor(exponent, base, loc), exponent, loc);
}

// The values are promoted to one type, float or integer; the mask (any 0/1
// tensor, as the comparisons make) is converted to it.
Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b, Loc loc) {
  DType type = promoteTypes(a.dtype(), b.dtype());
  Value mask = valueOf(to(cond, type, loc), loc);
  Value lhs = valueOf(to(a, type, loc), loc);
  Value rhs = valueOf(to(b, type, loc), loc);
  return emit<SelectOp>(loc, mask, lhs, rhs);
}
Tensor where(const Tensor &cond, const Tensor &a, double b, Loc loc) {
  return where(cond, a, scalarFor(a, b, loc), loc);
}
Tensor where(const Tensor &cond, double a, const Tensor &b, Loc loc) {
  return where(cond, scalarFor(b, a, loc), b, loc);
}

Tensor lt(const Tensor &a, const Tensor &b, Loc loc) {
  return compareOp("lt", a, b, loc);
}
Tensor le(const Tensor &a, const Tensor &b, Loc loc) {
  return compareOp("le", a, b, loc);
}
Tensor ge(const Tensor &a, const Tensor &b, Loc loc) {
  return compareOp("ge", a, b, loc);
}
Tensor ne(const Tensor &a, const Tensor &b, Loc loc) {
  return compareOp("ne", a, b, loc);
}
Tensor lt(const Tensor &a, double b, Loc loc) {
  return compareOp("lt", a, scalarFor(a, b, loc), loc);
}
Tensor le(const Tensor &a, double b, Loc loc) {
  return compareOp("le", a, scalarFor(a, b, loc), loc);
}
Tensor gt(const Tensor &a, double b, Loc loc) {
  return compareOp("gt", a, scalarFor(a, b, loc), loc);
}
Tensor ge(const Tensor &a, double b, Loc loc) {
  return compareOp("ge", a, scalarFor(a, b, loc), loc);
}
Tensor eq(const Tensor &a, double b, Loc loc) {
  return compareOp("eq", a, scalarFor(a, b, loc), loc);
}
Tensor ne(const Tensor &a, double b, Loc loc) {
  return compareOp("ne", a, scalarFor(a, b, loc), loc);
}

// sigmoid(x) = 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) otherwise; with
// z = e^-|x| <= 1 both branches are finite, and so are their gradients.
// -|x| is selected rather than taken with abs, whose zero slope at 0 would
// lose sigmoid'(0) = 1/4.
Tensor sigmoid(const Tensor &input, Loc loc) {
  LocationScope scope(loc);
  Tensor x = floatOperand(input, loc);
  Tensor nonNegative = ge(x, 0.0);
  Tensor z = exp(where(nonNegative, -x, x));
  Tensor denominator = 1.0 + z;
  return where(nonNegative, 1.0 / denominator, z / denominator);
}

Tensor softmax(const Tensor &x, int64_t dim, Loc loc) {
  LocationScope scope(loc);
  return exp(log_softmax(x, dim));
}

// Integer tensors with integral bounds stay integer (maximum/minimum);
// otherwise the bound is a float and the result too.
Tensor clamp_min(const Tensor &x, double lo, Loc loc) {
  LocationScope scope(loc);
  if (!isFloating(x.dtype()) && std::trunc(lo) == lo)
    return maximum(x, scalar(lo, x.dtype()));
  return where(lt(x, lo), lo, x);
}
Tensor clamp_max(const Tensor &x, double hi, Loc loc) {
  LocationScope scope(loc);
  if (!isFloating(x.dtype()) && std::trunc(hi) == hi)
    return minimum(x, scalar(hi, x.dtype()));
  return where(gt(x, hi), hi, x);
}
// min(max(x, lo), hi): with lo > hi every element is hi, as in PyTorch.
Tensor clamp(const Tensor &x, double lo, double hi, Loc loc) {
  LocationScope scope(loc);
  return clamp_max(clamp_min(x, lo), hi);
}

Tensor random_normal(const Tensor &seed, Shape shape, double mean, double std,
                     int64_t stream, DType dtype, Loc loc) {
  if (!isFloating(dtype))
    fail(loc, "random_normal: the result must have a float dtype");
  MLIRContext *ctx = activeFunction(loc).program->context.get();
  auto type = RankedTensorType::get(shape, elementTypeOf(ctx, dtype));
  Builder b(ctx);
  return emitWithType<RandomNormalOp>(
      loc, type, valueOf(seed, loc), b.getI64IntegerAttr(stream),
      b.getF64FloatAttr(mean), b.getF64FloatAttr(std));
}

} // namespace kiln::dsl
