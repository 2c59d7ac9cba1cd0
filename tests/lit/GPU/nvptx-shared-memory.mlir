// The shared-memory kernels through the whole NVPTX pipeline: the block
// reduction's partials and the matmul's staged tiles are PTX .shared
// arrays (workgroup attributions), barriers are bar.sync, the matmul's 4x4
// C tile lives in registers (no .local stack frame left after LLVM's SROA;
// ptxas -v reports 0 bytes stack frame and 8320 bytes smem for it).
// RUN: kilnc %s --target=nvptx64-nvidia-cuda --emit=ptx | FileCheck %s

// Each kernel has its own shared arrays (convert-gpu-to-nvvm names them
// after the kernel's function, the same in every gpu.module; one PTX image
// must not merge them).
// CHECK-LABEL: .visible .entry f_kernel_0(
// CHECK: .shared .align 4 .b8 [[PARTIALS:f_kernel_0___wg_f_kernel_0]][1024];
// CHECK-COUNT-8: bar.sync 0;
// CHECK: ld.shared.f32 {{.*}}[[[PARTIALS]]];
// CHECK-LABEL: .visible .entry f_kernel_2(
// CHECK-NOT: .local
// CHECK: .shared .align 4 .b8 f_kernel_2___wg_f_kernel_0[4160];
// CHECK: .shared .align 4 .b8 f_kernel_2___wg_f_kernel_1[4160];
// CHECK-NOT: .local
// CHECK: bar.sync 0;
// CHECK-NOT: .local
// CHECK: bar.sync 0;
// CHECK-NOT: .local
// CHECK: .entry
func.func @f(%x: tensor<4x1000xf32>, %a: tensor<128x96xf32>, %b: tensor<96x128xf32>) -> (tensor<4xf32>, tensor<128x128xf32>) {
  %s = kiln.reduce_sum %x axes = [1] : tensor<4x1000xf32> -> tensor<4xf32>
  %c = kiln.matmul %a, %b : tensor<128x96xf32>, tensor<96x128xf32> -> tensor<128x128xf32>
  return %s, %c : tensor<4xf32>, tensor<128x128xf32>
}
