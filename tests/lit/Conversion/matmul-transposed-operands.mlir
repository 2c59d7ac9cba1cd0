// A 2-D kiln.matmul whose operand is a kiln.transpose reads the transpose's
// input through a swapped map ((k, i) for A, (j, k) for B) instead of a
// transposed copy: the layers' x W^T and the backward products dW = dy^T x.
// With transposed-matmul-operands=false (the GPU's pipeline) the copy stays.
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg -canonicalize | FileCheck %s
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg="transposed-matmul-operands=false" -canonicalize | FileCheck %s --check-prefix=COPY

// CHECK-DAG: #[[$I_K:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$J_K:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[$I_J:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @x_wt
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<10x16xf32>)
// CHECK-NOT: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: linalg.generic {indexing_maps = [#[[$I_K]], #[[$J_K]], #[[$I_J]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : tensor<8x16xf32>, tensor<10x16xf32>)
// COPY-LABEL: func.func @x_wt
// COPY: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// COPY-SAME: ins(%{{.*}} : tensor<10x16xf32>) outs(%{{.*}} : tensor<16x10xf32>)
// COPY: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// COPY-SAME: tensor<8x16xf32>, tensor<16x10xf32>
func.func @x_wt(%x: tensor<8x16xf32>, %w: tensor<10x16xf32>) -> tensor<8x10xf32> {
  %t = kiln.transpose %w, [1, 0] : tensor<10x16xf32> -> tensor<16x10xf32>
  %r = kiln.matmul %x, %t : tensor<8x16xf32>, tensor<16x10xf32> -> tensor<8x10xf32>
  return %r : tensor<8x10xf32>
}

// -----

// CHECK-DAG: #[[$K_I:.*]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-DAG: #[[$K_J:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @dyt_x
// CHECK-SAME: (%[[DY:.*]]: tensor<8x10xf32>, %[[X:.*]]: tensor<8x16xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$K_I]], #[[$K_J]], #{{.*}}], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[DY]], %[[X]] : tensor<8x10xf32>, tensor<8x16xf32>)
// COPY-LABEL: func.func @dyt_x
// COPY: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
func.func @dyt_x(%dy: tensor<8x10xf32>, %x: tensor<8x16xf32>) -> tensor<10x16xf32> {
  %t = kiln.transpose %dy, [1, 0] : tensor<8x10xf32> -> tensor<10x8xf32>
  %r = kiln.matmul %t, %x : tensor<10x8xf32>, tensor<8x16xf32> -> tensor<10x16xf32>
  return %r : tensor<10x16xf32>
}

// -----

// A transpose that something else also reads is still made once for it.
// CHECK-LABEL: func.func @shared_transpose
// CHECK: %[[T:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$J_K2:.*]], #{{.*}}], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: return %{{.*}}, %[[T]]
func.func @shared_transpose(%x: tensor<8x16xf32>, %w: tensor<10x16xf32>) -> (tensor<8x10xf32>, tensor<16x10xf32>) {
  %t = kiln.transpose %w, [1, 0] : tensor<10x16xf32> -> tensor<16x10xf32>
  %r = kiln.matmul %x, %t : tensor<8x16xf32>, tensor<16x10xf32> -> tensor<8x10xf32>
  return %r, %t : tensor<8x10xf32>, tensor<16x10xf32>
}
