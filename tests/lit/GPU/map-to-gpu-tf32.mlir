// kiln-map-to-gpu{tf32=1}: a tiled matmul multiplies its staged tiles on
// tensor cores. The block, the staging and the final store are those of
// the FP32 kernel (map-to-gpu-shared.mlir); the tiles are [16][68] (lane
// g*4+t reads row t, column g: 32 distinct banks), and per staged tile each
// warp runs 2 k-steps x 4 mma.sync.m16n8k8 (A row-major, B column-major,
// TF32 inputs rounded to nearest, FP32 accumulators in the 4x4 private
// tile). Narrow products and everything else are unchanged.
// RUN: kiln-opt %s -split-input-file -kiln-map-to-gpu=tf32=1 | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-map-to-gpu | FileCheck %s --check-prefix=FP32
// FP32-NOT: nvvm.mma.sync
// FP32-NOT: memref<16x68xf32, 3>

// CHECK-LABEL: func.func @matmul(
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in ({{.*}} = %c256
// CHECK: %[[A:.*]] = memref.alloca() : memref<16x68xf32, 3>
// CHECK: %[[B:.*]] = memref.alloca() : memref<16x68xf32, 3>
// CHECK: %[[C:.*]] = memref.alloca() : memref<4x4xf32>
// CHECK-COUNT-16: memref.store %{{.*}}, %[[C]]
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %c1
// CHECK-COUNT-4: memref.store %{{.*}}, %[[A]]
// CHECK-COUNT-4: memref.store %{{.*}}, %[[B]]
// CHECK: gpu.barrier
// Lane coordinates: warp = tx / 32, g = lane / 4, t = lane % 4.
// CHECK: %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK: arith.divui %[[LANE]], %c4
// CHECK: arith.remui %[[LANE]], %c4
// The rounding to TF32: +0x1000, clear the low 13 bits, keep inf and NaN.
// CHECK: %[[X:.*]] = memref.load %[[A]]
// CHECK: %[[BITS:.*]] = arith.bitcast %[[X]] : f32 to i32
// CHECK: %[[UP:.*]] = arith.addi %[[BITS]], %c4096_i32
// CHECK: %[[ROUNDED:.*]] = arith.andi %[[UP]], %c-8192_i32
// CHECK: %[[EXP:.*]] = arith.andi %[[BITS]], %c2139095040_i32
// CHECK: %[[SPECIAL:.*]] = arith.cmpi eq, %[[EXP]], %c2139095040_i32
// CHECK: arith.select %[[SPECIAL]], %[[BITS]], %[[ROUNDED]] : i32
// CHECK-COUNT-8: nvvm.mma.sync A[{{.*}}, {{.*}}, {{.*}}, {{.*}}] B[{{.*}}, {{.*}}] C[{{.*}}, {{.*}}, {{.*}}, {{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK: }
// CHECK-COUNT-16: memref.store %{{.*}} : memref<128x96xf32>
// CHECK: gpu.terminator
func.func @matmul(%a: memref<128x20xf32>, %b: memref<20x96xf32>, %c: memref<128x96xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<128x20xf32>, memref<20x96xf32>) outs(%c : memref<128x96xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A 10-wide output layer stays a block reduction in FP32.
// CHECK-LABEL: func.func @narrow_matmul(
// CHECK-NOT: nvvm.mma.sync
// CHECK: memref.alloca() : memref<256xf32, 3>
// CHECK-NOT: nvvm.mma.sync
// CHECK: return
func.func @narrow_matmul(%a: memref<128x784xf32>, %b: memref<784x10xf32>, %c: memref<128x10xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<128x784xf32>, memref<784x10xf32>) outs(%c : memref<128x10xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
