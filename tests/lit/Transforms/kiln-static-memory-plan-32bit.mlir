// The memory plan knows the target's pointer width: a 3 GiB buffer is
// planned for a 64-bit target and an error for a 32-bit one (Cortex-M,
// riscv32), at the op that needs it.
// RUN: kiln-opt %s -split-input-file -kiln-static-memory-plan=pointer-bits=32 -verify-diagnostics
// RUN: kiln-opt %s -split-input-file -kiln-static-memory-plan | FileCheck %s

// CHECK: kiln.arena_bytes = 3221225472 : i64
func.func @three_gib(%out: memref<f32>) {
  // expected-error @+1 {{a buffer of type 'memref<805306368xf32>' does not fit the 32-bit address space of the target (at most 2147483647 bytes)}}
  %a = memref.alloc() : memref<805306368xf32>
  %c0 = arith.constant 0 : index
  %v = memref.load %a[%c0] : memref<805306368xf32>
  memref.store %v, %out[] : memref<f32>
  return
}

// -----

// Two 1.5 GiB buffers alive together: each fits, their sum does not.
// CHECK: kiln.arena_bytes = 3221225472 : i64
func.func @two_halves() {
  %a = memref.alloc() : memref<402653184xf32>
  // expected-error @+1 {{the scratch memory of 'two_halves' (2 buffers) does not fit the 32-bit address space of the target (at most 2147483647 bytes)}}
  %b = memref.alloc() : memref<402653184xf32>
  memref.copy %a, %b : memref<402653184xf32> to memref<402653184xf32>
  return
}
