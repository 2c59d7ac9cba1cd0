//===- KilnNNVJP.cpp - VJPs of the NN ops ---------------------------------===//
//
// One rule per differentiable op of KilnNNOps.td. The convolution ops are
// bilinear, so their VJPs close over the three of them: each op's VJP is
// again a conv2d and the other gradient op.
//
//===----------------------------------------------------------------------===//

#include "KilnVJPUtils.h"

using namespace mlir;
using namespace kiln;
using kiln::vjp::scalar;

using Grads = SmallVector<Value>;

// y = conv(x, w): dx = conv2d_input_grad(g, w), dw = conv2d_weight_grad(x, g)
Grads Conv2DOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  Value gx = b.create<Conv2DInputGradOp>(
      getLoc(), getInput().getType(), g, getWeight(), getStride(),
      getPadding(), getDilation(), getGroups());
  Value gw = b.create<Conv2DWeightGradOp>(
      getLoc(), getWeight().getType(), getInput(), g, getStride(),
      getPadding(), getDilation(), getGroups());
  return {gx, gw};
}

// x = input_grad(gy, w) is bilinear: <G, input_grad(gy, w)> equals
// <conv(G, w), gy> and <weight_grad(G, gy), w>.
Grads Conv2DInputGradOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  Value ggy = b.create<Conv2DOp>(getLoc(), getGradOutput().getType(), g,
                                 getWeight(), getStride(), getPadding(),
                                 getDilation(), getGroups());
  Value gw = b.create<Conv2DWeightGradOp>(
      getLoc(), getWeight().getType(), g, getGradOutput(), getStride(),
      getPadding(), getDilation(), getGroups());
  return {ggy, gw};
}

// w = weight_grad(x, gy) is bilinear: <G, weight_grad(x, gy)> equals
// <input_grad(gy, G), x> and <conv(x, G), gy>.
Grads Conv2DWeightGradOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Value g = cts[0];
  Value gx = b.create<Conv2DInputGradOp>(
      getLoc(), getInput().getType(), getGradOutput(), g, getStride(),
      getPadding(), getDilation(), getGroups());
  Value ggy = b.create<Conv2DOp>(getLoc(), getGradOutput().getType(),
                                 getInput(), g, getStride(), getPadding(),
                                 getDilation(), getGroups());
  return {gx, ggy};
}

// d/dx max(window) = 1 at the window's first maximum, 0 elsewhere.
Grads MaxPool2DOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  return {b.create<MaxPool2DGradOp>(getLoc(), getInput().getType(),
                                    getInput(), cts[0], getKernel(),
                                    getStride(), getPadding(), getDilation())};
}

// d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
Grads RsqrtOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Type elementType = getType().cast<RankedTensorType>().getElementType();
  Value half = scalar(b, loc, -0.5, elementType);
  Value y = getResult();
  Value y3 = b.create<MulOp>(loc, b.create<MulOp>(loc, y, y), y);
  Value scaled = b.create<MulOp>(loc, y3, half);
  return {b.create<MulOp>(loc, cts[0], scaled)};
}
