// kiln-collapse-elementwise-dims merges the contiguous inner loops of
// elementwise generics on memrefs (never the first loop, which threads
// split): rows of 28, 14 or 5 elements become rows of whole vectors.
// RUN: kiln-opt %s -split-input-file -kiln-collapse-elementwise-dims | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-lower-to-llvm="vector-width=8" | FileCheck %s --check-prefix=LLVM

#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

// Identity maps on contiguous memrefs: loops 1..3 become one of 32 * 28 * 28.
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @relu_grad
// CHECK: %[[X:.+]] = memref.collapse_shape %arg0 {{\[}}[0], [1, 2, 3]] : memref<2x32x28x28xf32> into memref<2x25088xf32>
// CHECK: %[[G:.+]] = memref.collapse_shape %arg1 {{\[}}[0], [1, 2, 3]] : memref<2x32x28x28xf32> into memref<2x25088xf32>
// CHECK: %[[Y:.+]] = memref.collapse_shape %arg2 {{\[}}[0], [1, 2, 3]] : memref<2x32x28x28xf32> into memref<2x25088xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[ID2]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[G]] : memref<2x25088xf32>, memref<2x25088xf32>) outs(%[[Y]] : memref<2x25088xf32>)
// CHECK: arith.cmpf ogt
// LLVM-LABEL: llvm.func @relu_grad
// LLVM-NOT: llvm.intr.masked
// LLVM: llvm.return
func.func @relu_grad(%x: memref<2x32x28x28xf32>, %g: memref<2x32x28x28xf32>, %y: memref<2x32x28x28xf32>) {
  linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %g : memref<2x32x28x28xf32>, memref<2x32x28x28xf32>) outs(%y : memref<2x32x28x28xf32>) {
  ^bb0(%in: f32, %grad: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %positive = arith.cmpf ogt, %in, %zero : f32
    %r = arith.select %positive, %grad, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A per-channel bias (map (c, 0, 0)) does not read the rows: loops 2 and 3
// merge, loop 1 (read by the bias) stays.
// CHECK-DAG: #[[ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1, d2) -> (d1, 0, 0)>
// CHECK-LABEL: func.func @bias_relu
// CHECK: %[[X:.+]] = memref.collapse_shape %arg0 {{\[}}[0], [1], [2, 3]] : memref<2x4x5x5xf32> into memref<2x4x25xf32>
// CHECK: %[[Y:.+]] = memref.collapse_shape %arg2 {{\[}}[0], [1], [2, 3]] : memref<2x4x5x5xf32> into memref<2x4x25xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID3]], #[[BIAS]], #[[ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %arg1 : memref<2x4x25xf32>, memref<4x1x1xf32>) outs(%[[Y]] : memref<2x4x25xf32>)
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bias = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
func.func @bias_relu(%x: memref<2x4x5x5xf32>, %b: memref<4x1x1xf32>, %y: memref<2x4x5x5xf32>) {
  linalg.generic {indexing_maps = [#map, #bias, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %b : memref<2x4x5x5xf32>, memref<4x1x1xf32>) outs(%y : memref<2x4x5x5xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %zero = arith.constant 0.0 : f32
    %r = arith.maxf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Rows of a padded buffer (stride 18 between rows of 14) are not
// contiguous: nothing merges; neither does a body that reads linalg.index,
// nor a transpose, nor a reduction.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: memref.collapse_shape
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-NOT: memref.collapse_shape
// CHECK: return
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#transposed = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @left_alone(%padded: memref<2x4x14x14xf32, strided<[1296, 324, 18, 1], offset: 19>>, %x: memref<2x4x14x14xf32>, %t: memref<2x3x5xf32>, %u: memref<2x5x3xf32>, %sum: memref<2x3xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%padded : memref<2x4x14x14xf32, strided<[1296, 324, 18, 1], offset: 19>>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%x : memref<2x4x14x14xf32>) {
  ^bb0(%out: f32):
    %w = linalg.index 3 : index
    %i = arith.index_cast %w : index to i32
    %f = arith.sitofp %i : i32 to f32
    linalg.yield %f : f32
  }
  linalg.generic {indexing_maps = [#transposed, #map3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t : memref<2x3x5xf32>) outs(%u : memref<2x5x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#map3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%t : memref<2x3x5xf32>) outs(%sum : memref<2x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  return
}
