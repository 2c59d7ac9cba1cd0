// Every user-facing error of the NN ops names the shapes involved.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @conv_channels(%x: tensor<2x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<2x4x6x6xf32> {
  // expected-error @+1 {{conv2d: input [2, 3, 8, 8] has 3 channels but weight [4, 2, 3, 3] expects 2 (weight.shape[1] * groups = 2 * 1)}}
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<2x3x8x8xf32>, tensor<4x2x3x3xf32> -> tensor<2x4x6x6xf32>
  return %y : tensor<2x4x6x6xf32>
}

// -----

func.func @conv_groups(%x: tensor<2x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<2x3x6x6xf32> {
  // expected-error @+1 {{conv2d: weight [3, 2, 3, 3] has 3 output channels, not divisible by groups = 2}}
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 2 : tensor<2x4x8x8xf32>, tensor<3x2x3x3xf32> -> tensor<2x3x6x6xf32>
  return %y : tensor<2x3x6x6xf32>
}

// -----

func.func @conv_rank(%x: tensor<3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<4x6x6xf32> {
  // expected-error @+1 {{conv2d: expects a 4-D input [N, C, H, W] and a 4-D weight [O, C/groups, KH, KW], got input [3, 8, 8] and weight [4, 3, 3, 3]}}
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<4x6x6xf32>
  return %y : tensor<4x6x6xf32>
}

// -----

func.func @conv_window_too_large(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error @+1 {{conv2d: the 3x3 window (dilation [2, 2]) does not fit input [1, 1, 3, 3] with padding [0, 0] (output would be 0x0)}}
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [2, 2] groups = 1 : tensor<1x1x3x3xf32>, tensor<1x1x3x3xf32> -> tensor<1x1x1x1xf32>
  return %y : tensor<1x1x1x1xf32>
}

// -----

func.func @conv_bad_stride(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x1x1xf32>) -> tensor<1x1x3x3xf32> {
  // expected-error @+1 {{conv2d: stride and dilation must be positive and padding non-negative, got stride [0, 1], padding [0, 0], dilation [1, 1]}}
  %y = kiln.conv2d %x, %w stride = [0, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<1x1x3x3xf32>, tensor<1x1x1x1xf32> -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

func.func @conv_pair(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x1x1xf32>) -> tensor<1x1x3x3xf32> {
  // expected-error @+1 {{conv2d: padding needs 2 entries (height, width), got [0]}}
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [0] dilation = [1, 1] groups = 1 : tensor<1x1x3x3xf32>, tensor<1x1x1x1xf32> -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

func.func @conv_element_types(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x1x1xf64>) -> tensor<1x1x3x3xf32> {
  // expected-error @+1 {{conv2d: element types differ (input 'f32', weight 'f64')}}
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<1x1x3x3xf32>, tensor<1x1x1x1xf64> -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

func.func @input_grad_shape(%gy: tensor<2x4x6x6xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x3x9x9xf32> {
  // expected-error @+1 {{'kiln.conv2d_input_grad' op grad_output [2, 4, 6, 6] does not match the conv2d of an input [2, 3, 9, 9] with weight [4, 3, 3, 3] (expected [2, 4, 7, 7])}}
  %gx = kiln.conv2d_input_grad %gy, %w stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<2x4x6x6xf32>, tensor<4x3x3x3xf32> -> tensor<2x3x9x9xf32>
  return %gx : tensor<2x3x9x9xf32>
}

// -----

func.func @weight_grad_shape(%x: tensor<2x3x8x8xf32>, %gy: tensor<2x5x6x6xf32>) -> tensor<4x3x3x3xf32> {
  // expected-error @+1 {{'kiln.conv2d_weight_grad' op grad_output [2, 5, 6, 6] does not match the conv2d of input [2, 3, 8, 8] with a weight [4, 3, 3, 3] (expected [2, 4, 6, 6])}}
  %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [0, 0] dilation = [1, 1] groups = 1 : tensor<2x3x8x8xf32>, tensor<2x5x6x6xf32> -> tensor<4x3x3x3xf32>
  return %gw : tensor<4x3x3x3xf32>
}

// -----

func.func @pool_padding(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{max_pool2d: padding [2, 2] must be at most half the kernel [2, 2]}}
  %y = kiln.max_pool2d %x kernel = [2, 2] stride = [1, 1] padding = [2, 2] dilation = [1, 1] : tensor<1x1x4x4xf32> -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @pool_kernel(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{max_pool2d: kernel must be positive, got [0, 2]}}
  %y = kiln.max_pool2d %x kernel = [0, 2] stride = [1, 1] padding = [0, 0] dilation = [1, 1] : tensor<1x1x4x4xf32> -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @pool_grad_shape(%x: tensor<1x1x4x4xf32>, %g: tensor<1x1x3x3xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{max_pool2d_grad: grad_output [1, 1, 3, 3] does not match the max_pool2d of input [1, 1, 4, 4] (expected [1, 1, 2, 2])}}
  %gx = kiln.max_pool2d_grad %x, %g kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1] : tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32> -> tensor<1x1x4x4xf32>
  return %gx : tensor<1x1x4x4xf32>
}

// -----

func.func @increment_float(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'kiln.increment' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %y = kiln.increment %x : tensor<f32>
  return %y : tensor<f32>
}
