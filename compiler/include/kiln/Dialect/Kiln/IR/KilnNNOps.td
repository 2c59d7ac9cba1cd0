//===- KilnNNOps.td - kiln NN ops ------------------------*- tablegen -*-===//
//
// Neural-network primitives on NCHW tensors with PyTorch's semantics:
// 2-D convolution and its two gradients, max pooling and its gradient, and
// the small elementwise helpers the normalization layers and dropout need
// (rsqrt, an integer counter increment). Average pooling, batch/layer norm,
// dropout and embedding are DSL composites of these and the core ops.
// Included by KilnOps.td; uses its Kiln_Op base classes and constraints.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_NN_OPS
#define KILN_NN_OPS

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

def Kiln_Conv2DOp : Kiln_Op<"conv2d", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "2-D convolution, NCHW (torch.nn.functional.conv2d without bias)";
  let description = [{
    `input` is `[N, C, H, W]`, `weight` is `[O, C / groups, KH, KW]`; the
    result is `[N, O, OH, OW]` with
    `OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) / stride[0] + 1`
    (floor), and likewise for the width:

      out[n, o, i, j] = sum_{c, p, q} in[n, g * C/groups + c,
                                         i * s0 - p0 + p * d0,
                                         j * s1 - p1 + q * d1] * w[o, c, p, q]

    with `g = o / (O / groups)` and zero outside the input (cross-correlation,
    as in PyTorch). `stride`, `padding` and `dilation` hold (height, width);
    `C` and `O` must be multiples of `groups`. The gradients are
    `kiln.conv2d_input_grad` and `kiln.conv2d_weight_grad`.
    ```mlir
    %y = kiln.conv2d %x, %w stride = [1, 1] padding = [2, 2] dilation = [1, 1]
        groups = 1 : tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x6x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `stride` `=` $stride `padding` `=` $padding
    `dilation` `=` $dilation `groups` `=` $groups
    attr-dict `:` type($input) `,` type($weight) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// floor((in + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
    /// zero or negative when the window does not fit.
    static int64_t outputSize(int64_t in, int64_t kernel, int64_t stride,
                              int64_t pad, int64_t dilation);
  }];
}

def Kiln_Conv2DInputGradOp : Kiln_Op<"conv2d_input_grad",
    [Kiln_Differentiable]> {
  let summary = "Gradient of conv2d with respect to its input (a transposed convolution)";
  let description = [{
    Given the cotangent `grad_output` `[N, O, OH, OW]` of a `kiln.conv2d`
    with `weight` and the same window attributes, returns the cotangent of
    its input, whose shape `[N, C, H, W]` is the result type (a strided
    convolution maps several input heights to the same `OH`, so the shape is
    stated, as torch's `conv_transpose2d` states `output_padding`):

      gin[n, c, h, w] = sum over (o, p, q, i, j) with h = i * s0 - p0 + p * d0
                        and w = j * s1 - p1 + q * d1 of gout[n, o, i, j] * w[o, c', p, q]

    It is linear in each operand; its VJP is a `kiln.conv2d` and a
    `kiln.conv2d_weight_grad`, so conv2d is differentiable twice.
    ```mlir
    %gx = kiln.conv2d_input_grad %gy, %w stride = [1, 1] padding = [2, 2]
        dilation = [1, 1] groups = 1
        : tensor<8x6x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x1x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$grad_output, Kiln_FloatTensor:$weight,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $grad_output `,` $weight `stride` `=` $stride `padding` `=` $padding
    `dilation` `=` $dilation `groups` `=` $groups
    attr-dict `:` type($grad_output) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_Conv2DWeightGradOp : Kiln_Op<"conv2d_weight_grad",
    [Kiln_Differentiable]> {
  let summary = "Gradient of conv2d with respect to its weight";
  let description = [{
    Given the `input` `[N, C, H, W]` of a `kiln.conv2d` and the cotangent
    `grad_output` `[N, O, OH, OW]` of its result, returns the cotangent of
    the weight; its shape `[O, C / groups, KH, KW]` is the result type (the
    kernel size is not implied by the other shapes):

      gw[o, c, p, q] = sum_{n, i, j} in[n, g * C/groups + c, i * s0 - p0 + p * d0,
                                        j * s1 - p1 + q * d1] * gout[n, o, i, j]

    It is linear in each operand; its VJP is a `kiln.conv2d_input_grad` and
    a `kiln.conv2d`.
    ```mlir
    %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [2, 2]
        dilation = [1, 1] groups = 1
        : tensor<8x1x28x28xf32>, tensor<8x6x28x28xf32> -> tensor<6x1x5x5xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$grad_output,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation, I64Attr:$groups);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $grad_output `stride` `=` $stride `padding` `=` $padding
    `dilation` `=` $dilation `groups` `=` $groups
    attr-dict `:` type($input) `,` type($grad_output) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

def Kiln_MaxPool2DOp : Kiln_Op<"max_pool2d",
    [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "2-D max pooling, NCHW (torch.nn.functional.max_pool2d)";
  let description = [{
    `[N, C, H, W] -> [N, C, OH, OW]`, `OH` as for `kiln.conv2d` with the
    kernel size `kernel[0]` (floor mode). Padding counts as -infinity and may
    be at most half the kernel, as in PyTorch. The gradient
    (`kiln.max_pool2d_grad`) goes to the first maximum of each window in
    row-major order.
    ```mlir
    %y = kiln.max_pool2d %x kernel = [2, 2] stride = [2, 2] padding = [0, 0]
        dilation = [1, 1] : tensor<8x6x28x28xf32> -> tensor<8x6x14x14xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilation);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `kernel` `=` $kernel `stride` `=` $stride `padding` `=` $padding
    `dilation` `=` $dilation
    attr-dict `:` type($input) `->` type($result)
  }];
}

def Kiln_MaxPool2DGradOp : Kiln_Op<"max_pool2d_grad", [Kiln_InferType]> {
  let summary = "Gradient of max_pool2d: routes each cotangent to its window's first maximum";
  let description = [{
    Given the `input` of a `kiln.max_pool2d` and the cotangent `grad_output`
    of its result, returns the cotangent of the input (the input's shape):
    each `grad_output` element is added at the position of the first maximum
    (row-major within the window) of its window; overlapping windows add up.
    It has no VJP: max pooling is differentiable once.
    ```mlir
    %gx = kiln.max_pool2d_grad %x, %gy kernel = [2, 2] stride = [2, 2]
        padding = [0, 0] dilation = [1, 1]
        : tensor<8x6x28x28xf32>, tensor<8x6x14x14xf32> -> tensor<8x6x28x28xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$grad_output,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$stride,
                       DenseI64ArrayAttr:$padding, DenseI64ArrayAttr:$dilation);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $grad_output `kernel` `=` $kernel `stride` `=` $stride
    `padding` `=` $padding `dilation` `=` $dilation
    attr-dict `:` type($input) `,` type($grad_output) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Helpers of the normalization layers and of dropout
//===----------------------------------------------------------------------===//

def Kiln_RsqrtOp : Kiln_UnaryOp<"rsqrt", "Elementwise 1 / sqrt(x) (torch.rsqrt)">;

def Kiln_IncrementOp : Kiln_Op<"increment",
    [SameOperandsAndResultType, Kiln_InferType]> {
  let summary = "Adds one to an integer tensor (step counters, RNG state)";
  let description = [{
    Integer arithmetic for the counters that training steps keep as state:
    batch norm's `num_batches_tracked` and the per-step seed of dropout. It
    wraps modulo 2^bits and has no gradient.
    ```mlir
    %next = kiln.increment %step : tensor<i64>
    ```
  }];
  let arguments = (ins Kiln_IntTensor:$input);
  let results = (outs Kiln_IntTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

#endif // KILN_NN_OPS
