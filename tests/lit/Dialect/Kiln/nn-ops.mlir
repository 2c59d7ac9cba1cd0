// The NN ops parse, print and re-parse to the same form.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<8x1x28x28xf32>, %[[W:.*]]: tensor<6x1x5x5xf32>, %[[GY:.*]]: tensor<8x6x28x28xf32>)
func.func @conv(%x: tensor<8x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %gy: tensor<8x6x28x28xf32>)
    -> (tensor<8x6x28x28xf32>, tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32>) {
  // CHECK: %[[Y:.*]] = kiln.conv2d %[[X]], %[[W]] stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1 : tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x6x28x28xf32>
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1
      : tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x6x28x28xf32>
  // CHECK: %[[GX:.*]] = kiln.conv2d_input_grad %[[GY]], %[[W]] stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1 : tensor<8x6x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x1x28x28xf32>
  %gx = kiln.conv2d_input_grad %gy, %w stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1
      : tensor<8x6x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x1x28x28xf32>
  // CHECK: %[[GW:.*]] = kiln.conv2d_weight_grad %[[X]], %[[GY]] stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1 : tensor<8x1x28x28xf32>, tensor<8x6x28x28xf32> -> tensor<6x1x5x5xf32>
  %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1
      : tensor<8x1x28x28xf32>, tensor<8x6x28x28xf32> -> tensor<6x1x5x5xf32>
  // CHECK: return %[[Y]], %[[GX]], %[[GW]]
  return %y, %gx, %gw : tensor<8x6x28x28xf32>, tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32>
}

// Strides, asymmetric padding, dilation and groups.
// CHECK-LABEL: func.func @conv_window
// CHECK: kiln.conv2d %{{.*}}, %{{.*}} stride = [2, 1] padding = [1, 2] dilation = [1, 2] groups = 2 : tensor<2x4x7x6xf64>, tensor<6x2x3x2xf64> -> tensor<2x6x4x8xf64>
func.func @conv_window(%x: tensor<2x4x7x6xf64>, %w: tensor<6x2x3x2xf64>) -> tensor<2x6x4x8xf64> {
  %y = kiln.conv2d %x, %w stride = [2, 1] padding = [1, 2] dilation = [1, 2] groups = 2
      : tensor<2x4x7x6xf64>, tensor<6x2x3x2xf64> -> tensor<2x6x4x8xf64>
  return %y : tensor<2x6x4x8xf64>
}

// CHECK-LABEL: func.func @pool
// CHECK-SAME: (%[[X:.*]]: tensor<8x6x28x28xf32>, %[[G:.*]]: tensor<8x6x14x14xf32>)
func.func @pool(%x: tensor<8x6x28x28xf32>, %g: tensor<8x6x14x14xf32>) -> (tensor<8x6x14x14xf32>, tensor<8x6x28x28xf32>) {
  // CHECK: %[[Y:.*]] = kiln.max_pool2d %[[X]] kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<8x6x28x28xf32> -> tensor<8x6x14x14xf32>
  %y = kiln.max_pool2d %x kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1]
      : tensor<8x6x28x28xf32> -> tensor<8x6x14x14xf32>
  // CHECK: %[[GX:.*]] = kiln.max_pool2d_grad %[[X]], %[[G]] kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<8x6x28x28xf32>, tensor<8x6x14x14xf32> -> tensor<8x6x28x28xf32>
  %gx = kiln.max_pool2d_grad %x, %g kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1]
      : tensor<8x6x28x28xf32>, tensor<8x6x14x14xf32> -> tensor<8x6x28x28xf32>
  // CHECK: return %[[Y]], %[[GX]]
  return %y, %gx : tensor<8x6x14x14xf32>, tensor<8x6x28x28xf32>
}

// CHECK-LABEL: func.func @helpers
func.func @helpers(%v: tensor<4xf32>, %step: tensor<i64>) -> (tensor<4xf32>, tensor<i64>) {
  // CHECK: kiln.rsqrt %{{.*}} : tensor<4xf32>
  %r = kiln.rsqrt %v : tensor<4xf32>
  // CHECK: kiln.increment %{{.*}} : tensor<i64>
  %n = kiln.increment %step : tensor<i64>
  return %r, %n : tensor<4xf32>, tensor<i64>
}
