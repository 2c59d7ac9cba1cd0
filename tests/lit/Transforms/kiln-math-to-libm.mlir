// kiln-math-to-libm (kilnc --no-approx-math): the math ops LLVM has no
// intrinsic for become libm calls, a vector op one call per lane; the
// others (exp here) are left for convert-math-to-llvm.
// RUN: kiln-opt %s -kiln-math-to-libm | FileCheck %s

// CHECK-DAG: func.func private @tanhf(f32) -> f32
// CHECK-DAG: func.func private @erff(f32) -> f32
// CHECK-DAG: func.func private @atan2f(f32, f32) -> f32
// CHECK-LABEL: func.func @scalars
// CHECK: call @tanhf(%arg0) : (f32) -> f32
// CHECK: call @erff(%arg0) : (f32) -> f32
// CHECK: call @atan2f(%arg0, %arg1) : (f32, f32) -> f32
// CHECK: math.exp %arg0 : f32
func.func @scalars(%x: f32, %y: f32) -> (f32, f32, f32, f32) {
  %t = math.tanh %x : f32
  %e = math.erf %x : f32
  %a = math.atan2 %x, %y : f32
  %x2 = math.exp %x : f32
  return %t, %e, %a, %x2 : f32, f32, f32, f32
}

// CHECK-LABEL: func.func @lanes
// CHECK-COUNT-4: call @tanhf
// CHECK-NOT: math.tanh
// CHECK: return
func.func @lanes(%x: vector<4xf32>) -> vector<4xf32> {
  %t = math.tanh %x : vector<4xf32>
  return %t : vector<4xf32>
}
