// The NN ops' lowering: convolutions become im2col + a matmul generic of the
// form kiln-vectorize-matmul turns into vector kernels, chunk by chunk of
// images where a whole batch's im2col would be large; grouped convolutions
// one loop nest; max pooling a max reduction, its gradient an argmax and a
// gather.
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-differentiate -kiln-bufferize -kiln-vectorize-matmul | FileCheck %s --check-prefix=VEC
// Host code with threads (kilnc's default) runs a forward chunk loop in 2
// lanes, each with its own chunk buffers: distinct bytes of the arena.
// RUN: kiln-opt %s -split-input-file -kiln-differentiate -kiln-bufferize=chunk-lanes=2 | FileCheck %s --check-prefix=LANES
// The GPU pipeline sets im2col-chunk-bytes=0: whole batches, no chunks.
// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg=im2col-chunk-bytes=0 | FileCheck %s --check-prefix=WHOLE

// conv2d: zero padding (a fill, then the input copied into its interior
// slice by a gather that kiln-vectorize-gathers turns into row copies),
// im2col^T (a gather: every map is a projected permutation, as the affine
// super-vectorizer needs), one weight [O, C*KH*KW] x im2col^T
// [C*KH*KW, N*OH*OW] product (vectorized along the long N*OH*OW columns),
// viewed as [O, N, OH, OW] and gathered to NCHW (row copies for
// kiln-vectorize-gathers).
// CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$ID6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8x8xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>
// A batch whose im2col fits one chunk (im2col-chunk-bytes, default 512 KiB)
// gets no loop.
// CHECK: %[[ZEROS:.*]] = linalg.fill {{.*}} -> tensor<2x3x10x10xf32>
// CHECK: %[[INTERIOR:.*]] = tensor.extract_slice %[[ZEROS]][0, 0, 1, 1] [2, 3, 8, 8] [1, 1, 1, 1]
// CHECK: %[[COPY:.*]] = linalg.generic {indexing_maps = [#[[$ID4]]]{{.*}} outs(%[[INTERIOR]] : tensor<2x3x8x8xf32>)
// CHECK: tensor.extract %[[X]]
// CHECK-NOT: arith.select
// CHECK: %[[PADDED:.*]] = tensor.insert_slice %[[COPY]] into %[[ZEROS]][0, 0, 1, 1] [2, 3, 8, 8] [1, 1, 1, 1]
// CHECK: %[[WF:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0], [1, 2, 3]] : tensor<4x3x3x3xf32> into tensor<4x27xf32>
// CHECK-NOT: scf.for
// CHECK: %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[$ID6]]]{{.*}} outs(%{{.*}} : tensor<3x3x3x2x8x8xf32>)
// CHECK: tensor.extract %[[PADDED]]
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[COLS]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<3x3x3x2x8x8xf32> into tensor<27x128xf32>
// CHECK: %[[PRODUCT:.*]] = linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #[[$C]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[WF]], %[[FLAT]] : tensor<4x27xf32>, tensor<27x128xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[PRODUCT]] {{\[}}[0], [1, 2, 3]] : tensor<4x128xf32> into tensor<4x2x8x8xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$ID4]]]{{.*}} outs(%{{.*}} : tensor<2x4x8x8xf32>)
// CHECK: %[[O:.*]] = linalg.index 1
// CHECK: tensor.extract %[[VIEW]][%[[O]],
// CHECK-NOT: kiln.
func.func @conv(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> {
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1 : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<2x4x8x8xf32>
  return %y : tensor<2x4x8x8xf32>
}

// VEC-LABEL: func.func @conv
// VEC: arith.addf {{.*}} fastmath<contract>
// VEC-NOT: iterator_types = ["parallel", "reduction", "parallel"]
// VEC: return

// -----

// A batch whose im2col exceeds im2col-chunk-bytes (512 KiB) runs in chunks
// of images, the largest divisor of N that fits: here 144 x 256 floats
// (147456 bytes) per image, so 2 of the 4 images per chunk. Each chunk's
// im2col^T [C*KH*KW, 2*OH*OW] (from image %first on), its product, and the
// copy into the output's rows [first, first + 2) happen in one scf.for
// carrying the output; no buffer holds the whole batch's im2col.
// CHECK-LABEL: func.func @conv_chunked
// CHECK-SAME: (%[[X:.*]]: tensor<4x16x16x16xf32>, %[[W:.*]]: tensor<4x16x3x3xf32>
// CHECK: %[[PADDED:.*]] = tensor.insert_slice %{{.*}} : tensor<4x16x16x16xf32> into tensor<4x16x18x18xf32>
// CHECK: %[[WF:.*]] = tensor.collapse_shape %[[W]] {{.*}} into tensor<4x144xf32>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK: %[[Y:.*]] = scf.for %[[FIRST:.*]] = %[[C0]] to %[[C4]] step %[[C2]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<4x4x16x16xf32>)
// CHECK: %[[COLS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<16x3x3x2x16x16xf32>)
// CHECK: %[[N:.*]] = arith.addi %[[FIRST]], %{{.*}} : index
// CHECK: tensor.extract %[[PADDED]][%[[N]],
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[COLS]] {{.*}} into tensor<144x512xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[WF]], %[[FLAT]] : tensor<4x144xf32>, tensor<144x512xf32>)
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[P]] {{.*}} into tensor<4x2x16x16xf32>
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %[[ACC]][%[[FIRST]], 0, 0, 0] [2, 4, 16, 16] [1, 1, 1, 1]
// CHECK: %[[PART:.*]] = linalg.generic {{.*}} outs(%[[SLICE]] : tensor<2x4x16x16xf32>)
// CHECK: tensor.extract %[[VIEW]]
// CHECK: %[[NEXT:.*]] = tensor.insert_slice %[[PART]] into %[[ACC]][%[[FIRST]], 0, 0, 0] [2, 4, 16, 16] [1, 1, 1, 1]
// CHECK: scf.yield %[[NEXT]]
// Chunks write disjoint slices of the output: kiln-parallelize-chunk-loops
// may run them in lanes on threads.
// CHECK-NEXT: } {kiln.chunk_lanes}
// CHECK: return %[[Y]]
func.func @conv_chunked(%x: tensor<4x16x16x16xf32>, %w: tensor<4x16x3x3xf32>) -> tensor<4x4x16x16xf32> {
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1 : tensor<4x16x16x16xf32>, tensor<4x16x3x3xf32> -> tensor<4x4x16x16xf32>
  return %y : tensor<4x4x16x16xf32>
}

// WHOLE-LABEL: func.func @conv_chunked
// WHOLE-NOT: scf.for
// WHOLE: outs(%{{.*}} : tensor<16x3x3x4x16x16xf32>)
// WHOLE-NOT: scf.for
// WHOLE: return

// After bufferization the chunk's buffers are allocs inside the loop, which
// kiln-static-memory-plan gives one fixed place each: views of the arena of
// the chunk's size, and the matmul still becomes the vector kernel.
// LANES-LABEL: func.func @conv_chunked
// LANES: scf.parallel (%[[LANE:.*]]) =
// LANES-DAG: %[[COLS0:.*]] = memref.view %{{.*}}[%[[AT0:.*]]][] : memref<{{[0-9]+}}xi8> to memref<16x3x3x2x16x16xf32>
// LANES-DAG: %[[COLS1:.*]] = memref.view %{{.*}}[%[[AT1:.*]]][] : memref<{{[0-9]+}}xi8> to memref<16x3x3x2x16x16xf32>
// LANES: %[[COLS:.*]] = arith.select %{{.*}}, %[[COLS1]], %[[COLS0]] : memref<16x3x3x2x16x16xf32>
// LANES: scf.for
// LANES: outs(%[[COLS]] : memref<16x3x3x2x16x16xf32>)
// LANES: return

// VEC-LABEL: func.func @conv_chunked
// VEC: scf.for
// VEC: memref.view %{{.*}} : memref<{{[0-9]+}}xi8> to memref<16x3x3x2x16x16xf32>
// VEC: arith.addf {{.*}} fastmath<contract>
// VEC-NOT: memref<16x3x3x4x16x16xf32>
// VEC: return

// -----

// Weight gradient in chunks: one [O, C*KH*KW] accumulator carried through
// the loop, each chunk's product added to it (every weight's sum runs over
// (n, i, j) in order, unless kiln-parallelize-chunk-loops splits the chunks
// into lanes).
// CHECK-LABEL: func.func @weight_grad_chunked
// CHECK-SAME: (%[[X:.*]]: tensor<4x16x16x16xf32>, %[[GY:.*]]: tensor<4x4x16x16xf32>)
// CHECK: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<4x144xf32>
// CHECK: %[[SUM:.*]] = scf.for %[[FIRST:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (tensor<4x144xf32>)
// CHECK: %[[COLS:.*]] = tensor.collapse_shape %{{.*}} : tensor<2x16x16x16x3x3xf32> into tensor<512x144xf32>
// CHECK: %[[GT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x2x16x16xf32>)
// CHECK: %[[N:.*]] = arith.addi %[[FIRST]], %{{.*}} : index
// CHECK: tensor.extract %[[GY]][%[[N]],
// CHECK: %[[G:.*]] = tensor.collapse_shape %[[GT]] {{.*}} into tensor<4x512xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[COLS]] : tensor<4x512xf32>, tensor<512x144xf32>) outs(%[[ACC]] : tensor<4x144xf32>)
// CHECK: scf.yield %[[P]]
// Chunks only add into the zero-filled sum: lanes may sum apart.
// CHECK-NEXT: } {kiln.chunk_lanes}
// CHECK: tensor.expand_shape %[[SUM]] {{.*}} into tensor<4x16x3x3xf32>
func.func @weight_grad_chunked(%x: tensor<4x16x16x16xf32>, %gy: tensor<4x4x16x16xf32>) -> tensor<4x16x3x3xf32> {
  %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [1, 1] dilation = [1, 1] groups = 1 : tensor<4x16x16x16xf32>, tensor<4x4x16x16xf32> -> tensor<4x16x3x3xf32>
  return %gw : tensor<4x16x3x3xf32>
}

// -----

// The same with more output channels than C*KH*KW (8 > 4): 16641 positions
// x 4 floats per image (266256 bytes), one image per chunk, accumulated as
// [C*KH*KW, O] and transposed once after the loop.
// CHECK-LABEL: func.func @weight_grad_many_channels_chunked
// CHECK: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<4x8xf32>
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (tensor<4x8xf32>)
// CHECK: tensor.collapse_shape %{{.*}} : tensor<1x2x2x1x129x129xf32> into tensor<4x16641xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x129x129x8xf32>)
// CHECK: tensor.collapse_shape %{{.*}} : tensor<1x129x129x8xf32> into tensor<16641x8xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x16641xf32>, tensor<16641x8xf32>) outs(%[[ACC]] : tensor<4x8xf32>)
// CHECK: scf.yield
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<8x4xf32>)
func.func @weight_grad_many_channels_chunked(%x: tensor<2x1x130x130xf32>, %gy: tensor<2x8x129x129xf32>) -> tensor<8x1x2x2xf32> {
  %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<2x1x130x130xf32>, tensor<2x8x129x129xf32> -> tensor<8x1x2x2xf32>
  return %gw : tensor<8x1x2x2xf32>
}

// -----

// Groups: one loop nest over (n, o, i, j | c, p, q); the input channel
// (o / (O/g)) * C/g + c is computed in the body.
// CHECK-DAG: #[[$W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @grouped
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x5x5xf32>, %[[WEIGHT:.*]]: tensor<6x2x3x3xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$W]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[WEIGHT]] : tensor<6x2x3x3xf32>)
// CHECK: arith.divui
// CHECK: tensor.extract %[[X]]
func.func @grouped(%x: tensor<1x4x5x5xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x3x3xf32> {
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 2 : tensor<1x4x5x5xf32>, tensor<6x2x3x3xf32> -> tensor<1x6x3x3xf32>
  return %y : tensor<1x6x3x3xf32>
}

// -----

// Weight gradient: the product's columns are the larger of O and C*KH*KW
// (the matmul kernel vectorizes along them). Here C*KH*KW = 27 > O = 4:
// grad_output as [O, N*OH*OW] x im2col [N*OH*OW, C*KH*KW], already in the
// weight's layout.
// CHECK-LABEL: func.func @weight_grad
// CHECK: %[[COLS:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<2x6x6x3x3x3xf32> into tensor<72x27xf32>
// CHECK: %[[GT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x2x6x6xf32>)
// CHECK: %[[G:.*]] = tensor.collapse_shape %[[GT]] {{\[}}[0], [1, 2, 3]] : tensor<4x2x6x6xf32> into tensor<4x72xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[COLS]] : tensor<4x72xf32>, tensor<72x27xf32>)
// CHECK: tensor.expand_shape %[[P]] {{\[}}[0], [1, 2, 3]] : tensor<4x27xf32> into tensor<4x3x3x3xf32>
func.func @weight_grad(%x: tensor<2x3x8x8xf32>, %gy: tensor<2x4x6x6xf32>) -> tensor<4x3x3x3xf32> {
  %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<2x3x8x8xf32>, tensor<2x4x6x6xf32> -> tensor<4x3x3x3xf32>
  return %gw : tensor<4x3x3x3xf32>
}

// -----

// With more output channels than C*KH*KW (8 > 1*2*2): (im2col^T
// [C*KH*KW, N*OH*OW] x grad_output as [N*OH*OW, O])^T.
// CHECK-LABEL: func.func @weight_grad_many_channels
// CHECK: %[[COLS:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<1x2x2x2x7x7xf32> into tensor<4x98xf32>
// CHECK: %[[G:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3]] : tensor<2x7x7x8xf32> into tensor<98x8xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[COLS]], %[[G]] : tensor<4x98xf32>, tensor<98x8xf32>)
// CHECK: %[[T:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK: tensor.expand_shape %[[T]] {{\[}}[0], [1, 2, 3]] : tensor<8x4xf32> into tensor<8x1x2x2xf32>
func.func @weight_grad_many_channels(%x: tensor<2x1x8x8xf32>, %gy: tensor<2x8x7x7xf32>) -> tensor<8x1x2x2xf32> {
  %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<2x1x8x8xf32>, tensor<2x8x7x7xf32> -> tensor<8x1x2x2xf32>
  return %gw : tensor<8x1x2x2xf32>
}

// -----

// Input gradient: grad_output dilated by the stride and padded by
// dilation * (K - 1) - padding to H + dilation * (K - 1), then a stride-1
// conv with the flipped weight, channels swapped.
// CHECK-LABEL: func.func @input_grad
// CHECK-SAME: (%[[GY:.*]]: tensor<2x4x4x4xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>)
// CHECK: %[[SPREAD:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x4x11x11xf32>)
// CHECK: arith.remui
// CHECK: arith.divui
// CHECK: tensor.extract %[[GY]]
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<3x4x3x3xf32>)
// CHECK: arith.subi
// CHECK: tensor.extract %[[W]]
// CHECK: outs(%{{.*}} : tensor<4x3x3x2x9x9xf32>)
// CHECK: tensor.extract %[[SPREAD]]
// CHECK: ins(%{{.*}}, %{{.*}} : tensor<3x36xf32>, tensor<36x162xf32>)
// CHECK: outs(%{{.*}} : tensor<2x3x9x9xf32>)
func.func @input_grad(%gy: tensor<2x4x4x4xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x3x9x9xf32> {
  %gx = kiln.conv2d_input_grad %gy, %w stride = [2, 2] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<2x4x4x4xf32>, tensor<4x3x3x3xf32> -> tensor<2x3x9x9xf32>
  return %gx : tensor<2x3x9x9xf32>
}

// -----

// max_pool2d whose windows tile the input (stride = kernel, no padding, no
// dilation, H and W multiples of the kernel): the input viewed as
// [N, C, OH, KH, OW, KW] and reduced over (KH, KW) with plain indexing maps
// (affine loads, loops that kiln-mark-parallel-loops can split across
// threads), the first maximum kept, NaN winning. The gradient: the window's
// argmax (a second, i32 result starting at -1), then every element of the
// view takes its window's cotangent where its offset p * KW + q is the
// argmax, 0 elsewhere; no gather.
// CHECK-DAG: #[[$VIEW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d4, d3, d5)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$WIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$ID6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
// CHECK-LABEL: func.func @pool
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x4x4xf32>, %[[G:.*]]: tensor<1x2x2x2xf32>)
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32)
// CHECK: %[[WINDOWS:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1], [2, 3], [4, 5]] : tensor<1x2x4x4xf32> into tensor<1x2x2x2x2x2xf32>
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$VIEW]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[WINDOWS]] : tensor<1x2x2x2x2x2xf32>) outs(%[[INIT]] : tensor<1x2x2x2xf32>)
// CHECK-NOT: tensor.extract
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf uno
// CHECK: %[[ARG:.*]]:2 = linalg.generic {indexing_maps = [#[[$VIEW]], #[[$OUT]], #[[$OUT]]], {{.*}} outs(%{{.*}}, %{{.*}} : tensor<1x2x2x2xf32>, tensor<1x2x2x2xi32>)
// CHECK: %[[Q:.*]] = linalg.index 5
// CHECK: %[[P:.*]] = linalg.index 4
// CHECK: %[[PK:.*]] = arith.muli %[[P]], %c2
// CHECK: arith.addi %[[PK]], %[[Q]]
// CHECK: %[[GXV:.*]] = linalg.generic {indexing_maps = [#[[$WIN]], #[[$WIN]], #[[$ID6]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[ARG]]#1, %[[G]] : tensor<1x2x2x2xi32>, tensor<1x2x2x2xf32>) outs(%{{.*}} : tensor<1x2x2x2x2x2xf32>)
// CHECK-NEXT: ^bb0(%[[WINNER:.*]]: i32, %[[GY:.*]]: f32, %{{.*}}: f32):
// CHECK-NOT: tensor.extract
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %[[WINNER]]
// CHECK: arith.select %[[HIT]], %[[GY]]
// CHECK: %[[GX:.*]] = tensor.collapse_shape %[[GXV]] {{\[}}[0], [1], [2, 3], [4, 5]] : tensor<1x2x2x2x2x2xf32> into tensor<1x2x4x4xf32>
// CHECK: return %[[Y]], %[[GX]]
func.func @pool(%x: tensor<1x2x4x4xf32>, %g: tensor<1x2x2x2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x4x4xf32>) {
  %y = kiln.max_pool2d %x kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<1x2x4x4xf32> -> tensor<1x2x2x2xf32>
  %gx = kiln.max_pool2d_grad %x, %g kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<1x2x4x4xf32>, tensor<1x2x2x2xf32> -> tensor<1x2x4x4xf32>
  return %y, %gx : tensor<1x2x2x2xf32>, tensor<1x2x4x4xf32>
}

// -----

// Other windows (here an odd-sized input: 5 = 2 * 2 + 1, the last row and
// column in no window) keep the general form: a max reduction over
// (n, c, i, j | p, q), the window's bounds from a [KH, KW] shape operand,
// the input gathered in the body; the gradient an argmax and a gather.
// CHECK-DAG: #[[$K:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @pool_odd
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x5x5xf32>
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32)
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$K]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%{{.*}} : tensor<2x2xf32>) outs(%[[INIT]] : tensor<1x2x2x2xf32>)
// CHECK: tensor.extract %[[X]]
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf uno
// CHECK: %[[ARG:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<1x2x2x2xf32>, tensor<1x2x2x2xi32>)
// CHECK: tensor.extract %[[ARG]]#1
// CHECK: return %[[Y]]
func.func @pool_odd(%x: tensor<1x2x5x5xf32>, %g: tensor<1x2x2x2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x5x5xf32>) {
  %y = kiln.max_pool2d %x kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<1x2x5x5xf32> -> tensor<1x2x2x2xf32>
  %gx = kiln.max_pool2d_grad %x, %g kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<1x2x5x5xf32>, tensor<1x2x2x2xf32> -> tensor<1x2x5x5xf32>
  return %y, %gx : tensor<1x2x2x2xf32>, tensor<1x2x5x5xf32>
}

// -----

// CHECK-LABEL: func.func @helpers
// CHECK: math.rsqrt
// CHECK: arith.addi
func.func @helpers(%v: tensor<4xf32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<i64>) {
  %r = kiln.rsqrt %v : tensor<4xf32>
  %n = kiln.increment %step : tensor<i64>
  return %r, %n : tensor<4xf32>, tensor<i64>
}
