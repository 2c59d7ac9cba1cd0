// Every kiln op parses, prints and re-parses to the same form.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @constants_and_random
// CHECK-SAME: (%[[SEED:.*]]: tensor<i64>)
func.func @constants_and_random(%seed: tensor<i64>) -> (tensor<2xf32>, tensor<4x3xf32>, tensor<3xi32>) {
  // CHECK: %[[C:.*]] = kiln.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %c = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  // CHECK: %[[I:.*]] = kiln.constant dense<[0, 1, 2]> : tensor<3xi32>
  %i = kiln.constant dense<[0, 1, 2]> : tensor<3xi32>
  // CHECK: %[[W:.*]] = kiln.random_uniform %[[SEED]] stream 3 range{{ ?}}[-5.000000e-01, 5.000000e-01] : tensor<i64> -> tensor<4x3xf32>
  %w = kiln.random_uniform %seed stream 3 range [-0.5, 0.5] : tensor<i64> -> tensor<4x3xf32>
  // CHECK: return %[[C]], %[[W]], %[[I]]
  return %c, %w, %i : tensor<2xf32>, tensor<4x3xf32>, tensor<3xi32>
}

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>)
func.func @binary(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  // CHECK: %[[ADD:.*]] = kiln.add %[[A]], %[[B]] : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %0 = kiln.add %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  // CHECK: %[[SUB:.*]] = kiln.sub %[[B]], %[[ADD]] : tensor<3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  %1 = kiln.sub %b, %0 : tensor<3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK: %[[MUL:.*]] = kiln.mul %[[SUB]], %[[A]] : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  %2 = kiln.mul %1, %a : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK: %[[DIV:.*]] = kiln.div %[[MUL]], %[[B]] : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %3 = kiln.div %2, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  // CHECK: %[[CMP:.*]] = kiln.compare "gt", %[[DIV]], %[[B]] : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %4 = kiln.compare "gt", %3, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  // CHECK: return %[[CMP]]
  return %4 : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @compare_predicates
func.func @compare_predicates(%a: tensor<2xf32>, %b: tensor<f32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  // CHECK: kiln.compare "eq", %{{.*}}, %{{.*}} : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %0 = kiln.compare "eq", %a, %b : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  // CHECK: kiln.compare "ne",
  %1 = kiln.compare "ne", %a, %b : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  // CHECK: kiln.compare "lt",
  %2 = kiln.compare "lt", %a, %b : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  // CHECK: kiln.compare "le",
  %3 = kiln.compare "le", %a, %b : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  // CHECK: kiln.compare "ge",
  %4 = kiln.compare "ge", %a, %b : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  return %0, %1, %2, %3, %4 : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// CHECK-LABEL: func.func @unary
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>)
func.func @unary(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // CHECK: %[[NEG:.*]] = kiln.neg %[[X]] : tensor<4x3xf32>
  %0 = kiln.neg %x : tensor<4x3xf32>
  // CHECK: %[[EXP:.*]] = kiln.exp %[[NEG]] : tensor<4x3xf32>
  %1 = kiln.exp %0 : tensor<4x3xf32>
  // CHECK: %[[LOG:.*]] = kiln.log %[[EXP]] : tensor<4x3xf32>
  %2 = kiln.log %1 : tensor<4x3xf32>
  // CHECK: %[[RELU:.*]] = kiln.relu %[[LOG]] : tensor<4x3xf32>
  %3 = kiln.relu %2 : tensor<4x3xf32>
  // CHECK: %[[SG:.*]] = kiln.stop_gradient %[[RELU]] : tensor<4x3xf32>
  %4 = kiln.stop_gradient %3 : tensor<4x3xf32>
  // CHECK: return %[[SG]]
  return %4 : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @f64_and_f16
func.func @f64_and_f16(%x: tensor<2xf64>, %h: tensor<2xf16>) -> (tensor<2xf64>, tensor<2xf16>) {
  // CHECK: kiln.exp %{{.*}} : tensor<2xf64>
  %0 = kiln.exp %x : tensor<2xf64>
  // CHECK: kiln.add %{{.*}}, %{{.*}} : tensor<2xf16>, tensor<2xf16> -> tensor<2xf16>
  %1 = kiln.add %h, %h : tensor<2xf16>, tensor<2xf16> -> tensor<2xf16>
  return %0, %1 : tensor<2xf64>, tensor<2xf16>
}

// CHECK-LABEL: func.func @layout
// CHECK-SAME: (%[[X:.*]]: tensor<8x784xf32>, %[[W:.*]]: tensor<784x10xf32>, %[[V:.*]]: tensor<3xf32>)
func.func @layout(%x: tensor<8x784xf32>, %w: tensor<784x10xf32>, %v: tensor<3xf32>)
    -> (tensor<8x10xf32>, tensor<10x8xf32>, tensor<80xf32>, tensor<4x3xf32>) {
  // CHECK: %[[Y:.*]] = kiln.matmul %[[X]], %[[W]] : tensor<8x784xf32>, tensor<784x10xf32> -> tensor<8x10xf32>
  %y = kiln.matmul %x, %w : tensor<8x784xf32>, tensor<784x10xf32> -> tensor<8x10xf32>
  // CHECK: %[[T:.*]] = kiln.transpose %[[Y]], [1, 0] : tensor<8x10xf32> -> tensor<10x8xf32>
  %t = kiln.transpose %y, [1, 0] : tensor<8x10xf32> -> tensor<10x8xf32>
  // CHECK: %[[R:.*]] = kiln.reshape %[[T]] : tensor<10x8xf32> -> tensor<80xf32>
  %r = kiln.reshape %t : tensor<10x8xf32> -> tensor<80xf32>
  // CHECK: %[[B:.*]] = kiln.broadcast_to %[[V]] : tensor<3xf32> -> tensor<4x3xf32>
  %b = kiln.broadcast_to %v : tensor<3xf32> -> tensor<4x3xf32>
  // CHECK: return %[[Y]], %[[T]], %[[R]], %[[B]]
  return %y, %t, %r, %b : tensor<8x10xf32>, tensor<10x8xf32>, tensor<80xf32>, tensor<4x3xf32>
}

// CHECK-LABEL: func.func @batched_matmul_and_int_reshape
func.func @batched_matmul_and_int_reshape(%a: tensor<2x4x3xf32>, %b: tensor<2x3x5xf32>, %i: tensor<2x3xi64>)
    -> (tensor<2x4x5xf32>, tensor<3x4x2xf32>, tensor<6xi64>) {
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<2x4x3xf32>, tensor<2x3x5xf32> -> tensor<2x4x5xf32>
  %0 = kiln.matmul %a, %b : tensor<2x4x3xf32>, tensor<2x3x5xf32> -> tensor<2x4x5xf32>
  // CHECK: kiln.transpose %{{.*}}, [2, 1, 0] : tensor<2x4x3xf32> -> tensor<3x4x2xf32>
  %1 = kiln.transpose %a, [2, 1, 0] : tensor<2x4x3xf32> -> tensor<3x4x2xf32>
  // CHECK: kiln.reshape %{{.*}} : tensor<2x3xi64> -> tensor<6xi64>
  %2 = kiln.reshape %i : tensor<2x3xi64> -> tensor<6xi64>
  return %0, %1, %2 : tensor<2x4x5xf32>, tensor<3x4x2xf32>, tensor<6xi64>
}

// CHECK-LABEL: func.func @reductions
// CHECK-SAME: (%[[X:.*]]: tensor<4x3x2xf32>)
func.func @reductions(%x: tensor<4x3x2xf32>) -> (tensor<4x1x1xf32>, tensor<3xf32>, tensor<f32>) {
  // CHECK: %[[S:.*]] = kiln.reduce_sum %[[X]] axes = [1, 2] keepdims : tensor<4x3x2xf32> -> tensor<4x1x1xf32>
  %s = kiln.reduce_sum %x axes = [1, 2] keepdims : tensor<4x3x2xf32> -> tensor<4x1x1xf32>
  // CHECK: %[[M:.*]] = kiln.reduce_mean %[[X]] axes = [0, 2] : tensor<4x3x2xf32> -> tensor<3xf32>
  %m = kiln.reduce_mean %x axes = [0, 2] : tensor<4x3x2xf32> -> tensor<3xf32>
  // CHECK: %[[MAX:.*]] = kiln.reduce_max %[[X]] axes = [0, 1, 2] : tensor<4x3x2xf32> -> tensor<f32>
  %mx = kiln.reduce_max %x axes = [0, 1, 2] : tensor<4x3x2xf32> -> tensor<f32>
  // CHECK: return %[[S]], %[[M]], %[[MAX]]
  return %s, %m, %mx : tensor<4x1x1xf32>, tensor<3xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @classification
// CHECK-SAME: (%[[LOGITS:.*]]: tensor<8x10xf32>, %[[LABELS:.*]]: tensor<8xi32>, %[[L64:.*]]: tensor<2x3xi64>)
func.func @classification(%logits: tensor<8x10xf32>, %labels: tensor<8xi32>, %l64: tensor<2x3xi64>)
    -> (tensor<8x10xf32>, tensor<8x10xf32>, tensor<2x3x4xf32>) {
  // CHECK: %[[L:.*]] = kiln.log_softmax %[[LOGITS]] axis = 1 : tensor<8x10xf32>
  %l = kiln.log_softmax %logits axis = 1 : tensor<8x10xf32>
  // CHECK: %[[H:.*]] = kiln.one_hot %[[LABELS]] : tensor<8xi32> -> tensor<8x10xf32>
  %h = kiln.one_hot %labels : tensor<8xi32> -> tensor<8x10xf32>
  // CHECK: %[[H64:.*]] = kiln.one_hot %[[L64]] : tensor<2x3xi64> -> tensor<2x3x4xf32>
  %h64 = kiln.one_hot %l64 : tensor<2x3xi64> -> tensor<2x3x4xf32>
  // CHECK: return %[[L]], %[[H]], %[[H64]]
  return %l, %h, %h64 : tensor<8x10xf32>, tensor<8x10xf32>, tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @vjp
// CHECK-SAME: (%[[W:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>)
func.func @vjp(%w: tensor<4x3xf32>, %b: tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
  %y = kiln.add %w, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  // CHECK: %[[LOSS:.*]] = kiln.reduce_sum
  %loss = kiln.reduce_sum %y axes = [0, 1] : tensor<4x3xf32> -> tensor<f32>
  // CHECK: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  // CHECK: %[[G:.*]]:2 = kiln.vjp %[[LOSS]], %[[ONE]] wrt %[[W]], %[[B]] : tensor<f32>, tensor<4x3xf32>, tensor<3xf32>
  %gw, %gb = kiln.vjp %loss, %one wrt %w, %b : tensor<f32>, tensor<4x3xf32>, tensor<3xf32>
  // CHECK: return %[[G]]#0, %[[G]]#1
  return %gw, %gb : tensor<4x3xf32>, tensor<3xf32>
}

// A non-scalar output with a non-scalar seed (y.backward(gradient=seed)).
// CHECK-LABEL: func.func @vjp_nonscalar
func.func @vjp_nonscalar(%x: tensor<3xf32>, %seed: tensor<3xf32>) -> tensor<3xf32> {
  %y = kiln.exp %x : tensor<3xf32>
  // CHECK: kiln.vjp %{{.*}}, %{{.*}} wrt %{{.*}} : tensor<3xf32>, tensor<3xf32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}
