// kiln-deterministic-cse merges each side-effect-free op into the first
// identical one before it, as upstream cse does, but never by address: a
// commutative op matches with its operands in place or swapped, and a region
// op whose body upstream would compare by address (a commutative op on op
// results from the body) is never merged.
// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-deterministic-cse))' | FileCheck %s

#id = affine_map<(d0) -> (d0)>

// CHECK-LABEL: func.func @plain
// CHECK-SAME: (%[[X:.*]]: f32, %[[Y:.*]]: f32)
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[X]], %[[Y]]
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[S]], %[[S]]
// CHECK-NEXT: %[[D:.*]] = arith.subf %[[X]], %[[Y]]
// CHECK-NEXT: %[[E:.*]] = arith.subf %[[Y]], %[[X]]
// CHECK-NEXT: return %[[P]], %[[P]], %[[D]], %[[E]]
func.func @plain(%x: f32, %y: f32) -> (f32, f32, f32, f32) {
  %a = arith.addf %x, %y : f32
  %b = arith.addf %y, %x : f32
  %pa = arith.mulf %a, %a : f32
  %pb = arith.mulf %b, %b : f32
  %d = arith.subf %x, %y : f32
  %e = arith.subf %y, %x : f32
  return %pa, %pb, %d, %e : f32, f32, f32, f32
}

// Bodies on block arguments only: one generic (and one empty) is left.
// CHECK-LABEL: func.func @same_bodies
// CHECK: tensor.empty
// CHECK-NOT: tensor.empty
// CHECK: %[[G:.*]] = linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return %[[G]], %[[G]]
func.func @same_bodies(%x: tensor<8xf32>, %y: tensor<8xf32>)
    -> (tensor<8xf32>, tensor<8xf32>) {
  %e0 = tensor.empty() : tensor<8xf32>
  %g0 = linalg.generic {indexing_maps = [#id, #id, #id],
                        iterator_types = ["parallel"]}
      ins(%x, %y : tensor<8xf32>, tensor<8xf32>) outs(%e0 : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %e1 = tensor.empty() : tensor<8xf32>
  %g1 = linalg.generic {indexing_maps = [#id, #id, #id],
                        iterator_types = ["parallel"]}
      ins(%x, %y : tensor<8xf32>, tensor<8xf32>) outs(%e1 : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %g0, %g1 : tensor<8xf32>, tensor<8xf32>
}

// A commutative op on two results from the body (a padding's bounds check
// is one): upstream's verdict would depend on addresses, so both stay.
// CHECK-LABEL: func.func @compared_by_address
// CHECK: %[[G0:.*]] = linalg.generic
// CHECK: %[[G1:.*]] = linalg.generic
// CHECK: return %[[G0]], %[[G1]]
func.func @compared_by_address(%x: tensor<8xf32>)
    -> (tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %g0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %n = arith.negf %a : f32
    %s = arith.addf %m, %n : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %g1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    %n = arith.negf %a : f32
    %s = arith.addf %m, %n : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %g0, %g1 : tensor<8xf32>, tensor<8xf32>
}
