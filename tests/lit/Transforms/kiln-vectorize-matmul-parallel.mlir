// With parallel-min-work, a matmul's column panels (two 16-lane vectors wide
// here) are split among up to 8 workers of an scf.parallel: worker s packs
// into slot s of the panel buffer and takes panels s, s + workers, ...: each
// thread owns whole columns of C, which it sums in the same k order as the
// serial kernel. One column panel, or less work than the threshold, stays a
// serial scf.for (with a one-slot buffer when nothing may run in parallel).
// RUN: kiln-opt %s -kiln-vectorize-matmul="parallel-min-work=1" | FileCheck %s
// RUN: kiln-opt %s -kiln-vectorize-matmul="parallel-min-work=100000" | FileCheck %s --check-prefix=SERIAL
// RUN: kiln-opt %s -kiln-vectorize-matmul | FileCheck %s --check-prefix=SERIAL

#A = affine_map<(i, k, j) -> (i, k)>
#B = affine_map<(i, k, j) -> (k, j)>
#C = affine_map<(i, k, j) -> (i, j)>
// CHECK-LABEL: func.func @four_tiles
// CHECK: %[[PACK:.*]] = memref.alloca() {alignment = 64 : i64} : memref<8x128x32xf32>
// CHECK: scf.parallel (%[[SLOT:.*]]) = (%c0{{.*}}) to (%c4{{.*}}) step (%c1{{.*}}) {
// CHECK: scf.for %[[PANEL:.*]] = %[[SLOT]] to %c4{{.*}} step %c4{{.*}} {
// CHECK: vector.store %{{.*}}, %[[PACK]][%[[SLOT]], %{{.*}}, %{{.*}}]
// CHECK: scf.for {{.*}} -> (vector<16xf32>
// CHECK: vector.load %[[PACK]][%[[SLOT]], %{{.*}}, %{{.*}}]
// CHECK: scf.yield
// CHECK-LABEL: func.func @one_tile
// CHECK-NOT: scf.parallel
// CHECK: return
// SERIAL-NOT: scf.parallel
func.func @four_tiles(%a: memref<16x8xf32>, %b: memref<8x128xf32>, %c: memref<16x128xf32>) {
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x8xf32>, memref<8x128xf32>) outs(%c : memref<16x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

func.func @one_tile(%a: memref<16x8xf32>, %b: memref<8x32xf32>, %c: memref<16x32xf32>) {
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x8xf32>, memref<8x32xf32>) outs(%c : memref<16x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
