// kiln-map-to-gpu: every linalg op of a planned function becomes one 1-D
// gpu.launch, one thread per point of the parallel iteration space, the
// reduction dimensions looped inside the thread; a copy of a splat global
// becomes a fill; arena views are cloned into the kernel so only the
// function's arguments cross into it; nothing touches memory on the host.
// RUN: kiln-opt %s -split-input-file -kiln-map-to-gpu | FileCheck %s

// Row sums of a 300x5 view of the arena: 300 threads in 2 blocks of 256,
// a loop over the 5 columns.
// CHECK-LABEL: func.func @row_sum(
// CHECK-SAME: %[[ARENA:.*]]: memref<8192xi8>
// CHECK-NOT: memref.view
// CHECK-DAG: %[[GRID:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 256 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[BLOCK]],
// CHECK: arith.cmpi ult, %{{.*}}, %c300
// CHECK: scf.if
// CHECK: %[[ROW:.*]] = arith.remui %{{.*}}, %c300
// CHECK: scf.for %[[COL:.*]] = %c0{{.*}} to %c5
// CHECK: %[[IN:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<8192xi8> to memref<300x5xf32>
// CHECK: %[[X:.*]] = memref.load %[[IN]][%[[ROW]], %[[COL]]]
// CHECK: %[[OUT:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<8192xi8> to memref<300xf32>
// CHECK: %[[ACC:.*]] = memref.load %[[OUT]][%[[ROW]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[X]], %[[ACC]]
// CHECK: memref.store %[[SUM]], %[[OUT]][%[[ROW]]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @row_sum(%arena: memref<8192xi8>) {
  %c0 = arith.constant 0 : index
  %c6000 = arith.constant 6000 : index
  %in = memref.view %arena[%c0][] : memref<8192xi8> to memref<300x5xf32>
  %out = memref.view %arena[%c6000][] : memref<8192xi8> to memref<300xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%in : memref<300x5xf32>) outs(%out : memref<300xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A full reduction to a 0-d output is still a kernel (one thread), and a
// copy of a zero constant global becomes a fill kernel: no host access to
// the device pointers, no host address in a kernel.
// CHECK-LABEL: func.func @sum_all(
// CHECK-NOT: memref.get_global
// CHECK: gpu.launch
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: memref.store %[[ZERO]], %{{.*}}[%{{.*}}] : memref<4xf32>
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: memref.load %{{.*}}[] : memref<f32>
// CHECK: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK: gpu.terminator
// CHECK-NOT: memref.copy
// CHECK: return
memref.global "private" constant @zeros : memref<4xf32> = dense<0.0>
func.func @sum_all(%x: memref<4xf32>, %acc: memref<4xf32>, %out: memref<f32>) {
  %z = memref.get_global @zeros : memref<4xf32>
  memref.copy %z, %acc : memref<4xf32> to memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<4xf32>) outs(%out : memref<f32>) {
  ^bb0(%v: f32, %a: f32):
    %s = arith.addf %v, %a : f32
    linalg.yield %s : f32
  }
  return
}


// -----

// The dropout counter pattern: a read of state in the arena whose update
// comes after the read's last use moves into the kernel that uses it; the
// update is a kernel of its own, after it.
// CHECK-LABEL: func.func @counter(
// CHECK-NOT: memref.load
// CHECK: gpu.launch
// CHECK: %[[VIEW:.*]] = memref.view %{{.*}}[%c0{{.*}}][] : memref<64xi8> to memref<i64>
// CHECK: %[[COUNT:.*]] = memref.load %[[VIEW]][] : memref<i64>
// CHECK: arith.addi %[[COUNT]], %{{.*}} : i64
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: return
func.func @counter(%arena: memref<64xi8>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c1_i64 = arith.constant 1 : i64
  %state = memref.view %arena[%c0][] : memref<64xi8> to memref<i64>
  %bits = memref.view %arena[%c8][] : memref<64xi8> to memref<4xi64>
  %count = memref.load %state[] : memref<i64>
  %next = arith.addi %count, %c1_i64 : i64
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      outs(%bits : memref<4xi64>) {
  ^bb0(%out: i64):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i64
    %v = arith.addi %next, %ii : i64
    linalg.yield %v : i64
  }
  linalg.fill ins(%c1_i64 : i64) outs(%state : memref<i64>)
  return
}

// -----

// A loop nest at the top level (what gather, scatter_add, slice and concat
// lower to) runs as one thread, in order: repeated scatter indices add up
// as on the CPU.
// CHECK-LABEL: func.func @scatter(
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[ONE]],
// CHECK: scf.for
// CHECK: memref.load
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: scf.for
// CHECK: return
func.func @scatter(%idx: memref<4xindex>, %src: memref<4xf32>, %acc: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %at = memref.load %idx[%i] : memref<4xindex>
    %old = memref.load %acc[%at] : memref<8xf32>
    %add = memref.load %src[%i] : memref<4xf32>
    %sum = arith.addf %old, %add : f32
    memref.store %sum, %acc[%at] : memref<8xf32>
  }
  return
}
