// kiln-vectorize-matmul's blocks for products past a k block and a chunk of
// packed A (dW = dy^T x, 263 x 300 x 45 here):
// - the k blocks split k evenly, in whole vectors: 300 = 152 + 148 with a
//   256-deep KC (not 256 + 44, a short block that loads and stores all of C
//   and packs every panel for 44 multiply-adds per element);
// - the MC-row chunks of packed A likewise: 263 rows = 132 + 131 with a
//   252-row MC (half of a 512 KiB L2 of 256-deep rows), each chunk packing
//   every panel of B again; packed A's buffer holds one chunk (22 x 6 rows,
//   152 deep), not MC x KC;
// - where the chunk's panels go to the workers (PARALLEL), so do the
//   micro-panels of its packing;
// - an operand larger than L2 is prefetched ahead of use (PREFETCH, with a
//   32 KiB L2): each tile prefetches the rows of C's next tile (clamped to
//   the last row) 64 k steps before its end, and packing a panel of B stored row by row prefetches
//   the same rows of the panel that the thread packs next into L2.
// RUN: kiln-opt %s -kiln-vectorize-matmul=vector-width=8 | FileCheck %s --implicit-check-not=memref.prefetch
// RUN: kiln-opt %s -kiln-vectorize-matmul="vector-width=8 l2-bytes=32768" | FileCheck %s --check-prefix=PREFETCH
// RUN: kiln-opt %s -kiln-vectorize-matmul="vector-width=8 parallel-min-work=1" | FileCheck %s --check-prefix=PARALLEL

// CHECK-LABEL: func.func @balanced
// CHECK-SAME: (%[[AT:.*]]: memref<300x263xf32>, %[[B:.*]]: memref<300x45xf32>, %[[C:.*]]: memref<263x45xf32>)
// CHECK: %[[PACKA:.*]] = memref.alloca() {alignment = 64 : i64} : memref<22x152x6xf32>
// CHECK: scf.for %[[K0:.*]] = %c0{{.*}} to %c300{{.*}} step %c152{{.*}} {
// CHECK: %[[END:.*]] = arith.addi %[[K0]], %c152
// CHECK: arith.minsi %[[END]], %c300
// The first chunk: 22 micro-panels of 6 rows, then its tiles.
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c22{{.*}} step
// CHECK-COUNT-6: memref.store %{{.*}}, %[[PACKA]]
// CHECK-NOT: memref.store %{{.*}}, %[[PACKA]]
// CHECK: scf.for {{.*}} -> (vector<8xf32>
// The second, from row 132: 21 micro-panels and one of 5 rows.
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c21{{.*}} step
// CHECK: arith.addi %c132
// CHECK-COUNT-6: memref.store %{{.*}}, %[[PACKA]]
// CHECK: arith.addi %c132
// CHECK-COUNT-5: memref.store %{{.*}}, %[[PACKA]][%c21
// CHECK-NOT: memref.store %{{.*}}, %[[PACKA]]
// CHECK: return

// PREFETCH-LABEL: func.func @balanced
// PREFETCH-SAME: (%[[AT:.*]]: memref<300x263xf32>, %[[B:.*]]: memref<300x45xf32>, %[[C:.*]]: memref<263x45xf32>)
// Packing a panel: row kk of this panel, then of the next one (column
// clamped to the last).
// PREFETCH: vector.load %[[B]][%[[ROW:[0-9a-z_]+]], %{{.*}}]
// PREFETCH: vector.load %[[B]][%[[ROW]]
// PREFETCH: %[[NEXT:.*]] = arith.minsi %{{.*}}, %c44
// PREFETCH: memref.prefetch %[[B]][%[[ROW]], %[[NEXT]]], read, locality<2>, data
// A tile: its C rows, its k steps but the last 64, the next tile's C rows
// (row i + 6 + r, clamped), its last 64 k steps (prefetched at the start,
// a row of mlp_wide's C was evicted before the next tile loaded it).
// PREFETCH: scf.for
// PREFETCH: %[[I:.*]] = arith.addi
// PREFETCH-COUNT-12: vector.load %[[C]]
// PREFETCH-NOT: memref.prefetch
// PREFETCH: %[[DEPTH:.*]] = arith.subi
// PREFETCH: %[[LEAD:.*]] = arith.subi %[[DEPTH]], %c64
// PREFETCH: %[[SPLIT:.*]] = arith.maxsi %[[LEAD]], %c0
// PREFETCH: %[[FIRST:.*]]:12 = scf.for %{{.*}} = %c0{{.*}} to %[[SPLIT]] step
// PREFETCH-NOT: memref.prefetch
// PREFETCH: scf.yield
// PREFETCH: %[[R:.*]] = arith.addi %[[I]], %c6
// PREFETCH: %[[NR:.*]] = arith.minsi %[[R]], %c262
// PREFETCH: memref.prefetch %[[C]][%[[NR]], %{{.*}}], read, locality<3>, data
// PREFETCH-COUNT-11: memref.prefetch %[[C]]
// PREFETCH: %[[LAST:.*]]:12 = scf.for %{{.*}} = %[[SPLIT]] to %[[DEPTH]] step %{{.*}} iter_args(%{{.*}} = %[[FIRST]]#0,
// PREFETCH: vector.store %[[LAST]]#0, %[[C]]
// PARALLEL-LABEL: func.func @balanced
// PARALLEL: %[[PACKA:.*]] = memref.alloca() {alignment = 64 : i64} : memref<22x152x6xf32>
// PARALLEL: scf.parallel (%[[P:.*]]) = (%c0{{.*}}) to (%c22{{.*}}) step
// PARALLEL: memref.store %{{.*}}, %[[PACKA]][%[[P]],
// PARALLEL: scf.parallel (%[[SLOT:.*]]) = (%c0{{.*}}) to (%c2{{.*}}) step
// PARALLEL: scf.parallel (%[[P2:.*]]) = (%c0{{.*}}) to (%c21{{.*}}) step
// PARALLEL: memref.store %{{.*}}, %[[PACKA]][%[[P2]],
func.func @balanced(%at: memref<300x263xf32>, %b: memref<300x45xf32>, %c: memref<263x45xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (k, i)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%at, %b : memref<300x263xf32>, memref<300x45xf32>) outs(%c : memref<263x45xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
