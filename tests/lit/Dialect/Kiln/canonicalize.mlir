// The kiln folders: identity transpose, reshape and broadcast_to to the same
// type, and constants (ConstantLike + the dialect's constant materializer).
// RUN: kiln-opt %s -split-input-file -canonicalize | FileCheck %s

// CHECK-LABEL: func.func @identity_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>)
// CHECK-NOT: kiln.transpose
// CHECK: return %[[X]] : tensor<4x3xf32>
func.func @identity_transpose(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.transpose %x, [0, 1] : tensor<4x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @identity_transpose_rank3
// CHECK-NOT: kiln.transpose
// CHECK: return %arg0 : tensor<2x4x3xf32>
func.func @identity_transpose_rank3(%x: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %0 = kiln.transpose %x, [0, 1, 2] : tensor<2x4x3xf32> -> tensor<2x4x3xf32>
  return %0 : tensor<2x4x3xf32>
}

// -----

// A real permutation stays, even one that keeps the shape.
// CHECK-LABEL: func.func @square_transpose_kept
// CHECK: %[[T:.*]] = kiln.transpose %arg0, [1, 0] : tensor<3x3xf32> -> tensor<3x3xf32>
// CHECK: return %[[T]]
func.func @square_transpose_kept(%x: tensor<3x3xf32>) -> tensor<3x3xf32> {
  %0 = kiln.transpose %x, [1, 0] : tensor<3x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_same_type
// CHECK-NOT: kiln.reshape
// CHECK: return %arg0 : tensor<8x784xf32>
func.func @reshape_same_type(%x: tensor<8x784xf32>) -> tensor<8x784xf32> {
  %0 = kiln.reshape %x : tensor<8x784xf32> -> tensor<8x784xf32>
  return %0 : tensor<8x784xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_kept
// CHECK: %[[R:.*]] = kiln.reshape %arg0 : tensor<8x28x28xf32> -> tensor<8x784xf32>
// CHECK: return %[[R]]
func.func @reshape_kept(%x: tensor<8x28x28xf32>) -> tensor<8x784xf32> {
  %0 = kiln.reshape %x : tensor<8x28x28xf32> -> tensor<8x784xf32>
  return %0 : tensor<8x784xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_to_same_type
// CHECK-NOT: kiln.broadcast_to
// CHECK: return %arg0 : tensor<4x3xf32>
func.func @broadcast_to_same_type(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.broadcast_to %x : tensor<4x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_to_kept
// CHECK: %[[B:.*]] = kiln.broadcast_to %arg0 : tensor<3xf32> -> tensor<4x3xf32>
// CHECK: return %[[B]]
func.func @broadcast_to_kept(%x: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.broadcast_to %x : tensor<3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Equal constants are uniqued; their values and types survive.
// CHECK-LABEL: func.func @constants_uniqued
// CHECK: %[[C:.*]] = kiln.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NOT: kiln.constant
// CHECK: %[[S:.*]] = kiln.add %[[C]], %[[C]]
// CHECK: return %[[S]]
func.func @constants_uniqued() -> tensor<2xf32> {
  %a = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %s = kiln.add %a, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %s : tensor<2xf32>
}

// -----

// Different constants are not merged; an unused one is erased (kiln ops are
// Pure).
// CHECK-LABEL: func.func @constants_distinct
// CHECK-DAG: %[[A:.*]] = kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NOT: dense<3.0
// CHECK: kiln.sub %[[A]], %[[B]]
func.func @constants_distinct() -> tensor<f32> {
  %a = kiln.constant dense<1.0> : tensor<f32>
  %b = kiln.constant dense<2.0> : tensor<f32>
  %unused = kiln.constant dense<3.0> : tensor<f32>
  %s = kiln.sub %a, %b : tensor<f32>, tensor<f32> -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// Folding chains: the identity ops vanish and the dead ones go too.
// CHECK-LABEL: func.func @fold_chain
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>)
// CHECK-NEXT: %[[E:.*]] = kiln.exp %[[X]] : tensor<4x3xf32>
// CHECK-NEXT: return %[[E]] : tensor<4x3xf32>
func.func @fold_chain(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.reshape %x : tensor<4x3xf32> -> tensor<4x3xf32>
  %1 = kiln.transpose %0, [0, 1] : tensor<4x3xf32> -> tensor<4x3xf32>
  %2 = kiln.broadcast_to %1 : tensor<4x3xf32> -> tensor<4x3xf32>
  %3 = kiln.exp %2 : tensor<4x3xf32>
  %dead = kiln.neg %3 : tensor<4x3xf32>
  return %3 : tensor<4x3xf32>
}
