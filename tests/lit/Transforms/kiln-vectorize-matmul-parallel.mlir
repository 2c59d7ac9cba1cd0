// With parallel-min-work, a matmul's column panels (two 16-lane vectors wide
// here) are split among up to 8 workers of an scf.parallel: worker s packs
// into slot s of the panel buffer and takes panels s, s + workers, ...: each
// thread owns whole columns of C, which it sums in the same k order as the
// serial kernel. One column panel, or less work than the threshold, stays a
// serial scf.for (with a one-slot buffer when nothing may run in parallel).
// With fewer than two full column panels the workers split the MR-row blocks
// instead: every panel of the k block is packed into its own slot before the
// fork, then each worker runs whole row blocks against all of them (each
// element of C again summed by one thread in k order). A product inside a
// loop (a convolution's chunks of images) may run in parallel too.
// RUN: kiln-opt %s -kiln-vectorize-matmul="parallel-min-work=1" | FileCheck %s
// RUN: kiln-opt %s -kiln-vectorize-matmul="parallel-min-work=400000" | FileCheck %s --check-prefix=SERIAL
// RUN: kiln-opt %s -kiln-vectorize-matmul | FileCheck %s --check-prefix=SERIAL
// RUN: kiln-opt %s -kiln-vectorize-matmul="parallel-min-work=200000" | FileCheck %s --check-prefix=TOTAL

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
// 30 rows: two 14-row blocks in parallel, then the last 2 rows; 40 columns:
// one 32-column panel (slot 0) and 8 columns (slot 1, a masked load).
// CHECK-LABEL: func.func @row_blocks
// CHECK: %[[PACK:.*]] = memref.alloca() {alignment = 64 : i64} : memref<8x128x32xf32>
// CHECK: vector.store %{{.*}}, %[[PACK]][%c0{{[_0-9]*}}, %{{.*}}, %c0{{.*}}]
// CHECK: vector.store %{{.*}}, %[[PACK]][%c0{{[_0-9]*}}, %{{.*}}, %c16{{.*}}]
// CHECK: vector.maskedload
// CHECK: vector.store %{{.*}}, %[[PACK]][%c1{{[_0-9]*}}, %{{.*}}, %c0{{.*}}]
// CHECK-NOT: vector.store %{{.*}}, %[[PACK]]
// CHECK: scf.parallel (%[[BLOCK:.*]]) = (%c0{{.*}}) to (%c2{{.*}}) step (%c1{{.*}}) {
// CHECK: arith.muli %[[BLOCK]], %c14
// CHECK: %{{.*}}:28 = scf.for {{.*}} -> (vector<16xf32>
// CHECK: vector.load %[[PACK]][%c0{{[_0-9]*}},
// CHECK: %{{.*}}:14 = scf.for {{.*}} -> (vector<16xf32>
// CHECK: vector.load %[[PACK]][%c1{{[_0-9]*}},
// CHECK: vector.maskedstore
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK: %{{.*}}:4 = scf.for {{.*}} -> (vector<16xf32>
// CHECK: %{{.*}}:2 = scf.for {{.*}} -> (vector<16xf32>
// CHECK-NOT: scf.parallel
// CHECK: return
// A k deeper than one block (KC = 128 here: three blocks, of 112, 112 and 76)
// keeps the column split with the k blocks inside each worker: one fork for
// the whole product, each worker running the blocks of its panels in k order.
// CHECK-LABEL: func.func @deep
// CHECK: scf.parallel (%[[SLOT:.*]]) = (%c0{{.*}}) to (%c2{{.*}}) step (%c1{{.*}}) {
// CHECK: scf.for %[[K0:.*]] = %c0{{.*}} to %c300{{.*}} step %c112{{.*}} {
// CHECK: arith.minsi
// CHECK: scf.for %{{.*}} = %[[SLOT]] to %c2{{.*}} step %c2{{.*}} {
// CHECK: vector.store %{{.*}}, %[[PACKD:.*]][%[[SLOT]], %{{.*}}, %{{.*}}]
// CHECK: scf.yield
// CHECK-NOT: scf.parallel
// CHECK: return
// The threshold counts a fork's work: @deep's 16 x 64 x 300 (307200) forks
// once, though one of its k blocks (131072) would stay serial.
// TOTAL-LABEL: func.func @four_tiles
// TOTAL-NOT: scf.parallel
// TOTAL-LABEL: func.func @deep
// TOTAL: scf.parallel
// TOTAL-LABEL: func.func @in_a_loop
// TOTAL-NOT: scf.parallel
// CHECK-LABEL: func.func @in_a_loop
// CHECK: scf.for
// CHECK: scf.parallel
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

func.func @row_blocks(%a: memref<30x8xf32>, %b: memref<8x40xf32>, %c: memref<30x40xf32>) {
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<30x8xf32>, memref<8x40xf32>) outs(%c : memref<30x40xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

func.func @deep(%a: memref<16x300xf32>, %b: memref<300x64xf32>, %c: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x300xf32>, memref<300x64xf32>) outs(%c : memref<16x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

func.func @in_a_loop(%a: memref<16x8xf32>, %b: memref<8x128xf32>, %c: memref<16x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %chunk = %c0 to %c4 step %c1 {
    linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%a, %b : memref<16x8xf32>, memref<8x128xf32>) outs(%c : memref<16x128xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}
