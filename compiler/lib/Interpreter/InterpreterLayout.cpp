//===- InterpreterLayout.cpp - reference semantics of the layout ops ------===//
//
// slice, slice_scatter, concat, gather, scatter_add and topk on float64
// buffers, written as plain loops over multi-indices so that they read like
// the op descriptions in KilnLayoutOps.td. An out-of-range gather/scatter
// index is reported as an error (PyTorch raises one too).
//
//===----------------------------------------------------------------------===//

#include "InterpreterGroups.h"

#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using kiln::interp::Buffer;
using kiln::interp::detail::GroupResult;
using kiln::interp::detail::Inputs;

namespace {

using Results = FailureOr<std::vector<Buffer>>;

std::vector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

/// Linear row-major offset of `coord` in a tensor with `strides`.
int64_t offsetOf(ArrayRef<int64_t> coord, ArrayRef<int64_t> strides) {
  int64_t offset = 0;
  for (size_t d = 0; d < coord.size(); ++d)
    offset += coord[d] * strides[d];
  return offset;
}

/// Calls `fn(coord)` for every multi-index of `shape`, in row-major order.
template <typename Fn>
void forEachIndex(ArrayRef<int64_t> shape, Fn fn) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  std::vector<int64_t> coord(shape.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    fn(ArrayRef<int64_t>(coord));
    for (size_t d = shape.size(); d-- > 0;) {
      if (++coord[d] < shape[d])
        break;
      coord[d] = 0;
    }
  }
}

Buffer zerosOf(ArrayRef<int64_t> shape) {
  Buffer out{std::vector<int64_t>(shape.begin(), shape.end()), {}};
  out.data.assign(out.numElements(), 0.0);
  return out;
}

ArrayRef<int64_t> shapeOf(Value v) {
  return v.getType().cast<RankedTensorType>().getShape();
}

/// out[r] = in[offsets + r * strides].
Buffer evalSlice(const Buffer &in, ArrayRef<int64_t> offsets,
                 ArrayRef<int64_t> sizes, ArrayRef<int64_t> strides) {
  std::vector<int64_t> inStrides = rowMajorStrides(in.shape);
  Buffer out{std::vector<int64_t>(sizes.begin(), sizes.end()), {}};
  std::vector<int64_t> src(sizes.size());
  forEachIndex(sizes, [&](ArrayRef<int64_t> r) {
    for (size_t d = 0; d < r.size(); ++d)
      src[d] = offsets[d] + r[d] * strides[d];
    out.data.push_back(in.data[offsetOf(src, inStrides)]);
  });
  return out;
}

/// dest with dest[offsets + r * strides] = source[r].
Buffer evalSliceScatter(const Buffer &source, Buffer dest,
                        ArrayRef<int64_t> offsets, ArrayRef<int64_t> strides) {
  std::vector<int64_t> destStrides = rowMajorStrides(dest.shape);
  std::vector<int64_t> dst(source.shape.size());
  int64_t i = 0;
  forEachIndex(source.shape, [&](ArrayRef<int64_t> r) {
    for (size_t d = 0; d < r.size(); ++d)
      dst[d] = offsets[d] + r[d] * strides[d];
    dest.data[offsetOf(dst, destStrides)] = source.data[i++];
  });
  return dest;
}

/// The inputs side by side along `dim`.
Buffer evalConcat(Inputs inputs, ArrayRef<int64_t> outShape, int64_t dim) {
  Buffer out = zerosOf(outShape);
  std::vector<int64_t> outStrides = rowMajorStrides(outShape);
  int64_t start = 0;
  for (const Buffer *in : inputs) {
    std::vector<int64_t> dst(in->shape.size());
    int64_t i = 0;
    forEachIndex(in->shape, [&](ArrayRef<int64_t> c) {
      std::copy(c.begin(), c.end(), dst.begin());
      dst[dim] += start;
      out.data[offsetOf(dst, outStrides)] = in->data[i++];
    });
    start += in->shape[dim];
  }
  return out;
}

/// Reads index element `value` as a position along a dimension of `size`,
/// or emits an error.
FailureOr<int64_t> checkedIndex(Operation *op, StringRef opName, double value,
                                int64_t dim, int64_t size) {
  if (value < 0 || value >= static_cast<double>(size))
    return op->emitError("interpreter: ")
           << opName << " index " << static_cast<int64_t>(value)
           << " is out of range for dimension " << dim << " of size " << size;
  return static_cast<int64_t>(value);
}

/// out[p] = in[p with dim := index[p]].
Results evalGather(Operation *op, const Buffer &in, const Buffer &index,
                   int64_t dim) {
  std::vector<int64_t> inStrides = rowMajorStrides(in.shape);
  Buffer out{index.shape, {}};
  std::vector<int64_t> src(index.shape.size());
  int64_t i = 0;
  bool ok = true;
  forEachIndex(index.shape, [&](ArrayRef<int64_t> p) {
    if (!ok)
      return;
    auto at = checkedIndex(op, "gather", index.data[i++], dim, in.shape[dim]);
    if (failed(at)) {
      ok = false;
      return;
    }
    std::copy(p.begin(), p.end(), src.begin());
    src[dim] = *at;
    out.data.push_back(in.data[offsetOf(src, inStrides)]);
  });
  if (!ok)
    return failure();
  return std::vector<Buffer>{std::move(out)};
}

/// out = in; out[p with dim := index[p]] += source[p] for p over index.
Results evalScatterAdd(Operation *op, Buffer out, const Buffer &index,
                       const Buffer &source, int64_t dim) {
  std::vector<int64_t> outStrides = rowMajorStrides(out.shape);
  std::vector<int64_t> sourceStrides = rowMajorStrides(source.shape);
  std::vector<int64_t> dst(index.shape.size());
  int64_t i = 0;
  bool ok = true;
  forEachIndex(index.shape, [&](ArrayRef<int64_t> p) {
    if (!ok)
      return;
    auto at =
        checkedIndex(op, "scatter_add", index.data[i++], dim, out.shape[dim]);
    if (failed(at)) {
      ok = false;
      return;
    }
    std::copy(p.begin(), p.end(), dst.begin());
    dst[dim] = *at;
    out.data[offsetOf(dst, outStrides)] +=
        source.data[offsetOf(p, sourceStrides)];
  });
  if (!ok)
    return failure();
  return std::vector<Buffer>{std::move(out)};
}

/// True when `a` ranks before `b` for topk: larger (or smaller) first, NaN
/// as the largest value; ties keep their order (stable sort by position).
bool ranksBefore(double a, double b, bool largest) {
  if (std::isnan(a) || std::isnan(b))
    return largest ? std::isnan(a) && !std::isnan(b)
                   : std::isnan(b) && !std::isnan(a);
  return largest ? a > b : a < b;
}

/// The k best values along `dim` and their positions, best first.
std::vector<Buffer> evalTopK(const Buffer &in, int64_t k, int64_t dim,
                             bool largest) {
  std::vector<int64_t> shape = in.shape;
  int64_t n = shape[dim];
  shape[dim] = k;
  Buffer values = zerosOf(shape), indices = zerosOf(shape);
  std::vector<int64_t> inStrides = rowMajorStrides(in.shape);
  std::vector<int64_t> outStrides = rowMajorStrides(shape);
  // Every line along `dim`: the coordinates with coordinate `dim` at 0.
  std::vector<int64_t> lines = in.shape;
  lines[dim] = 1;
  std::vector<int64_t> order(n);
  forEachIndex(lines, [&](ArrayRef<int64_t> c) {
    int64_t inBase = offsetOf(c, inStrides), outBase = offsetOf(c, outStrides);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return ranksBefore(in.data[inBase + a * inStrides[dim]],
                         in.data[inBase + b * inStrides[dim]], largest);
    });
    for (int64_t r = 0; r < k; ++r) {
      values.data[outBase + r * outStrides[dim]] =
          in.data[inBase + order[r] * inStrides[dim]];
      indices.data[outBase + r * outStrides[dim]] =
          static_cast<double>(order[r]);
    }
  });
  return {std::move(values), std::move(indices)};
}

Results single(Buffer buffer) {
  return std::vector<Buffer>{std::move(buffer)};
}

} // namespace

GroupResult kiln::interp::detail::evalLayoutGroup(Operation &op,
                                                  Inputs inputs) {
  return llvm::TypeSwitch<Operation *, GroupResult>(&op)
      .Case([&](kiln::SliceOp s) -> GroupResult {
        return single(evalSlice(*inputs[0], s.getOffsets(), s.getSizes(),
                                s.getStrides()));
      })
      .Case([&](kiln::SliceScatterOp s) -> GroupResult {
        return single(evalSliceScatter(*inputs[0], *inputs[1], s.getOffsets(),
                                       s.getStrides()));
      })
      .Case([&](kiln::ConcatOp c) -> GroupResult {
        return single(
            evalConcat(inputs, shapeOf(c.getResult()), int64_t(c.getDim())));
      })
      .Case([&](kiln::GatherOp g) -> GroupResult {
        return evalGather(g, *inputs[0], *inputs[1], int64_t(g.getDim()));
      })
      .Case([&](kiln::ScatterAddOp s) -> GroupResult {
        return evalScatterAdd(s, *inputs[0], *inputs[1], *inputs[2],
                              int64_t(s.getDim()));
      })
      .Case([&](kiln::TopKOp t) -> GroupResult {
        return Results(evalTopK(*inputs[0], int64_t(t.getK()),
                                int64_t(t.getDim()), t.getLargest()));
      })
      .Default([](Operation *) -> GroupResult { return std::nullopt; });
}
