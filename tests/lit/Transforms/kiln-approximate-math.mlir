// kiln-approximate-math replaces f32 exp, log and tanh (scalar and vector)
// with polynomials built from arith and fma: no libm call remains.
// RUN: kiln-opt %s -kiln-approximate-math | FileCheck %s

// CHECK-LABEL: func.func @exp
// CHECK-NOT: math.exp
// CHECK: math.fma
// CHECK-NOT: math.exp
// CHECK: return
func.func @exp(%x: f32) -> f32 {
  %e = math.exp %x : f32
  return %e : f32
}

// CHECK-LABEL: func.func @exp_vector
// CHECK-NOT: math.exp
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK-NOT: math.exp
// CHECK: return
func.func @exp_vector(%x: vector<8xf32>) -> vector<8xf32> {
  %e = math.exp %x : vector<8xf32>
  return %e : vector<8xf32>
}

// CHECK-LABEL: func.func @log
// CHECK-NOT: math.log
// CHECK: math.fma
// CHECK-NOT: math.log
// CHECK: return
func.func @log(%x: f32) -> f32 {
  %l = math.log %x : f32
  return %l : f32
}

// CHECK-LABEL: func.func @tanh
// CHECK-NOT: math.tanh
// CHECK: math.fma
// CHECK-NOT: math.tanh
// CHECK: return
func.func @tanh(%x: f32) -> f32 {
  %t = math.tanh %x : f32
  return %t : f32
}

// Inside loops, as the CPU pipeline produces them (log_softmax after
// convert-linalg-to-loops).
// CHECK-LABEL: func.func @in_loop
// CHECK: scf.for
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: return
func.func @in_loop(%m: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.for %i = %c0 to %c16 step %c1 {
    %x = memref.load %m[%i] : memref<16xf32>
    %e = math.exp %x : f32
    %l = math.log %e : f32
    memref.store %l, %m[%i] : memref<16xf32>
  }
  return
}
