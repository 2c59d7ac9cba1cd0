//===- KilnVJP.cpp - vector-Jacobian products of the core ops -------------===//
//
// One rule per op of KilnOps.td, with the math as a comment, and the
// helpers every group's rules share (the other groups' rules are in
// Kiln<Group>VJP.cpp). Each rule receives the cotangent `g` of the op's
// result and returns one cotangent per operand (null: no gradient).
// Broadcast operands get their cotangent summed back to their own shape by
// `unbroadcast`.
//
//===----------------------------------------------------------------------===//

#include "KilnVJPUtils.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace kiln;
using kiln::vjp::scalar;
using kiln::vjp::unbroadcast;

Value kiln::vjp::scalar(OpBuilder &b, Location loc, double value,
                        Type elementType) {
  auto type = RankedTensorType::get({}, elementType);
  return b.create<ConstantOp>(loc, type,
                              DenseElementsAttr::get(
                                  type, b.getFloatAttr(elementType, value)));
}

Value kiln::vjp::zeros(OpBuilder &b, Location loc, RankedTensorType type) {
  return b.create<ConstantOp>(
      loc, type,
      DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), 0.0)));
}

Value kiln::vjp::unbroadcast(OpBuilder &b, Location loc, Value grad,
                             Type target) {
  auto gradType = grad.getType().cast<RankedTensorType>();
  auto targetType = target.cast<RankedTensorType>();
  if (gradType == targetType)
    return grad;
  int64_t lead = gradType.getRank() - targetType.getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < gradType.getRank(); ++d)
    if (d < lead || (targetType.getDimSize(d - lead) == 1 &&
                     gradType.getDimSize(d) != 1))
      axes.push_back(d);
  Value summed = grad;
  if (!axes.empty())
    summed = b.create<ReduceSumOp>(loc, grad, axes, /*keepdims=*/true);
  if (summed.getType() == targetType)
    return summed;
  return b.create<ReshapeOp>(loc, targetType, summed);
}

namespace {
using Grads = SmallVector<Value>;

RankedTensorType tensorOf(Value v) { return v.getType().cast<RankedTensorType>(); }

/// Restores reduced axes as size-1 dims, then broadcasts to `inputType`.
Value expandReduced(OpBuilder &b, Location loc, Value reduced,
                    RankedTensorType inputType, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> keptShape(inputType.getShape());
  for (int64_t axis : axes)
    keptShape[axis] = 1;
  auto keptType = RankedTensorType::get(keptShape, inputType.getElementType());
  Value kept = reduced;
  if (reduced.getType() != keptType)
    kept = b.create<ReshapeOp>(loc, keptType, reduced);
  if (keptType == inputType)
    return kept;
  return b.create<BroadcastToOp>(loc, inputType, kept);
}

/// Swaps the last two dimensions (matrix transpose, batched or not).
Value transposeLastTwo(OpBuilder &b, Location loc, Value v) {
  int64_t rank = tensorOf(v).getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    perm.push_back(d);
  std::swap(perm[rank - 1], perm[rank - 2]);
  return b.create<TransposeOp>(loc, v, perm);
}
} // namespace

// d/da (a + b) = 1, d/db = 1
Grads AddOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  return {unbroadcast(b, getLoc(), g, getLhs().getType()),
          unbroadcast(b, getLoc(), g, getRhs().getType())};
}

// d/da (a - b) = 1, d/db = -1
Grads SubOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  Value negG = b.create<NegOp>(getLoc(), g);
  return {unbroadcast(b, getLoc(), g, getLhs().getType()),
          unbroadcast(b, getLoc(), negG, getRhs().getType())};
}

// d/da (a * b) = b, d/db = a
Grads MulOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  Value ga = b.create<MulOp>(getLoc(), g, getRhs());
  Value gb = b.create<MulOp>(getLoc(), g, getLhs());
  return {unbroadcast(b, getLoc(), ga, getLhs().getType()),
          unbroadcast(b, getLoc(), gb, getRhs().getType())};
}

// d/da (a / b) = 1/b, d/db = -a/b^2 = -(a/b)/b
Grads DivOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  Value ga = b.create<DivOp>(getLoc(), g, getRhs());
  Value quotientOverB = b.create<DivOp>(getLoc(), getResult(), getRhs());
  Value gb = b.create<NegOp>(getLoc(),
                             b.create<MulOp>(getLoc(), g, quotientOverB));
  return {unbroadcast(b, getLoc(), ga, getLhs().getType()),
          unbroadcast(b, getLoc(), gb, getRhs().getType())};
}

// A comparison is piecewise constant: zero gradient almost everywhere.
Grads CompareOp::buildVJP(OpBuilder &, ArrayRef<Value>) {
  return {Value(), Value()};
}

// d/dx (-x) = -1
Grads NegOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return {b.create<NegOp>(getLoc(), cts[0])};
}

// d/dx exp(x) = exp(x)
Grads ExpOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return {b.create<MulOp>(getLoc(), cts[0], getResult())};
}

// d/dx log(x) = 1/x
Grads LogOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return {b.create<DivOp>(getLoc(), cts[0], getInput())};
}

// d/dx relu(x) = [x > 0]
Grads ReluOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value zero = scalar(b, getLoc(), 0.0, getType().getElementType());
  Value mask = b.create<CompareOp>(getLoc(), "gt", getInput(), zero);
  return {b.create<MulOp>(getLoc(), cts[0], mask)};
}

// detach: the gradient stops here.
Grads StopGradientOp::buildVJP(OpBuilder &, ArrayRef<Value>) {
  return {Value()};
}

// C = A B: dA = G B^T, dB = A^T G
Grads MatmulOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  Value ga = b.create<MatmulOp>(getLoc(), g,
                                transposeLastTwo(b, getLoc(), getRhs()));
  Value gb = b.create<MatmulOp>(getLoc(),
                                transposeLastTwo(b, getLoc(), getLhs()), g);
  return {ga, gb};
}

// The gradient is transposed back by the inverse permutation.
Grads TransposeOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inverse[perm[i]] = i;
  return {b.create<TransposeOp>(getLoc(), cts[0], inverse)};
}

// Reshape is a relabeling: reshape the gradient back.
Grads ReshapeOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return {b.create<ReshapeOp>(getLoc(), getInput().getType(), cts[0])};
}

// Broadcast copies: the gradient sums over the copies.
Grads BroadcastToOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return {unbroadcast(b, getLoc(), cts[0], getInput().getType())};
}

// d/dx_i sum(x) = 1
Grads ReduceSumOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return {expandReduced(b, getLoc(), cts[0], tensorOf(getInput()), getAxes())};
}

// d/dx_i mean(x) = 1/n
Grads ReduceMeanOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  auto inputType = tensorOf(getInput());
  int64_t count = 1;
  for (int64_t axis : getAxes())
    count *= inputType.getDimSize(axis);
  Value expanded = expandReduced(b, getLoc(), cts[0], inputType, getAxes());
  Value n = scalar(b, getLoc(), static_cast<double>(count),
                   inputType.getElementType());
  return {b.create<DivOp>(getLoc(), expanded, n)};
}

// d/dx_i max(x) = [x_i == max] / #ties (torch.amax splits ties evenly)
Grads ReduceMaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  auto inputType = tensorOf(getInput());
  Value maxExpanded = expandReduced(b, loc, getResult(), inputType, getAxes());
  Value mask = b.create<CompareOp>(loc, "eq", getInput(), maxExpanded);
  Value ties = b.create<ReduceSumOp>(loc, mask, getAxes(), /*keepdims=*/true);
  Value share = b.create<DivOp>(loc, mask, ties);
  Value g = expandReduced(b, loc, cts[0], inputType, getAxes());
  return {b.create<MulOp>(loc, g, share)};
}

// y = x - logsumexp(x): dx = g - softmax(x) * sum(g)
Grads LogSoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value g = cts[0];
  Value softmax = b.create<ExpOp>(loc, getResult());
  Value gSum = b.create<ReduceSumOp>(loc, g, ArrayRef<int64_t>{getAxis()},
                                     /*keepdims=*/true);
  Value scaled = b.create<MulOp>(loc, softmax, gSum);
  return {b.create<SubOp>(loc, g, scaled)};
}
