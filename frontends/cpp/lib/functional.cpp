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

using namespace mlir;
using namespace kiln::dsl::detail;

namespace kiln::dsl {

namespace {
Tensor unary(StringRef name, const Tensor &x, Loc loc) {
  return emit(loc, name, {valueOf(x, loc)});
}

Tensor binary(StringRef name, const Tensor &a, const Tensor &b, Loc loc) {
  return emit(loc, name, {valueOf(a, loc), valueOf(b, loc)});
}

Tensor compare(StringRef predicate, const Tensor &a, const Tensor &b, Loc loc) {
  Builder builder(activeFunction(loc).program->context.get());
  return emit(
      loc, "kiln.compare", {valueOf(a, loc), valueOf(b, loc)},
      {builder.getNamedAttr("predicate", builder.getStringAttr(predicate))});
}

bool isFloat(DType dtype) { return dtype == DType::f32 || dtype == DType::f64; }
} // namespace

Tensor sqrt(const Tensor &x, Loc loc) { return unary("kiln.sqrt", x, loc); }
Tensor tanh(const Tensor &x, Loc loc) { return unary("kiln.tanh", x, loc); }
Tensor abs(const Tensor &x, Loc loc) { return unary("kiln.abs", x, loc); }

Tensor maximum(const Tensor &a, const Tensor &b, Loc loc) {
  return binary("kiln.maximum", a, b, loc);
}
Tensor minimum(const Tensor &a, const Tensor &b, Loc loc) {
  return binary("kiln.minimum", a, b, loc);
}

Tensor pow(const Tensor &x, const Tensor &y, Loc loc) {
  return binary("kiln.pow", x, y, loc);
}
Tensor pow(const Tensor &x, double exponent, Loc loc) {
  return pow(x, scalar(exponent, x.dtype(), loc), loc);
}
Tensor pow(double base, const Tensor &exponent, Loc loc) {
  return pow(scalar(base, exponent.dtype(), loc), exponent, loc);
}

Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b, Loc loc) {
  if (!isFloat(cond.dtype()))
    fail(loc, "where: the condition must be a 0/1 float mask (as gt, lt, "
              "eq... make), got an integer tensor");
  return emit(loc, "kiln.select",
              {valueOf(cond, loc), valueOf(a, loc), valueOf(b, loc)});
}
Tensor where(const Tensor &cond, const Tensor &a, double b, Loc loc) {
  return where(cond, a, scalar(b, a.dtype(), loc), loc);
}
Tensor where(const Tensor &cond, double a, const Tensor &b, Loc loc) {
  return where(cond, scalar(a, b.dtype(), loc), b, loc);
}

Tensor lt(const Tensor &a, const Tensor &b, Loc loc) {
  return compare("lt", a, b, loc);
}
Tensor le(const Tensor &a, const Tensor &b, Loc loc) {
  return compare("le", a, b, loc);
}
Tensor ge(const Tensor &a, const Tensor &b, Loc loc) {
  return compare("ge", a, b, loc);
}
Tensor ne(const Tensor &a, const Tensor &b, Loc loc) {
  return compare("ne", a, b, loc);
}
Tensor lt(const Tensor &a, double b, Loc loc) {
  return compare("lt", a, scalar(b, a.dtype(), loc), loc);
}
Tensor le(const Tensor &a, double b, Loc loc) {
  return compare("le", a, scalar(b, a.dtype(), loc), loc);
}
Tensor gt(const Tensor &a, double b, Loc loc) {
  return compare("gt", a, scalar(b, a.dtype(), loc), loc);
}
Tensor ge(const Tensor &a, double b, Loc loc) {
  return compare("ge", a, scalar(b, a.dtype(), loc), loc);
}
Tensor eq(const Tensor &a, double b, Loc loc) {
  return compare("eq", a, scalar(b, a.dtype(), loc), loc);
}
Tensor ne(const Tensor &a, double b, Loc loc) {
  return compare("ne", a, scalar(b, a.dtype(), loc), loc);
}

// sigmoid(x) = 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) otherwise; with
// z = e^-|x| <= 1 both branches are finite, and so are their gradients.
// -|x| is selected rather than taken with abs, whose zero slope at 0 would
// lose sigmoid'(0) = 1/4.
Tensor sigmoid(const Tensor &x, Loc loc) {
  LocationScope scope(loc);
  Tensor nonNegative = ge(x, 0.0);
  Tensor z = exp(where(nonNegative, -x, x));
  Tensor denominator = 1.0 + z;
  return where(nonNegative, 1.0 / denominator, z / denominator);
}

Tensor softmax(const Tensor &x, int64_t dim, Loc loc) {
  LocationScope scope(loc);
  return exp(log_softmax(x, dim));
}

Tensor clamp_min(const Tensor &x, double lo, Loc loc) {
  LocationScope scope(loc);
  return where(lt(x, lo), lo, x);
}
Tensor clamp_max(const Tensor &x, double hi, Loc loc) {
  LocationScope scope(loc);
  return where(gt(x, hi), hi, x);
}
// min(max(x, lo), hi): with lo > hi every element is hi, as in PyTorch.
Tensor clamp(const Tensor &x, double lo, double hi, Loc loc) {
  LocationScope scope(loc);
  return clamp_max(clamp_min(x, lo), hi);
}

Tensor random_normal(const Tensor &seed, Shape shape, double mean, double std,
                     int64_t stream, DType dtype, Loc loc) {
  if (!isFloat(dtype))
    fail(loc, "random_normal: the result must have a float dtype");
  MLIRContext *ctx = activeFunction(loc).program->context.get();
  auto type = RankedTensorType::get(shape, elementTypeOf(ctx, dtype));
  Builder b(ctx);
  return emit(loc, "kiln.random_normal", {valueOf(seed, loc)},
              {b.getNamedAttr("stream", b.getI64IntegerAttr(stream)),
               b.getNamedAttr("mean", b.getF64FloatAttr(mean)),
               b.getNamedAttr("std", b.getF64FloatAttr(std))},
              type);
}

} // namespace kiln::dsl
