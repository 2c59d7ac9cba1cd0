// kiln-expand-math-for-nvptx: the math ops convert-gpu-to-nvvm would turn
// into libdevice calls (kiln links no libdevice) become arith ops, and fma
// the llvm.intr.fma NVPTX selects as fma.rn.
// RUN: kiln-opt %s -kiln-expand-math-for-nvptx | FileCheck %s

// floor: below 2^23 an i64 round trip, minus one where truncation went up,
// the sign of x kept (floor(-0.0) = -0.0); NaN, infinities and large
// values pass through.
// CHECK-LABEL: func.func @floor(
// CHECK-SAME: %[[X:.*]]: f32
// CHECK-NOT: math.
// CHECK-DAG: %[[LIMIT:.*]] = arith.constant 0x4B000000 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[SMALL:.*]] = arith.cmpf olt, %{{.*}}, %[[LIMIT]] : f32
// CHECK: %[[INT:.*]] = arith.fptosi %[[X]] : f32 to i64
// CHECK: %[[TRUNC:.*]] = arith.sitofp %[[INT]] : i64 to f32
// CHECK: %[[UP:.*]] = arith.cmpf ogt, %[[TRUNC]], %[[X]] : f32
// CHECK: %[[DOWN:.*]] = arith.subf %[[TRUNC]], %[[ONE]] : f32
// CHECK: arith.select %[[UP]], %[[DOWN]], %[[TRUNC]] : f32
// CHECK: arith.ori
// CHECK: %[[ROUNDED:.*]] = arith.bitcast %{{.*}} : i32 to f32
// CHECK: %[[R:.*]] = arith.select %[[SMALL]], %[[ROUNDED]], %[[X]] : f32
// CHECK: return %[[R]]
func.func @floor(%x: f32) -> f32 {
  %r = math.floor %x : f32
  return %r : f32
}

// ceil on f64: the limit is 2^52, the step is +1 where truncation went down.
// CHECK-LABEL: func.func @ceil(
// CHECK-NOT: math.
// CHECK-DAG: arith.constant 0x4330000000000000 : f64
// CHECK: arith.cmpf olt, %{{.*}}, %{{.*}} : f64
// CHECK: arith.addf
// CHECK: return
func.func @ceil(%x: f64) -> f64 {
  %r = math.ceil %x : f64
  return %r : f64
}

// |x| clears the sign bit; copysign ORs y's sign into x's magnitude.
// CHECK-LABEL: func.func @abs_copysign(
// CHECK-SAME: %[[A:.*]]: f32, %[[B:.*]]: f32
// CHECK-NOT: math.
// CHECK-DAG: %[[MAGNITUDE:.*]] = arith.constant 2147483647 : i32
// CHECK-DAG: %[[SIGN:.*]] = arith.constant -2147483648 : i32
// CHECK: %[[ABITS:.*]] = arith.bitcast %[[A]] : f32 to i32
// CHECK: %[[ABS:.*]] = arith.andi %[[ABITS]], %[[MAGNITUDE]] : i32
// CHECK: arith.bitcast %[[ABS]] : i32 to f32
// CHECK: arith.andi %{{.*}}, %[[SIGN]] : i32
// CHECK: arith.ori
// CHECK: return
func.func @abs_copysign(%a: f32, %b: f32) -> (f32, f32) {
  %abs = math.absf %a : f32
  %c = math.copysign %abs, %b : f32
  return %abs, %c : f32, f32
}

// CHECK-LABEL: func.func @fma(
// CHECK: %[[R:.*]] = llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}}) : (f32, f32, f32) -> f32
// CHECK: return %[[R]]
func.func @fma(%a: f32, %b: f32, %c: f32) -> f32 {
  %r = math.fma %a, %b, %c : f32
  return %r : f32
}
