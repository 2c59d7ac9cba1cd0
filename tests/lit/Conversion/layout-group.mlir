// Lowering of the layout ops by convert-kiln-to-linalg: scf.for nests that
// carry the result tensor and move one element per iteration (slice,
// slice_scatter, concat, gather, scatter_add), and two linalg.generic ops
// for topk. The whole CPU pipeline then reaches LLVM with no call at all.
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg -canonicalize | FileCheck %s
// RUN: kiln-opt %s -kiln-cpu-pipeline | FileCheck %s --check-prefix=LLVM \
// RUN:   --implicit-check-not=llvm.call --implicit-check-not=scf. \
// RUN:   --implicit-check-not=memref. --implicit-check-not=linalg.

// LLVM: llvm.func @slice(%{{.*}}: !llvm.ptr<i8>
// LLVM: llvm.func @slice_scatter(
// LLVM: llvm.func @concat(
// LLVM: llvm.func @gather(
// LLVM: llvm.func @scatter_add(
// LLVM: llvm.func @topk(

// x[1:3, 0:6:2]: reads input[iv0 + 1, iv1 * 2].
// CHECK-LABEL: func.func @slice
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>)
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3xf32>
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[C2]] {{.*}} iter_args(%[[A:.*]] = %[[E]])
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %[[C3]] {{.*}} iter_args(%[[B:.*]] = %[[A]])
// CHECK: %[[R:.*]] = arith.addi %[[I]], %{{.*}} : index
// CHECK: %[[C:.*]] = arith.muli %[[J]], %[[C2]] : index
// CHECK: %[[V:.*]] = tensor.extract %[[X]][%[[R]], %[[C]]] : tensor<4x6xf32>
// CHECK: tensor.insert %[[V]] into %[[B]][%[[I]], %[[J]]] : tensor<2x3xf32>
// CHECK-NOT: kiln.
func.func @slice(%x: tensor<4x6xf32>) -> tensor<2x3xf32> {
  %0 = kiln.slice %x offsets = [1, 0] sizes = [2, 3] strides = [1, 2] : tensor<4x6xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// The window of dest is overwritten in a copy of dest (bufferization
// decides whether it is a copy).
// CHECK-LABEL: func.func @slice_scatter
// CHECK-SAME: (%[[S:.*]]: tensor<2x3xf32>, %[[X:.*]]: tensor<4x6xf32>)
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[A:.*]] = %[[X]])
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%[[B:.*]] = %[[A]])
// CHECK: %[[V:.*]] = tensor.extract %[[S]][%[[I]], %[[J]]] : tensor<2x3xf32>
// CHECK: tensor.insert %[[V]] into %[[B]]
func.func @slice_scatter(%s: tensor<2x3xf32>, %x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = kiln.slice_scatter %s into %x offsets = [2, 1] strides = [1, 2] : tensor<2x3xf32> into tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// One nest per input; the second writes at column 3 (its size-1 loop is
// folded away by canonicalization).
// CHECK-LABEL: func.func @concat
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x1xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x4xf32>
// CHECK: %[[FIRST:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[E]])
// CHECK: tensor.extract %[[A]]
// CHECK: %[[SECOND:.*]] = scf.for %[[I:.*]] = {{.*}} iter_args(%[[T:.*]] = %[[FIRST]])
// CHECK: %[[V:.*]] = tensor.extract %[[B]][%[[I]], %[[C0]]]
// CHECK: tensor.insert %[[V]] into %[[T]][%[[I]], %[[C3]]]
// CHECK: return %[[SECOND]]
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x1xf32>) -> tensor<2x4xf32> {
  %0 = kiln.concat %a, %b dim = 1 : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// The index is checked against [0, 4): the read is clamped, an
// out-of-range index gives 0.
// CHECK-LABEL: func.func @gather
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[I:.*]]: tensor<2x3xi32>)
// CHECK: scf.for %[[P:.*]] = {{.*}} iter_args
// CHECK: scf.for %[[Q:.*]] = {{.*}} iter_args(%[[ACC:.*]] =
// CHECK: %[[RAW:.*]] = tensor.extract %[[I]][%[[P]], %[[Q]]] : tensor<2x3xi32>
// CHECK: %[[IDX:.*]] = arith.index_cast %[[RAW]] : i32 to index
// CHECK: %[[OK:.*]] = arith.andi
// CHECK: %[[LOW:.*]] = arith.maxsi %[[IDX]]
// CHECK: %[[CL:.*]] = arith.minsi %[[LOW]]
// CHECK: %[[V:.*]] = tensor.extract %[[X]][%[[CL]], %[[Q]]] : tensor<4x3xf32>
// CHECK: %[[SEL:.*]] = arith.select %[[OK]], %[[V]], %{{.*}} : f32
// CHECK: tensor.insert %[[SEL]] into %[[ACC]][%[[P]], %[[Q]]]
func.func @gather(%x: tensor<4x3xf32>, %i: tensor<2x3xi32>) -> tensor<2x3xf32> {
  %0 = kiln.gather %x, %i dim = 0 : tensor<4x3xf32>, tensor<2x3xi32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Accumulates into the carried tensor, which starts as the input.
// CHECK-LABEL: func.func @scatter_add
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>, %[[I:.*]]: tensor<2x3xi64>, %[[S:.*]]: tensor<2x3xf32>)
// CHECK: scf.for %[[P:.*]] = {{.*}} iter_args(%{{.*}} = %[[X]])
// CHECK: scf.for %[[Q:.*]] = {{.*}} iter_args(%[[ACC:.*]] =
// CHECK: %[[RAW:.*]] = tensor.extract %[[I]][%[[P]], %[[Q]]] : tensor<2x3xi64>
// CHECK: %[[CL:.*]] = arith.minsi
// CHECK: %[[OLD:.*]] = tensor.extract %[[ACC]][%[[CL]], %[[Q]]]
// CHECK: %[[ADD:.*]] = tensor.extract %[[S]][%[[P]], %[[Q]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[OLD]], %[[ADD]] : f32
// CHECK: %[[NEW:.*]] = arith.select %{{.*}}, %[[SUM]], %[[OLD]] : f32
// CHECK: tensor.insert %[[NEW]] into %[[ACC]][%[[CL]], %[[Q]]]
func.func @scatter_add(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %s: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.scatter_add %x, %i, %s dim = 0 : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// A rank count (reduction over j with j in place of dim 1), then the
// selection of the element whose rank is the output position.
// CHECK-DAG: #[[$LEAD:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$EXTRA:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @topk
// CHECK-SAME: (%[[X:.*]]: tensor<3x5xf32>)
// CHECK: %[[RANKS:.*]] = linalg.generic {indexing_maps = [#[[$LEAD]], #[[$EXTRA]], #[[$LEAD]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[X]] : tensor<3x5xf32>, tensor<3x5xf32>) outs(%{{.*}} : tensor<3x5xi64>)
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpi ult
// CHECK: arith.addi
// CHECK: %[[SEL:.*]]:2 = linalg.generic {indexing_maps = [#[[$EXTRA]], #[[$EXTRA]], #[[$LEAD]], #[[$LEAD]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[RANKS]], %[[X]] : tensor<3x5xi64>, tensor<3x5xf32>) outs(%{{.*}}, %{{.*}} : tensor<3x2xf32>, tensor<3x2xi64>)
// CHECK: arith.cmpi eq
// CHECK: return %[[SEL]]#0, %[[SEL]]#1
func.func @topk(%x: tensor<3x5xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  %v, %i = kiln.topk %x k = 2 dim = 1 largest = true : tensor<3x5xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
  return %v, %i : tensor<3x2xf32>, tensor<3x2xi64>
}
