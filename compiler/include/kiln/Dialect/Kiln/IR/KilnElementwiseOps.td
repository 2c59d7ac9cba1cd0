//===- KilnElementwiseOps.td - kiln elementwise ops --------*- tablegen -*-===//
//
// Included by KilnOps.td; uses its Kiln_Op base classes and constraints.
// Pointwise math beyond the core set (sqrt, tanh, abs, pow, maximum,
// minimum), selection by a mask, and normal random initialisation. Shape
// rules, verifiers and VJP rules are in KilnElementwiseOps.cpp; the
// reference semantics in Interpreter/InterpreterElementwise.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ELEMENTWISE_OPS
#define KILN_ELEMENTWISE_OPS

//===----------------------------------------------------------------------===//
// Unary math
//===----------------------------------------------------------------------===//

def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "Elementwise square root">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "Elementwise hyperbolic tangent">;
def Kiln_AbsOp : Kiln_UnaryOp<"abs",
    "Elementwise absolute value (gradient sign(x), 0 at 0 as in PyTorch)",
    [], Kiln_AnyTensor>;

def Kiln_CastOp : Kiln_Op<"cast", [SameOperandsAndResultShape,
                                   Kiln_Differentiable]> {
  let summary = "Elementwise conversion to another element type";
  let description = [{
    `torch.Tensor.to(dtype)`: float to float rounds to nearest, integer to
    float converts exactly where representable, float to integer truncates
    toward zero (NaN and out-of-range values are undefined, as in C++),
    integer to integer wraps (two's complement) or sign-extends. The
    gradient of a float-to-float cast is the cotangent cast back; a cast
    from or to an integer type passes no gradient.
    ```mlir
    %f = kiln.cast %labels : tensor<4xi32> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_AnyTensor:$input);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Binary math with broadcasting
//===----------------------------------------------------------------------===//

def Kiln_MaximumOp : Kiln_BroadcastBinaryOp<"maximum", "maximum",
                                            Kiln_AnyTensor> {
  let description = [{
    `torch.maximum`: NaN if either operand is NaN (integers: signed). Shapes broadcast as in
    NumPy. The gradient goes to the larger operand; ties split it evenly.
    ```mlir
    %r = kiln.maximum %a, %b : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
    ```
  }];
}

def Kiln_MinimumOp : Kiln_BroadcastBinaryOp<"minimum", "minimum",
                                            Kiln_AnyTensor> {
  let description = [{
    `torch.minimum`: NaN if either operand is NaN (integers: signed). Shapes broadcast as in
    NumPy. The gradient goes to the smaller operand; ties split it evenly.
    ```mlir
    %r = kiln.minimum %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
    ```
  }];
}

def Kiln_PowOp : Kiln_BroadcastBinaryOp<"pow", "power"> {
  let description = [{
    `lhs ^ rhs` with C's `pow` special cases: `x^0 = 1` and `1^y = 1` for
    any x, y (NaN included); a negative base needs an integral exponent
    (else NaN). Shapes broadcast as in NumPy.
    ```mlir
    %r = kiln.pow %x, %two : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

def Kiln_SelectOp : Kiln_Op<"select", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Elementwise choice by a mask (torch.where)";
  let description = [{
    `result = cond != 0 ? lhs : rhs`, with `cond` a 0/1 mask (as
    `kiln.compare` makes) of the operands' element type, float or integer. The three shapes
    broadcast together. The gradient flows to the chosen operand only; the
    mask gets none.
    ```mlir
    %r = kiln.select %mask, %a, %b : tensor<4x3xf32>, tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins Kiln_AnyTensor:$cond, Kiln_AnyTensor:$lhs,
                       Kiln_AnyTensor:$rhs);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = [{
    $cond `,` $lhs `,` $rhs attr-dict `:` type($cond) `,` type($lhs) `,`
    type($rhs) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Random initialisation
//===----------------------------------------------------------------------===//

def Kiln_RandomNormalOp : Kiln_Op<"random_normal", []> {
  let summary = "Counter-based normal random tensor N(mean, std^2)";
  let description = [{
    Element `i` is `mean + std * sqrt(-2 ln u1) * cos(2 pi u2)` (Box-Muller)
    with `u1 = (h(2i) + 1) 2^-b` in (0, 1] and `u2 = h(2i + 1) 2^-b` in
    [0, 1), where `h(k)` is the top b bits of the splitmix64 hash of
    (seed, stream, k) that `kiln.random_uniform` uses: b = 53 and float64
    arithmetic for f64 results, b = 24 and float32 arithmetic (no double
    anywhere) for the other float types. `ln` and `cos` are fixed series
    (not libm), so the interpreter and compiled code on every target produce
    the same bits.
    ```mlir
    %w = kiln.random_normal %seed stream 3 mean 0.0 std 0.02 : tensor<i64> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I64]>:$seed, I64Attr:$stream,
                       F64Attr:$mean, F64Attr:$std);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $seed `stream` $stream `mean` $mean `std` $std attr-dict
    `:` type($seed) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // KILN_ELEMENTWISE_OPS
