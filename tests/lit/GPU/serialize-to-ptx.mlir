// kiln-serialize-to-ptx compiles the NVVM kernels of the gpu.modules with
// LLVM's NVPTX backend for the chip and PTX version asked for and attaches
// the text as `kiln.ptx`; kiln-gpu-to-runtime-calls then embeds it and turns
// each launch into a kiln_cuda_launch call with the memrefs' descriptors
// (allocated, aligned, offset, size, stride per memref) as parameters.
// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-map-to-gpu),gpu-kernel-outlining,gpu.module(lower-affine,convert-scf-to-cf,convert-gpu-to-nvvm{index-bitwidth=64},reconcile-unrealized-casts),kiln-serialize-to-ptx{chip=sm_90 features=+ptx78})' -o %t.mlir
// RUN: FileCheck %s --check-prefix=PTX --input-file=%t.mlir
// RUN: kiln-opt %t.mlir -kiln-gpu-to-runtime-calls | FileCheck %s --check-prefix=CALLS

// PTX: kiln.ptx = "
// PTX-SAME: .version 7.8
// PTX-SAME: .target sm_90
// PTX-SAME: .entry scale_kernel
// PTX: gpu.module @scale_kernel

// CALLS-NOT: gpu.module
// CALLS: memref.global "private" constant @__kiln_ptx : memref<{{[0-9]+}}xi8>
// CALLS: func.func private @kiln_cuda_launch(i64, i64, i32, i32, i64, i32) -> i32
// CALLS: memref.global "private" constant @__kiln_kernel_scale_kernel : memref<13xi8>
// CALLS-LABEL: func.func @scale
// CALLS: %[[PARAMS:.*]] = memref.alloca() : memref<10xi64>
// CALLS: memref.get_global @__kiln_ptx
// CALLS: memref.get_global @__kiln_kernel_scale_kernel
// CALLS: call @kiln_cuda_launch({{.*}}, %c10_i32)
// CALLS-NOT: gpu.launch_func
// CALLS: return
#map = affine_map<(d0) -> (d0)>
func.func @scale(%a: memref<1024xf32>, %o: memref<1024xf32>) {
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%a : memref<1024xf32>) outs(%o : memref<1024xf32>) {
  ^bb0(%in: f32, %out: f32):
    %two = arith.constant 2.0 : f32
    %r = arith.mulf %in, %two : f32
    linalg.yield %r : f32
  }
  return
}
