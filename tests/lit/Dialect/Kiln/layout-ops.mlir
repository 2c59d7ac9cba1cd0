// The layout ops parse, print and re-parse to the same form, and fold.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s -canonicalize | FileCheck %s --check-prefix=FOLD

// CHECK-LABEL: func.func @slices
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>, %[[S:.*]]: tensor<2x3xf32>, %[[I:.*]]: tensor<5xi32>)
func.func @slices(%x: tensor<4x6xf32>, %s: tensor<2x3xf32>, %i: tensor<5xi32>) -> (tensor<2x3xf32>, tensor<4x6xf32>, tensor<2xi32>) {
  // CHECK: kiln.slice %[[X]] offsets = [1, 0] sizes = [2, 3] strides = [1, 2] : tensor<4x6xf32> -> tensor<2x3xf32>
  %0 = kiln.slice %x offsets = [1, 0] sizes = [2, 3] strides = [1, 2] : tensor<4x6xf32> -> tensor<2x3xf32>
  // CHECK: kiln.slice_scatter %[[S]] into %[[X]] offsets = [2, 1] strides = [1, 2] : tensor<2x3xf32> into tensor<4x6xf32>
  %1 = kiln.slice_scatter %s into %x offsets = [2, 1] strides = [1, 2] : tensor<2x3xf32> into tensor<4x6xf32>
  // Integer tensors slice too.
  // CHECK: kiln.slice %[[I]] offsets = [3] sizes = [2] strides = [1] : tensor<5xi32> -> tensor<2xi32>
  %2 = kiln.slice %i offsets = [3] sizes = [2] strides = [1] : tensor<5xi32> -> tensor<2xi32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<4x6xf32>, tensor<2xi32>
}

// CHECK-LABEL: func.func @concat
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>, %c: tensor<2x1xf32>) -> tensor<2x8xf32> {
  // CHECK: kiln.concat %{{.*}}, %{{.*}}, %{{.*}} dim = 1 : tensor<2x3xf32>, tensor<2x4xf32>, tensor<2x1xf32> -> tensor<2x8xf32>
  %0 = kiln.concat %a, %b, %c dim = 1 : tensor<2x3xf32>, tensor<2x4xf32>, tensor<2x1xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// CHECK-LABEL: func.func @gather_scatter
func.func @gather_scatter(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %j: tensor<2x2xi32>, %s: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x2xf32>, tensor<4x3xf32>) {
  // CHECK: kiln.gather %{{.*}}, %{{.*}} dim = 0 : tensor<4x3xf32>, tensor<2x3xi64> -> tensor<2x3xf32>
  %0 = kiln.gather %x, %i dim = 0 : tensor<4x3xf32>, tensor<2x3xi64> -> tensor<2x3xf32>
  // CHECK: kiln.gather %{{.*}}, %{{.*}} dim = 1 : tensor<4x3xf32>, tensor<2x2xi32> -> tensor<2x2xf32>
  %1 = kiln.gather %x, %j dim = 1 : tensor<4x3xf32>, tensor<2x2xi32> -> tensor<2x2xf32>
  // CHECK: kiln.scatter_add %{{.*}}, %{{.*}}, %{{.*}} dim = 0 : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32> -> tensor<4x3xf32>
  %2 = kiln.scatter_add %x, %i, %s dim = 0 : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32> -> tensor<4x3xf32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<2x2xf32>, tensor<4x3xf32>
}

// CHECK-LABEL: func.func @topk
func.func @topk(%x: tensor<3x5xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>, tensor<1x5xf64>) {
  // CHECK: %[[V:.*]], %[[I:.*]] = kiln.topk %{{.*}} k = 2 dim = 1 largest = true : tensor<3x5xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
  %v, %i = kiln.topk %x k = 2 dim = 1 largest = true : tensor<3x5xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
  %y = kiln.constant dense<1.0> : tensor<3x5xf64>
  // CHECK: kiln.topk %{{.*}} k = 1 dim = 0 largest = false : tensor<3x5xf64> -> tensor<1x5xf64>, tensor<1x5xi64>
  %w, %j = kiln.topk %y k = 1 dim = 0 largest = false : tensor<3x5xf64> -> tensor<1x5xf64>, tensor<1x5xi64>
  // CHECK: return %[[V]], %[[I]]
  return %v, %i, %w : tensor<3x2xf32>, tensor<3x2xi64>, tensor<1x5xf64>
}

// An integer broadcast (index tensors for gather).
// CHECK-LABEL: func.func @broadcast_int
func.func @broadcast_int(%i: tensor<1x3xi32>) -> tensor<4x3xi32> {
  // CHECK: kiln.broadcast_to %{{.*}} : tensor<1x3xi32> -> tensor<4x3xi32>
  %0 = kiln.broadcast_to %i : tensor<1x3xi32> -> tensor<4x3xi32>
  return %0 : tensor<4x3xi32>
}

// A whole-tensor slice and a one-input concat fold away.
// FOLD-LABEL: func.func @folds
// FOLD-SAME: (%[[X:.*]]: tensor<4x6xf32>)
// FOLD-NOT: kiln.slice
// FOLD-NOT: kiln.concat
// FOLD: return %[[X]], %[[X]]
func.func @folds(%x: tensor<4x6xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %0 = kiln.slice %x offsets = [0, 0] sizes = [4, 6] strides = [1, 1] : tensor<4x6xf32> -> tensor<4x6xf32>
  %1 = kiln.concat %x dim = 0 : tensor<4x6xf32> -> tensor<4x6xf32>
  return %0, %1 : tensor<4x6xf32>, tensor<4x6xf32>
}
