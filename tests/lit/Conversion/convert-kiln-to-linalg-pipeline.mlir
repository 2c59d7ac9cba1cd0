// The lowering's output goes through the upstream CPU pipeline (fusion,
// one-shot bufferization, loops, LLVM dialect) without leftovers.
// RUN: kiln-opt %s -convert-kiln-to-linalg -linalg-fuse-elementwise-ops \
// RUN:   -empty-tensor-to-alloc-tensor \
// RUN:   -one-shot-bufferize="bufferize-function-boundaries allow-return-allocs function-boundary-type-conversion=identity-layout-map create-deallocs=0" \
// RUN:   -canonicalize -convert-linalg-to-loops -convert-scf-to-cf \
// RUN:   -expand-strided-metadata -lower-affine -convert-math-to-llvm \
// RUN:   -convert-arith-to-llvm -convert-memref-to-llvm -convert-func-to-llvm \
// RUN:   -convert-cf-to-llvm -reconcile-unrealized-casts | FileCheck %s

// CHECK-LABEL: llvm.func @mlp
// CHECK: llvm.fmul
// CHECK: llvm.fcmp "ogt"
// CHECK: llvm.select
// CHECK: llvm.intr.exp
// CHECK: llvm.intr.log
// CHECK: llvm.return
// CHECK-LABEL: llvm.func @init
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// CHECK-NOT: kiln.
func.func @mlp(%x: tensor<8x784xf32>, %w: tensor<784x10xf32>, %b: tensor<10xf32>,
               %labels: tensor<8xi32>) -> (tensor<8x10xf32>, tensor<f32>) {
  %y = kiln.matmul %x, %w : tensor<8x784xf32>, tensor<784x10xf32> -> tensor<8x10xf32>
  %z = kiln.add %y, %b : tensor<8x10xf32>, tensor<10xf32> -> tensor<8x10xf32>
  %r = kiln.relu %z : tensor<8x10xf32>
  %l = kiln.log_softmax %r axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %labels : tensor<8xi32> -> tensor<8x10xf32>
  %p = kiln.mul %l, %h : tensor<8x10xf32>, tensor<8x10xf32> -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : tensor<8x10xf32> -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : tensor<8xf32> -> tensor<f32>
  %loss = kiln.neg %m : tensor<f32>
  return %l, %loss : tensor<8x10xf32>, tensor<f32>
}

func.func @init(%seed: tensor<i64>) -> tensor<784x10xf32> {
  %w = kiln.random_uniform %seed stream 1 range [-0.05, 0.05] : tensor<i64> -> tensor<784x10xf32>
  %t = kiln.transpose %w, [1, 0] : tensor<784x10xf32> -> tensor<10x784xf32>
  %f = kiln.reshape %t : tensor<10x784xf32> -> tensor<7840xf32>
  %g = kiln.reshape %f : tensor<7840xf32> -> tensor<784x10xf32>
  return %g : tensor<784x10xf32>
}
