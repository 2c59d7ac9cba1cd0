// Above 4000 LLVM instructions, two kinds of loops are marked
// llvm.loop.unroll.disable before LLVM's optimizer (LLVMTarget.cpp): a
// matrix product's packing loops (they only move floats), and a loop that
// calls a product with every loop in it (a convolution's chunk loop: im2col
// and copies, nests 5-7 deep). Fully unrolling them took most of LLVM's
// time on lenet, convnet and mlp_wide for steps no faster. -O0 shows the
// marks on the IR as translated.
// RUN: lenet-gen -O0 --emit=llvm -o %t.ll
// RUN: FileCheck %s --input-file=%t.ll --check-prefix=LENET

// The step's own loops (elementwise, pooling, no product inside) still
// unroll.
// LENET-LABEL: define void @lenet_train_step(
// LENET-NOT: !llvm.loop
// LENET: define internal void @lenet_train_step..omp_par
// A chunk lane: the loop around the first convolution's product, and the
// im2col nest in it.
// LENET: call void @kiln_matmul_6x25x3136_init(
// LENET: br {{.*}}, !llvm.loop ![[CHUNK:[0-9]+]]
// A product's packing loop.
// LENET-LABEL: define internal void @kiln_matmul_128x84x10_tb_init(
// LENET: br {{.*}}, !llvm.loop ![[PACK:[0-9]+]]
// LENET-DAG: ![[CHUNK]] = distinct !{![[CHUNK]], ![[OFF:[0-9]+]]}
// LENET-DAG: ![[PACK]] = distinct !{![[PACK]], ![[OFF]]}
// LENET-DAG: ![[OFF]] = !{!"llvm.loop.unroll.disable"}

// A small module (this product alone, ~600 instructions) keeps LLVM's
// choice: where loop overhead shows, unrolling the packing pays.
// RUN: kilnc %s --emit=llvm -O0 --no-parallel -o - | FileCheck %s --check-prefix=SMALL
// SMALL: define internal void @kiln_matmul_128x10x84_init(
// SMALL-NOT: llvm.loop.unroll.disable

func.func @f(%x: tensor<128x10xf32>, %w: tensor<10x84xf32>) -> tensor<128x84xf32> {
  %y = kiln.matmul %x, %w : tensor<128x10xf32>, tensor<10x84xf32> -> tensor<128x84xf32>
  return %y : tensor<128x84xf32>
}
