// kiln-vectorize-channel-sums: a convolution's bias gradient (the sum over
// n and the pixels of each channel of dY times the ReLU's mask) keeps 8
// channels' sums in one vector: per image, 8 rows of 8 pixels (one row per
// channel) are loaded, the term computed as vectors, the block transposed by
// vector.shuffle, and its 8 columns added in pixel order; the 196 pixels of
// a 14 x 14 image are 24 such blocks and a masked one of 4 (4 adds). Each
// channel adds its terms in the scalar loops' order.
// RUN: kiln-opt %s -kiln-vectorize-channel-sums=vector-width=8 | FileCheck %s
// Threads take the groups of channels where the sum is large enough.
// RUN: kiln-opt %s -kiln-vectorize-channel-sums="vector-width=8 parallel-min-work=1000" | FileCheck %s --check-prefix=PARALLEL

#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#channel = affine_map<(d0, d1, d2, d3) -> (d1)>

// CHECK-LABEL: func.func @bias_grad
// CHECK-SAME: (%[[DY:.*]]: memref<4x16x14x14xf32>, %[[Y:.*]]: memref<4x16x14x14xf32>, %[[OUT:.*]]: memref<16xf32>)
// CHECK-DAG: %[[DY3:.*]] = memref.collapse_shape %[[DY]] {{\[\[}}0], [1], [2, 3]] : memref<4x16x14x14xf32> into memref<4x16x196xf32>
// CHECK-DAG: %[[Y3:.*]] = memref.collapse_shape %[[Y]]
// CHECK: scf.for %[[GROUP:.*]] = %{{.*}} to %c2 step
// CHECK: %[[C0:.*]] = arith.muli %[[GROUP]], %c8
// CHECK: %[[INIT:.*]] = vector.load %[[OUT]][%[[C0]]] : memref<16xf32>, vector<8xf32>
// CHECK: %[[SUMS:.*]] = scf.for %[[N:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (vector<8xf32>)
// CHECK: %[[FULL:.*]] = scf.for %[[P:.*]] = %{{.*}} to %c192 step %{{.*}} iter_args(%[[PACC:.*]] = %[[ACC]])
// CHECK: vector.load %[[DY3]][%[[N]], %{{.*}}, %[[P]]]
// CHECK: vector.load %[[Y3]][%[[N]], %{{.*}}, %[[P]]]
// CHECK: arith.cmpf ogt, %{{.*}} : vector<8xf32>
// CHECK: arith.select %{{.*}} : vector<8xi1>, vector<8xf32>
// CHECK: arith.mulf %{{.*}} : vector<8xf32>
// CHECK-COUNT-24: vector.shuffle
// CHECK: %[[S0:.*]] = arith.addf %[[PACC]], %{{.*}} : vector<8xf32>
// CHECK-NEXT: %[[S1:.*]] = arith.addf %[[S0]], %{{.*}} : vector<8xf32>
// CHECK-COUNT-6: arith.addf
// CHECK-NEXT: scf.yield
// CHECK: vector.maskedload %[[DY3]][%[[N]], %{{.*}}, %c192{{.*}}]
// CHECK-COUNT-24: vector.shuffle
// CHECK: arith.addf %[[FULL]], %{{.*}} : vector<8xf32>
// CHECK-COUNT-3: arith.addf
// CHECK-NEXT: scf.yield
// CHECK: vector.store %[[SUMS]], %[[OUT]][%[[C0]]] : memref<16xf32>, vector<8xf32>
// CHECK-NOT: linalg.generic
// PARALLEL-LABEL: func.func @bias_grad
// PARALLEL: scf.parallel
// PARALLEL-NOT: linalg.generic
// PARALLEL: return
func.func @bias_grad(%dy: memref<4x16x14x14xf32>, %y: memref<4x16x14x14xf32>, %out: memref<16xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  linalg.generic {indexing_maps = [#map, #map, #channel], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%dy, %y : memref<4x16x14x14xf32>, memref<4x16x14x14xf32>) outs(%out : memref<16xf32>) {
  ^bb0(%g: f32, %v: f32, %acc: f32):
    %positive = arith.cmpf ogt, %v, %zero : f32
    %mask = arith.select %positive, %one, %zero : f32
    %term = arith.mulf %g, %mask : f32
    %sum = arith.addf %acc, %term : f32
    linalg.yield %sum : f32
  }
  return
}

// Left to the affine lowering: 6 channels (not whole vectors), and a sum
// over the channels instead of per channel.
// CHECK-LABEL: func.func @not_channel_sums
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: return
func.func @not_channel_sums(%dy: memref<4x6x5x5xf32>, %x: memref<4x16x5x5xf32>, %out: memref<6xf32>, %pixels: memref<5xf32>) {
  linalg.generic {indexing_maps = [#map, affine_map<(d0, d1, d2, d3) -> (d1)>], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%dy : memref<4x6x5x5xf32>) outs(%out : memref<6xf32>) {
  ^bb0(%g: f32, %acc: f32):
    %sum = arith.addf %acc, %g : f32
    linalg.yield %sum : f32
  }
  linalg.generic {indexing_maps = [#map, affine_map<(d0, d1, d2, d3) -> (d3)>], iterator_types = ["reduction", "reduction", "reduction", "parallel"]}
      ins(%x : memref<4x16x5x5xf32>) outs(%pixels : memref<5xf32>) {
  ^bb0(%g: f32, %acc: f32):
    %sum = arith.addf %acc, %g : f32
    linalg.yield %sum : f32
  }
  return
}
