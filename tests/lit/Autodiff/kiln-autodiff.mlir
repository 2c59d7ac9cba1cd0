// kiln-autodiff: each kiln.vjp becomes the backward ops of the VJP rules,
// cotangents accumulate by kiln.add, broadcast operands get their cotangent
// summed back to their shape, and nothing is built for values that are not
// differentiated.
// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-autodiff))' | FileCheck %s

// d/da a*b = b, d/db a*b = a
// CHECK-LABEL: func.func @mul
// CHECK-SAME: (%[[A:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>, %[[SEED:.*]]: tensor<3xf32>)
// CHECK: kiln.mul %[[A]], %[[B]]
// CHECK-DAG: %[[GA:.*]] = kiln.mul %[[SEED]], %[[B]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-DAG: %[[GB:.*]] = kiln.mul %[[SEED]], %[[A]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-NOT: kiln.vjp
// CHECK: return %[[GA]], %[[GB]]
func.func @mul(%a: tensor<3xf32>, %b: tensor<3xf32>, %seed: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %y = kiln.mul %a, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %ga, %gb = kiln.vjp %y, %seed wrt %a, %b : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  return %ga, %gb : tensor<3xf32>, tensor<3xf32>
}

// -----

// C = X W: dX = G W^T, dW = X^T G
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: tensor<8x4xf32>, %[[W:.*]]: tensor<4x3xf32>, %[[G:.*]]: tensor<8x3xf32>)
// CHECK: kiln.matmul %[[X]], %[[W]] : tensor<8x4xf32>, tensor<4x3xf32> -> tensor<8x3xf32>
// CHECK-DAG: %[[WT:.*]] = kiln.transpose %[[W]], [1, 0] : tensor<4x3xf32> -> tensor<3x4xf32>
// CHECK-DAG: %[[GX:.*]] = kiln.matmul %[[G]], %[[WT]] : tensor<8x3xf32>, tensor<3x4xf32> -> tensor<8x4xf32>
// CHECK-DAG: %[[XT:.*]] = kiln.transpose %[[X]], [1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
// CHECK-DAG: %[[GW:.*]] = kiln.matmul %[[XT]], %[[G]] : tensor<4x8xf32>, tensor<8x3xf32> -> tensor<4x3xf32>
// CHECK: return %[[GX]], %[[GW]] : tensor<8x4xf32>, tensor<4x3xf32>
func.func @matmul(%x: tensor<8x4xf32>, %w: tensor<4x3xf32>, %seed: tensor<8x3xf32>) -> (tensor<8x4xf32>, tensor<4x3xf32>) {
  %y = kiln.matmul %x, %w : tensor<8x4xf32>, tensor<4x3xf32> -> tensor<8x3xf32>
  %gx, %gw = kiln.vjp %y, %seed wrt %x, %w : tensor<8x3xf32>, tensor<8x4xf32>, tensor<4x3xf32>
  return %gx, %gw : tensor<8x4xf32>, tensor<4x3xf32>
}

// -----

// Batched matmul transposes the last two dimensions only.
// CHECK-LABEL: func.func @batched_matmul
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x4xf32>, %[[W:.*]]: tensor<2x4x3xf32>, %[[G:.*]]: tensor<2x8x3xf32>)
// CHECK-DAG: %[[WT:.*]] = kiln.transpose %[[W]], [0, 2, 1] : tensor<2x4x3xf32> -> tensor<2x3x4xf32>
// CHECK-DAG: %[[GX:.*]] = kiln.matmul %[[G]], %[[WT]] : tensor<2x8x3xf32>, tensor<2x3x4xf32> -> tensor<2x8x4xf32>
// CHECK-DAG: %[[XT:.*]] = kiln.transpose %[[X]], [0, 2, 1] : tensor<2x8x4xf32> -> tensor<2x4x8xf32>
// CHECK-DAG: %[[GW:.*]] = kiln.matmul %[[XT]], %[[G]] : tensor<2x4x8xf32>, tensor<2x8x3xf32> -> tensor<2x4x3xf32>
// CHECK: return %[[GX]], %[[GW]]
func.func @batched_matmul(%x: tensor<2x8x4xf32>, %w: tensor<2x4x3xf32>, %seed: tensor<2x8x3xf32>) -> (tensor<2x8x4xf32>, tensor<2x4x3xf32>) {
  %y = kiln.matmul %x, %w : tensor<2x8x4xf32>, tensor<2x4x3xf32> -> tensor<2x8x3xf32>
  %gx, %gw = kiln.vjp %y, %seed wrt %x, %w : tensor<2x8x3xf32>, tensor<2x8x4xf32>, tensor<2x4x3xf32>
  return %gx, %gw : tensor<2x8x4xf32>, tensor<2x4x3xf32>
}

// -----

// A broadcast operand's cotangent is summed back to its shape: over the
// added leading dim for a bias [3], over the stretched dim for [4, 1].
// CHECK-LABEL: func.func @broadcast_add
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>, %[[C:.*]]: tensor<4x1xf32>, %[[G:.*]]: tensor<4x3xf32>)
// CHECK-DAG: %[[GC:.*]] = kiln.reduce_sum %[[G]] axes = [1] keepdims : tensor<4x3xf32> -> tensor<4x1xf32>
// CHECK-DAG: %[[S:.*]] = kiln.reduce_sum %[[G]] axes = [0] keepdims : tensor<4x3xf32> -> tensor<1x3xf32>
// CHECK-DAG: %[[GB:.*]] = kiln.reshape %[[S]] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK: return %[[GB]], %[[GC]] : tensor<3xf32>, tensor<4x1xf32>
func.func @broadcast_add(%x: tensor<4x3xf32>, %b: tensor<3xf32>, %c: tensor<4x1xf32>, %seed: tensor<4x3xf32>) -> (tensor<3xf32>, tensor<4x1xf32>) {
  %y = kiln.add %x, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %z = kiln.add %y, %c : tensor<4x3xf32>, tensor<4x1xf32> -> tensor<4x3xf32>
  %gb, %gc = kiln.vjp %z, %seed wrt %b, %c : tensor<4x3xf32>, tensor<3xf32>, tensor<4x1xf32>
  return %gb, %gc : tensor<3xf32>, tensor<4x1xf32>
}

// -----

// d/da (a - b) = 1, d/db = -1; a same-shape operand needs no reduction.
// CHECK-LABEL: func.func @sub
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<f32>, %[[G:.*]]: tensor<2x3xf32>)
// CHECK: %[[NEG:.*]] = kiln.neg %[[G]] : tensor<2x3xf32>
// CHECK: %[[S:.*]] = kiln.reduce_sum %[[NEG]] axes = [0, 1] keepdims : tensor<2x3xf32> -> tensor<1x1xf32>
// CHECK: %[[GB:.*]] = kiln.reshape %[[S]] : tensor<1x1xf32> -> tensor<f32>
// CHECK: return %[[G]], %[[GB]] : tensor<2x3xf32>, tensor<f32>
func.func @sub(%a: tensor<2x3xf32>, %b: tensor<f32>, %seed: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<f32>) {
  %y = kiln.sub %a, %b : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  %ga, %gb = kiln.vjp %y, %seed wrt %a, %b : tensor<2x3xf32>, tensor<2x3xf32>, tensor<f32>
  return %ga, %gb : tensor<2x3xf32>, tensor<f32>
}

// -----

// d/dx relu(x) = [x > 0]
// CHECK-LABEL: func.func @relu
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[G:.*]]: tensor<4xf32>)
// CHECK: kiln.relu %[[X]]
// CHECK: %[[ZERO:.*]] = kiln.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[MASK:.*]] = kiln.compare "gt", %[[X]], %[[ZERO]] : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
// CHECK: %[[GX:.*]] = kiln.mul %[[G]], %[[MASK]] : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
// CHECK: return %[[GX]]
func.func @relu(%x: tensor<4xf32>, %seed: tensor<4xf32>) -> tensor<4xf32> {
  %y = kiln.relu %x : tensor<4xf32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<4xf32>, tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

// y = log_softmax(x): dx = g - exp(y) * sum_axis(g)
// CHECK-LABEL: func.func @log_softmax
// CHECK-SAME: (%[[X:.*]]: tensor<2x5xf32>, %[[G:.*]]: tensor<2x5xf32>)
// CHECK: %[[Y:.*]] = kiln.log_softmax %[[X]] axis = 1 : tensor<2x5xf32>
// CHECK-DAG: %[[SM:.*]] = kiln.exp %[[Y]] : tensor<2x5xf32>
// CHECK-DAG: %[[GS:.*]] = kiln.reduce_sum %[[G]] axes = [1] keepdims : tensor<2x5xf32> -> tensor<2x1xf32>
// CHECK: %[[P:.*]] = kiln.mul %[[SM]], %[[GS]] : tensor<2x5xf32>, tensor<2x1xf32> -> tensor<2x5xf32>
// CHECK: %[[GX:.*]] = kiln.sub %[[G]], %[[P]] : tensor<2x5xf32>, tensor<2x5xf32> -> tensor<2x5xf32>
// CHECK: return %[[GX]]
func.func @log_softmax(%x: tensor<2x5xf32>, %seed: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %y = kiln.log_softmax %x axis = 1 : tensor<2x5xf32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<2x5xf32>, tensor<2x5xf32>
  return %g : tensor<2x5xf32>
}

// -----

// d/dx mean(x) = 1/n: the seed is expanded to x's shape and divided by 12.
// CHECK-LABEL: func.func @reduce_mean
// CHECK: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[R:.*]] = kiln.reshape %[[ONE]] : tensor<f32> -> tensor<1x1xf32>
// CHECK: %[[B:.*]] = kiln.broadcast_to %[[R]] : tensor<1x1xf32> -> tensor<4x3xf32>
// CHECK: %[[N:.*]] = kiln.constant dense<1.200000e+01> : tensor<f32>
// CHECK: %[[GX:.*]] = kiln.div %[[B]], %[[N]] : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
// CHECK: return %[[GX]]
func.func @reduce_mean(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %m = kiln.reduce_mean %x axes = [0, 1] : tensor<4x3xf32> -> tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %g = kiln.vjp %m, %one wrt %x : tensor<f32>, tensor<4x3xf32>
  return %g : tensor<4x3xf32>
}

// -----

// Transpose and reshape cotangents go back through the inverse layout op.
// CHECK-LABEL: func.func @layout
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>, %[[G:.*]]: tensor<4x6xf32>)
// CHECK: %[[R:.*]] = kiln.reshape %[[G]] : tensor<4x6xf32> -> tensor<4x2x3xf32>
// CHECK: %[[T:.*]] = kiln.transpose %[[R]], [1, 2, 0] : tensor<4x2x3xf32> -> tensor<2x3x4xf32>
// CHECK: return %[[T]]
func.func @layout(%x: tensor<2x3x4xf32>, %seed: tensor<4x6xf32>) -> tensor<2x3x4xf32> {
  %t = kiln.transpose %x, [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %r = kiln.reshape %t : tensor<4x2x3xf32> -> tensor<4x6xf32>
  %g = kiln.vjp %r, %seed wrt %x : tensor<4x6xf32>, tensor<2x3x4xf32>
  return %g : tensor<2x3x4xf32>
}

// -----

// A function input that is not in `wrt` (data x, frozen w2) gets no
// backward ops: no transpose of w, no matmul producing a 8x4 cotangent.
// CHECK-LABEL: func.func @not_in_wrt
// CHECK-SAME: (%[[X:.*]]: tensor<8x4xf32>, %[[W:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>, %[[G:.*]]: tensor<8x3xf32>)
// CHECK-NOT: kiln.transpose %[[W]]
// CHECK-NOT: -> tensor<8x4xf32>
// CHECK: %[[XT:.*]] = kiln.transpose %[[X]], [1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
// CHECK-NOT: kiln.transpose %[[W]]
// CHECK-NOT: -> tensor<8x4xf32>
// CHECK: %[[GW:.*]] = kiln.matmul %[[XT]], %[[G]] : tensor<4x8xf32>, tensor<8x3xf32> -> tensor<4x3xf32>
// CHECK-NOT: kiln.reduce_sum
// CHECK-NOT: kiln.transpose %[[W]]
// CHECK: return %[[GW]] : tensor<4x3xf32>
func.func @not_in_wrt(%x: tensor<8x4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>, %seed: tensor<8x3xf32>) -> tensor<4x3xf32> {
  %y = kiln.matmul %x, %w : tensor<8x4xf32>, tensor<4x3xf32> -> tensor<8x3xf32>
  %z = kiln.add %y, %b : tensor<8x3xf32>, tensor<3xf32> -> tensor<8x3xf32>
  %gw = kiln.vjp %z, %seed wrt %w : tensor<8x3xf32>, tensor<4x3xf32>
  return %gw : tensor<4x3xf32>
}

// -----

// stop_gradient: y = exp(stop(x)) * x has dy/dx = exp(x), with no backward
// op for the stopped exp (no mul by the exp's result on the stopped side, no
// second product term, no add).
// CHECK-LABEL: func.func @stop_gradient
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[G:.*]]: tensor<3xf32>)
// CHECK: %[[S:.*]] = kiln.stop_gradient %[[X]]
// CHECK: %[[E:.*]] = kiln.exp %[[S]]
// CHECK: kiln.mul %[[E]], %[[X]]
// CHECK-NEXT: %[[GX:.*]] = kiln.mul %[[G]], %[[E]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %[[GX]]
func.func @stop_gradient(%x: tensor<3xf32>, %seed: tensor<3xf32>) -> tensor<3xf32> {
  %s = kiln.stop_gradient %x : tensor<3xf32>
  %e = kiln.exp %s : tensor<3xf32>
  %y = kiln.mul %e, %x : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}

// -----

// x feeds two ops: its cotangent is the kiln.add of both contributions,
// -g from the neg and g * exp(x) from the exp.
// CHECK-LABEL: func.func @used_twice
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[G:.*]]: tensor<3xf32>)
// CHECK: %[[E:.*]] = kiln.exp %[[X]]
// CHECK-DAG: %[[C1:.*]] = kiln.neg %[[G]] : tensor<3xf32>
// CHECK-DAG: %[[C2:.*]] = kiln.mul %[[G]], %[[E]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK: %[[SUM:.*]] = kiln.add %[[C1]], %[[C2]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK: return %[[SUM]]
func.func @used_twice(%x: tensor<3xf32>, %seed: tensor<3xf32>) -> tensor<3xf32> {
  %e = kiln.exp %x : tensor<3xf32>
  %n = kiln.neg %x : tensor<3xf32>
  %y = kiln.add %e, %n : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}

// -----

// Both operands of one op: d/dx x*x = g*x + g*x.
// CHECK-LABEL: func.func @square
// CHECK-SAME: (%[[X:.*]]: tensor<f32>, %[[G:.*]]: tensor<f32>)
// CHECK: %[[A:.*]] = kiln.mul %[[G]], %[[X]]
// CHECK: %[[B:.*]] = kiln.mul %[[G]], %[[X]]
// CHECK: %[[S:.*]] = kiln.add %[[A]], %[[B]] : tensor<f32>, tensor<f32> -> tensor<f32>
// CHECK: return %[[S]]
func.func @square(%x: tensor<f32>, %seed: tensor<f32>) -> tensor<f32> {
  %y = kiln.mul %x, %x : tensor<f32>, tensor<f32> -> tensor<f32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<f32>, tensor<f32>
  return %g : tensor<f32>
}

// -----

// No path from w to the output: its gradient is a zero constant of w's type.
// CHECK-LABEL: func.func @no_path
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[W:.*]]: tensor<2x3xf32>, %[[G:.*]]: tensor<3xf32>)
// CHECK-DAG: %[[GX:.*]] = kiln.mul %[[G]], %{{.*}} : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-DAG: %[[ZERO:.*]] = kiln.constant dense<0.000000e+00> : tensor<2x3xf32>
// CHECK: return %[[GX]], %[[ZERO]] : tensor<3xf32>, tensor<2x3xf32>
func.func @no_path(%x: tensor<3xf32>, %w: tensor<2x3xf32>, %seed: tensor<3xf32>) -> (tensor<3xf32>, tensor<2x3xf32>) {
  %y = kiln.exp %x : tensor<3xf32>
  %gx, %gw = kiln.vjp %y, %seed wrt %x, %w : tensor<3xf32>, tensor<3xf32>, tensor<2x3xf32>
  return %gx, %gw : tensor<3xf32>, tensor<2x3xf32>
}

// -----

// A path only through stop_gradient is no path either.
// CHECK-LABEL: func.func @only_stopped_path
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[G:.*]]: tensor<3xf32>)
// CHECK-NOT: kiln.neg %[[G]]
// CHECK: %[[ZERO:.*]] = kiln.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK: return %[[ZERO]]
func.func @only_stopped_path(%x: tensor<3xf32>, %seed: tensor<3xf32>) -> tensor<3xf32> {
  %s = kiln.stop_gradient %x : tensor<3xf32>
  %y = kiln.neg %s : tensor<3xf32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}

// -----

// The output itself is the wrt value: the gradient is the seed.
// CHECK-LABEL: func.func @identity
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[G:.*]]: tensor<3xf32>)
// CHECK-NEXT: return %[[G]]
func.func @identity(%x: tensor<3xf32>, %seed: tensor<3xf32>) -> tensor<3xf32> {
  %g = kiln.vjp %x, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}
