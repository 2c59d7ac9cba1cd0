// kiln-parallelize-chunk-loops: a chunk loop marked kiln.chunk_lanes becomes
// an scf.parallel over lanes, each running its own contiguous range of
// chunks (here 5 chunks of 2 images: lanes of 3 and 2 chunks) with its own
// copy of each buffer the body allocates, chosen by lane. Unmarked loops,
// and every loop with lanes=1, stay as they are; the mark is dropped.
// RUN: kiln-opt %s -split-input-file -kiln-parallelize-chunk-loops | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-parallelize-chunk-loops=lanes=1 | FileCheck %s --check-prefix=SERIAL

// CHECK-LABEL: func.func @chunks
// CHECK-SAME: (%[[X:.*]]: memref<10x16xf32>, %[[Y:.*]]: memref<10x16xf32>)
// CHECK: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[C10:.*]] = arith.constant 10 : index
// CHECK: %[[LANES:.*]] = arith.constant 2 : index
// CHECK: scf.parallel (%[[LANE:.*]]) = (%{{.*}}) to (%[[LANES]]) step (%{{.*}}) {
// CHECK: %[[A0:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x16xf32>
// CHECK: %[[C6:.*]] = arith.constant 6 : index
// CHECK: %[[OFFSET:.*]] = arith.muli %[[LANE]], %[[C6]]
// CHECK: %[[BEGIN:.*]] = arith.addi %{{.*}}, %[[OFFSET]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[BEGIN]], %{{.*}}
// CHECK: %[[END:.*]] = arith.minsi %[[C10]], %[[NEXT]]
// CHECK: %[[A1:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x16xf32>
// CHECK: %[[IS1:.*]] = arith.cmpi eq, %[[LANE]], %{{.*}}
// CHECK: %[[BUF:.*]] = arith.select %[[IS1]], %[[A1]], %[[A0]] : memref<2x16xf32>
// CHECK: scf.for %[[FIRST:.*]] = %[[BEGIN]] to %[[END]] step %[[C2]] {
// CHECK-NOT: memref.alloc
// CHECK: memref.subview %[[X]][%[[FIRST]], 0]
// CHECK: memref.copy %{{.*}}, %[[BUF]]
// CHECK: memref.copy %[[BUF]], %{{.*}}
// CHECK-NOT: kiln.chunk_lanes
// CHECK: return
// SERIAL-LABEL: func.func @chunks
// SERIAL-NOT: scf.parallel
// SERIAL: scf.for
// SERIAL-NOT: kiln.chunk_lanes
// SERIAL: return
func.func @chunks(%x: memref<10x16xf32>, %y: memref<10x16xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  scf.for %first = %c0 to %c10 step %c2 {
    %buffer = memref.alloc() {alignment = 64 : i64} : memref<2x16xf32>
    %in = memref.subview %x[%first, 0] [2, 16] [1, 1] : memref<10x16xf32> to memref<2x16xf32, strided<[16, 1], offset: ?>>
    memref.copy %in, %buffer : memref<2x16xf32, strided<[16, 1], offset: ?>> to memref<2x16xf32>
    %out = memref.subview %y[%first, 0] [2, 16] [1, 1] : memref<10x16xf32> to memref<2x16xf32, strided<[16, 1], offset: ?>>
    memref.copy %buffer, %out : memref<2x16xf32> to memref<2x16xf32, strided<[16, 1], offset: ?>>
  } {kiln.chunk_lanes}
  return
}

// -----

// An unmarked loop (a weight gradient accumulating over chunks) stays
// serial.
// CHECK-LABEL: func.func @unmarked
// CHECK-NOT: scf.parallel
// CHECK: scf.for
func.func @unmarked(%x: memref<10x16xf32>, %acc: memref<2x16xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  scf.for %first = %c0 to %c10 step %c2 {
    %in = memref.subview %x[%first, 0] [2, 16] [1, 1] : memref<10x16xf32> to memref<2x16xf32, strided<[16, 1], offset: ?>>
    memref.copy %in, %acc : memref<2x16xf32, strided<[16, 1], offset: ?>> to memref<2x16xf32>
  }
  return
}
