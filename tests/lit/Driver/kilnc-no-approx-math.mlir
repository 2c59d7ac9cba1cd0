// --no-approx-math keeps libm's accuracy: math.tanh, which has no LLVM
// intrinsic, becomes a call of tanhf (f32) instead of failing translation;
// exp stays llvm.exp (expf).
// RUN: kilnc %s --no-approx-math --emit=obj -o %t.o
// RUN: llvm-nm -u %t.o | FileCheck %s
// RUN: kilnc %s --no-approx-math --emit=llvm -o - | FileCheck %s --check-prefix=IR
// CHECK-DAG: expf
// CHECK-DAG: tanhf
// IR: declare float @tanhf(float)

func.func @f(%x: tensor<37xf32>) -> tensor<37xf32> {
  %t = kiln.tanh %x : tensor<37xf32>
  %e = kiln.exp %t : tensor<37xf32>
  return %e : tensor<37xf32>
}
