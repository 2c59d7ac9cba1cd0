// A constant that is not a splat lives in device memory: the kernel reads
// the global that outlining copied into its gpu.module, emitted as a PTX
// .global array; the host keeps no copy a kernel could be handed.
// RUN: kilnc %s --target=nvptx64-nvidia-cuda --emit=ptx | FileCheck %s

// CHECK: .global .align {{[0-9]+}} .b8 __constant_3xf32[12] = {0, 0, 192, 63, 0, 0, 0, 192, 0, 0, 80, 64};
// CHECK: .visible .entry f_kernel(
// CHECK: __constant_3xf32
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = kiln.constant dense<[1.5, -2.0, 3.25]> : tensor<3xf32>
  %y = kiln.add %x, %c : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
