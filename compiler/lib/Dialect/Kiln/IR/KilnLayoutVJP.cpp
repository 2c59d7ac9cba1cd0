//===- KilnLayoutVJP.cpp - VJPs of the layout ops -------------------------===//
//
// One rule per op of KilnLayoutOps.td. They only use these ops and
// kiln.constant: slice <-> slice_scatter and gather <-> scatter_add are each
// other's adjoints.
//
//===----------------------------------------------------------------------===//

#include "KilnVJPUtils.h"

using namespace mlir;
using namespace kiln;
using kiln::vjp::tensorOf;
using kiln::vjp::zeros;

using Grads = SmallVector<Value>;

namespace {
SmallVector<int64_t> unitStrides(int64_t rank) {
  return SmallVector<int64_t>(rank, 1);
}
} // namespace

// y = x[window]: dx = g in the window, 0 elsewhere.
Grads SliceOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value base = zeros(b, loc, tensorOf(getInput()));
  return {b.create<SliceScatterOp>(loc, cts[0], base, getOffsets(),
                                   getStrides())};
}

// r = dest with window := source: dsource = g[window], ddest = g with the
// window zeroed.
Grads SliceScatterOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value g = cts[0];
  auto sourceType = tensorOf(getSource());
  Value gSource = b.create<SliceOp>(loc, g, getOffsets(),
                                    sourceType.getShape(), getStrides());
  Value gDest = b.create<SliceScatterOp>(loc, zeros(b, loc, sourceType), g,
                                         getOffsets(), getStrides());
  return {gSource, gDest};
}

// y = [x0, x1, ...] along dim: dx_k = the slice of g that x_k filled.
Grads ConcatOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  int64_t dim = getDim();
  auto resultType = tensorOf(getResult());
  SmallVector<int64_t> offsets(resultType.getRank(), 0);
  SmallVector<int64_t> strides = unitStrides(resultType.getRank());
  Grads grads;
  for (Value input : getInputs()) {
    ArrayRef<int64_t> sizes = tensorOf(input).getShape();
    grads.push_back(b.create<SliceOp>(loc, cts[0], offsets, sizes, strides));
    offsets[dim] += sizes[dim];
  }
  return grads;
}

// y[p] = x[p with dim := index[p]]: dx = scatter_add of g into zeros.
Grads GatherOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value base = zeros(b, loc, tensorOf(getInput()));
  return {b.create<ScatterAddOp>(loc, base, getIndex(), cts[0], getDim()),
          Value()};
}

// r = x + scatter(src): dx = g, dsrc[p] = g[p with dim := index[p]] (zero
// outside the index-shaped corner of src).
Grads ScatterAddOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  Location loc = getLoc();
  Value g = cts[0];
  Value gSource = b.create<GatherOp>(loc, g, getIndex(), getDim());
  auto sourceType = tensorOf(getSource());
  if (tensorOf(gSource) != sourceType) {
    SmallVector<int64_t> offsets(sourceType.getRank(), 0);
    gSource = b.create<SliceScatterOp>(loc, gSource, zeros(b, loc, sourceType),
                                       offsets,
                                       unitStrides(sourceType.getRank()));
  }
  return {g, Value(), gSource};
}

// values = x[indices] along dim: dx = the values' cotangent scattered to
// the selected positions (indices are distinct, so nothing accumulates).
Grads TopKOp::buildVJP(OpBuilder &b, ArrayRef<Value> cts) {
  if (!cts[0])
    return {Value()};
  Location loc = getLoc();
  Value base = zeros(b, loc, tensorOf(getInput()));
  return {b.create<ScatterAddOp>(loc, base, getIndices(), cts[0], getDim())};
}
