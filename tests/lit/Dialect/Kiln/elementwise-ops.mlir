// The elementwise group's ops parse, print and re-parse to the same form;
// their user-facing errors are in elementwise-invalid.mlir.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @unary
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>)
func.func @unary(%x: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  // CHECK: %[[S:.*]] = kiln.sqrt %[[X]] : tensor<4x3xf32>
  %s = kiln.sqrt %x : tensor<4x3xf32>
  // CHECK: %[[T:.*]] = kiln.tanh %[[S]] : tensor<4x3xf32>
  %t = kiln.tanh %s : tensor<4x3xf32>
  // CHECK: %[[A:.*]] = kiln.abs %[[T]] : tensor<4x3xf32>
  %a = kiln.abs %t : tensor<4x3xf32>
  // CHECK: return %[[S]], %[[T]], %[[A]]
  return %s, %t, %a : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf64>, %[[B:.*]]: tensor<3xf64>, %[[C:.*]]: tensor<f64>)
func.func @binary(%a: tensor<4x3xf64>, %b: tensor<3xf64>, %c: tensor<f64>) -> (tensor<4x3xf64>, tensor<4x3xf64>, tensor<3xf64>) {
  // CHECK: %[[MAX:.*]] = kiln.maximum %[[A]], %[[B]] : tensor<4x3xf64>, tensor<3xf64> -> tensor<4x3xf64>
  %max = kiln.maximum %a, %b : tensor<4x3xf64>, tensor<3xf64> -> tensor<4x3xf64>
  // CHECK: %[[MIN:.*]] = kiln.minimum %[[C]], %[[MAX]] : tensor<f64>, tensor<4x3xf64> -> tensor<4x3xf64>
  %min = kiln.minimum %c, %max : tensor<f64>, tensor<4x3xf64> -> tensor<4x3xf64>
  // CHECK: %[[POW:.*]] = kiln.pow %[[B]], %[[C]] : tensor<3xf64>, tensor<f64> -> tensor<3xf64>
  %pow = kiln.pow %b, %c : tensor<3xf64>, tensor<f64> -> tensor<3xf64>
  // CHECK: return %[[MAX]], %[[MIN]], %[[POW]]
  return %max, %min, %pow : tensor<4x3xf64>, tensor<4x3xf64>, tensor<3xf64>
}

// The mask, the two values and the result may all have different shapes.
// CHECK-LABEL: func.func @select
// CHECK-SAME: (%[[M:.*]]: tensor<4x1xf32>, %[[A:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<f32>)
func.func @select(%m: tensor<4x1xf32>, %a: tensor<3xf32>, %b: tensor<f32>) -> tensor<4x3xf32> {
  // CHECK: %[[R:.*]] = kiln.select %[[M]], %[[A]], %[[B]] : tensor<4x1xf32>, tensor<3xf32>, tensor<f32> -> tensor<4x3xf32>
  %r = kiln.select %m, %a, %b : tensor<4x1xf32>, tensor<3xf32>, tensor<f32> -> tensor<4x3xf32>
  // CHECK: return %[[R]]
  return %r : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @random_normal
// CHECK-SAME: (%[[SEED:.*]]: tensor<i64>)
func.func @random_normal(%seed: tensor<i64>) -> (tensor<4x3xf32>, tensor<f64>) {
  // CHECK: %[[W:.*]] = kiln.random_normal %[[SEED]] stream 3 mean 0.000000e+00 std 2.000000e-02 : tensor<i64> -> tensor<4x3xf32>
  %w = kiln.random_normal %seed stream 3 mean 0.0 std 0.02 : tensor<i64> -> tensor<4x3xf32>
  // CHECK: %[[S:.*]] = kiln.random_normal %[[SEED]] stream 0 mean -1.500000e+00 std 0.000000e+00 : tensor<i64> -> tensor<f64>
  %s = kiln.random_normal %seed stream 0 mean -1.5 std 0.0 : tensor<i64> -> tensor<f64>
  // CHECK: return %[[W]], %[[S]]
  return %w, %s : tensor<4x3xf32>, tensor<f64>
}

// CHECK-LABEL: func.func @cast
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>)
func.func @cast(%x: tensor<4x3xf32>) -> tensor<4x3xi32> {
  // CHECK: %[[C:.*]] = kiln.cast %[[X]] : tensor<4x3xf32> -> tensor<4x3xi32>
  %c = kiln.cast %x : tensor<4x3xf32> -> tensor<4x3xi32>
  // CHECK: return %[[C]]
  return %c : tensor<4x3xi32>
}
