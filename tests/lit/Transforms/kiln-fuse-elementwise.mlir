// kiln-fuse-elementwise: each consumer absorbs the whole tree of producers
// that feed only it, in one new linalg.generic.
// RUN: kiln-opt %s -split-input-file -kiln-fuse-elementwise | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// A chain with a broadcast side input and a transposed link: one op, inputs
// in the order pairwise fusion would give, the producer's loop indices
// swapped where it ran transposed.
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$T:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<3x4xf32>)
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[$T]], #[[$COL]], #[[$ID]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[B]], %[[Y]] : tensor<4x3xf32>, tensor<3xf32>, tensor<3x4xf32>)
// CHECK-NEXT: ^bb0(%[[XV:.*]]: f32, %[[BV:.*]]: f32, %[[YV:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[E:.*]] = math.exp %[[XV]] : f32
// CHECK-NEXT: %[[I:.*]] = linalg.index 1 : index
// CHECK-NEXT: %[[IF:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK-NEXT: %[[F:.*]] = arith.sitofp %[[IF]] : i64 to f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[E]], %[[F]] : f32
// CHECK-NEXT: %[[A:.*]] = arith.addf %[[S]], %[[BV]] : f32
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[A]], %[[YV]] : f32
// CHECK-NEXT: linalg.yield %[[M]] : f32
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @chain(%x: tensor<4x3xf32>, %b: tensor<3xf32>, %y: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %e0 = tensor.empty() : tensor<4x3xf32>
  // exp(x[i, j]) + i, on the 4x3 iteration space.
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x3xf32>) outs(%e0 : tensor<4x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %ex = math.exp %a : f32
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    %fi = arith.sitofp %ii : i64 to f32
    %s = arith.addf %ex, %fi : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  %1 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0, %b : tensor<4x3xf32>, tensor<3xf32>) outs(%e0 : tensor<4x3xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  // Transposed: the 3x4 result reads %1[j, i].
  %e1 = tensor.empty() : tensor<3x4xf32>
  %2 = linalg.generic {indexing_maps = [#t, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%1, %y : tensor<4x3xf32>, tensor<3x4xf32>) outs(%e1 : tensor<3x4xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<3x4xf32>
  return %2 : tensor<3x4xf32>
}

// -----

// exp(x - m) fuses into the row sum that consumes it (same iteration
// space, every loop indexes it); relu does not fuse into the matmul, which
// would recompute it for every output column.
// CHECK-LABEL: func.func @reduction_and_matmul
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.subf
// CHECK-NEXT: math.exp
// CHECK-NEXT: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.maxf
// CHECK: linalg.matmul
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#rowsum = affine_map<(d0, d1) -> (d0)>
func.func @reduction_and_matmul(%x: tensor<4x3xf32>, %m: tensor<4xf32>, %w: tensor<3x5xf32>)
    -> (tensor<4xf32>, tensor<4x5xf32>) {
  %e = tensor.empty() : tensor<4x3xf32>
  %zero = arith.constant 0.0 : f32
  %d = linalg.generic {indexing_maps = [#id, #rowsum, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<4x3xf32>, tensor<4xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.subf %a, %b : f32
    %ex = math.exp %s : f32
    linalg.yield %ex : f32
  } -> tensor<4x3xf32>
  %acc0 = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%acc0 : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%d : tensor<4x3xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %mx = arith.maxf %a, %zero : f32
    linalg.yield %mx : f32
  } -> tensor<4x3xf32>
  %p0 = tensor.empty() : tensor<4x5xf32>
  %p1 = linalg.fill ins(%zero : f32) outs(%p0 : tensor<4x5xf32>) -> tensor<4x5xf32>
  %p = linalg.matmul ins(%r, %w : tensor<4x3xf32>, tensor<3x5xf32>) outs(%p1 : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %sum, %p : tensor<4xf32>, tensor<4x5xf32>
}

// -----

// A producer also used after its consumer (as forward activations are by
// the backward pass) joins the cluster and stays a result of the fused op;
// a producer read twice by the same consumer is computed once.
// CHECK-LABEL: func.func @preserved
// CHECK: %[[R:.*]]:2 = linalg.generic
// CHECK-NEXT: ^bb0(%[[XV:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[E:.*]] = math.exp %[[XV]] : f32
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[E]], %[[E]] : f32
// CHECK-NEXT: linalg.yield %[[E]], %[[M]] : f32, f32
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]#1, %[[R]]#0
#id1 = affine_map<(d0) -> (d0)>
func.func @preserved(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %a = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %ex = math.exp %v : f32
    linalg.yield %ex : f32
  } -> tensor<8xf32>
  %b = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%a, %a : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: f32, %w: f32, %o: f32):
    %m = arith.mulf %v, %w : f32
    linalg.yield %m : f32
  } -> tensor<8xf32>
  return %b, %a : tensor<8xf32>, tensor<8xf32>
}
