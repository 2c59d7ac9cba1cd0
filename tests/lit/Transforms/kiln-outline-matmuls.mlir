// kiln-outline-matmuls: each matrix product outside an scf.for becomes a call
// to a private function holding the same generic; products that are equal up
// to their operands (the forward product of a train step and of predict)
// share one function, a different shape or a transposed operand gets its
// own; a product inside a convolution's chunk loop is outlined too (the
// loop is no input to kiln-vectorize-matmul's serial or parallel choice).
// RUN: kiln-opt %s -kiln-outline-matmuls | FileCheck %s
// Then kiln-vectorize-matmul and the rest of the CPU lowering compile the
// outlined form once, as an internal, noinline function called with three
// bare pointers, marked kiln-matrix-product (LLVM unrolls the products'
// packing loops and the loops around their calls differently).
// RUN: kiln-opt %s -kiln-outline-matmuls -kiln-lower-to-llvm='vector-width=8' | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

#A = affine_map<(i, k, j) -> (i, k)>
#B = affine_map<(i, k, j) -> (k, j)>
#Bt = affine_map<(i, k, j) -> (j, k)>
#C = affine_map<(i, k, j) -> (i, j)>
#product = {indexing_maps = [#A, #B, #C],
            iterator_types = ["parallel", "reduction", "parallel"]}
#productBt = {indexing_maps = [#A, #Bt, #C],
              iterator_types = ["parallel", "reduction", "parallel"]}

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[X:.*]]: memref<12x8xf32>, %[[W:.*]]: memref<8x32xf32>, %[[Y:.*]]: memref<12x32xf32>, %[[G:.*]]: memref<12x8xf32>)
// CHECK-NEXT: call @kiln_matmul_12x8x32(%[[X]], %[[W]], %[[Y]])
// CHECK-NEXT: call @kiln_matmul_12x32x8_tb(%[[Y]], %[[W]], %[[G]])
// CHECK-NEXT: return
func.func @train_step(%x: memref<12x8xf32>, %w: memref<8x32xf32>,
                      %y: memref<12x32xf32>, %g: memref<12x8xf32>) {
  linalg.generic #product ins(%x, %w : memref<12x8xf32>, memref<8x32xf32>)
      outs(%y : memref<12x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic #productBt ins(%y, %w : memref<12x32xf32>, memref<8x32xf32>)
      outs(%g : memref<12x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// The same product on other buffers: the same function.
// CHECK-LABEL: func.func @predict
// CHECK-NEXT: call @kiln_matmul_12x8x32(
// CHECK-NEXT: return
func.func @predict(%x: memref<12x8xf32>, %w: memref<8x32xf32>,
                   %y: memref<12x32xf32>) {
  linalg.generic #product ins(%x, %w : memref<12x8xf32>, memref<8x32xf32>)
      outs(%y : memref<12x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// Inside a chunk loop: the same function again.
// CHECK-LABEL: func.func @chunked
// CHECK: scf.for
// CHECK-NEXT: call @kiln_matmul_12x8x32(
// CHECK-NOT: linalg.generic
func.func @chunked(%x: memref<12x8xf32>, %w: memref<8x32xf32>,
                   %y: memref<12x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %chunk = %c0 to %c2 step %c1 {
    linalg.generic #product ins(%x, %w : memref<12x8xf32>, memref<8x32xf32>)
        outs(%y : memref<12x32xf32>) {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %m = arith.mulf %a, %b : f32
      %s = arith.addf %c, %m : f32
      linalg.yield %s : f32
    }
  }
  return
}

// A body that is not a multiply-add, with a product's loops: still one
// function per distinct body, under a fresh name.
// CHECK-LABEL: func.func @max_plus
// CHECK-NEXT: call @kiln_matmul_12x8x32_0(
func.func @max_plus(%x: memref<12x8xf32>, %w: memref<8x32xf32>,
                    %y: memref<12x32xf32>) {
  linalg.generic #product ins(%x, %w : memref<12x8xf32>, memref<8x32xf32>)
      outs(%y : memref<12x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.addf %a, %b : f32
    %s = arith.maxf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// A constant fill of C before the product (an arena view between them has
// no memory effects) moves into the function with its constant, where
// kiln-vectorize-matmul folds it into the first k block; a function of its
// own, "_init".
// CHECK-LABEL: func.func @filled
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.0
// CHECK-NEXT: %[[OFFSET:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[Y:.*]] = memref.view
// CHECK-NEXT: call @kiln_matmul_12x8x32_init(%{{.*}}, %{{.*}}, %[[Y]])
// CHECK-NEXT: return
func.func @filled(%x: memref<12x8xf32>, %w: memref<8x32xf32>,
                  %arena: memref<1536xi8>) {
  %zero = arith.constant 0.0 : f32
  %offset = arith.constant 0 : index
  %y = memref.view %arena[%offset][] : memref<1536xi8> to memref<12x32xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<12x32xf32>)
  linalg.generic #product ins(%x, %w : memref<12x8xf32>, memref<8x32xf32>)
      outs(%y : memref<12x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK: func.func private @kiln_matmul_12x8x32(%[[A:.*]]: memref<12x8xf32>, %[[B:.*]]: memref<8x32xf32>, %[[C:.*]]: memref<12x32xf32>)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline", "kiln-matrix-product"]}
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[A]], %[[B]] : memref<12x8xf32>, memref<8x32xf32>) outs(%[[C]] : memref<12x32xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: return
// CHECK: func.func private @kiln_matmul_12x32x8_tb(
// CHECK: func.func private @kiln_matmul_12x8x32_0(
// CHECK: arith.maxf
// CHECK: func.func private @kiln_matmul_12x8x32_init(%{{.*}}: memref<12x8xf32>, %{{.*}}: memref<8x32xf32>, %[[FILLED:.*]]: memref<12x32xf32>)
// CHECK-NEXT: %[[CST:.*]] = arith.constant 0.0
// CHECK-NEXT: linalg.fill ins(%[[CST]] : f32) outs(%[[FILLED]] : memref<12x32xf32>)
// CHECK-NEXT: linalg.generic
// CHECK-NOT: func.func

// LLVM-LABEL: define void @train_step(ptr %0, ptr %1, ptr %2, ptr %3)
// LLVM: call void @kiln_matmul_12x8x32(ptr %0, ptr %1, ptr %2)
// LLVM-NEXT: call void @kiln_matmul_12x32x8_tb(ptr %2, ptr %1, ptr %3)
// LLVM: define internal void @kiln_matmul_12x8x32(ptr %0, ptr %1, ptr %2) #[[NOINLINE:[0-9]+]]
// LLVM: fmul contract <8 x float>
// LLVM: attributes #[[NOINLINE]] = { noinline "kiln-matrix-product" }
