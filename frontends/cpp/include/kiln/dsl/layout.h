//===- layout.h - kiln C++ DSL: slicing, joining, indexing ------*- C++ -*-===//
//
// PyTorch's layout functions: slicing (slice, narrow, select, split, chunk),
// joining (cat, stack), indexing (gather, scatter_add, index_select,
// embedding), selection (topk) and shape views (expand, repeat, squeeze,
// unsqueeze). Dimensions may be negative (counted from the end). Each call
// appends kiln ops at the caller's line; shape errors throw kiln::dsl::Error
// naming the shapes. All of them are differentiable with respect to their
// float tensor arguments (index tensors get no gradient).
//
// Primitives: kiln.slice, slice_scatter, concat, gather, scatter_add, topk.
// The rest are composites of these and of reshape / broadcast_to.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_LAYOUT_H
#define KILN_DSL_LAYOUT_H

#include "kiln/dsl/Tensor.h"

#include <vector>

namespace kiln::dsl {

//===----------------------------------------------------------------------===//
// Slicing
//===----------------------------------------------------------------------===//

/// x[start:end:step] along `dim`, with Python's rules: negative start/end
/// count from the end and are clamped to the size. The slice must not be
/// empty; `step` must be positive.
Tensor slice(const Tensor &x, int64_t dim, int64_t start, int64_t end,
             int64_t step = 1, Loc loc = Loc::current());
/// torch.narrow: `length` elements of `dim` from `start` (negative start
/// counts from the end).
Tensor narrow(const Tensor &x, int64_t dim, int64_t start, int64_t length,
              Loc loc = Loc::current());
/// torch.select / x[index] on `dim`: removes the dimension (negative index
/// counts from the end).
Tensor select(const Tensor &x, int64_t dim, int64_t index,
              Loc loc = Loc::current());
/// torch.split with a chunk size: pieces of `split_size` along `dim`, the
/// last one smaller if the size does not divide.
std::vector<Tensor> split(const Tensor &x, int64_t split_size, int64_t dim = 0,
                          Loc loc = Loc::current());
/// torch.split with explicit sizes, which must add up to the size of `dim`.
std::vector<Tensor> split(const Tensor &x, const Shape &sizes, int64_t dim = 0,
                          Loc loc = Loc::current());
/// torch.chunk: `chunks` pieces of ceil(size / chunks) along `dim` (fewer if
/// the last ones would be empty).
std::vector<Tensor> chunk(const Tensor &x, int64_t chunks, int64_t dim = 0,
                          Loc loc = Loc::current());
/// torch.slice_scatter: `x` with x[start:end:step] along `dim` replaced by
/// `src`, whose shape must be that slice's.
Tensor slice_scatter(const Tensor &x, const Tensor &src, int64_t dim,
                     int64_t start, int64_t end, int64_t step = 1,
                     Loc loc = Loc::current());

//===----------------------------------------------------------------------===//
// Joining
//===----------------------------------------------------------------------===//

/// torch.cat: same shapes except along `dim`.
Tensor cat(const std::vector<Tensor> &tensors, int64_t dim = 0,
           Loc loc = Loc::current());
/// torch.stack: same shapes, joined along a new dimension `dim`.
Tensor stack(const std::vector<Tensor> &tensors, int64_t dim = 0,
             Loc loc = Loc::current());

//===----------------------------------------------------------------------===//
// Indexing
//===----------------------------------------------------------------------===//

/// torch.gather: out[i][j] = x[index[i][j]][j] for dim 0. `index` is an
/// integer tensor of x's rank with index.size(d) <= x.size(d) for d != dim.
Tensor gather(const Tensor &x, int64_t dim, const Tensor &index,
              Loc loc = Loc::current());
/// torch.Tensor.scatter_add (out of place): x plus src[i][j] added at
/// [index[i][j]][j] for dim 0; repeated indices accumulate.
Tensor scatter_add(const Tensor &x, int64_t dim, const Tensor &index,
                   const Tensor &src, Loc loc = Loc::current());
/// torch.index_select: the entries `indices` (1-D integer tensor) of `dim`.
Tensor index_select(const Tensor &x, int64_t dim, const Tensor &indices,
                    Loc loc = Loc::current());
/// torch.nn.functional.embedding: rows of `weight` [num, dim] picked by
/// integer `indices` of any shape; the result is indices.shape + [dim]. The
/// gradient of `weight` adds up the rows' cotangents per index.
Tensor embedding(const Tensor &indices, const Tensor &weight,
                 Loc loc = Loc::current());

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

struct TopK {
  Tensor values;  ///< x's float type
  Tensor indices; ///< i64 positions along dim
};
/// torch.topk: the k largest (or smallest) entries along `dim`, best first,
/// with their positions. Ties go to the lower index first. Results are
/// always sorted (`sorted = false` allows any order, so it gives the same).
/// The gradient flows to the selected entries of x.
TopK topk(const Tensor &x, int64_t k, int64_t dim = -1, bool largest = true,
          bool sorted = true, Loc loc = Loc::current());

//===----------------------------------------------------------------------===//
// Shape views
//===----------------------------------------------------------------------===//

/// torch.Tensor.expand: broadcast to `shape`; -1 keeps a dimension's size,
/// new dimensions go in front. Works on integer tensors too.
Tensor expand(const Tensor &x, Shape shape, Loc loc = Loc::current());
/// torch.Tensor.repeat: tiles x `repeats[d]` times along each dimension;
/// extra leading entries add dimensions.
Tensor repeat(const Tensor &x, const Shape &repeats, Loc loc = Loc::current());
/// torch.unsqueeze: a size-1 dimension at `dim` (-1: at the end).
Tensor unsqueeze(const Tensor &x, int64_t dim, Loc loc = Loc::current());
/// torch.squeeze: removes every size-1 dimension.
Tensor squeeze(const Tensor &x, Loc loc = Loc::current());
/// torch.squeeze(dim): removes `dim` if its size is 1, else returns x.
Tensor squeeze(const Tensor &x, int64_t dim, Loc loc = Loc::current());

} // namespace kiln::dsl

#endif // KILN_DSL_LAYOUT_H
