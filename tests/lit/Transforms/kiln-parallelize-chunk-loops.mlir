// kiln-parallelize-chunk-loops: a chunk loop marked kiln.chunk_lanes becomes
// an scf.parallel over lanes, each running its own contiguous range of
// chunks (here 5 chunks of 2 images: lanes of 3 and 2 chunks) with its own
// copy of each buffer the body allocates, chosen by lane, and of each
// zero-filled sum it adds into. Unmarked loops, and every loop with
// lanes=1, stay as they are; the mark is dropped.
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

// A loop that adds into a zero-filled buffer from outside (a weight
// gradient's sum): lane 1 sums into its own zero-filled copy, made before
// the loop and added to lane 0's after it.
// CHECK-LABEL: func.func @sum
// CHECK-SAME: (%[[X:.*]]: memref<10x16xf32>)
// CHECK: %[[SUM:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[SUM]] : memref<16xf32>)
// CHECK: %[[SUM1:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[SUM1]] : memref<16xf32>)
// CHECK: scf.parallel (%[[LANE:.*]]) =
// CHECK: %[[IS1:.*]] = arith.cmpi eq, %[[LANE]], %{{.*}}
// CHECK: %[[LANESUM:.*]] = arith.select %[[IS1]], %[[SUM1]], %[[SUM]] : memref<16xf32>
// CHECK: scf.for
// CHECK: outs(%[[LANESUM]] : memref<16xf32>)
// CHECK: scf.yield
// CHECK: linalg.generic {{.*}} ins(%[[SUM1]] : memref<16xf32>) outs(%[[SUM]] : memref<16xf32>)
// CHECK: arith.addf
// CHECK: return %[[SUM]]
func.func @sum(%x: memref<10x16xf32>) -> memref<16xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<16xf32>)
  scf.for %first = %c0 to %c10 step %c2 {
    %in = memref.subview %x[%first, 0] [2, 16] [1, 1] : memref<10x16xf32> to memref<2x16xf32, strided<[16, 1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>], iterator_types = ["reduction", "parallel"]}
        ins(%in : memref<2x16xf32, strided<[16, 1], offset: ?>>) outs(%sum : memref<16xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %s = arith.addf %acc, %v : f32
      linalg.yield %s : f32
    }
  } {kiln.chunk_lanes}
  return %sum : memref<16xf32>
}

// -----

// A marked loop that adds into a buffer not zero-filled before it: the
// lanes' split sums would not add up to the loop's; it stays serial.
// CHECK-LABEL: func.func @not_from_zero
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK-NOT: kiln.chunk_lanes
func.func @not_from_zero(%x: memref<10x16xf32>) -> memref<16xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %one = arith.constant 1.0 : f32
  %sum = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.fill ins(%one : f32) outs(%sum : memref<16xf32>)
  scf.for %first = %c0 to %c10 step %c2 {
    %in = memref.subview %x[%first, 0] [2, 16] [1, 1] : memref<10x16xf32> to memref<2x16xf32, strided<[16, 1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>], iterator_types = ["reduction", "parallel"]}
        ins(%in : memref<2x16xf32, strided<[16, 1], offset: ?>>) outs(%sum : memref<16xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %s = arith.addf %acc, %v : f32
      linalg.yield %s : f32
    }
  } {kiln.chunk_lanes}
  return %sum : memref<16xf32>
}

// -----

// An unmarked loop stays serial.
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
