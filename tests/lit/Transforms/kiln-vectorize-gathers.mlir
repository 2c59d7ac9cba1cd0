// kiln-vectorize-gathers: an im2col-style gather whose innermost loop reads
// consecutive source elements becomes rows of vector copies (16 lanes, then
// one 4-lane vector for the ragged end of 20 columns); a strided read stays
// a linalg.generic.
// RUN: kiln-opt %s -split-input-file -kiln-vectorize-gathers | FileCheck %s
// With parallel-min-work, a gather with at least that many elements (here
// the 3x4x20 one) splits its outermost loop across threads: scf.parallel.
// RUN: kiln-opt %s -split-input-file -kiln-vectorize-gathers="parallel-min-work=240" | FileCheck %s --check-prefix=PAR
// RUN: kiln-opt %s -split-input-file -kiln-vectorize-gathers="parallel-min-work=241" | FileCheck %s --check-prefix=SERIAL
// PAR-LABEL: func.func @window_rows
// PAR: scf.parallel (%[[P:.*]]) = (%c0{{.*}}) to (%c3{{.*}}) step (%c1{{.*}}) {
// PAR: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// PAR: vector.store {{.*}}[%[[P]], %[[I]], %c16{{.*}}] : memref<3x4x20xf32>, vector<4xf32>
// SERIAL-NOT: scf.parallel

#id = affine_map<(p, i, j) -> (p, i, j)>
// CHECK-LABEL: func.func @window_rows
// CHECK-NOT: linalg.generic
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %c16{{.*}} step %c16
// CHECK: %[[H:.*]] = arith.addi %[[I]], %[[P]] : index
// CHECK: %[[W:.*]] = arith.addi %[[J]], %[[P]] : index
// CHECK: %[[ROW:.*]] = vector.load %{{.*}}[%[[H]], %[[W]]] : memref<8x24xf32>, vector<16xf32>
// CHECK: vector.store %[[ROW]], %{{.*}}[%[[P]], %[[I]], %[[J]]] : memref<3x4x20xf32>, vector<16xf32>
// CHECK: vector.load {{.*}} : memref<8x24xf32>, vector<4xf32>
// CHECK: vector.store {{.*}}[%[[P]], %[[I]], %c16{{.*}}] : memref<3x4x20xf32>, vector<4xf32>
func.func @window_rows(%src: memref<8x24xf32>, %out: memref<3x4x20xf32>) {
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%out : memref<3x4x20xf32>) {
  ^bb0(%o: f32):
    %p = linalg.index 0 : index
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %h = arith.addi %i, %p : index
    %w = arith.addi %j, %p : index
    %v = memref.load %src[%h, %w] : memref<8x24xf32>
    linalg.yield %v : f32
  }
  return
}

// -----

#id = affine_map<(i, j) -> (i, j)>
// A stride-2 window reads every other element: not a row copy.
// CHECK-LABEL: func.func @strided_window
// CHECK: linalg.generic
// CHECK-NOT: vector.load
func.func @strided_window(%src: memref<4x40xf32>, %out: memref<4x20xf32>) {
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%out : memref<4x20xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %c2 = arith.constant 2 : index
    %w = arith.muli %j, %c2 : index
    %v = memref.load %src[%i, %w] : memref<4x40xf32>
    linalg.yield %v : f32
  }
  return
}

// -----

#id = affine_map<(i, j) -> (i, j)>
// The innermost index in a leading source index: a transposing gather.
// CHECK-LABEL: func.func @column_gather
// CHECK: linalg.generic
// CHECK-NOT: vector.load
func.func @column_gather(%src: memref<20x4xf32>, %out: memref<4x20xf32>) {
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%out : memref<4x20xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %v = memref.load %src[%j, %i] : memref<20x4xf32>
    linalg.yield %v : f32
  }
  return
}

// -----

#id = affine_map<(n, j) -> (n, j)>
// A chunk of a batched gather (a chunked im2col): the enclosing loop's
// induction variable offsets the image index; it is invariant in the body,
// so the rows are still vector copies. The output is a strided slice.
// CHECK-LABEL: func.func @chunk_of_batch
// CHECK: scf.for %[[FIRST:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NOT: linalg.generic
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[IMAGE:.*]] = arith.addi %[[FIRST]], %[[N]] : index
// CHECK: %[[ROW:.*]] = vector.load %{{.*}}[%[[IMAGE]], %{{.*}}] : memref<8x16xf32>, vector<16xf32>
// CHECK: vector.store %[[ROW]], %{{.*}} : memref<2x16xf32, strided<[16, 1], offset: ?>>, vector<16xf32>
// Big enough for threads (32 >= 24 elements), but inside a loop a parallel
// copy would wake the thread team once per chunk: it stays serial.
// RUN: kiln-opt %s -split-input-file -kiln-vectorize-gathers="parallel-min-work=24" | FileCheck %s --check-prefix=INLOOP
// INLOOP-LABEL: func.func @chunk_of_batch
// INLOOP-NOT: scf.parallel
// INLOOP: return
func.func @chunk_of_batch(%src: memref<8x16xf32>, %out: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  scf.for %first = %c0 to %c8 step %c2 {
    %slice = memref.subview %out[%first, 0] [2, 16] [1, 1] : memref<8x16xf32> to memref<2x16xf32, strided<[16, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
        outs(%slice : memref<2x16xf32, strided<[16, 1], offset: ?>>) {
    ^bb0(%o: f32):
      %n = linalg.index 0 : index
      %j = linalg.index 1 : index
      %image = arith.addi %first, %n : index
      %v = memref.load %src[%image, %j] : memref<8x16xf32>
      linalg.yield %v : f32
    }
  }
  return
}
