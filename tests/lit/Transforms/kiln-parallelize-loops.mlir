// kiln-mark-parallel-loops marks outermost loops whose iterations are
// independent and whose nest is big enough; kiln-parallelize-marked-loops
// turns the marked ones into affine.parallel (OpenMP threads later on).
// Loops that carry a dependence, small nests and innermost loops (which the
// super-vectorizer widens and replaces) stay serial.
// RUN: kiln-opt %s -kiln-mark-parallel-loops="min-work=1024" | FileCheck %s --check-prefix=MARK
// RUN: kiln-opt %s -kiln-mark-parallel-loops="min-work=1024" -kiln-parallelize-marked-loops | FileCheck %s --check-prefix=PAR
// RUN: kiln-opt %s -kiln-mark-parallel-loops="min-work=1000000" | FileCheck %s --check-prefix=BIG

// MARK-LABEL: func.func @rows
// MARK: affine.for
// MARK: } {kiln.parallel}
// PAR-LABEL: func.func @rows
// PAR: affine.parallel (%[[I:.*]]) = (0) to (64) {
// PAR-NEXT: affine.for %[[J:.*]] = 0 to 32 {
// PAR-NEXT: affine.load %{{.*}}[%[[I]], %[[J]]]
// PAR-NOT: kiln.parallel
// BIG-LABEL: func.func @rows
// BIG-NOT: kiln.parallel
func.func @rows(%x: memref<64x32xf32>, %y: memref<64x32xf32>) {
  affine.for %i = 0 to 64 {
    affine.for %j = 0 to 32 {
      %v = affine.load %x[%i, %j] : memref<64x32xf32>
      %w = arith.mulf %v, %v : f32
      affine.store %w, %y[%i, %j] : memref<64x32xf32>
    }
  }
  return
}

// The outer loop sums rows into one row: every iteration updates the same
// elements, so it must stay serial.
// MARK-LABEL: func.func @column_sums
// MARK-NOT: kiln.parallel
func.func @column_sums(%x: memref<64x32xf32>, %s: memref<32xf32>) {
  affine.for %i = 0 to 64 {
    affine.for %j = 0 to 32 {
      %v = affine.load %x[%i, %j] : memref<64x32xf32>
      %a = affine.load %s[%j] : memref<32xf32>
      %t = arith.addf %a, %v : f32
      affine.store %t, %s[%j] : memref<32xf32>
    }
  }
  return
}

// 8 x 8 iterations: below min-work, a fork would cost more than it saves.
// MARK-LABEL: func.func @small
// MARK-NOT: kiln.parallel
func.func @small(%x: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      %v = affine.load %x[%i, %j] : memref<8x8xf32>
      %w = arith.mulf %v, %v : f32
      affine.store %w, %x[%i, %j] : memref<8x8xf32>
    }
  }
  return
}

// A single loop is what the vectorizer widens: it stays as it is.
// MARK-LABEL: func.func @flat
// MARK-NOT: kiln.parallel
// MARK: return
func.func @flat(%x: memref<4096xf32>) {
  affine.for %i = 0 to 4096 {
    %v = affine.load %x[%i] : memref<4096xf32>
    %w = arith.mulf %v, %v : f32
    affine.store %w, %x[%i] : memref<4096xf32>
  }
  return
}
