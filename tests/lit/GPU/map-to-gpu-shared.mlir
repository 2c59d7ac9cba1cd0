// kiln-map-to-gpu's kernels that share memory: a long reduction gets a
// block per output (threads stride over it, a tree in shared memory, a
// barrier per level); a matmul gets 64x64 C tiles per block of 256 threads
// with A and B staged 16 deep in shared memory and a 4x4 tile of C per
// thread in private memory. Short reductions and narrow matmuls keep one
// thread per output. Shared memory is an alloca in memory space 3, which
// kiln-gpu-workgroup-memory turns into a workgroup attribution after
// outlining.
// RUN: kiln-opt %s -split-input-file -kiln-map-to-gpu | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-map-to-gpu -gpu-kernel-outlining -kiln-gpu-workgroup-memory | FileCheck %s --check-prefix=OUTLINED
// Every kernel here is one kiln-emulate-gpu-launches runs exactly:
// RUN: kiln-opt %s -split-input-file -kiln-map-to-gpu -kiln-emulate-gpu-launches | FileCheck %s --check-prefix=EMULATED
// EMULATED-NOT: gpu.

// Row sums of 4 x 1000: 4 blocks of 256 threads; the partials start at -0
// (the identity of addf), 8 levels of tree, thread 0 adds into the output.
// CHECK-LABEL: func.func @row_sum(
// CHECK-DAG: %[[GRID:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 256 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in ({{.*}} = %[[BLOCK]],
// CHECK: %[[PARTIALS:.*]] = memref.alloca() : memref<256xf32, 3>
// CHECK: %[[ROW:.*]] = arith.remui %[[BX]], %c4
// CHECK: %[[ID:.*]] = arith.constant -0.000000e+00 : f32
// CHECK: %[[PARTIAL:.*]] = scf.for %[[I:.*]] = %[[TX]] to %c1000{{.*}} step %c256{{.*}} iter_args(%[[ACC:.*]] = %[[ID]]) -> (f32)
// CHECK: %[[X:.*]] = memref.load %{{.*}}[%[[ROW]], %{{.*}}] : memref<4x1000xf32>
// CHECK: %[[S:.*]] = arith.addf %[[X]], %[[ACC]]
// CHECK: scf.yield %[[S]]
// CHECK: memref.store %[[PARTIAL]], %[[PARTIALS]][%[[TX]]]
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[TX]], %c128
// CHECK: scf.if
// CHECK: arith.addi %[[TX]], %c128
// CHECK-COUNT-6: gpu.barrier
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[TX]], %c1
// CHECK-NOT: gpu.barrier
// CHECK: arith.cmpi eq, %[[TX]], %c0
// CHECK: scf.if
// CHECK: %[[OLD:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<4xf32>
// CHECK: %[[TOTAL:.*]] = memref.load %[[PARTIALS]][%c0
// CHECK: %[[NEW:.*]] = arith.addf %[[TOTAL]], %[[OLD]]
// CHECK: memref.store %[[NEW]], %{{.*}} : memref<4xf32>
// CHECK: gpu.terminator
// OUTLINED-LABEL: gpu.func @row_sum_kernel(
// OUTLINED-SAME: workgroup(%[[SHARED:.*]] : memref<256xf32, 3>)
// OUTLINED-NOT: memref.alloca
// OUTLINED: memref.store %{{.*}}, %[[SHARED]]
func.func @row_sum(%x: memref<4x1000xf32>, %out: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x1000xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A max over 100 with a fused term (x * 2): blocks of 64 (threads never
// idle in the strided loop), the identity -inf, maxf in the tree.
// CHECK-LABEL: func.func @row_max(
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c64
// CHECK: memref.alloca() : memref<64xf32, 3>
// CHECK: %[[ID:.*]] = arith.constant 0xFF800000 : f32
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[ID]])
// CHECK: arith.mulf
// CHECK: arith.maxf
// CHECK-COUNT-6: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: arith.maxf
// CHECK: gpu.terminator
func.func @row_max(%x: memref<8x100xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x100xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %two = arith.constant 2.0 : f32
    %d = arith.mulf %v, %two : f32
    %m = arith.maxf %acc, %d : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A bias gradient: column sums over a batch of 128, one block per column.
// CHECK-LABEL: func.func @column_sum(
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c96{{.*}}) threads({{.*}}) in ({{.*}} = %c128
// CHECK: memref.alloca() : memref<128xf32, 3>
// CHECK: gpu.barrier
func.func @column_sum(%g: memref<128x96xf32>, %out: memref<96xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%g : memref<128x96xf32>) outs(%out : memref<96xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Short rows (10 classes) stay one thread per output: no shared memory.
// CHECK-LABEL: func.func @short_rows(
// CHECK-NOT: memref.alloca
// CHECK-NOT: gpu.barrier
// CHECK: return
func.func @short_rows(%x: memref<128x10xf32>, %out: memref<128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x10xf32>) outs(%out : memref<128xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// C[128x96] += A[128x20] B[20x96] in the (i, k, j) form of kiln.matmul:
// 2 x 2 tiles of 64x64, 256 threads, A and B staged as [16][65] (a padding
// column), k in 2 steps of 16 (the second guarded), a barrier after the
// copy and after the products, the 4x4 C tile in private memory.
// CHECK-LABEL: func.func @matmul(
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}) threads({{.*}}) in ({{.*}} = %c256
// CHECK: %[[A:.*]] = memref.alloca() : memref<16x65xf32, 3>
// CHECK: %[[B:.*]] = memref.alloca() : memref<16x65xf32, 3>
// CHECK: %[[C:.*]] = memref.alloca() : memref<4x4xf32>
// CHECK-COUNT-16: memref.store %{{.*}}, %[[C]]
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c2{{.*}} step %c1
// CHECK-COUNT-4: memref.store %{{.*}}, %[[A]]
// CHECK-COUNT-4: memref.store %{{.*}}, %[[B]]
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c16
// CHECK-COUNT-4: memref.load %[[A]]
// CHECK-COUNT-4: memref.load %[[B]]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: gpu.barrier
// CHECK: }
// CHECK-COUNT-16: memref.store %{{.*}} : memref<128x96xf32>
// CHECK: gpu.terminator
// OUTLINED-LABEL: gpu.func @matmul_kernel(
// OUTLINED-SAME: workgroup(%{{.*}} : memref<16x65xf32, 3>, %{{.*}} : memref<16x65xf32, 3>)
// OUTLINED: memref.alloca() : memref<4x4xf32>
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

// A weight gradient, A transposed (x^T g): A is read along m, so the copy
// gives neighbouring threads neighbouring m (k = e / 64, m = e mod 64).
// CHECK-LABEL: func.func @matmul_transposed_a(
// CHECK: memref.alloca() : memref<16x65xf32, 3>
// CHECK: scf.for
// CHECK: %[[KK:.*]] = arith.divui %{{.*}}, %c64
// CHECK: %[[MM:.*]] = arith.remui %{{.*}}, %c64
// CHECK: memref.load %{{.*}} : memref<32x64xf32>
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[KK]], %[[MM]]] : memref<16x65xf32, 3>
func.func @matmul_transposed_a(%x: memref<32x64xf32>, %g: memref<32x64xf32>, %dw: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (k, i)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %g : memref<32x64xf32>, memref<32x64xf32>) outs(%dw : memref<64x64xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %p = arith.mulf %u, %v : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A 10-wide output layer is narrower than a tile: its 784-long dot
// products are block reductions, one block per output.
// CHECK-LABEL: func.func @narrow_matmul(
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1280{{.*}}) threads({{.*}}) in ({{.*}} = %c256
// CHECK-NOT: memref<16x65xf32, 3>
// CHECK: memref.alloca() : memref<256xf32, 3>
// CHECK: gpu.barrier
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
