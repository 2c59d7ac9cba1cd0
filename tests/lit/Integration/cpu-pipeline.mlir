// The whole CPU pipeline on a small classifier (init, train step with
// autodiff and SGD on state, predict) reaches the LLVM dialect with the
// bare-pointer C ABI: arena first, no heap allocation, no libm call (exp and
// log are polynomials), nothing left of kiln, linalg, memref or casts.
// RUN: kiln-opt %s -kiln-cpu-pipeline | FileCheck %s
// The only calls are to the matrix products, one internal function per
// form (kiln-outline-matmuls): the train step's forward product and
// predict's are the same function.

// CHECK: module attributes {kiln.arena_bytes = {{[0-9]+}} : i64, kiln.state_bytes = 320 : i64,
// CHECK-SAME: kiln.state_layout = [{name = "w", offset = 0 : i64, type = memref<16x4xf32>}, {name = "b", offset = 256 : i64, type = memref<4xf32>}]
// CHECK-NOT: memref.alloc
// CHECK-NOT: llvm.call
// CHECK-NOT: unrealized_conversion_cast

// init: (arena, seed); w and b are state outputs, so no output pointers.
// CHECK-LABEL: llvm.func @init(%{{.*}}: !llvm.ptr<i8>, %{{.*}}: !llvm.ptr<i64>)
// CHECK-SAME: kiln.num_outputs = 0 : i64
// CHECK-NOT: llvm.call @malloc
// CHECK-NOT: llvm.call
// CHECK-NOT: memref.
// CHECK: llvm.return

// train_step: (arena, x, labels, lr, loss).
// CHECK-LABEL: llvm.func @train_step(%{{.*}}: !llvm.ptr<i8>, %{{.*}}: !llvm.ptr<f32>, %{{.*}}: !llvm.ptr<i32>, %{{.*}}: !llvm.ptr<f32>, %{{.*}}: !llvm.ptr<f32>)
// CHECK-SAME: kiln.num_outputs = 1 : i64
// CHECK-NOT: llvm.call @malloc
// CHECK-NOT: llvm.call @expf
// CHECK-NOT: llvm.call @logf
// CHECK-NOT: llvm.intr.exp
// CHECK-NOT: llvm.intr.log
// CHECK-NOT: llvm.call @{{[^k]}}
// CHECK-NOT: memref.
// CHECK-NOT: linalg.
// CHECK-NOT: = kiln.
// CHECK: llvm.call @kiln_matmul_8x16x4_init(
// CHECK: llvm.fmul
// CHECK-NOT: llvm.intr.fma
// CHECK-NOT: llvm.call @{{[^k]}}
// CHECK: llvm.return

// predict: (arena, x, logits).
// CHECK-LABEL: llvm.func @predict(%{{.*}}: !llvm.ptr<i8>, %{{.*}}: !llvm.ptr<f32>, %{{.*}}: !llvm.ptr<f32>)
// CHECK-SAME: kiln.num_outputs = 1 : i64
// CHECK-NOT: llvm.call @{{[^k]}}
// CHECK: llvm.call @kiln_matmul_8x16x4_init(
// CHECK-NOT: llvm.call @{{[^k]}}
// CHECK: llvm.return
// CHECK-NOT: llvm.call @malloc
// CHECK-NOT: llvm.call @free
// CHECK-NOT: func.func
// CHECK: llvm.func internal @kiln_matmul_8x16x4_init(%{{.*}}: !llvm.ptr<f32>, %{{.*}}: !llvm.ptr<f32>, %{{.*}}: !llvm.ptr<f32>)
// CHECK-SAME: passthrough = ["noinline", "kiln-matrix-product"]
// CHECK-NOT: llvm.intr.fma
// CHECK: llvm.fadd {{.*}} {fastmathFlags = #llvm.fastmath<contract>}
module {
func.func @init(%seed: tensor<i64>) -> (tensor<16x4xf32>, tensor<4xf32>)
    attributes {kiln.state_args = [""], kiln.state_results = ["w", "b"]} {
  %w = kiln.random_uniform %seed stream 0 range [-0.5, 0.5] : tensor<i64> -> tensor<16x4xf32>
  %b = kiln.constant dense<0.0> : tensor<4xf32>
  return %w, %b : tensor<16x4xf32>, tensor<4xf32>
}
func.func @train_step(%w: tensor<16x4xf32>, %b: tensor<4xf32>, %x: tensor<8x16xf32>, %y: tensor<8xi32>, %lr: tensor<f32>)
    -> (tensor<16x4xf32>, tensor<4xf32>, tensor<f32>)
    attributes {kiln.state_args = ["w", "b", "", "", ""], kiln.state_results = ["w", "b", ""]} {
  %h = kiln.matmul %x, %w : tensor<8x16xf32>, tensor<16x4xf32> -> tensor<8x4xf32>
  %z = kiln.add %h, %b : tensor<8x4xf32>, tensor<4xf32> -> tensor<8x4xf32>
  %r = kiln.relu %z : tensor<8x4xf32>
  %l = kiln.log_softmax %r axis = 1 : tensor<8x4xf32>
  %oh = kiln.one_hot %y : tensor<8xi32> -> tensor<8x4xf32>
  %p = kiln.mul %l, %oh : tensor<8x4xf32>, tensor<8x4xf32> -> tensor<8x4xf32>
  %s = kiln.reduce_sum %p axes = [1] : tensor<8x4xf32> -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : tensor<8xf32> -> tensor<f32>
  %loss = kiln.neg %m : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %gw, %gb = kiln.vjp %loss, %one wrt %w, %b : tensor<f32>, tensor<16x4xf32>, tensor<4xf32>
  %sw = kiln.mul %gw, %lr : tensor<16x4xf32>, tensor<f32> -> tensor<16x4xf32>
  %nw = kiln.sub %w, %sw : tensor<16x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  %sb = kiln.mul %gb, %lr : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %nb = kiln.sub %b, %sb : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %nw, %nb, %loss : tensor<16x4xf32>, tensor<4xf32>, tensor<f32>
}
func.func @predict(%w: tensor<16x4xf32>, %b: tensor<4xf32>, %x: tensor<8x16xf32>) -> tensor<8x4xf32>
    attributes {kiln.state_args = ["w", "b", ""], kiln.state_results = [""]} {
  %h = kiln.matmul %x, %w : tensor<8x16xf32>, tensor<16x4xf32> -> tensor<8x4xf32>
  %z = kiln.add %h, %b : tensor<8x4xf32>, tensor<4xf32> -> tensor<8x4xf32>
  return %z : tensor<8x4xf32>
}
}
