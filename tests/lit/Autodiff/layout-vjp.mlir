// The VJP rules of the layout ops: slice <-> slice_scatter into zeros,
// concat -> slices, gather and topk -> scatter_add into zeros. Index
// operands get no cotangent.
// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-autodiff))' | FileCheck %s

// CHECK-LABEL: func.func @slice
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>, %[[G:.*]]: tensor<2x3xf32>)
// CHECK: %[[Z:.*]] = kiln.constant dense<0.000000e+00> : tensor<4x6xf32>
// CHECK: %[[D:.*]] = kiln.slice_scatter %[[G]] into %[[Z]] offsets = [1, 0] strides = [1, 2]
// CHECK: return %[[D]]
func.func @slice(%x: tensor<4x6xf32>, %g: tensor<2x3xf32>) -> tensor<4x6xf32> {
  %s = kiln.slice %x offsets = [1, 0] sizes = [2, 3] strides = [1, 2] : tensor<4x6xf32> -> tensor<2x3xf32>
  %d = kiln.vjp %s, %g wrt %x : tensor<2x3xf32>, tensor<4x6xf32>
  return %d : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @slice_scatter
// CHECK-SAME: (%[[S:.*]]: tensor<2x3xf32>, %[[X:.*]]: tensor<4x6xf32>, %[[G:.*]]: tensor<4x6xf32>)
// CHECK-DAG: %[[DS:.*]] = kiln.slice %[[G]] offsets = [2, 1] sizes = [2, 3] strides = [1, 2]
// CHECK-DAG: %[[Z:.*]] = kiln.constant dense<0.000000e+00> : tensor<2x3xf32>
// CHECK-DAG: %[[DX:.*]] = kiln.slice_scatter %[[Z]] into %[[G]] offsets = [2, 1] strides = [1, 2]
// CHECK: return %[[DS]], %[[DX]]
func.func @slice_scatter(%s: tensor<2x3xf32>, %x: tensor<4x6xf32>, %g: tensor<4x6xf32>) -> (tensor<2x3xf32>, tensor<4x6xf32>) {
  %r = kiln.slice_scatter %s into %x offsets = [2, 1] strides = [1, 2] : tensor<2x3xf32> into tensor<4x6xf32>
  %d:2 = kiln.vjp %r, %g wrt %s, %x : tensor<4x6xf32>, tensor<2x3xf32>, tensor<4x6xf32>
  return %d#0, %d#1 : tensor<2x3xf32>, tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @concat
// CHECK-SAME: (%[[A:.*]]: tensor<4x6xf32>, %[[B:.*]]: tensor<4x2xf32>, %[[G:.*]]: tensor<4x8xf32>)
// CHECK-DAG: %[[DA:.*]] = kiln.slice %[[G]] offsets = [0, 0] sizes = [4, 6] strides = [1, 1]
// CHECK-DAG: %[[DB:.*]] = kiln.slice %[[G]] offsets = [0, 6] sizes = [4, 2] strides = [1, 1]
// CHECK: return %[[DA]], %[[DB]]
func.func @concat(%a: tensor<4x6xf32>, %b: tensor<4x2xf32>, %g: tensor<4x8xf32>) -> (tensor<4x6xf32>, tensor<4x2xf32>) {
  %c = kiln.concat %a, %b dim = 1 : tensor<4x6xf32>, tensor<4x2xf32> -> tensor<4x8xf32>
  %d:2 = kiln.vjp %c, %g wrt %a, %b : tensor<4x8xf32>, tensor<4x6xf32>, tensor<4x2xf32>
  return %d#0, %d#1 : tensor<4x6xf32>, tensor<4x2xf32>
}

// -----

// CHECK-LABEL: func.func @gather
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>, %[[I:.*]]: tensor<4x2xi64>, %[[G:.*]]: tensor<4x2xf32>)
// CHECK: %[[Z:.*]] = kiln.constant dense<0.000000e+00> : tensor<4x6xf32>
// CHECK: %[[D:.*]] = kiln.scatter_add %[[Z]], %[[I]], %[[G]] dim = 1
// CHECK: return %[[D]]
func.func @gather(%x: tensor<4x6xf32>, %i: tensor<4x2xi64>, %g: tensor<4x2xf32>) -> tensor<4x6xf32> {
  %y = kiln.gather %x, %i dim = 1 : tensor<4x6xf32>, tensor<4x2xi64> -> tensor<4x2xf32>
  %d = kiln.vjp %y, %g wrt %x : tensor<4x2xf32>, tensor<4x6xf32>
  return %d : tensor<4x6xf32>
}

// -----

// The base's cotangent is the seed itself; the source's is gathered.
// CHECK-LABEL: func.func @scatter_add
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[I:.*]]: tensor<2x3xi64>, %[[S:.*]]: tensor<2x3xf32>, %[[G:.*]]: tensor<4x3xf32>)
// CHECK: %[[DS:.*]] = kiln.gather %[[G]], %[[I]] dim = 0
// CHECK: return %[[G]], %[[DS]]
func.func @scatter_add(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %s: tensor<2x3xf32>, %g: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<2x3xf32>) {
  %r = kiln.scatter_add %x, %i, %s dim = 0 : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32> -> tensor<4x3xf32>
  %d:2 = kiln.vjp %r, %g wrt %x, %s : tensor<4x3xf32>, tensor<4x3xf32>, tensor<2x3xf32>
  return %d#0, %d#1 : tensor<4x3xf32>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @topk
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>, %[[G:.*]]: tensor<4x2xf32>)
// CHECK: %[[V:.*]], %[[I:.*]] = kiln.topk %[[X]]
// CHECK: %[[Z:.*]] = kiln.constant dense<0.000000e+00> : tensor<4x6xf32>
// CHECK: %[[D:.*]] = kiln.scatter_add %[[Z]], %[[I]], %[[G]] dim = 1
// CHECK: return %[[D]]
func.func @topk(%x: tensor<4x6xf32>, %g: tensor<4x2xf32>) -> tensor<4x6xf32> {
  %v, %i = kiln.topk %x k = 2 dim = 1 largest = true : tensor<4x6xf32> -> tensor<4x2xf32>, tensor<4x2xi64>
  %d = kiln.vjp %v, %g wrt %x : tensor<4x2xf32>, tensor<4x6xf32>
  return %d : tensor<4x6xf32>
}
