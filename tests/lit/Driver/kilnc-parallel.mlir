// Host objects run big independent loops on OpenMP threads (libomp's
// __kmpc_fork_call); --no-parallel and cross targets keep one thread and
// need no OpenMP runtime (device objects stay freestanding).
// RUN: kilnc %s --emit=obj -o %t.o
// RUN: llvm-nm -u %t.o | FileCheck %s --check-prefix=HOST
// RUN: kilnc %s --emit=obj --no-parallel -o %t.serial.o
// RUN: llvm-nm -u %t.serial.o | FileCheck %s --check-prefix=SERIAL
// RUN: kilnc %s --emit=obj --target=aarch64-linux-gnu -o %t.arm.o
// RUN: llvm-nm -u %t.arm.o | FileCheck %s --check-prefix=SERIAL
// RUN: kilnc %s --emit=obj --target=aarch64-linux-gnu --parallel -o %t.armpar.o
// RUN: llvm-nm -u %t.armpar.o | FileCheck %s --check-prefix=HOST
// HOST: __kmpc_fork_call
// SERIAL-NOT: __kmpc

func.func @f(%x: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = kiln.mul %x, %x : tensor<256x512xf32>, tensor<256x512xf32> -> tensor<256x512xf32>
  return %e : tensor<256x512xf32>
}
