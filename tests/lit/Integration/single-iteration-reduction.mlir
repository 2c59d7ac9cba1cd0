// Full reductions over a [1, N] or [N, 1] buffer (the MSE of a one-output
// regression) lower to LLVM: single-iteration loops are promoted before the
// super-vectorizer, which would otherwise widen the 0-d accumulator store
// into an invalid vector.transfer_write.
// RUN: kiln-opt %s -kiln-lower-to-llvm | FileCheck %s

#map = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> ()>

// CHECK-LABEL: llvm.func @sum_rows
// CHECK-NOT: vector.transfer_write
// CHECK: llvm.return
func.func @sum_rows(%a: memref<32x1xf32>, %o: memref<f32>) {
  linalg.generic {indexing_maps = [#map, #scalar], iterator_types = ["reduction", "reduction"]}
      ins(%a : memref<32x1xf32>) outs(%o : memref<f32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: llvm.func @sum_columns
// CHECK: llvm.return
func.func @sum_columns(%a: memref<1x32xf32>, %o: memref<f32>) {
  linalg.generic {indexing_maps = [#map, #scalar], iterator_types = ["reduction", "reduction"]}
      ins(%a : memref<1x32xf32>) outs(%o : memref<f32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  }
  return
}
