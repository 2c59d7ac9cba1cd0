//===- layout.cpp - kiln C++ DSL: slicing, joining, indexing --------------===//
//
// DSL conveniences (negative dims, Python slice bounds, -1 in expand) are
// resolved here; shape rules of the primitives are the dialect's, checked by
// its inference when each op is emitted. Composites (select, split, stack,
// index_select, embedding, expand, repeat, squeeze) are built from the
// primitives and reshape / broadcast_to, so they need no gradient rule.
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/layout.h"

#include "Trace.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace kiln::dsl::detail;

namespace kiln::dsl {

namespace {

/// `dim` in [-rank, rank) as a non-negative dimension, or an error naming
/// `fn` and the shape.
int64_t normalizeDim(const char *fn, int64_t dim, const Shape &shape,
                     Loc loc, int64_t extra = 0) {
  int64_t rank = static_cast<int64_t>(shape.size()) + extra;
  if (dim < -rank || dim >= rank)
    fail(loc, std::string(fn) + ": dimension " + std::to_string(dim) +
                  " is out of range for shape " + to_string(shape) +
                  " (expected " + std::to_string(-rank) + " to " +
                  std::to_string(rank - 1) + ")");
  return dim < 0 ? dim + rank : dim;
}

bool isInteger(const Tensor &t) {
  return t.dtype() == DType::i32 || t.dtype() == DType::i64;
}

/// Python's slice bounds on a dimension of `size`: the offset and length of
/// x[start:end:step].
std::pair<int64_t, int64_t> sliceBounds(const char *fn, int64_t size,
                                        int64_t start, int64_t end,
                                        int64_t step, Loc loc) {
  if (step < 1)
    fail(loc, std::string(fn) + ": step must be positive, got " +
                  std::to_string(step));
  auto clampBound = [&](int64_t v) {
    if (v < 0)
      v += size;
    return std::min(std::max<int64_t>(v, 0), size);
  };
  int64_t first = clampBound(start), last = clampBound(end);
  int64_t length = last > first ? (last - first + step - 1) / step : 0;
  if (length == 0)
    fail(loc, std::string(fn) + ": the slice " + std::to_string(start) + ":" +
                  std::to_string(end) + ":" + std::to_string(step) +
                  " of a dimension of size " + std::to_string(size) +
                  " is empty (empty tensors are not supported)");
  return {first, length};
}

/// kiln.slice of one dimension: offset/length/stride on `dim`, the whole
/// extent elsewhere.
Tensor sliceDim(const Tensor &x, int64_t dim, int64_t offset, int64_t length,
                int64_t step, Loc loc) {
  Shape offsets(x.rank(), 0), sizes = x.shape(), strides(x.rank(), 1);
  offsets[dim] = offset;
  sizes[dim] = length;
  strides[dim] = step;
  return emit<SliceOp>(loc, valueOf(x, loc), offsets, sizes, strides);
}

Tensor withShape(const Tensor &x, const Shape &shape, Loc loc) {
  if (x.shape() == shape)
    return x;
  return reshape(x, shape, loc);
}

Tensor broadcastTo(const Tensor &x, const Shape &shape, Loc loc) {
  if (x.shape() == shape)
    return x;
  return broadcast_to(x, shape, loc);
}

} // namespace

//===----------------------------------------------------------------------===//
// Slicing
//===----------------------------------------------------------------------===//

Tensor slice(const Tensor &x, int64_t dim, int64_t start, int64_t end,
             int64_t step, Loc loc) {
  dim = normalizeDim("slice", dim, x.shape(), loc);
  auto [offset, length] =
      sliceBounds("slice", x.shape()[dim], start, end, step, loc);
  return sliceDim(x, dim, offset, length, step, loc);
}

Tensor narrow(const Tensor &x, int64_t dim, int64_t start, int64_t length,
              Loc loc) {
  dim = normalizeDim("narrow", dim, x.shape(), loc);
  int64_t size = x.shape()[dim];
  if (start < 0)
    start += size;
  if (start < 0 || length < 1 || start + length > size)
    fail(loc, "narrow: start " + std::to_string(start) + " and length " +
                  std::to_string(length) + " do not fit in dimension " +
                  std::to_string(dim) + " of " + to_string(x.shape()) +
                  " (expected 0 <= start, 1 <= length, start + length <= " +
                  std::to_string(size) + ")");
  return sliceDim(x, dim, start, length, 1, loc);
}

Tensor select(const Tensor &x, int64_t dim, int64_t index, Loc loc) {
  dim = normalizeDim("select", dim, x.shape(), loc);
  int64_t size = x.shape()[dim];
  if (index < -size || index >= size)
    fail(loc, "select: index " + std::to_string(index) +
                  " is out of range for dimension " + std::to_string(dim) +
                  " of size " + std::to_string(size) + " in " +
                  to_string(x.shape()));
  if (index < 0)
    index += size;
  Tensor row = sliceDim(x, dim, index, 1, 1, loc);
  Shape shape = x.shape();
  shape.erase(shape.begin() + dim);
  return withShape(row, shape, loc);
}

std::vector<Tensor> split(const Tensor &x, const Shape &sizes, int64_t dim,
                          Loc loc) {
  dim = normalizeDim("split", dim, x.shape(), loc);
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 1)
      fail(loc, "split: sizes must be positive, got " + to_string(sizes));
    total += s;
  }
  if (total != x.shape()[dim])
    fail(loc, "split: sizes " + to_string(sizes) + " add up to " +
                  std::to_string(total) + " but dimension " +
                  std::to_string(dim) + " of " + to_string(x.shape()) +
                  " has size " + std::to_string(x.shape()[dim]));
  std::vector<Tensor> pieces;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    pieces.push_back(sizes.size() == 1 ? x
                                       : sliceDim(x, dim, offset, s, 1, loc));
    offset += s;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor &x, int64_t split_size, int64_t dim,
                          Loc loc) {
  dim = normalizeDim("split", dim, x.shape(), loc);
  if (split_size < 1)
    fail(loc, "split: split_size must be positive, got " +
                  std::to_string(split_size));
  int64_t size = x.shape()[dim];
  Shape sizes;
  for (int64_t offset = 0; offset < size; offset += split_size)
    sizes.push_back(std::min(split_size, size - offset));
  return split(x, sizes, dim, loc);
}

std::vector<Tensor> chunk(const Tensor &x, int64_t chunks, int64_t dim,
                          Loc loc) {
  dim = normalizeDim("chunk", dim, x.shape(), loc);
  if (chunks < 1)
    fail(loc, "chunk: chunks must be positive, got " + std::to_string(chunks));
  int64_t size = x.shape()[dim];
  return split(x, (size + chunks - 1) / chunks, dim, loc);
}

Tensor slice_scatter(const Tensor &x, const Tensor &src, int64_t dim,
                     int64_t start, int64_t end, int64_t step, Loc loc) {
  dim = normalizeDim("slice_scatter", dim, x.shape(), loc);
  auto [offset, length] =
      sliceBounds("slice_scatter", x.shape()[dim], start, end, step, loc);
  Shape expected = x.shape();
  expected[dim] = length;
  if (src.shape() != expected)
    fail(loc, "slice_scatter: src has shape " + to_string(src.shape()) +
                  " but the slice of " + to_string(x.shape()) + " has shape " +
                  to_string(expected));
  Shape offsets(x.rank(), 0), strides(x.rank(), 1);
  offsets[dim] = offset;
  strides[dim] = step;
  return emit<SliceScatterOp>(loc, valueOf(src, loc), valueOf(x, loc), offsets,
                              strides);
}

//===----------------------------------------------------------------------===//
// Joining
//===----------------------------------------------------------------------===//

Tensor cat(const std::vector<Tensor> &tensors, int64_t dim, Loc loc) {
  if (tensors.empty())
    fail(loc, "cat: expects at least one tensor");
  dim = normalizeDim("cat", dim, tensors.front().shape(), loc);
  SmallVector<Value> operands;
  for (const Tensor &t : tensors)
    operands.push_back(valueOf(t, loc));
  return emit<ConcatOp>(loc, ValueRange(operands), dim);
}

Tensor stack(const std::vector<Tensor> &tensors, int64_t dim, Loc loc) {
  if (tensors.empty())
    fail(loc, "stack: expects at least one tensor");
  const Shape &shape = tensors.front().shape();
  dim = normalizeDim("stack", dim, shape, loc, /*extra=*/1);
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].shape() != shape)
      fail(loc, "stack: tensor " + std::to_string(i) + " has shape " +
                    to_string(tensors[i].shape()) + " but tensor 0 has shape " +
                    to_string(shape));
  std::vector<Tensor> unsqueezed;
  for (const Tensor &t : tensors)
    unsqueezed.push_back(unsqueeze(t, dim, loc));
  return cat(unsqueezed, dim, loc);
}

//===----------------------------------------------------------------------===//
// Indexing
//===----------------------------------------------------------------------===//

Tensor gather(const Tensor &x, int64_t dim, const Tensor &index, Loc loc) {
  if (!isInteger(index))
    fail(loc, "gather: index must be an integer tensor (i32 or i64)");
  dim = normalizeDim("gather", dim, x.shape(), loc);
  return emit<GatherOp>(loc, valueOf(x, loc), valueOf(index, loc), dim);
}

Tensor scatter_add(const Tensor &x, int64_t dim, const Tensor &index,
                   const Tensor &src, Loc loc) {
  if (!isInteger(index))
    fail(loc, "scatter_add: index must be an integer tensor (i32 or i64)");
  if (isInteger(x) || isInteger(src))
    fail(loc, "scatter_add: expects float tensors for x and src");
  dim = normalizeDim("scatter_add", dim, x.shape(), loc);
  return emit<ScatterAddOp>(loc, valueOf(x, loc), valueOf(index, loc),
                            valueOf(src, loc), dim);
}

Tensor index_select(const Tensor &x, int64_t dim, const Tensor &indices,
                    Loc loc) {
  if (!isInteger(indices) || indices.rank() > 1)
    fail(loc, "index_select: indices must be a 1-D integer tensor, got " +
                  std::string(isInteger(indices) ? "" : "a float tensor of ") +
                  "shape " + to_string(indices.shape()));
  dim = normalizeDim("index_select", dim, x.shape(), loc);
  // gather with the indices laid along `dim` and broadcast over the rest.
  int64_t n = indices.numel();
  Shape along(x.rank(), 1), out = x.shape();
  along[dim] = n;
  out[dim] = n;
  Tensor index = broadcastTo(withShape(indices, along, loc), out, loc);
  return gather(x, dim, index, loc);
}

Tensor embedding(const Tensor &indices, const Tensor &weight, Loc loc) {
  if (!isInteger(indices))
    fail(loc, "embedding: indices must be an integer tensor, got a float "
              "tensor of shape " + to_string(indices.shape()));
  if (weight.rank() != 2 || isInteger(weight))
    fail(loc, "embedding: weight must be a 2-D float tensor [num, dim], got "
              "shape " + to_string(weight.shape()));
  Tensor flat = withShape(indices, {indices.numel()}, loc);
  Tensor rows = index_select(weight, 0, flat, loc);
  Shape shape = indices.shape();
  shape.push_back(weight.shape()[1]);
  return withShape(rows, shape, loc);
}

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

TopK topk(const Tensor &x, int64_t k, int64_t dim, bool largest, bool sorted,
          Loc loc) {
  (void)sorted; // Results are always sorted, which `sorted = false` allows.
  if (isInteger(x))
    fail(loc, "topk: expects a float tensor, got an integer tensor of shape " +
                  to_string(x.shape()));
  dim = normalizeDim("topk", dim, x.shape(), loc);
  std::vector<Tensor> results =
      emitMulti<TopKOp>(loc, valueOf(x, loc), k, dim, largest);
  return {results[0], results[1]};
}

//===----------------------------------------------------------------------===//
// Shape views
//===----------------------------------------------------------------------===//

Tensor expand(const Tensor &x, Shape shape, Loc loc) {
  int64_t rank = x.rank(), target = static_cast<int64_t>(shape.size());
  if (target < rank)
    fail(loc, "expand: the target shape " + to_string(shape) +
                  " has fewer dimensions than the tensor's " +
                  to_string(x.shape()));
  int64_t lead = target - rank;
  for (int64_t d = 0; d < target; ++d) {
    if (shape[d] == -1) {
      if (d < lead)
        fail(loc, "expand: -1 is not allowed for the new leading dimension " +
                      std::to_string(d) + " in " + to_string(shape));
      shape[d] = x.shape()[d - lead];
    } else if (shape[d] < 1 ||
               (d >= lead && x.shape()[d - lead] != 1 &&
                x.shape()[d - lead] != shape[d])) {
      fail(loc, "expand: cannot expand shape " + to_string(x.shape()) +
                    " to " + to_string(shape));
    }
  }
  return broadcastTo(x, shape, loc);
}

Tensor repeat(const Tensor &x, const Shape &repeats, Loc loc) {
  int64_t rank = x.rank(), target = static_cast<int64_t>(repeats.size());
  if (target < rank)
    fail(loc, "repeat: " + std::to_string(target) + " repeats " +
                  to_string(repeats) + " for a tensor of shape " +
                  to_string(x.shape()) + " (expected at least " +
                  std::to_string(rank) + ")");
  for (int64_t r : repeats)
    if (r < 1)
      fail(loc, "repeat: repeats must be positive, got " + to_string(repeats));
  // [s0, s1] -> [1, s0, 1, s1] -> [r0, s0, r1, s1] -> [r0 * s0, r1 * s1]:
  // element i along a dimension reads x[i % s].
  Shape sizes(target - rank, 1);
  sizes.insert(sizes.end(), x.shape().begin(), x.shape().end());
  Shape interleaved, tiled, result;
  for (int64_t d = 0; d < target; ++d) {
    interleaved.insert(interleaved.end(), {1, sizes[d]});
    tiled.insert(tiled.end(), {repeats[d], sizes[d]});
    result.push_back(repeats[d] * sizes[d]);
  }
  if (result == sizes)
    return withShape(x, result, loc);
  Tensor copies = broadcastTo(withShape(x, interleaved, loc), tiled, loc);
  return withShape(copies, result, loc);
}

Tensor unsqueeze(const Tensor &x, int64_t dim, Loc loc) {
  dim = normalizeDim("unsqueeze", dim, x.shape(), loc, /*extra=*/1);
  Shape shape = x.shape();
  shape.insert(shape.begin() + dim, 1);
  return reshape(x, shape, loc);
}

Tensor squeeze(const Tensor &x, Loc loc) {
  Shape shape;
  for (int64_t s : x.shape())
    if (s != 1)
      shape.push_back(s);
  return withShape(x, shape, loc);
}

Tensor squeeze(const Tensor &x, int64_t dim, Loc loc) {
  dim = normalizeDim("squeeze", dim, x.shape(), loc);
  if (x.shape()[dim] != 1)
    return x;
  Shape shape = x.shape();
  shape.erase(shape.begin() + dim);
  return reshape(x, shape, loc);
}

} // namespace kiln::dsl
