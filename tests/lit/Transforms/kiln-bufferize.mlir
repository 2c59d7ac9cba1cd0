// The kiln-bufferize pipeline on a training step with state and a predict
// function sharing it: the C ABI is fixed here. Every function takes the
// arena first, state arguments and results are gone from the signature and
// live at the module's kiln.state_layout offsets, nothing is allocated.
// RUN: kiln-opt %s -kiln-differentiate -kiln-bufferize | FileCheck %s

// CHECK: module attributes {kiln.arena_bytes = [[ARENA:[0-9]+]] : i64, kiln.state_bytes = 128 : i64,
// CHECK-SAME: kiln.state_layout = [{name = "w", offset = 0 : i64, type = memref<4x3xf32>}, {name = "b", offset = 64 : i64, type = memref<3xf32>}]}

// Inputs x and lr, output loss; w and b are state.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[A:.*]]: memref<[[ARENA]]xi8>, %[[X:.*]]: memref<2x4xf32>, %[[LR:.*]]: memref<f32>, %[[LOSS:.*]]: memref<f32>)
// CHECK-SAME: attributes {kiln.num_outputs = 1 : i64}
// CHECK-NOT: bufferization.writable
// State arguments first, then state results, each at its layout offset.
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[W:.*]] = memref.view %[[A]][%[[C0]]][] : memref<[[ARENA]]xi8> to memref<4x3xf32>
// CHECK-NEXT: %[[C64:.*]] = arith.constant 64 : index
// CHECK-NEXT: %[[B:.*]] = memref.view %[[A]][%[[C64]]][] : memref<[[ARENA]]xi8> to memref<3xf32>
// CHECK-NEXT: %[[C0B:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[NW:.*]] = memref.view %[[A]][%[[C0B]]][] : memref<[[ARENA]]xi8> to memref<4x3xf32>
// CHECK-NEXT: %[[C64B:.*]] = arith.constant 64 : index
// CHECK-NEXT: %[[NB:.*]] = memref.view %[[A]][%[[C64B]]][] : memref<[[ARENA]]xi8> to memref<3xf32>
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
// CHECK-NOT: kiln.
// The matmul reads x and the state w.
// CHECK: ins(%[[X]], %[[W]] : memref<2x4xf32>, memref<4x3xf32>)
// CHECK-NOT: memref.alloc
// The updates read each old element just before they write its new value
// and nothing reads the old state after them: they write the state slots
// in place (no scratch copy of the state), then the loss goes out.
// CHECK: ins(%[[W]], %{{.*}} : memref<4x3xf32>, memref<4x3xf32>{{.*}}) outs(%[[NW]] : memref<4x3xf32>)
// CHECK: ins(%[[B]], %{{.*}} : memref<3xf32>, memref<3xf32>{{.*}}) outs(%[[NB]] : memref<3xf32>)
// CHECK-NOT: memref.copy %{{.*}}, %[[NW]]
// CHECK-NOT: memref.copy %{{.*}}, %[[NB]]
// CHECK: memref.copy %{{.*}}, %[[LOSS]] : memref<f32> to memref<f32>
// CHECK-NEXT: return
func.func @train_step(%w: tensor<4x3xf32>, %b: tensor<3xf32>, %x: tensor<2x4xf32>, %lr: tensor<f32>)
    -> (tensor<4x3xf32>, tensor<3xf32>, tensor<f32>)
    attributes {kiln.state_args = ["w", "b", "", ""], kiln.state_results = ["w", "b", ""]} {
  %y = kiln.matmul %x, %w : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  %z = kiln.add %y, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %r = kiln.relu %z : tensor<2x3xf32>
  %loss = kiln.reduce_mean %r axes = [0, 1] : tensor<2x3xf32> -> tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %gw, %gb = kiln.vjp %loss, %one wrt %w, %b : tensor<f32>, tensor<4x3xf32>, tensor<3xf32>
  %sw = kiln.mul %gw, %lr : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %nw = kiln.sub %w, %sw : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  %sb = kiln.mul %gb, %lr : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
  %nb = kiln.sub %b, %sb : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %nw, %nb, %loss : tensor<4x3xf32>, tensor<3xf32>, tensor<f32>
}

// predict reads the same state at the same offsets and writes only its
// output.
// CHECK-LABEL: func.func @predict
// CHECK-SAME: (%[[A:.*]]: memref<[[ARENA]]xi8>, %[[X:.*]]: memref<2x4xf32>, %[[OUT:.*]]: memref<2x3xf32>)
// CHECK-SAME: attributes {kiln.num_outputs = 1 : i64}
// CHECK-DAG: memref.view %[[A]][%[[C0:.*]]][] : memref<[[ARENA]]xi8> to memref<4x3xf32>
// CHECK-DAG: %[[C0]] = arith.constant 0 : index
// CHECK-DAG: memref.view %[[A]][%[[C64:.*]]][] : memref<[[ARENA]]xi8> to memref<3xf32>
// CHECK-DAG: %[[C64]] = arith.constant 64 : index
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy %{{.*}}, %{{view.*}}
// CHECK: memref.copy %{{.*}}, %[[OUT]] : memref<2x3xf32> to memref<2x3xf32>
// CHECK-NEXT: return
func.func @predict(%w: tensor<4x3xf32>, %b: tensor<3xf32>, %x: tensor<2x4xf32>) -> tensor<2x3xf32>
    attributes {kiln.state_args = ["w", "b", ""], kiln.state_results = [""]} {
  %y = kiln.matmul %x, %w : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  %z = kiln.add %y, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return %z : tensor<2x3xf32>
}

// A function without state attributes: every argument is an input, every
// result an output.
// CHECK-LABEL: func.func @plain
// CHECK-SAME: (%{{.*}}: memref<[[ARENA]]xi8>, %[[X:.*]]: memref<3xf32>, %[[OUT:.*]]: memref<3xf32>)
// CHECK-SAME: attributes {kiln.num_outputs = 1 : i64}
func.func @plain(%x: tensor<3xf32>) -> tensor<3xf32> {
  %e = kiln.neg %x : tensor<3xf32>
  return %e : tensor<3xf32>
}
