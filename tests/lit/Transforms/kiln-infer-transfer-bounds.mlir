// kiln-infer-transfer-bounds: a vector transfer whose index cannot pass
// size - lanes gets in_bounds = [true] (a plain load or store after
// vector-to-llvm); one that can keeps its mask, as do unknown indices. A
// loop whose last vector alone passes the end (a 196-element row by 8: the
// last starts at 192) is split: 0 to 192 with plain transfers, then a copy
// for the last vector, which keeps its masks.
// RUN: kiln-opt %s -split-input-file -kiln-infer-transfer-bounds | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-infer-transfer-bounds -convert-vector-to-llvm | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @rows
// CHECK: vector.transfer_write %{{.*}}, %arg0[%{{.*}}, %{{.*}}] {in_bounds = [true]} : vector<8xf32>, memref<4x3136xf32>
// CHECK: vector.transfer_read %arg0[%{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : memref<4x3136xf32>, vector<8xf32>
// CHECK: affine.for %[[J:.*]] = 0 to 192 step 8 {
// CHECK-NEXT: vector.transfer_write %{{.*}}, %arg1[%{{.*}}, %[[J]]] {in_bounds = [true]} : vector<8xf32>, memref<4x196xf32>
// CHECK: affine.for %[[LAST:.*]] = 192 to 196 step 8 {
// CHECK-NEXT: vector.transfer_write %{{.*}}, %arg1[%{{.*}}, %[[LAST]]] : vector<8xf32>, memref<4x196xf32>
// LLVM-LABEL: func.func @rows
// LLVM-NOT: masked
// LLVM: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : !llvm.ptr<vector<8xf32>>
// LLVM-NOT: masked
// LLVM: affine.for %{{.*}} = 0 to 192 step 8
// LLVM-NOT: masked
// LLVM: affine.for %{{.*}} = 192 to 196 step 8
// LLVM: llvm.intr.masked.store
func.func @rows(%a: memref<4x3136xf32>, %b: memref<4x196xf32>) {
  %zero = arith.constant dense<0.0> : vector<8xf32>
  %pad = arith.constant 0.0 : f32
  affine.for %i = 0 to 4 {
    affine.for %j = 0 to 3136 step 8 {
      vector.transfer_write %zero, %a[%i, %j] : vector<8xf32>, memref<4x3136xf32>
      %v = vector.transfer_read %a[%i, %j], %pad : memref<4x3136xf32>, vector<8xf32>
    }
    affine.for %j = 0 to 196 step 8 {
      vector.transfer_write %zero, %b[%i, %j] : vector<8xf32>, memref<4x196xf32>
    }
  }
  return
}

// -----

// Offsets through affine.apply and arith ops, and scf.for loops: 0..8 step
// 4 plus 2 ends at 6 (6 + 4 <= 10 fits, 6 + 4 > 9 does not).
// CHECK-LABEL: func.func @offsets
// CHECK: vector.transfer_read %arg0[{{.*}}], %{{.*}} {in_bounds = [true]} : memref<10xf32>, vector<4xf32>
// CHECK: vector.transfer_read %arg1[{{.*}}], %{{.*}} : memref<9xf32>, vector<4xf32>
// CHECK: vector.transfer_write %{{.*}}, %arg0[{{.*}}] {in_bounds = [true]} : vector<4xf32>, memref<10xf32>
// CHECK: vector.transfer_write %{{.*}}, %arg1[{{.*}}] : vector<4xf32>, memref<9xf32>
func.func @offsets(%a: memref<10xf32>, %b: memref<9xf32>) {
  %pad = arith.constant 0.0 : f32
  affine.for %i = 0 to 8 step 4 {
    %k = affine.apply affine_map<(d0) -> (d0 + 2)>(%i)
    %v = vector.transfer_read %a[%k], %pad : memref<10xf32>, vector<4xf32>
    %w = vector.transfer_read %b[%k], %pad : memref<9xf32>, vector<4xf32>
  }
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %v0 = arith.constant dense<1.0> : vector<4xf32>
  scf.for %i = %c0 to %c8 step %c4 {
    %k = arith.addi %i, %c2 : index
    vector.transfer_write %v0, %a[%k] : vector<4xf32>, memref<10xf32>
    vector.transfer_write %v0, %b[%k] : vector<4xf32>, memref<9xf32>
  }
  return
}

// -----

// An index the pass cannot bound (a function argument) keeps its mask; a
// broadcast dim counts as in bounds.
// CHECK-LABEL: func.func @unknown
// CHECK: vector.transfer_read %arg0[%arg1], %{{.*}} : memref<64xf32>, vector<8xf32>
// CHECK: vector.transfer_read %arg2[%{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true, true], permutation_map = #{{.*}}} : memref<4x16xf32>, vector<4x8xf32>
func.func @unknown(%a: memref<64xf32>, %n: index, %c: memref<4x16xf32>) {
  %pad = arith.constant 0.0 : f32
  %v = vector.transfer_read %a[%n], %pad : memref<64xf32>, vector<8xf32>
  affine.for %j = 0 to 16 step 8 {
    %c0 = arith.constant 0 : index
    %w = vector.transfer_read %c[%c0, %j], %pad {permutation_map = affine_map<(d0, d1) -> (0, d1)>} : memref<4x16xf32>, vector<4x8xf32>
  }
  return
}

// -----

// Not split: a loop whose transfers would not fit anyway (an index the pass
// cannot bound), and one with results (a reduction's partial sums). The
// copy of a loop marked for threads is not marked: one vector.
// CHECK-LABEL: func.func @not_split
// CHECK: affine.for %{{.*}} = 0 to 20 step 8 {
// CHECK: affine.for %{{.*}} = 0 to 20 step 8 iter_args
// CHECK: affine.for %{{.*}} = 0 to 16 step 8 {
// CHECK-NEXT: vector.transfer_write {{.*}} {in_bounds = [true]}
// CHECK-NEXT: } {kiln.parallel}
// CHECK: affine.for %{{.*}} = 16 to 20 step 8 {
// CHECK-NEXT: vector.transfer_write
// CHECK-NOT: in_bounds
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @not_split(%a: memref<64xf32>, %n: index, %b: memref<20xf32>) -> vector<8xf32> {
  %pad = arith.constant 0.0 : f32
  %zero = arith.constant dense<0.0> : vector<8xf32>
  affine.for %j = 0 to 20 step 8 {
    %v = vector.transfer_read %a[%n], %pad : memref<64xf32>, vector<8xf32>
  }
  %sum = affine.for %j = 0 to 20 step 8 iter_args(%acc = %zero) -> vector<8xf32> {
    %v = vector.transfer_read %b[%j], %pad : memref<20xf32>, vector<8xf32>
    %s = arith.addf %acc, %v : vector<8xf32>
    affine.yield %s : vector<8xf32>
  }
  affine.for %j = 0 to 20 step 8 {
    vector.transfer_write %sum, %b[%j] : vector<8xf32>, memref<20xf32>
  } {kiln.parallel}
  return %sum : vector<8xf32>
}
