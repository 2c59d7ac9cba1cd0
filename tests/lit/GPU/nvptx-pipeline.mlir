// The whole NVPTX pipeline on a small classifier (init, train step with
// autodiff and SGD on state, predict): the host functions keep the CPU's
// bare-pointer ABI (arena first) and only call kiln_cuda_launch; the PTX
// assembles for sm_80 and sm_90 without libdevice (no extern functions, no
// calls) and has one kernel per linalg op.
// RUN: kiln-opt %s -kiln-nvptx-pipeline | FileCheck %s --check-prefix=HOST
// RUN: kilnc %s --target=nvptx64-nvidia-cuda --emit=ptx | FileCheck %s --check-prefix=PTX80
// RUN: kilnc %s --target=nvptx64-nvidia-cuda --mcpu=sm_90 --emit=ptx | FileCheck %s --check-prefix=PTX90
// RUN: not kilnc %s --target=nvptx64-nvidia-cuda --mcpu=sm_75 --emit=ptx 2>&1 | FileCheck %s --check-prefix=BADSM
// RUN: not kilnc %s --emit=ptx 2>&1 | FileCheck %s --check-prefix=CPUPTX

// HOST: module attributes {kiln.arena_bytes = {{[0-9]+}} : i64, kiln.state_bytes = 320 : i64,
// HOST-NOT: gpu.
// HOST-DAG: llvm.mlir.global private constant @__kiln_ptx(dense<
// HOST-DAG: llvm.mlir.global private constant @__kiln_kernel_train_step_kernel(dense<
// HOST-DAG: llvm.func @kiln_cuda_launch(i64, i64, i32, i32, i64, i32) -> i32
// HOST-LABEL: llvm.func @init(%{{.*}}: !llvm.ptr<i8>, %{{.*}}: !llvm.ptr<i64>)
// HOST-NOT: llvm.load
// HOST: llvm.call @kiln_cuda_launch
// HOST-LABEL: llvm.func @train_step(%{{.*}}: !llvm.ptr<i8>, %{{.*}}: !llvm.ptr<f32>, %{{.*}}: !llvm.ptr<i32>, %{{.*}}: !llvm.ptr<f32>, %{{.*}}: !llvm.ptr<f32>)
// HOST-NOT: llvm.load
// HOST-NOT: llvm.call @{{[^k]}}
// HOST: llvm.call @kiln_cuda_launch
// HOST-LABEL: llvm.func @predict(
// HOST-NOT: llvm.load
// HOST: llvm.call @kiln_cuda_launch
// HOST-NOT: gpu.

// PTX80: .version 7.8
// PTX80: .target sm_80
// PTX80: .address_size 64
// PTX80-NOT: .extern
// PTX80-NOT: call
// PTX80: .visible .entry init_kernel(
// PTX80: .visible .entry train_step_kernel(
// PTX80: .visible .entry predict_kernel(
// PTX90: .target sm_90
// PTX90: .visible .entry train_step_kernel(

// BADSM: kiln: --mcpu='sm_75' for nvptx64: expected sm_80, sm_86, sm_89 or sm_90
// CPUPTX: kiln: --emit=ptx needs --target=nvptx64-nvidia-cuda

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
