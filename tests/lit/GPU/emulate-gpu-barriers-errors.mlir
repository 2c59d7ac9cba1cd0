// What kiln-emulate-gpu-launches cannot run exactly it refuses, naming why.
// RUN: kiln-opt %s -split-input-file -kiln-emulate-gpu-launches -verify-diagnostics

// A loaded value is a thread's register: it cannot cross a barrier.
func.func @load_across_barrier(%x: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error@+1 {{this value is used across a gpu.barrier (only memory may carry state across one)}}
    %v = memref.load %x[%tx] : memref<32xf32>
    gpu.barrier
    memref.store %v, %x[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

// Threads may disagree about a barrier under a condition.
func.func @conditional_barrier(%x: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %c16 = arith.constant 16 : index
    %low = arith.cmpi ult, %tx, %c16 : index
    // expected-error@+1 {{a gpu.barrier may only sit at the top level of the kernel or in an scf.for without results there}}
    scf.if %low {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// A loop whose trip count depends on the thread cannot hold a barrier.
func.func @thread_dependent_loop(%x: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error@+1 {{a loop around a gpu.barrier has bounds that depend on the thread}}
    scf.for %i = %c0 to %tx step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// Memory allocated below the top level would be per phase, not per thread.
func.func @nested_alloca(%x: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    scf.for %i = %c0 to %c1 step %c1 {
      // expected-error@+1 {{kernel memory must be allocated at the top level of the launch}}
      %a = memref.alloca() : memref<4xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// Without a barrier at the end of the body, a fast thread starts the next
// iteration (overwriting shared memory) while a slow one still reads it;
// the emulation would separate them: refused.
func.func @loop_without_trailing_barrier(%x: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %shared = memref.alloca() : memref<32xf32, 3>
    // expected-error@+1 {{a loop holding gpu.barriers must follow a gpu.barrier (or start the kernel) and end its body with one}}
    scf.for %i = %c0 to %c4 step %c1 {
      %v = memref.load %x[%tx] : memref<32xf32>
      memref.store %v, %shared[%tx] : memref<32xf32, 3>
      gpu.barrier
      %w = memref.load %shared[%c0] : memref<32xf32, 3>
      memref.store %w, %x[%tx] : memref<32xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// Work before the loop and its first iteration are one phase on a GPU.
func.func @loop_after_work(%x: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %shared = memref.alloca() : memref<32xf32, 3>
    %v = memref.load %x[%tx] : memref<32xf32>
    memref.store %v, %shared[%tx] : memref<32xf32, 3>
    // expected-error@+1 {{a loop holding gpu.barriers must follow a gpu.barrier (or start the kernel) and end its body with one}}
    scf.for %i = %c0 to %c4 step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}
