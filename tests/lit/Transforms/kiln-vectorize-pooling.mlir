// kiln-vectorize-pooling: the generics of a max pooling whose windows tile
// the input (a [N, C, OH, KH, OW, KW] view) become vector code over blocks
// of output columns: each window row one contiguous load split into its
// columns by shuffles, the body applied lane-wise in (p, q) order.
// RUN: kiln-opt %s -split-input-file -kiln-vectorize-pooling | FileCheck %s
// With parallel-min-work, a pooling whose output has at least that many
// elements (the 2x3x4x10 one: 240) splits its outermost loop across threads.
// RUN: kiln-opt %s -split-input-file -kiln-vectorize-pooling="parallel-min-work=240" | FileCheck %s --check-prefix=PAR
// RUN: kiln-opt %s -split-input-file -kiln-vectorize-pooling="parallel-min-work=241" | FileCheck %s --check-prefix=SERIAL
// PAR-LABEL: func.func @max_pool
// PAR: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c2{{.*}}) step (%c1{{.*}}) {
// SERIAL-NOT: scf.parallel

#in = affine_map<(n, c, i, j, p, q) -> (n, c, i, p, j, q)>
#out = affine_map<(n, c, i, j, p, q) -> (n, c, i, j)>
// 10 output columns: a block of 8, then one of 2. The first maximum wins
// (ogt), a NaN propagates (uno): q = 0 before q = 1, row p = 0 first.
// CHECK-LABEL: func.func @max_pool
// CHECK-NOT: linalg.generic
// CHECK: %[[ROWS:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0], [1], [2], [3], [4, 5]] : memref<2x3x4x2x10x2xf32> into memref<2x3x4x2x20xf32>
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %c8{{.*}} step %c8
// CHECK: %[[ACC:.*]] = vector.load %{{.*}}[%[[N]], %[[C]], %[[I]], %[[J]]] : memref<2x3x4x10xf32>, vector<8xf32>
// CHECK: %[[START:.*]] = arith.muli %[[J]], %c2{{.*}} : index
// CHECK: %[[ROW0:.*]] = vector.load %[[ROWS]][%[[N]], %[[C]], %[[I]], %c0{{.*}}, %[[START]]] : memref<2x3x4x2x20xf32>, vector<16xf32>
// CHECK: %[[Q0:.*]] = vector.shuffle %[[ROW0]], %[[ROW0]] [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xf32>, vector<16xf32>
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[Q0]], %[[ACC]] : vector<8xf32>
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[Q0]], %[[Q0]] : vector<8xf32>
// CHECK: %[[TAKE:.*]] = arith.ori %[[GT]], %[[NAN]] : vector<8xi1>
// CHECK: %[[M0:.*]] = arith.select %[[TAKE]], %[[Q0]], %[[ACC]] : vector<8xi1>, vector<8xf32>
// CHECK: %[[Q1:.*]] = vector.shuffle %[[ROW0]], %[[ROW0]] [1, 3, 5, 7, 9, 11, 13, 15]
// CHECK: arith.cmpf ogt, %[[Q1]], %[[M0]] : vector<8xf32>
// CHECK: vector.load %[[ROWS]][%[[N]], %[[C]], %[[I]], %c1{{.*}}, %[[START]]] : memref<2x3x4x2x20xf32>, vector<16xf32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[N]], %[[C]], %[[I]], %[[J]]] : memref<2x3x4x10xf32>, vector<8xf32>
// CHECK: }
// CHECK: vector.load %{{.*}}[%[[N]], %[[C]], %[[I]], %c8{{.*}}] : memref<2x3x4x10xf32>, vector<2xf32>
// CHECK: vector.load %[[ROWS]]{{.*}} : memref<2x3x4x2x20xf32>, vector<4xf32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 2] : vector<4xf32>, vector<4xf32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[N]], %[[C]], %[[I]], %c8{{.*}}] : memref<2x3x4x10xf32>, vector<2xf32>
func.func @max_pool(%x: memref<2x3x4x2x10x2xf32>, %y: memref<2x3x4x10xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  linalg.fill ins(%ninf : f32) outs(%y : memref<2x3x4x10xf32>)
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x : memref<2x3x4x2x10x2xf32>) outs(%y : memref<2x3x4x10xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %gt = arith.cmpf ogt, %v, %acc : f32
    %nan = arith.cmpf uno, %v, %v : f32
    %take = arith.ori %gt, %nan : i1
    %r = arith.select %take, %v, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#in = affine_map<(n, c, i, j, p, q) -> (n, c, i, p, j, q)>
#out = affine_map<(n, c, i, j, p, q) -> (n, c, i, j)>
// The gradient's first argmax: two outputs; the window offset p * 2 + q
// is the same for every lane (a broadcast).
// CHECK-LABEL: func.func @first_argmax
// CHECK-NOT: linalg.generic
// CHECK: %[[MAX:.*]] = vector.load %{{.*}} : memref<1x2x3x7xf32>, vector<7xf32>
// CHECK: %[[ARG:.*]] = vector.load %{{.*}} : memref<1x2x3x7xi32>, vector<7xi32>
// CHECK: %[[ROW:.*]] = vector.load %{{.*}} : memref<1x2x3x2x14xf32>, vector<14xf32>
// CHECK: %[[Q0:.*]] = vector.shuffle %[[ROW]], %[[ROW]] [0, 2, 4, 6, 8, 10, 12]
// CHECK: %[[TAKE:.*]] = arith.ori
// CHECK: %[[OFFSET:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK: arith.select %[[TAKE]], %[[Q0]], %[[MAX]] : vector<7xi1>, vector<7xf32>
// CHECK: %[[SPLAT:.*]] = vector.broadcast %[[OFFSET]] : i32 to vector<7xi32>
// CHECK: arith.select %[[TAKE]], %[[SPLAT]], %[[ARG]] : vector<7xi1>, vector<7xi32>
// CHECK-COUNT-2: vector.store
func.func @first_argmax(%x: memref<1x2x3x2x7x2xf32>, %m: memref<1x2x3x7xf32>, %a: memref<1x2x3x7xi32>) {
  %c2 = arith.constant 2 : index
  linalg.generic {indexing_maps = [#in, #out, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x : memref<1x2x3x2x7x2xf32>) outs(%m, %a : memref<1x2x3x7xf32>, memref<1x2x3x7xi32>) {
  ^bb0(%v: f32, %acc: f32, %arg: i32):
    %gt = arith.cmpf ogt, %v, %acc : f32
    %nan = arith.cmpf uno, %v, %v : f32
    %take = arith.ori %gt, %nan : i1
    %q = linalg.index 5 : index
    %p = linalg.index 4 : index
    %pk = arith.muli %p, %c2 : index
    %off = arith.addi %pk, %q : index
    %off32 = arith.index_cast %off : index to i32
    %r = arith.select %take, %v, %acc : f32
    %ra = arith.select %take, %off32, %arg : i32
    linalg.yield %r, %ra : f32, i32
  }
  return
}

// -----

#win = affine_map<(n, c, i, p, j, q) -> (n, c, i, j)>
#id = affine_map<(n, c, i, p, j, q) -> (n, c, i, p, j, q)>
// The gradient's scatter: the body for q = 0 and q = 1, interleaved into
// one row of the [.., OW * KW] output.
// CHECK-LABEL: func.func @spread
// CHECK-NOT: linalg.generic
// CHECK: %[[ROWS:.*]] = memref.collapse_shape %{{.*}} : memref<1x2x3x2x7x2xf32> into memref<1x2x3x2x14xf32>
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %c1{{.*}} step
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %c2{{.*}} step
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %c3{{.*}} step
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %c2{{.*}} step
// CHECK: %[[W:.*]] = vector.load %{{.*}} : memref<1x2x3x7xi32>, vector<7xi32>
// CHECK: %[[G:.*]] = vector.load %{{.*}} : memref<1x2x3x7xf32>, vector<7xf32>
// CHECK: %[[EVEN:.*]] = arith.select %{{.*}}, %[[G]], %{{.*}} : vector<7xi1>, vector<7xf32>
// CHECK: %[[ODD:.*]] = arith.select %{{.*}}, %[[G]], %{{.*}} : vector<7xi1>, vector<7xf32>
// CHECK: %[[ROW:.*]] = vector.shuffle %[[EVEN]], %[[ODD]] [0, 7, 1, 8, 2, 9, 3, 10, 4, 11, 5, 12, 6, 13] : vector<7xf32>, vector<7xf32>
// CHECK: vector.store %[[ROW]], %[[ROWS]][%[[N]], %[[C]], %[[I]], %[[P]], %{{.*}}] : memref<1x2x3x2x14xf32>, vector<14xf32>
func.func @spread(%a: memref<1x2x3x7xi32>, %g: memref<1x2x3x7xf32>, %gx: memref<1x2x3x2x7x2xf32>) {
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#win, #win, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%a, %g : memref<1x2x3x7xi32>, memref<1x2x3x7xf32>) outs(%gx : memref<1x2x3x2x7x2xf32>) {
  ^bb0(%w: i32, %gy: f32, %o: f32):
    %q = linalg.index 5 : index
    %p = linalg.index 3 : index
    %pk = arith.muli %p, %c2 : index
    %off = arith.addi %pk, %q : index
    %off32 = arith.index_cast %off : index to i32
    %hit = arith.cmpi eq, %w, %off32 : i32
    %r = arith.select %hit, %gy, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#in = affine_map<(n, c, i, j, p, q) -> (n, c, i, p, j, q)>
#out = affine_map<(n, c, i, j, p, q) -> (n, c, i, j)>
// Not handled: a body that reads the output column j (different in every
// lane), and a view whose rows are not contiguous (a strided subview).
// CHECK-LABEL: func.func @not_lane_wise
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: vector.
func.func @not_lane_wise(%x: memref<1x1x2x2x4x2xf32>, %y: memref<1x1x2x4xf32>, %s: memref<1x1x2x2x4x2xf32, strided<[64, 64, 32, 16, 4, 1]>>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x : memref<1x1x2x2x4x2xf32>) outs(%y : memref<1x1x2x4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %j = linalg.index 3 : index
    %j32 = arith.index_cast %j : index to i32
    %jf = arith.sitofp %j32 : i32 to f32
    %s1 = arith.addf %v, %jf : f32
    %r = arith.maxf %s1, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%s : memref<1x1x2x2x4x2xf32, strided<[64, 64, 32, 16, 4, 1]>>) outs(%y : memref<1x1x2x4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %r = arith.maxf %v, %acc : f32
    linalg.yield %r : f32
  }
  return
}
