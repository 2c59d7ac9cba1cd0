// kiln-tile-transposes: a 2-D transpose copy on memrefs becomes four scf
// loops over square tiles (tile-size=8 here), the inner pair clamped to the
// matrix edge with arith.minsi; a copy that is not a plain transpose (here a
// scaled one) and a 3-D permutation stay linalg.generic.
// RUN: kiln-opt %s -split-input-file -kiln-tile-transposes=tile-size=8 | FileCheck %s

// CHECK-LABEL: func.func @transpose
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C20:.*]] = arith.constant 20 : index
// CHECK: scf.for %[[I0:.*]] = %[[C0]] to %[[C20]] step %[[C8]]
// CHECK: %[[C12:.*]] = arith.constant 12 : index
// CHECK: scf.for %[[J0:.*]] = %[[C0]] to %[[C12]] step %[[C8]]
// CHECK: %[[IE:.*]] = arith.addi %[[I0]], %{{.*}} : index
// CHECK: %[[IEND:.*]] = arith.minsi %[[IE]], %{{.*}} : index
// CHECK: scf.for %[[I:.*]] = %[[I0]] to %[[IEND]] step %[[C1]]
// CHECK: %[[JEND:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: scf.for %[[J:.*]] = %[[J0]] to %[[JEND]] step %[[C1]]
// CHECK: %[[V:.*]] = memref.load %arg0[%[[J]], %[[I]]] : memref<12x20xf32>
// CHECK: memref.store %[[V]], %arg1[%[[I]], %[[J]]] : memref<20x12xf32>
#t = affine_map<(i, j) -> (j, i)>
#id = affine_map<(i, j) -> (i, j)>
func.func @transpose(%in: memref<12x20xf32>, %out: memref<20x12xf32>) {
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<12x20xf32>) outs(%out : memref<20x12xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

// CHECK-LABEL: func.func @scaled_transpose
// CHECK: linalg.generic
// CHECK-NOT: scf.for
#t2 = affine_map<(i, j) -> (j, i)>
#id2 = affine_map<(i, j) -> (i, j)>
func.func @scaled_transpose(%in: memref<12x20xf32>, %out: memref<20x12xf32>) {
  linalg.generic {indexing_maps = [#t2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<12x20xf32>) outs(%out : memref<20x12xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.mulf %a, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// CHECK-LABEL: func.func @permute3d
// CHECK: linalg.generic
// CHECK-NOT: scf.for
#p = affine_map<(i, j, k) -> (k, j, i)>
#id3 = affine_map<(i, j, k) -> (i, j, k)>
func.func @permute3d(%in: memref<4x3x2xf32>, %out: memref<2x3x4xf32>) {
  linalg.generic {indexing_maps = [#p, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%in : memref<4x3x2xf32>) outs(%out : memref<2x3x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}
