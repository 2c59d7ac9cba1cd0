// kiln-emulate-gpu-launches: a gpu.launch becomes loops over blocks, then
// threads, around its body, the ids being the induction variables and the
// sizes the launch's operands; nothing of the gpu dialect is left.
// RUN: kiln-opt %s -kiln-emulate-gpu-launches | FileCheck %s

// CHECK-LABEL: func.func @scale(
// CHECK-SAME: %[[X:.*]]: memref<300xf32>
// CHECK-NOT: gpu.
// CHECK-DAG: %[[GRID:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 256 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[BX:.*]] = %{{.*}} to %[[GRID]] step
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %[[BLOCK]] step
// CHECK: %[[BASE:.*]] = arith.muli %[[BX]], %[[BLOCK]] : index
// CHECK: %[[I:.*]] = arith.addi %[[BASE]], %[[TX]] : index
// CHECK: memref.load %[[X]][%[[I]]]
// CHECK-NOT: gpu.
func.func @scale(%x: memref<300xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c256 = arith.constant 256 : index
  %c300 = arith.constant 300 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %base = arith.muli %bx, %sx : index
    %i = arith.addi %base, %tx : index
    %in = arith.cmpi ult, %i, %c300 : index
    scf.if %in {
      %v = memref.load %x[%i] : memref<300xf32>
      %d = arith.addf %v, %v : f32
      memref.store %d, %x[%i] : memref<300xf32>
    }
    gpu.terminator
  }
  return
}
