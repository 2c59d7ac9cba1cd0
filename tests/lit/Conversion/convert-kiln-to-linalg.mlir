// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg | FileCheck %s

// Broadcasting binary op: the missing leading dim is dropped from the map.
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$LAST:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @add_broadcast
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$ID2]], #[[$LAST]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<4x3xf32>, tensor<3xf32>) outs(%[[E]] : tensor<4x3xf32>)
// CHECK: arith.addf
// CHECK-NOT: kiln.
func.func @add_broadcast(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %r = kiln.add %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// Stretched size-1 dims read index 0.
// CHECK-DAG: #[[$COL0:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[$ROW0:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @mul_outer
// CHECK: linalg.generic {indexing_maps = [#[[$COL0]], #[[$ROW0]], #{{.*}}]
// CHECK: arith.mulf
func.func @mul_outer(%a: tensor<4x1xf32>, %b: tensor<1x3xf32>) -> tensor<4x3xf32> {
  %r = kiln.mul %a, %b : tensor<4x1xf32>, tensor<1x3xf32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// A rank-0 operand has a map with no results.
// CHECK-DAG: #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @sub_scalar
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$SCALAR]], #{{.*}}]
// CHECK: arith.subf
func.func @sub_scalar(%a: tensor<4x1xf32>, %b: tensor<f32>) -> tensor<4x1xf32> {
  %r = kiln.sub %a, %b : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  return %r : tensor<4x1xf32>
}

// -----

// Rank-0 only: a generic with no loops.
// CHECK-DAG: #[[$NONE:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @div_rank0
// CHECK: linalg.generic {indexing_maps = [#[[$NONE]], #[[$NONE]], #[[$NONE]]], iterator_types = []}
// CHECK: arith.divf
func.func @div_rank0(%a: tensor<f32>, %b: tensor<f32>) -> tensor<f32> {
  %r = kiln.div %a, %b : tensor<f32>, tensor<f32> -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @compare
// CHECK: linalg.generic
// CHECK: %[[LT:.*]] = arith.cmpf olt
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.select %[[LT]], %[[ONE]], %[[ZERO]] : f32
// CHECK: linalg.generic
// CHECK: arith.cmpf une
func.func @compare(%a: tensor<4xf32>, %b: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = kiln.compare "lt", %a, %b : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = kiln.compare "ne", %a, %b : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// stop_gradient is the identity: its use reads the relu's result directly.
// CHECK-LABEL: func.func @unary
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.generic
// CHECK: math.log
// CHECK: %[[RELU:.*]] = linalg.generic
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[POS:.*]] = arith.cmpf ogt, %[[IN:.*]], %[[Z]] : f32
// CHECK: arith.select %[[POS]], %[[IN]], %[[Z]] : f32
// CHECK: return %[[RELU]]
func.func @unary(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.neg %x : tensor<4xf32>
  %1 = kiln.exp %0 : tensor<4xf32>
  %2 = kiln.log %1 : tensor<4xf32>
  %3 = kiln.relu %2 : tensor<4xf32>
  %4 = kiln.stop_gradient %3 : tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// CHECK-DAG: #[[$IN:.*]] = affine_map<(d0, d1, d2) -> (0, d2)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @broadcast_to
// CHECK: linalg.generic {indexing_maps = [#[[$IN]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-NEXT: ^bb0(%[[V:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[V]] : f32
func.func @broadcast_to(%x: tensor<1x3xf32>) -> tensor<2x4x3xf32> {
  %r = kiln.broadcast_to %x : tensor<1x3xf32> -> tensor<2x4x3xf32>
  return %r : tensor<2x4x3xf32>
}

// -----

// Loops (i, k, j): j innermost, contiguous in B and C.
// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<16x10xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8x10xf32>
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<8x10xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #[[$C]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : {{.*}}) outs(%[[FILL]] : tensor<8x10xf32>)
// CHECK-NEXT: ^bb0(%[[AE:.*]]: f32, %[[BE:.*]]: f32, %[[CE:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[AE]], %[[BE]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[CE]], %[[P]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
func.func @matmul(%x: tensor<8x16xf32>, %w: tensor<16x10xf32>) -> tensor<8x10xf32> {
  %r = kiln.matmul %x, %w : tensor<8x16xf32>, tensor<16x10xf32> -> tensor<8x10xf32>
  return %r : tensor<8x10xf32>
}

// -----

// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func.func @batch_matmul
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
func.func @batch_matmul(%a: tensor<2x8x16xf32>, %b: tensor<2x16x10xf32>) -> tensor<2x8x10xf32> {
  %r = kiln.matmul %a, %b : tensor<2x8x16xf32>, tensor<2x16x10xf32> -> tensor<2x8x10xf32>
  return %r : tensor<2x8x10xf32>
}

// -----

// Result dim i is input dim perm[i]: input dim perm[i] is indexed by d_i.
// CHECK-DAG: #[[$IN:.*]] = affine_map<(d0, d1, d2) -> (d1, d2, d0)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @transpose
// CHECK: tensor.empty() : tensor<4x2x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$IN]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel"]}
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %r = kiln.transpose %x, [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  return %r : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @reshape
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>, %[[S:.*]]: tensor<f32>, %[[O:.*]]: tensor<1x1xf32>, %[[V:.*]]: tensor<12xi32>, %[[M:.*]]: tensor<3x4xf32>)
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK: %[[R0:.*]] = tensor.expand_shape %[[FLAT]] {{\[}}[0, 1]] : tensor<24xf32> into tensor<6x4xf32>
// CHECK: %[[R1:.*]] = tensor.expand_shape %[[S]] [] : tensor<f32> into tensor<1x1xf32>
// CHECK: %[[R2:.*]] = tensor.collapse_shape %[[O]] [] : tensor<1x1xf32> into tensor<f32>
// CHECK: %[[R3:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1]] : tensor<12xi32> into tensor<3x4xi32>
// CHECK: return %[[R0]], %[[R1]], %[[R2]], %[[R3]], %[[M]]
func.func @reshape(%x: tensor<2x3x4xf32>, %s: tensor<f32>, %o: tensor<1x1xf32>,
                   %v: tensor<12xi32>, %m: tensor<3x4xf32>)
    -> (tensor<6x4xf32>, tensor<1x1xf32>, tensor<f32>, tensor<3x4xi32>, tensor<3x4xf32>) {
  %0 = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = kiln.reshape %s : tensor<f32> -> tensor<1x1xf32>
  %2 = kiln.reshape %o : tensor<1x1xf32> -> tensor<f32>
  %3 = kiln.reshape %v : tensor<12xi32> -> tensor<3x4xi32>
  %4 = kiln.reshape %m : tensor<3x4xf32> -> tensor<3x4xf32>
  return %0, %1, %2, %3, %4 : tensor<6x4xf32>, tensor<1x1xf32>, tensor<f32>, tensor<3x4xi32>, tensor<3x4xf32>
}

// -----

// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$MID:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @reduce_sum
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<3xf32>
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<3xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$ID3]], #[[$MID]]], iterator_types = ["reduction", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[FILL]] : tensor<3xf32>)
// CHECK: arith.addf
func.func @reduce_sum(%x: tensor<4x3x5xf32>) -> tensor<3xf32> {
  %r = kiln.reduce_sum %x axes = [0, 2] : tensor<4x3x5xf32> -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

// keepdims: reduce to 4x5, then re-insert the size-1 dim as a view.
// CHECK-LABEL: func.func @reduce_max_keepdims
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<4x5xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// NaN-propagating max (arith.maxf would become llvm.maxnum, which drops NaN).
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf uno
// CHECK: arith.ori
// CHECK: arith.select
// CHECK: tensor.expand_shape %[[MAX]] {{\[}}[0], [1, 2]] : tensor<4x5xf32> into tensor<4x1x5xf32>
func.func @reduce_max_keepdims(%x: tensor<4x3x5xf32>) -> tensor<4x1x5xf32> {
  %r = kiln.reduce_max %x axes = [1] keepdims : tensor<4x3x5xf32> -> tensor<4x1x5xf32>
  return %r : tensor<4x1x5xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_mean_all
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.addf
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<f32>)
// CHECK: %[[N:.*]] = arith.constant 1.200000e+01 : f32
// CHECK: arith.divf %{{.*}}, %[[N]] : f32
// CHECK: tensor.expand_shape %[[MEAN]] [] : tensor<f32> into tensor<1x1xf32>
func.func @reduce_mean_all(%x: tensor<4x3xf32>) -> tensor<1x1xf32> {
  %r = kiln.reduce_mean %x axes = [0, 1] keepdims : tensor<4x3xf32> -> tensor<1x1xf32>
  return %r : tensor<1x1xf32>
}

// -----

// m = max(x), s = sum(exp(x - m)), out = (x - m) - log(s).
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @log_softmax
// CHECK-SAME: (%[[X:.*]]: tensor<8x10xf32>)
// CHECK: %[[M:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]}
// NaN-propagating max (arith.maxf would become llvm.maxnum, which drops NaN).
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf uno
// CHECK: arith.ori
// CHECK: arith.select
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[M]] :
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[M]], %[[S]] :
// CHECK: arith.subf
// CHECK: math.log
// CHECK: arith.subf
func.func @log_softmax(%x: tensor<8x10xf32>) -> tensor<8x10xf32> {
  %r = kiln.log_softmax %x axis = 1 : tensor<8x10xf32>
  return %r : tensor<8x10xf32>
}

// -----

// CHECK-DAG: #[[$IDX:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @one_hot
// CHECK: linalg.generic {indexing_maps = [#[[$IDX]], #[[$OUT]]], iterator_types = ["parallel", "parallel"]}
// CHECK-NEXT: ^bb0(%[[L:.*]]: i32, %{{.*}}: f32):
// CHECK: %[[LI:.*]] = arith.index_cast %[[L]] : i32 to index
// CHECK: %[[C:.*]] = linalg.index 1 : index
// CHECK: %[[EQ:.*]] = arith.cmpi eq, %[[LI]], %[[C]] : index
// CHECK: arith.select %[[EQ]]
func.func @one_hot(%labels: tensor<8xi32>) -> tensor<8x10xf32> {
  %r = kiln.one_hot %labels : tensor<8xi32> -> tensor<8x10xf32>
  return %r : tensor<8x10xf32>
}

// -----

// CHECK-LABEL: func.func @constant
// CHECK: %[[C:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: return %[[C]]
func.func @constant() -> tensor<2xf32> {
  %c = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %c : tensor<2xf32>
}

// -----

// The hash's constants, printed as signed i64: 3 * 0x9E3779B97F4A7C15,
// 0xBF58476D1CE4E5B9 and 0x94D049BB133111EB.
// CHECK-LABEL: func.func @random_uniform
// CHECK-SAME: (%[[SEED:.*]]: tensor<i64>)
// CHECK: %[[S:.*]] = tensor.extract %[[SEED]][] : tensor<i64>
// CHECK: %[[STREAM:.*]] = arith.constant -2691343689449507777 : i64
// CHECK: %[[BASE:.*]] = arith.addi %[[S]], %[[STREAM]] : i64
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.constant -4658895280553007687 : i64
// CHECK: arith.addi %[[BASE]]
// CHECK: arith.constant 30 : i64
// CHECK: arith.shrui
// CHECK: arith.xori
// CHECK: arith.constant -4658895280553007687 : i64
// CHECK: arith.constant 27 : i64
// CHECK: arith.constant -7723592293110705685 : i64
// CHECK: arith.constant 31 : i64
// CHECK: arith.constant 40 : i64
// CHECK: arith.trunci %{{.*}} : i64 to i32
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.mulf
// CHECK-NOT: f64
// CHECK: linalg.yield
func.func @random_uniform(%seed: tensor<i64>) -> tensor<4x3xf32> {
  %r = kiln.random_uniform %seed stream 3 range [-0.5, 0.5] : tensor<i64> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
