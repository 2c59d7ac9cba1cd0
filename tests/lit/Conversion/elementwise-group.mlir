// convert-kiln-to-linalg on the elementwise group: one all-parallel
// linalg.generic per op, broadcasting through the indexing maps. The second
// RUN line checks that kiln-approximate-math leaves no f32 powf (a libm call)
// behind.
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg | FileCheck %s
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg -kiln-approximate-math | FileCheck %s --check-prefix=APPROX

// CHECK-LABEL: func.func @unary
// CHECK: linalg.generic
// CHECK: math.sqrt {{.*}} : f32
// CHECK: linalg.generic
// CHECK: math.tanh {{.*}} : f32
// CHECK: linalg.generic
// CHECK: math.absf {{.*}} : f32
// CHECK-NOT: kiln.
// APPROX-LABEL: func.func @unary
// APPROX-NOT: math.tanh
// APPROX: return
func.func @unary(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %s = kiln.sqrt %x : tensor<4x3xf32>
  %t = kiln.tanh %s : tensor<4x3xf32>
  %a = kiln.abs %t : tensor<4x3xf32>
  return %a : tensor<4x3xf32>
}

// -----

// Compares and selects, not arith.maxf/minf (llvm.maxnum/minnum: an fmaxf
// call on a Cortex-M4, and NaN-dropping); a tie takes the bits' and (max:
// +0 beats -0) or or (min); NaN propagates explicitly.
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @extrema
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<4x3xf32>, tensor<3xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[X]], %[[Y]] : f32
// CHECK: %[[EQ:.*]] = arith.cmpf oeq, %[[X]], %[[Y]] : f32
// CHECK: %[[AND:.*]] = arith.andi %{{.*}}, %{{.*}} : i32
// CHECK: %[[TIE:.*]] = arith.bitcast %[[AND]] : i32 to f32
// CHECK: %[[OTHER:.*]] = arith.select %[[EQ]], %[[TIE]], %[[Y]] : f32
// CHECK: %[[MAX:.*]] = arith.select %[[GT]], %[[X]], %[[OTHER]] : f32
// CHECK: %[[UNO:.*]] = arith.cmpf uno, %[[X]], %[[Y]] : f32
// CHECK: %[[NAN:.*]] = arith.constant 0x7FC00000 : f32
// CHECK: arith.select %[[UNO]], %[[NAN]], %[[MAX]] : f32
// CHECK: linalg.generic
// CHECK: arith.cmpf olt
// CHECK: arith.ori
// CHECK-NOT: arith.maxf
// CHECK-NOT: arith.minf
func.func @extrema(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %max = kiln.maximum %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %min = kiln.minimum %max, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  return %min : tensor<4x3xf32>
}

// -----

// CHECK-DAG: #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @pow
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$SCALAR]], #{{.*}}]
// CHECK: math.powf {{.*}} : f32
// APPROX-LABEL: func.func @pow
// APPROX-NOT: math.powf
// APPROX: arith.fptosi
// APPROX-NOT: math.powf
// APPROX: return
func.func @pow(%a: tensor<4x3xf32>, %b: tensor<f32>) -> tensor<4x3xf32> {
  %r = kiln.pow %a, %b : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// The mask is compared unordered-not-equal to 0: a NaN mask picks lhs.
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @select
// CHECK: linalg.generic {indexing_maps = [#[[$COL]], #[[$ROW]], #[[$SCALAR]], #{{.*}}]
// CHECK: ^bb0(%[[M:.*]]: f32, %[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[C:.*]] = arith.cmpf une, %[[M]], %[[ZERO]] : f32
// CHECK: %[[R:.*]] = arith.select %[[C]], %[[X]], %[[Y]] : f32
// CHECK: linalg.yield %[[R]]
func.func @select(%m: tensor<4x1xf32>, %a: tensor<3xf32>, %b: tensor<f32>) -> tensor<4x3xf32> {
  %r = kiln.select %m, %a, %b : tensor<4x1xf32>, tensor<3xf32>, tensor<f32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// Box-Muller in f32 (f64 only for f64 results: no soft-double helpers on a
// Cortex-M) from two splitmix64 counters per element, with ln and cos as
// arith series (no math.log / math.cos: no libm, bit-exact).
// CHECK-LABEL: func.func @random_normal
// CHECK: tensor.extract
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.shrui
// CHECK: arith.trunci {{.*}} : i64 to i32
// CHECK: arith.sitofp {{.*}} : i32 to f32
// CHECK: arith.bitcast {{.*}} : f32 to i32
// CHECK-NOT: math.log
// CHECK: math.sqrt {{.*}} : f32
// CHECK-NOT: math.cos
// CHECK-NOT: f64
// CHECK-NOT: kiln.
// CHECK: return
func.func @random_normal(%seed: tensor<i64>) -> tensor<2x3xf32> {
  %w = kiln.random_normal %seed stream 3 mean 0.0 std 0.02 : tensor<i64> -> tensor<2x3xf32>
  return %w : tensor<2x3xf32>
}

// -----

// kiln-approximate-math expands f32 powf on vectors too (the
// super-vectorizer runs first); f64 stays a math.powf (libm pow).
// APPROX-LABEL: func.func @powf_vector
// APPROX-NOT: math.powf
// APPROX: arith.fptosi {{.*}} : vector<8xf32> to vector<8xi32>
// APPROX-NOT: math.powf
// APPROX: return
// APPROX-LABEL: func.func @powf_f64
// APPROX: math.powf {{.*}} : f64
func.func @powf_vector(%x: vector<8xf32>, %y: vector<8xf32>) -> vector<8xf32> {
  %r = math.powf %x, %y : vector<8xf32>
  return %r : vector<8xf32>
}
func.func @powf_f64(%x: f64, %y: f64) -> f64 {
  %r = math.powf %x, %y : f64
  return %r : f64
}
