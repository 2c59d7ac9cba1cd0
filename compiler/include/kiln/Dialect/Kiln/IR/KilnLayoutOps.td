//===- KilnLayoutOps.td - kiln layout ops ------------------*- tablegen -*-===//
//
// Ops that move elements without arithmetic on them (beyond scatter_add's
// accumulation): strided slices and their adjoint, concatenation,
// torch.gather / scatter_add along one dimension, and top-k selection.
// Included by KilnOps.td; uses its Kiln_Op base classes and constraints.
//
// The reshape-like DSL conveniences (expand, repeat, squeeze, unsqueeze,
// stack, split, chunk, select, index_select, embedding) are composites of
// these ops and of the core ops (reshape, broadcast_to), so they need no
// op or VJP rule of their own.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LAYOUT_OPS
#define KILN_LAYOUT_OPS

//===----------------------------------------------------------------------===//
// Slices
//===----------------------------------------------------------------------===//

def Kiln_SliceOp : Kiln_Op<"slice", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Static strided slice (Python's x[a:b:s] on every dimension)";
  let description = [{
    Result element `r` is `input[offsets + r * strides]`, dimension by
    dimension; the result shape is `sizes`. Every dimension has an entry in
    each list; offsets are non-negative, sizes and strides positive, and the
    last element read, `offset + (size - 1) * stride`, lies inside the input.
    Works on float and integer tensors; the gradient of a float slice is
    `kiln.slice_scatter` of the cotangent into zeros.
    ```mlir
    // x[1:3, 0:6:2]
    %s = kiln.slice %x offsets = [1, 0] sizes = [2, 3] strides = [1, 2]
        : tensor<4x6xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Kiln_AnyTensor:$input, DenseI64ArrayAttr:$offsets,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$strides);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = [{
    $input `offsets` `=` $offsets `sizes` `=` $sizes `strides` `=` $strides
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasFolder = 1;
}

def Kiln_SliceScatterOp : Kiln_Op<"slice_scatter",
    [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Replaces a strided window of a tensor (torch.slice_scatter)";
  let description = [{
    The result is `dest` with the window that `kiln.slice` with the same
    offsets and strides (and `source`'s shape as sizes) would read replaced
    by `source`. With a zero `dest` this is the adjoint of `kiln.slice`
    (the gradient of a slice); its own gradient is a slice of the cotangent
    for `source` and the cotangent with the window zeroed for `dest`.
    ```mlir
    %r = kiln.slice_scatter %src into %dest offsets = [1, 0] strides = [1, 2]
        : tensor<2x3xf32> into tensor<4x6xf32>
    ```
  }];
  let arguments = (ins Kiln_AnyTensor:$source, Kiln_AnyTensor:$dest,
                       DenseI64ArrayAttr:$offsets, DenseI64ArrayAttr:$strides);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = [{
    $source `into` $dest `offsets` `=` $offsets `strides` `=` $strides
    attr-dict `:` type($source) `into` type($dest)
  }];
}

//===----------------------------------------------------------------------===//
// Concatenation
//===----------------------------------------------------------------------===//

def Kiln_ConcatOp : Kiln_Op<"concat", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Concatenates tensors along one dimension (torch.cat)";
  let description = [{
    All inputs have the same rank (at least 1) and element type, and the same
    size in every dimension but `dim`. The gradient of each input is the
    slice of the cotangent it was copied to.
    ```mlir
    %c = kiln.concat %a, %b dim = 1
        : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<2x7xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_AnyTensor>:$inputs, I64Attr:$dim);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = [{
    $inputs `dim` `=` $dim attr-dict `:` type($inputs) `->` type($result)
  }];
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Gather and scatter along one dimension
//===----------------------------------------------------------------------===//

def Kiln_GatherOp : Kiln_Op<"gather", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Gathers values along one dimension (torch.gather)";
  let description = [{
    `result[i][j][k] = input[index[i][j][k]][j][k]` for `dim = 0` (and
    likewise for the other dims). `index` is an integer tensor of the
    input's rank; the result has the index's shape and the input's element
    type. As in PyTorch, `index.size(d) <= input.size(d)` for every
    `d != dim`. An index outside `[0, input.size(dim))` is an error in the
    reference interpreter; compiled code does no bounds checks and reads 0
    for it. The gradient is `kiln.scatter_add` of the cotangent into zeros.
    ```mlir
    %g = kiln.gather %x, %idx dim = 1
        : tensor<3x4xf32>, tensor<3x2xi64> -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Kiln_AnyTensor:$input, Kiln_IntTensor:$index,
                       I64Attr:$dim);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = [{
    $input `,` $index `dim` `=` $dim attr-dict `:` type($input) `,`
    type($index) `->` type($result)
  }];
}

def Kiln_ScatterAddOp : Kiln_Op<"scatter_add",
    [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Adds values into a tensor at gathered positions "
                "(torch.Tensor.scatter_add)";
  let description = [{
    The result is `input` plus, for every element position `p` of `index`,
    `source[p]` added at `p` with coordinate `dim` replaced by `index[p]`
    (`result[index[i][j]][j] += source[i][j]` for `dim = 0`). Repeated
    indices accumulate. As in PyTorch, `index.size(d) <= source.size(d)` for
    every `d` and `index.size(d) <= input.size(d)` for `d != dim`; only the
    index-shaped corner of `source` is read. An index outside
    `[0, input.size(dim))` is an error in the reference interpreter and is
    skipped by compiled code (no bounds checks at run time).
    Differentiable with respect to `input` (the cotangent itself) and
    `source` (the cotangent gathered at `index`).
    ```mlir
    %r = kiln.scatter_add %x, %idx, %src dim = 0
        : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_IntTensor:$index,
                       Kiln_FloatTensor:$source, I64Attr:$dim);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $index `,` $source `dim` `=` $dim attr-dict `:` type($input)
    `,` type($index) `,` type($source) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Top-k
//===----------------------------------------------------------------------===//

def Kiln_TopKOp : Kiln_Op<"topk", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "The k largest (or smallest) values along a dimension and "
                "their indices (torch.topk)";
  let description = [{
    Along `dim`, returns the `k` largest values (`largest = true`) or the `k`
    smallest, always sorted (best first), and their positions as i64. Ties
    are broken by position: of equal values the lower index comes first, so
    the result is deterministic (PyTorch leaves the order of ties
    unspecified). NaN counts as larger than every number, as in PyTorch.
    `1 <= k <= input.size(dim)`. The gradient flows to the selected
    elements only: the values' cotangent scattered to `indices`.
    ```mlir
    %v, %i = kiln.topk %x k = 2 dim = 1 largest = true
        : tensor<3x5xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$k, I64Attr:$dim,
                       BoolAttr:$largest);
  let results = (outs Kiln_FloatTensor:$values,
                      RankedTensorOf<[I64]>:$indices);
  let assemblyFormat = [{
    $input `k` `=` $k `dim` `=` $dim `largest` `=` $largest attr-dict `:`
    type($input) `->` type($values) `,` type($indices)
  }];
}

#endif // KILN_LAYOUT_OPS
