//===- KilnElementwiseVJP.cpp - VJPs of the elementwise ops ---------------===//
//
// One rule per op of KilnElementwiseOps.td, with the math as a comment.
// Masked gradients use kiln.select rather than a multiply by a 0/1 mask, so
// that an infinite cotangent in the branch not taken does not turn into NaN
// (0 * inf).
//
//===----------------------------------------------------------------------===//

#include "KilnVJPUtils.h"

using namespace mlir;
using namespace kiln;
using kiln::vjp::scalar;
using kiln::vjp::tensorOf;
using kiln::vjp::unbroadcast;

using Grads = SmallVector<Value>;

namespace {
Value compare(OpBuilder &b, Location loc, StringRef predicate, Value lhs,
              Value rhs) {
  return b.create<CompareOp>(loc, predicate, lhs, rhs);
}

/// `g` where `mask` holds, 0 elsewhere, at the broadcast shape.
Value gradWhere(OpBuilder &b, Location loc, Value mask, Value g) {
  Value zero = scalar(b, loc, 0.0, tensorOf(g).getElementType());
  return b.create<SelectOp>(loc, mask, g, zero);
}

/// Gradients of maximum/minimum: the chosen operand gets g, ties g/2 each.
/// `wins` is "gt" for maximum, "lt" for minimum.
Grads extremumVJP(OpBuilder &b, Location loc, Value g, Value lhs, Value rhs,
                  StringRef wins) {
  Type element = tensorOf(g).getElementType();
  Value half = b.create<MulOp>(loc, g, scalar(b, loc, 0.5, element));
  Value tie = compare(b, loc, "eq", lhs, rhs);
  Value lhsWins = compare(b, loc, wins, lhs, rhs);
  Value rhsWins = compare(b, loc, wins, rhs, lhs);
  Value ga = b.create<SelectOp>(loc, lhsWins, g, gradWhere(b, loc, tie, half));
  Value gb = b.create<SelectOp>(loc, rhsWins, g, gradWhere(b, loc, tie, half));
  return {unbroadcast(b, loc, ga, lhs.getType()),
          unbroadcast(b, loc, gb, rhs.getType())};
}
} // namespace

// d/dx sqrt(x) = 1 / (2 sqrt(x))
Grads SqrtOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value twice = b.create<MulOp>(
      loc, getResult(), scalar(b, loc, 2.0, getType().getElementType()));
  return {b.create<DivOp>(loc, cts[0], twice)};
}

// d/dx tanh(x) = 1 - tanh(x)^2
Grads TanhOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value y = getResult();
  Value one = scalar(b, loc, 1.0, getType().getElementType());
  Value slope = b.create<SubOp>(loc, one, b.create<MulOp>(loc, y, y));
  return {b.create<MulOp>(loc, cts[0], slope)};
}

// d/dx |x| = sign(x) = [x > 0] - [x < 0]
Grads AbsOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value x = getInput();
  Value zero = scalar(b, loc, 0.0, getType().getElementType());
  Value sign = b.create<SubOp>(loc, compare(b, loc, "gt", x, zero),
                               compare(b, loc, "lt", x, zero));
  return {b.create<MulOp>(loc, cts[0], sign)};
}

// d/da max(a, b) = [a > b] + [a == b] / 2, d/db = [b > a] + [a == b] / 2
Grads MaximumOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return extremumVJP(b, getLoc(), cts[0], getLhs(), getRhs(), "gt");
}

// Float to float: the cotangent converted back to the input's type. From an
// integer input no gradient exists; to an integer result, autodiff never
// asks (only floating-point values carry cotangents).
Grads CastOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  if (!getInput().getType().cast<RankedTensorType>().getElementType()
           .isa<FloatType>())
    return {Value()};
  return {b.create<CastOp>(getLoc(), getInput().getType(), cts[0])};
}

// d/da min(a, b) = [a < b] + [a == b] / 2, d/db = [b < a] + [a == b] / 2
Grads MinimumOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return extremumVJP(b, getLoc(), cts[0], getLhs(), getRhs(), "lt");
}

// d/dx x^y = y x^(y-1) (0 where y == 0),
// d/dy x^y = x^y log(x) (0 where x == 0 and y >= 0), as PyTorch.
Grads PowOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value g = cts[0], x = getLhs(), y = getRhs();
  Type element = getType().getElementType();
  Value zero = scalar(b, loc, 0.0, element);
  Value one = scalar(b, loc, 1.0, element);
  Value yMinusOne = b.create<SubOp>(loc, y, one);
  Value dx = b.create<MulOp>(loc, y, b.create<PowOp>(loc, x, yMinusOne));
  Value ga = b.create<SelectOp>(loc, compare(b, loc, "eq", y, zero), zero,
                                b.create<MulOp>(loc, g, dx));
  Value dy = b.create<MulOp>(loc, getResult(), b.create<LogOp>(loc, x));
  Value xZero = compare(b, loc, "eq", x, zero);
  Value yNonNeg = compare(b, loc, "ge", y, zero);
  Value noDy = b.create<MulOp>(loc, xZero, yNonNeg);
  Value gb = b.create<SelectOp>(loc, noDy, zero, b.create<MulOp>(loc, g, dy));
  return {unbroadcast(b, loc, ga, x.getType()),
          unbroadcast(b, loc, gb, y.getType())};
}

// select(c, a, b): da = c ? g : 0, db = c ? 0 : g; the mask is not
// differentiable.
Grads SelectOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value g = cts[0], cond = getCond();
  Value zero = scalar(b, loc, 0.0, getType().getElementType());
  Value ga = b.create<SelectOp>(loc, cond, g, zero);
  Value gb = b.create<SelectOp>(loc, cond, zero, g);
  return {Value(), unbroadcast(b, loc, ga, getLhs().getType()),
          unbroadcast(b, loc, gb, getRhs().getType())};
}
