// kiln-vectorize-matmul folds a fill of C that comes before the product
// (only ops without memory effects between them, such as an arena view)
// into the product: the first k block's accumulators start from the fill's
// value in registers instead of loading C, and the fill, a pass over C, goes
// (BLIS's beta = 0). The sums are the same bits: each starts from the value
// C held and adds the same products in k order.
// RUN: kiln-opt %s -kiln-vectorize-matmul=vector-width=8 | FileCheck %s

#A = affine_map<(i, k, j) -> (i, k)>
#B = affine_map<(i, k, j) -> (k, j)>
#C = affine_map<(i, k, j) -> (i, j)>

// One k block: the tiles start from a broadcast of the fill's value; C is
// only stored.
// CHECK-LABEL: func.func @one_k_block
// CHECK-SAME: (%[[A:.*]]: memref<12x8xf32>, %[[B:.*]]: memref<8x32xf32>, %[[ARENA:.*]]: memref<1536xi8>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[C:.*]] = memref.view %[[ARENA]]
// CHECK-NOT: linalg.fill
// CHECK: %[[INIT:.*]] = vector.broadcast %[[ZERO]] : f32 to vector<8xf32>
// CHECK-NOT: vector.load %[[C]]
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]], %{{.*}} = %[[INIT]],
// CHECK-NOT: vector.load %[[C]]
// CHECK: vector.store %{{.*}}, %[[C]]
// CHECK-NOT: vector.load %[[C]]
// CHECK: return
func.func @one_k_block(%a: memref<12x8xf32>, %b: memref<8x32xf32>, %arena: memref<1536xi8>) {
  %zero = arith.constant 0.0 : f32
  %offset = arith.constant 0 : index
  %c = memref.view %arena[%offset][] : memref<1536xi8> to memref<12x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<12x32xf32>)
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<12x8xf32>, memref<8x32xf32>) outs(%c : memref<12x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Several k blocks (600 deep: three of 200): the first starts from the
// fill's value, the later ones from C.
// CHECK-LABEL: func.func @k_blocks
// CHECK-SAME: (%[[A:.*]]: memref<6x600xf32>, %[[B:.*]]: memref<600x16xf32>, %[[C:.*]]: memref<6x16xf32>)
// CHECK-DAG: %[[FILL:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-NOT: linalg.fill
// CHECK: scf.for %[[K0:.*]] =
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[K0]], %c0
// CHECK: %[[INIT:.*]]:12 = scf.if %[[FIRST]] -> (vector<8xf32>
// CHECK-NEXT: %[[SPLAT:.*]] = vector.broadcast %[[FILL]] : f32 to vector<8xf32>
// CHECK-NEXT: scf.yield %[[SPLAT]], %[[SPLAT]],
// CHECK-NEXT: } else {
// CHECK-COUNT-12: vector.load %[[C]]
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]#0, %{{.*}} = %[[INIT]]#1,
// CHECK: return
func.func @k_blocks(%a: memref<6x600xf32>, %b: memref<600x16xf32>, %c: memref<6x16xf32>) {
  %quarter = arith.constant 0.25 : f32
  linalg.fill ins(%quarter : f32) outs(%c : memref<6x16xf32>)
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x600xf32>, memref<600x16xf32>) outs(%c : memref<6x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A store between the fill and the product (it may write C's bytes), and a
// product that reads C as its A: the fill stays, the tiles load C.
// CHECK-LABEL: func.func @not_folded
// CHECK: linalg.fill
// CHECK: memref.store
// CHECK: vector.load %[[C:.*]][
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[C2:.*]] : memref<8x8xf32>)
// CHECK: vector.load %[[C2]][
// CHECK: return
func.func @not_folded(%a: memref<6x8xf32>, %b: memref<8x16xf32>, %c: memref<6x16xf32>,
                      %flag: memref<f32>, %square: memref<8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<6x16xf32>)
  memref.store %zero, %flag[] : memref<f32>
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x8xf32>, memref<8x16xf32>) outs(%c : memref<6x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.fill ins(%zero : f32) outs(%square : memref<8x8xf32>)
  linalg.generic {indexing_maps = [#A, #B, #C], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%square, %square : memref<8x8xf32>, memref<8x8xf32>) outs(%square : memref<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
