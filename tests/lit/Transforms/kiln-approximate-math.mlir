// kiln-approximate-math replaces f32 exp, log, tanh and powf (scalar and
// vector) with kiln's own arith code: no libm call remains, and no math.fma
// or math.floor either (fmaf/floorf calls on a Cortex-M4).
// RUN: kiln-opt %s -kiln-approximate-math | FileCheck %s --implicit-check-not=math.fma --implicit-check-not=math.floor

// Cody-Waite reduction: k = round(x log2 e) by fptosi, 2^k from exponent
// bits (shifted into place, bitcast), Cephes' polynomial.
// CHECK-LABEL: func.func @exp
// CHECK-NOT: math.exp
// CHECK: arith.constant 1.98756912E-4 : f32
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: arith.shli
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK-NOT: math.exp
// CHECK: return
func.func @exp(%x: f32) -> f32 {
  %e = math.exp %x : f32
  return %e : f32
}

// CHECK-LABEL: func.func @exp_vector
// CHECK-NOT: math.exp
// CHECK: arith.fptosi %{{.*}} : vector<8xf32> to vector<8xi32>
// CHECK: arith.bitcast %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK-NOT: math.exp
// CHECK: return
func.func @exp_vector(%x: vector<8xf32>) -> vector<8xf32> {
  %e = math.exp %x : vector<8xf32>
  return %e : vector<8xf32>
}

// Mantissa and exponent from the bits; -inf at 0, NaN below.
// CHECK-LABEL: func.func @log
// CHECK-NOT: math.log
// CHECK: arith.constant 0.0703768358 : f32
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.cmpf ult
// CHECK-NOT: math.log
// CHECK: return
func.func @log(%x: f32) -> f32 {
  %l = math.log %x : f32
  return %l : f32
}

// The exp form above 0.625, the sign copied back through the bits.
// CHECK-LABEL: func.func @tanh
// CHECK-NOT: math.tanh
// CHECK: arith.divf
// CHECK: arith.cmpf oge
// CHECK: arith.andi
// CHECK-NOT: math.tanh
// CHECK: return
func.func @tanh(%x: f32) -> f32 {
  %t = math.tanh %x : f32
  return %t : f32
}

// Double-float products split at 12 bits (0xFFFFF000 = -4096).
// CHECK-LABEL: func.func @powf
// CHECK-NOT: math.powf
// CHECK: arith.constant -4096 : i32
// CHECK-NOT: math.powf
// CHECK: return
func.func @powf(%x: f32, %y: f32) -> f32 {
  %p = math.powf %x, %y : f32
  return %p : f32
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

// f64 is left alone (not a model type on the embedded targets).
// CHECK-LABEL: func.func @f64_untouched
// CHECK: math.exp %{{.*}} : f64
func.func @f64_untouched(%x: f64) -> f64 {
  %e = math.exp %x : f64
  return %e : f64
}
