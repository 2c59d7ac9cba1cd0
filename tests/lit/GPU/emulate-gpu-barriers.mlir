// kiln-emulate-gpu-launches on kernels that synchronize: the body is cut at
// each gpu.barrier into phases, every thread of a block runs one phase
// before any starts the next; workgroup memory (a top-level alloca in
// memory space 3) is one host buffer shared by a block's threads and
// poisoned with NaN when each block starts, private memory (a top-level
// alloca in the default space) one slice per thread; pure values used
// across a barrier (the thread's index) are recomputed in the later phase.
// RUN: kiln-opt %s -split-input-file -kiln-emulate-gpu-launches | FileCheck %s

// CHECK-LABEL: func.func @block_sum(
// CHECK-SAME: %[[X:.*]]: memref<4x512xf32>, %[[OUT:.*]]: memref<4xf32>
// CHECK-NOT: gpu.
// CHECK-DAG: %[[SHARED:.*]] = memref.alloca() : memref<128xf32>
// CHECK-DAG: %[[PRIVATE:.*]] = memref.alloca(%{{.*}}) : memref<?x1xf32>
// The blocks (z, y, x), then the poisoning of their workgroup memory.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for %[[BX:.*]] =
// CHECK: %[[NAN:.*]] = arith.constant 0x7FC00000 : f32
// CHECK: scf.for %[[I:.*]] =
// CHECK: memref.store %[[NAN]], %[[SHARED]][%[[I]]]
// Phase 1: the threads (z, y, x), each with its private slice.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for %[[TX1:.*]] =
// CHECK: %[[MINE:.*]] = memref.subview %[[PRIVATE]][%{{.*}}, 0] [1, 1] [1, 1]
// CHECK: scf.for
// CHECK: memref.load %[[X]][%[[BX]], %{{.*}}]
// CHECK: memref.store %{{.*}}, %[[MINE]]
// CHECK: memref.store %{{.*}}, %[[SHARED]][%[[TX1]]]
// Phase 2, after the barrier: the threads again.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for %[[TX2:.*]] =
// CHECK: arith.cmpi ult, %[[TX2]]
// CHECK: memref.load %[[SHARED]]
// Phase 3: thread 0 reads what phase 2 wrote and its own private value.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for %[[TX3:.*]] =
// CHECK: %[[MINE3:.*]] = memref.subview %[[PRIVATE]]
// CHECK: arith.cmpi eq, %[[TX3]]
// CHECK: memref.load %[[SHARED]]
// CHECK: memref.load %[[MINE3]]
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[BX]]]
// CHECK-NOT: gpu.
func.func @block_sum(%x: memref<4x512xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %c512 = arith.constant 512 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %shared = memref.alloca() : memref<128xf32, 3>
    %private = memref.alloca() : memref<1xf32>
    %zero = arith.constant 0.0 : f32
    memref.store %zero, %private[%c0] : memref<1xf32>
    scf.for %i = %tx to %c512 step %c128 {
      %v = memref.load %x[%bx, %i] : memref<4x512xf32>
      %p = memref.load %private[%c0] : memref<1xf32>
      %s = arith.addf %p, %v : f32
      memref.store %s, %private[%c0] : memref<1xf32>
    }
    %partial = memref.load %private[%c0] : memref<1xf32>
    memref.store %partial, %shared[%tx] : memref<128xf32, 3>
    gpu.barrier
    %lower = arith.cmpi ult, %tx, %c64 : index
    scf.if %lower {
      %other = arith.addi %tx, %c64 : index
      %a = memref.load %shared[%tx] : memref<128xf32, 3>
      %b = memref.load %shared[%other] : memref<128xf32, 3>
      %s = arith.addf %a, %b : f32
      memref.store %s, %shared[%tx] : memref<128xf32, 3>
    }
    gpu.barrier
    %first = arith.cmpi eq, %tx, %c0 : index
    scf.if %first {
      %total = memref.load %shared[%c0] : memref<128xf32, 3>
      %mine = memref.load %private[%c0] : memref<1xf32>
      %s = arith.addf %total, %mine : f32
      memref.store %s, %out[%bx] : memref<4xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// A loop holding barriers (a tiled kernel's loop over k tiles) stays one
// loop per block around the phases of its body.
// CHECK-LABEL: func.func @tiles(
// CHECK-NOT: gpu.
// CHECK: scf.for %[[BX:.*]] =
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %c8 step
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for %[[TX:.*]] =
// CHECK: memref.load %{{.*}}[%[[T]], %[[TX]]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[TX]]] : memref<32xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for %{{.*}} =
// CHECK: memref.load %{{.*}} : memref<32xf32>
// CHECK: memref.store
// CHECK-NOT: gpu.
func.func @tiles(%x: memref<8x32xf32>, %out: memref<32xf32>) {
  %c8 = arith.constant 8 : index
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %shared = memref.alloca() : memref<32xf32, 3>
    scf.for %t = %c0 to %c8 step %c1 {
      %v = memref.load %x[%t, %tx] : memref<8x32xf32>
      memref.store %v, %shared[%tx] : memref<32xf32, 3>
      gpu.barrier
      %mirror = arith.subi %c32, %tx : index
      %j = arith.subi %mirror, %c1 : index
      %w = memref.load %shared[%j] : memref<32xf32, 3>
      %o = memref.load %out[%tx] : memref<32xf32>
      %s = arith.addf %o, %w : f32
      memref.store %s, %out[%tx] : memref<32xf32>
      gpu.barrier
    }
    gpu.terminator
  }
  return
}
