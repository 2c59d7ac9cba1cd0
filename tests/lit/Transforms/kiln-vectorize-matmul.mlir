// kiln-vectorize-matmul: an 8-row x 2-vector block of C stays in registers
// across the k loop; rows left over after the full 8-row blocks form one
// shorter block (here 3 rows), not one k loop per row, so every loaded row
// of B still feeds several FMAs. The multiply-adds are arith.mulf/addf
// with the contract flag (an fma where the core has one; vector.fma would be
// an fmaf call per lane on generic x86-64).
// CHECK-NOT: vector.fma
// RUN: kiln-opt %s -kiln-vectorize-matmul | FileCheck %s
// contract=false (kilnc --deterministic): the same loops with plain
// multiplies and adds, which no target fuses.
// RUN: kiln-opt %s -kiln-vectorize-matmul=contract=false | FileCheck %s --check-prefix=EXACT --implicit-check-not=contract
// EXACT-COUNT-16: arith.addf {{.*}} : vector<16xf32>

#A = affine_map<(i, k, j) -> (i, k)>
#B = affine_map<(i, k, j) -> (k, j)>
#C = affine_map<(i, k, j) -> (i, j)>
// CHECK-LABEL: func.func @eleven_rows
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %{{.*}}:16 = scf.for {{.*}} -> (vector<16xf32>
// CHECK-COUNT-16: arith.addf {{.*}} fastmath<contract> : vector<16xf32>
// CHECK: scf.yield
// CHECK-COUNT-16: vector.store
// CHECK: %[[REST:.*]]:6 = scf.for {{.*}} -> (vector<16xf32>
// CHECK-COUNT-6: arith.addf {{.*}} fastmath<contract> : vector<16xf32>
// CHECK: scf.yield
// CHECK: vector.store %[[REST]]#0, %{{.*}}[%c8{{.*}}, %[[J]]]
// CHECK-COUNT-5: vector.store %[[REST]]#
// CHECK-NOT: fastmath
// CHECK-NOT: linalg.generic
// CHECK: return
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
