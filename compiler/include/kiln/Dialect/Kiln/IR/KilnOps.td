//===- KilnOps.td - kiln dialect ops -----------------------*- tablegen -*-===//
//
// Every op works on ranked static-shape tensors with value semantics. Result
// shapes are inferred (InferTypeOpInterface) or verified, and failures are
// reported at the op's Location, which the DSL sets to the user's file:line.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_OPS
#define KILN_OPS

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

/// Base class: every kiln op is free of side effects (value semantics).
class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def Kiln_Differentiable : DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>;
def Kiln_InferType : DeclareOpInterfaceMethods<InferTypeOpInterface>;

//===----------------------------------------------------------------------===//
// Constants and random initialisation
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_Op<"constant", [ConstantLike, Kiln_InferType]> {
  let summary = "A tensor constant";
  let description = [{
    ```mlir
    %c = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Kiln_RandomUniformOp : Kiln_Op<"random_uniform", []> {
  let summary = "Counter-based uniform random tensor in [low, high)";
  let description = [{
    Element `i` is a pure function of (seed, stream, i): a splitmix64 hash,
    so results are reproducible on every target and in the interpreter.
    ```mlir
    %w = kiln.random_uniform %seed stream 3 range [-0.5, 0.5] : tensor<i64> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I64]>:$seed, I64Attr:$stream,
                       F64Attr:$low, F64Attr:$high);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $seed `stream` $stream `range` `[` $low `,` $high `]` attr-dict
    `:` type($seed) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

/// Binary elementwise op with NumPy broadcasting of the two operand shapes;
/// both operands have one element type (the DSL promotes mixed types with
/// kiln.cast first). Integer operands are allowed where `operandType` says.
class Kiln_BroadcastBinaryOp<string mnemonic, string op,
                             Type operandType = Kiln_FloatTensor>
    : Kiln_Op<mnemonic, [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Elementwise " # op # " with broadcasting";
  let description = [{
    Shapes broadcast as in NumPy: aligned from the right, a dimension of 1
    stretches to match the other operand.
    ```mlir
    %r = kiln.}] # mnemonic # [{ %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs operandType:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

// Integer add/sub/mul wrap around (two's complement), as in PyTorch.
def Kiln_AddOp : Kiln_BroadcastBinaryOp<"add", "addition", Kiln_AnyTensor>;
def Kiln_SubOp : Kiln_BroadcastBinaryOp<"sub", "subtraction", Kiln_AnyTensor>;
def Kiln_MulOp : Kiln_BroadcastBinaryOp<"mul", "multiplication", Kiln_AnyTensor>;
// Floating-point only: the DSL's integer division is true division (float).
def Kiln_DivOp : Kiln_BroadcastBinaryOp<"div", "division">;

def Kiln_CompareOp : Kiln_Op<"compare", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Elementwise comparison giving a 0/1 mask of the operand type";
  let description = [{
    `predicate` is one of eq, ne, lt, le, gt, ge. Operands broadcast; the
    result is 1 where the predicate holds and 0 elsewhere, in the operands'
    element type (integers compare as signed). No gradient flows through a
    comparison.
    ```mlir
    %m = kiln.compare "gt", %x, %zero : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins StrAttr:$predicate, Kiln_AnyTensor:$lhs, Kiln_AnyTensor:$rhs);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = [{
    $predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

/// Unary elementwise op: result type equals operand type.
class Kiln_UnaryOp<string mnemonic, string what, list<Trait> traits = [],
                   Type operandType = Kiln_FloatTensor>
    : Kiln_Op<mnemonic, !listconcat(traits,
        [SameOperandsAndResultType, Kiln_InferType, Kiln_Differentiable])> {
  let summary = what;
  let description = [{
    ```mlir
    %r = kiln.}] # mnemonic # [{ %x : tensor<4x3xf32>
    ```
  }];
  let arguments = (ins operandType:$input);
  let results = (outs operandType:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "Elementwise negation", [], Kiln_AnyTensor>;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "Elementwise natural exponential">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "Elementwise natural logarithm">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "Elementwise max(x, 0)", [],
                               Kiln_AnyTensor>;
def Kiln_StopGradientOp : Kiln_UnaryOp<"stop_gradient",
    "Identity whose gradient is zero (PyTorch's detach)">;

//===----------------------------------------------------------------------===//
// Linear algebra and layout
//===----------------------------------------------------------------------===//

def Kiln_MatmulOp : Kiln_Op<"matmul", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Matrix product, optionally batched";
  let description = [{
    `[M,K] x [K,N] -> [M,N]`, or batched `[B,M,K] x [B,K,N] -> [B,M,N]`.
    ```mlir
    %y = kiln.matmul %x, %w : tensor<8x784xf32>, tensor<784x10xf32> -> tensor<8x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Permutes dimensions";
  let description = [{
    Result dimension `i` is operand dimension `permutation[i]`.
    ```mlir
    %t = kiln.transpose %x, [1, 0] : tensor<4x3xf32> -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Kiln_AnyTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = "$input `,` $permutation attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Kiln_Differentiable]> {
  let summary = "Reshapes to a static shape with the same element count";
  let description = [{
    Row-major reinterpretation, like `torch.reshape` on a contiguous tensor.
    ```mlir
    %r = kiln.reshape %x : tensor<8x28x28xf32> -> tensor<8x784xf32>
    ```
  }];
  let arguments = (ins Kiln_AnyTensor:$input);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_BroadcastToOp : Kiln_Op<"broadcast_to", [Kiln_Differentiable]> {
  let summary = "Broadcasts to a larger shape (NumPy rules)";
  let description = [{
    ```mlir
    %b = kiln.broadcast_to %x : tensor<3xf32> -> tensor<4x3xf32>
    ```
    Integer tensors broadcast too (index tensors for gather/scatter_add).
  }];
  let arguments = (ins Kiln_AnyTensor:$input);
  let results = (outs Kiln_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Kiln_ReduceOp<string mnemonic, string what,
                    Type operandType = Kiln_FloatTensor>
    : Kiln_Op<mnemonic, [Kiln_InferType, Kiln_Differentiable]> {
  let summary = what # " over the given axes";
  let description = [{
    Reduces `axes` (sorted, unique, in range); with `keepdims` the reduced
    dimensions stay as size 1, as in `torch.sum(x, dim, keepdim=True)`.
    ```mlir
    %s = kiln.}] # mnemonic # [{ %x axes = [1] keepdims : tensor<4x3xf32> -> tensor<4x1xf32>
    ```
  }];
  let arguments = (ins operandType:$input, DenseI64ArrayAttr:$axes, UnitAttr:$keepdims);
  let results = (outs operandType:$result);
  let assemblyFormat = [{
    $input `axes` `=` $axes (`keepdims` $keepdims^)? attr-dict `:` type($input) `->` type($result)
  }];
}

// Integer sums wrap around as integer addition does; the DSL sums ints in
// i64 (torch.sum's int64 result), so wrapping needs 2^63.
def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "Sum", Kiln_AnyTensor>;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "Arithmetic mean">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "Maximum", Kiln_AnyTensor>;

//===----------------------------------------------------------------------===//
// Classification helpers
//===----------------------------------------------------------------------===//

def Kiln_LogSoftmaxOp : Kiln_Op<"log_softmax",
    [SameOperandsAndResultType, Kiln_InferType, Kiln_Differentiable]> {
  let summary = "Numerically stable log(softmax(x)) along one axis";
  let description = [{
    ```mlir
    %l = kiln.log_softmax %logits axis = 1 : tensor<8x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `axis` `=` $axis attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_OneHotOp : Kiln_Op<"one_hot", []> {
  let summary = "Integer class indices to a one-hot float tensor";
  let description = [{
    The result has the indices' shape plus a trailing class dimension. An
    index outside [0, classes) gives an all-zero row.
    ```mlir
    %h = kiln.one_hot %labels : tensor<8xi32> -> tensor<8x10xf32>
    ```
  }];
  let arguments = (ins Kiln_IntTensor:$indices);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$indices attr-dict `:` type($indices) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Differentiation
//===----------------------------------------------------------------------===//

def Kiln_VJPOp : Kiln_Op<"vjp", [Kiln_InferType, AllTypesMatch<["output", "seed"]>]> {
  let summary = "Vector-Jacobian product of a traced value (reverse-mode AD)";
  let description = [{
    Returns `seed^T * d(output)/d(wrt_i)` for each `wrt_i`: the gradient of a
    scalar loss with seed 1, or PyTorch's `y.backward(gradient=seed)` for a
    non-scalar `y`. The `kiln-autodiff` pass replaces it with backward ops.
    ```mlir
    %gw, %gb = kiln.vjp %loss, %one wrt %w, %b : tensor<f32>, tensor<4x3xf32>, tensor<3xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$output, Kiln_FloatTensor:$seed,
                       Variadic<Kiln_FloatTensor>:$wrt);
  let results = (outs Variadic<Kiln_FloatTensor>:$gradients);
  let assemblyFormat = [{
    $output `,` $seed `wrt` $wrt attr-dict `:` type($output) `,` type($wrt)
  }];
}

include "kiln/Dialect/Kiln/IR/KilnElementwiseOps.td"
include "kiln/Dialect/Kiln/IR/KilnLayoutOps.td"
include "kiln/Dialect/Kiln/IR/KilnNNOps.td"

#endif // KILN_OPS
