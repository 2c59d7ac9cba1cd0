// Through the whole CPU lowering, vectorized loops that never step past a
// row's end store and load plain vectors (kiln-infer-transfer-bounds): a
// zero fill and an update of [4, 3136] rows (the convnet's fc1 gradient and
// SGD step have rows of 3136 = 392 * 8) use no masked loads or stores; a
// row of 196 (= 24 * 8 + 4) keeps the mask on its last vector.
// RUN: kiln-opt %s -kiln-lower-to-llvm="vector-width=8" | FileCheck %s

#map = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: llvm.func @fill_and_update
// CHECK-NOT: llvm.intr.masked
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : !llvm.ptr<vector<8xf32>>
// CHECK-NOT: llvm.intr.masked
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<vector<8xf32>>
// CHECK-NOT: llvm.intr.masked
// CHECK: llvm.return
func.func @fill_and_update(%w: memref<4x3136xf32>, %g: memref<4x3136xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%g : memref<4x3136xf32>)
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%g : memref<4x3136xf32>) outs(%w : memref<4x3136xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.subf %out, %in : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: llvm.func @ragged_fill
// CHECK: llvm.intr.masked.store
func.func @ragged_fill(%g: memref<4x196xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%g : memref<4x196xf32>)
  return
}
