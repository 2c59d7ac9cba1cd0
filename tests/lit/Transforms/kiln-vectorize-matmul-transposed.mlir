// kiln-vectorize-matmul reads transposed operands in place (the maps that
// convert-kiln-to-linalg gives x W^T and dy^T x), no transposed copy:
// - B^T (map (j, k)): packing the panel reads each of its columns as a row
//   of the stored matrix, contiguous in k: 8 x 8 blocks load 8 floats of 8
//   stored rows and transpose them in registers (the 24 shuffles of AVX's
//   unpack, shufps and vperm2f128 transpose), k tails and ragged columns go
//   element by element; the ragged last panel (4 of 16 columns here) is zero-filled
//   past its columns and stored masked.
// - A^T (map (k, i)): rows of op(A) are columns of the stored matrix, m
//   floats apart; each MC-row chunk of the k block is packed into MR-row
//   micro-panels first, and the kernel broadcasts from them.
// RUN: kiln-opt %s -kiln-vectorize-matmul=vector-width=8 | FileCheck %s

// CHECK-LABEL: func.func @b_transposed
// CHECK-SAME: (%[[A:.*]]: memref<7x8xf32>, %[[BT:.*]]: memref<20x8xf32>, %[[C:.*]]: memref<7x20xf32>)
// CHECK: %[[PACK:.*]] = memref.alloca() {alignment = 64 : i64} : memref<1x256x16xf32>
// CHECK-NOT: memref.alloca
// CHECK: scf.for %[[J0:.*]] = %{{.*}} to %c16{{.*}} step %c8{{.*}} {
// CHECK: scf.for %[[KK0:.*]] = %{{.*}} to %{{.*}} step %c8{{.*}} {
// CHECK: %[[K:.*]] = arith.addi %{{.*}}, %[[KK0]] : index
// CHECK: %[[ROW0:.*]] = vector.load %[[BT]][%{{.*}}, %[[K]]] : memref<20x8xf32>, vector<8xf32>
// CHECK: %[[ROW1:.*]] = vector.load %[[BT]][%{{.*}}, %[[K]]]
// CHECK-COUNT-6: vector.load %[[BT]][%{{.*}}, %[[K]]]
// CHECK: vector.shuffle %[[ROW0]], %[[ROW1]] [0, 8, 1, 9, 4, 12, 5, 13] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle %[[ROW0]], %[[ROW1]] [2, 10, 3, 11, 6, 14, 7, 15] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-6: vector.shuffle
// CHECK: vector.shuffle {{.*}} [0, 1, 8, 9, 4, 5, 12, 13]
// CHECK: vector.shuffle {{.*}} [2, 3, 10, 11, 6, 7, 14, 15]
// CHECK-COUNT-6: vector.shuffle
// CHECK: vector.shuffle {{.*}} [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK: vector.shuffle {{.*}} [4, 5, 6, 7, 12, 13, 14, 15]
// CHECK-COUNT-6: vector.shuffle
// CHECK-NOT: vector.shuffle
// CHECK: vector.store %{{.*}}, %[[PACK]][%{{.*}}, %[[KK0]], %[[J0]]] : memref<1x256x16xf32>, vector<8xf32>
// CHECK-COUNT-7: vector.store %{{.*}}, %[[PACK]][%{{.*}}, %{{.*}}, %[[J0]]]
// The k tail past the last multiple of 8 (none of 8 here), element by element.
// CHECK: scf.for %[[JJ:.*]] = %{{.*}} to %c16{{.*}} step
// CHECK: %[[COL:.*]] = arith.addi %{{.*}}, %[[JJ]] : index
// CHECK: scf.for %[[KK:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[V:.*]] = memref.load %[[BT]][%[[COL]], %{{.*}}] : memref<20x8xf32>
// CHECK: memref.store %[[V]], %[[PACK]][%{{.*}}, %[[KK]], %[[JJ]]]
// CHECK: scf.for {{.*}} -> (vector<8xf32>
// CHECK: vector.load %[[PACK]]
// The last 4 columns: packed with zeros past them, stored masked.
// CHECK: scf.for %[[JJ4:.*]] = %{{.*}} to %c4{{.*}} step
// CHECK: memref.load %[[BT]]
// CHECK: scf.for %[[JJZ:.*]] = %c4{{.*}} to %c16{{.*}} step
// CHECK: scf.for %[[KKZ:.*]] = %{{.*}} to %{{.*}} step
// CHECK: memref.store %cst{{.*}}, %[[PACK]][%{{.*}}, %[[KKZ]], %[[JJZ]]]
// CHECK: vector.maskedstore %[[C]]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @b_transposed(%a: memref<7x8xf32>, %bt: memref<20x8xf32>, %c: memref<7x20xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (j, k)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %bt : memref<7x8xf32>, memref<20x8xf32>) outs(%c : memref<7x20xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// 130 rows: one chunk (half of a 512 KiB L2 holds 252 x 256 floats), 21
// full micro-panels and one of 4 rows; the buffer holds the 22 micro-panels
// of this 8-deep product, not MC x KC.
// CHECK-LABEL: func.func @a_transposed
// CHECK-SAME: (%[[AT:.*]]: memref<8x130xf32>, %[[B:.*]]: memref<8x16xf32>, %[[C:.*]]: memref<130x16xf32>)
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<1x256x16xf32>
// CHECK: %[[PACKA:.*]] = memref.alloca() {alignment = 64 : i64} : memref<22x8x6xf32>
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %c21{{.*}} step
// CHECK: scf.for %[[KK:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[V:.*]] = memref.load %[[AT]][%{{.*}}, %{{.*}}] : memref<8x130xf32>
// CHECK: memref.store %[[V]], %[[PACKA]][%[[P]], %[[KK]], %c0{{.*}}]
// CHECK-COUNT-5: memref.store %{{.*}}, %[[PACKA]]
// The 4-row micro-panel.
// CHECK-COUNT-4: memref.store %{{.*}}, %[[PACKA]][%c21
// CHECK: scf.for {{.*}} -> (vector<8xf32>
// CHECK: %[[S:.*]] = memref.load %[[PACKA]]
// CHECK: vector.broadcast %[[S]] : f32 to vector<8xf32>
// CHECK: scf.yield
// The 4-row tile.
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// CHECK: memref.load %[[PACKA]][%c21
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @a_transposed(%at: memref<8x130xf32>, %b: memref<8x16xf32>, %c: memref<130x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (k, i)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%at, %b : memref<8x130xf32>, memref<8x16xf32>) outs(%c : memref<130x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
