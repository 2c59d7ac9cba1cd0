// kiln-prepare-bufferization: only state that the function itself updates
// may be overwritten by bufferization; data inputs and state that is only
// read (predict) are marked bufferization.writable = false.
// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-prepare-bufferization))' | FileCheck %s

// w is read and updated, m is read only, x and lr are plain inputs.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%{{[a-z0-9_]+}}: tensor<3xf32> {bufferization.writable = true},
// CHECK-SAME: %{{[a-z0-9_]+}}: tensor<3xf32> {bufferization.writable = false},
// CHECK-SAME: %{{[a-z0-9_]+}}: tensor<3xf32> {bufferization.writable = false},
// CHECK-SAME: %{{[a-z0-9_]+}}: tensor<f32> {bufferization.writable = false})
// The state lists are left as they are.
// CHECK-SAME: kiln.state_args = ["w", "m", "", ""], kiln.state_results = ["w", ""]
func.func @train_step(%w: tensor<3xf32>, %m: tensor<3xf32>, %x: tensor<3xf32>, %lr: tensor<f32>)
    -> (tensor<3xf32>, tensor<3xf32>)
    attributes {kiln.state_args = ["w", "m", "", ""], kiln.state_results = ["w", ""]} {
  %g = kiln.mul %x, %lr : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %nw = kiln.sub %w, %g : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %y = kiln.mul %nw, %m : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %nw, %y : tensor<3xf32>, tensor<3xf32>
}

// predict reads the state but does not update it: nothing is writable.
// CHECK-LABEL: func.func @predict
// CHECK-SAME: (%{{[a-z0-9_]+}}: tensor<3xf32> {bufferization.writable = false},
// CHECK-SAME: %{{[a-z0-9_]+}}: tensor<3xf32> {bufferization.writable = false})
func.func @predict(%w: tensor<3xf32>, %x: tensor<3xf32>) -> tensor<3xf32>
    attributes {kiln.state_args = ["w", ""], kiln.state_results = [""]} {
  %y = kiln.mul %w, %x : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %y : tensor<3xf32>
}

// init produces state without reading any: its seed stays read-only.
// CHECK-LABEL: func.func @init
// CHECK-SAME: (%{{[a-z0-9_]+}}: tensor<i64> {bufferization.writable = false})
func.func @init(%seed: tensor<i64>) -> tensor<3xf32>
    attributes {kiln.state_args = [""], kiln.state_results = ["w"]} {
  %w = kiln.random_uniform %seed stream 0 range [-1.0, 1.0] : tensor<i64> -> tensor<3xf32>
  return %w : tensor<3xf32>
}

// Without state attributes every argument is read-only, and the pass adds
// the "all plain" lists later passes rely on.
// CHECK-LABEL: func.func @plain
// CHECK-SAME: (%{{[a-z0-9_]+}}: tensor<3xf32> {bufferization.writable = false},
// CHECK-SAME: %{{[a-z0-9_]+}}: tensor<3xf32> {bufferization.writable = false})
// CHECK-SAME: attributes {kiln.state_args = ["", ""], kiln.state_results = [""]}
func.func @plain(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  %y = kiln.add %a, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %y : tensor<3xf32>
}

// External declarations are left alone.
// CHECK-LABEL: func.func private @external
// CHECK-NOT: bufferization.writable
// CHECK-SAME: (tensor<3xf32>) -> tensor<3xf32>{{$}}
func.func private @external(tensor<3xf32>) -> tensor<3xf32>

// A tensor.empty or zero fill that CSE shared between two destinations gets
// one copy per destination, right before its user, so that bufferization
// allocates each where it is used instead of one long-lived buffer.
// CHECK-LABEL: func.func @shared_destinations
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]] : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[F1]] : tensor<4xf32>)
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[F2:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E2]] : tensor<4xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[F2]] : tensor<4xf32>)
#id = affine_map<(i) -> (i)>
func.func @shared_destinations(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    attributes {kiln.state_args = [""], kiln.state_results = ["", ""]} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}
