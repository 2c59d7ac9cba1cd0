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
//   the last row), and packing a panel of B stored row by row prefetches
//   the same rows of the panel that the thread packs next into L2.
// RUN: kiln-opt %s -kiln-vectorize-matmul=vector-width=8 | FileCheck %s --implicit-check-not=memref.prefetch
// RUN: kiln-opt %s -kiln-vectorize-matmul="vector-width=8 l2-bytes=32768" | FileCheck %s --check-prefix=PREFETCH
// RUN: kiln-opt %s -kiln-vectorize-matmul="vector-width=8 parallel-min-work=1" | FileCheck %s --check-prefix=PARALLEL
// - where C's rows are a multiple of 4 KiB apart (prefix ALIASED, 1024 columns)
//   they share an L1 set, and a tile prefetches the next one's C 64 k steps
//   before its end instead, between two loops over its k steps (prefetched
//   at the start, a row of mlp_wide's C was evicted before the next tile
//   loaded it).
// RUN: kiln-opt %s -kiln-vectorize-matmul="vector-width=8 l2-bytes=32768" | FileCheck %s --check-prefix=ALIASED

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
// A tile: its C rows, then the next tile's (row i + 6 + r, clamped).
// PREFETCH: scf.for
// PREFETCH: %[[I:.*]] = arith.addi
// PREFETCH-COUNT-12: vector.load %[[C]]
// PREFETCH: %[[R:.*]] = arith.addi %[[I]], %c6
// PREFETCH: %[[NR:.*]] = arith.minsi %[[R]], %c262
// PREFETCH: memref.prefetch %[[C]][%[[NR]], %{{.*}}], read, locality<3>, data
// PREFETCH-COUNT-11: memref.prefetch %[[C]]
// PREFETCH: scf.for {{.*}} -> (vector<8xf32>
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

// ALIASED-LABEL: func.func @aliased_rows
// ALIASED-SAME: (%[[A:.*]]: memref<12x100xf32>, %[[B:.*]]: memref<100x1024xf32>, %[[C:.*]]: memref<12x1024xf32>)
// The two 6-row blocks of a panel.
// ALIASED: scf.for %{{.*}} = %c0{{.*}} to %c2 step
// ALIASED: %[[I:[0-9]+]] = arith.addi %c0{{.*}}, %{{[0-9]+}} : index
// ALIASED-COUNT-12: vector.load %[[C]]
// ALIASED-NOT: memref.prefetch
// ALIASED: %[[DEPTH:.*]] = arith.subi
// ALIASED: %[[LEAD:.*]] = arith.subi %[[DEPTH]], %c64{{.*}} : index
// ALIASED: %[[SPLIT:.*]] = arith.maxsi %[[LEAD]], %c0
// ALIASED: %[[FIRST:.*]]:12 = scf.for %{{.*}} = %c0{{.*}} to %[[SPLIT]] step
// ALIASED-NOT: memref.prefetch
// ALIASED: scf.yield
// ALIASED: %[[R:.*]] = arith.addi %[[I]], %c6{{.*}} : index
// ALIASED: %[[NR:.*]] = arith.minsi %[[R]], %c11 : index
// ALIASED: memref.prefetch %[[C]][%[[NR]], %{{.*}}], read, locality<3>, data
// ALIASED-COUNT-11: memref.prefetch %[[C]]
// ALIASED: %[[LAST:.*]]:12 = scf.for %{{.*}} = %[[SPLIT]] to %[[DEPTH]] step %{{.*}} iter_args(%{{.*}} = %[[FIRST]]#0,
// ALIASED: vector.store %[[LAST]]#0, %[[C]]
func.func @aliased_rows(%a: memref<12x100xf32>, %b: memref<100x1024xf32>, %c: memref<12x1024xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<12x100xf32>, memref<100x1024xf32>) outs(%c : memref<12x1024xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
