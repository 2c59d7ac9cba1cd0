// kiln-vectorize-matmul: BLIS's structure. The k block of each 16-column
// panel of B is packed into a stack buffer (one per function, 64-byte
// aligned, KC = 256 rows of NR = 16 floats: half of a 32 KiB L1), then an
// MR x NR block of C stays in registers across the k loop, reading B from
// the panel: MR = 6 on AVX2 (12 accumulators, 2 rows of B and a broadcast
// of A fill its 16 registers); rows left over after the full 6-row blocks
// form one shorter block (here 5 rows), not one k loop per row, so every
// loaded row of B still feeds several FMAs. The multiply-adds are
// arith.mulf/addf with the contract flag (an fma where the core has one;
// vector.fma would be an fmaf call per lane on generic x86-64).
// CHECK-NOT: vector.fma
// RUN: kiln-opt %s -kiln-vectorize-matmul=vector-width=8 | FileCheck %s
// AVX-512 (32 registers): 14 x 32 tiles on a 128-row panel, so the 11 rows
// are one block of 22 accumulators.
// RUN: kiln-opt %s -kiln-vectorize-matmul | FileCheck %s --check-prefix=AVX512
// contract=false (kilnc --deterministic): the same loops with plain
// multiplies and adds, which no target fuses.
// RUN: kiln-opt %s -kiln-vectorize-matmul=contract=false | FileCheck %s --check-prefix=EXACT --implicit-check-not=contract
// EXACT-COUNT-22: arith.addf {{.*}} : vector<16xf32>

#A = affine_map<(i, k, j) -> (i, k)>
#B = affine_map<(i, k, j) -> (k, j)>
#C = affine_map<(i, k, j) -> (i, j)>
// CHECK-LABEL: func.func @eleven_rows
// CHECK-SAME: (%[[A:.*]]: memref<11x8xf32>, %[[B:.*]]: memref<8x32xf32>, %[[C:.*]]: memref<11x32xf32>)
// CHECK: %[[PACK:.*]] = memref.alloca() {alignment = 64 : i64} : memref<1x256x16xf32>
// CHECK: scf.for %[[PANEL:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %[[J:.*]] = arith.muli %[[PANEL]], %c16
// CHECK: scf.for %[[KK:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %[[ROW:.*]] = vector.load %[[B]][%{{.*}}, %[[J]]] : memref<8x32xf32>, vector<8xf32>
// CHECK: vector.store %[[ROW]], %[[PACK]][%{{.*}}, %[[KK]], %{{.*}}]
// CHECK: vector.store %{{.*}}, %[[PACK]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %{{.*}}:12 = scf.for {{.*}} -> (vector<8xf32>
// CHECK: vector.load %[[PACK]]
// CHECK: vector.load %[[PACK]]
// CHECK: memref.load %[[A]]
// CHECK-COUNT-12: arith.addf {{.*}} fastmath<contract> : vector<8xf32>
// CHECK: scf.yield
// CHECK-COUNT-12: vector.store %{{.*}}, %[[C]]
// CHECK: %[[REST:.*]]:10 = scf.for {{.*}} -> (vector<8xf32>
// CHECK-COUNT-10: arith.addf {{.*}} fastmath<contract> : vector<8xf32>
// CHECK: scf.yield
// CHECK: vector.store %[[REST]]#0, %[[C]][%{{.*}}, %[[J]]]
// CHECK-COUNT-9: vector.store %[[REST]]#
// CHECK-NOT: fastmath
// CHECK-NOT: linalg.generic
// CHECK: return
// AVX512: memref.alloca() {alignment = 64 : i64} : memref<1x128x32xf32>
// AVX512: %{{.*}}:22 = scf.for {{.*}} -> (vector<16xf32>
// AVX512-COUNT-22: arith.addf {{.*}} fastmath<contract> : vector<16xf32>
// AVX512-NOT: scf.for {{.*}} -> (vector
// AVX512: return
func.func @eleven_rows(%a: memref<11x8xf32>, %b: memref<8x32xf32>, %c: memref<11x32xf32>) {
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<11x8xf32>, memref<8x32xf32>) outs(%c : memref<11x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// One row block (6 rows) would read each packed row of B once: the kernel
// reads B in place instead, masked past its 20 columns, and packs nothing.
// CHECK-LABEL: func.func @six_rows
// CHECK-SAME: (%[[A6:.*]]: memref<6x8xf32>, %[[B6:.*]]: memref<8x20xf32>, %[[C6:.*]]: memref<6x20xf32>)
// CHECK: %[[PACK6:.*]] = memref.alloca()
// CHECK-NOT: vector.store %{{.*}}, %[[PACK6]]
// CHECK: %{{.*}}:12 = scf.for %[[KK6:[a-z0-9_]+]] = {{.*}} -> (vector<8xf32>
// CHECK: %[[K6:.*]] = arith.addi %{{.*}}, %[[KK6]] : index
// CHECK: vector.load %[[B6]][%[[K6]], %{{.*}}] : memref<8x20xf32>, vector<8xf32>
// CHECK: vector.load %[[B6]][%[[K6]], %{{.*}}] : memref<8x20xf32>, vector<8xf32>
// CHECK: %{{.*}}:6 = scf.for
// CHECK: vector.maskedload %[[B6]]
// CHECK-NOT: %[[PACK6]]
// CHECK: return
func.func @six_rows(%a: memref<6x8xf32>, %b: memref<8x20xf32>, %c: memref<6x20xf32>) {
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x8xf32>, memref<8x20xf32>) outs(%c : memref<6x20xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
