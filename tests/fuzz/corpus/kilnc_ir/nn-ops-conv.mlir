func.func @conv(%x: tensor<8x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %gy: tensor<8x6x28x28xf32>)
    -> (tensor<8x6x28x28xf32>, tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32>) {
  %y = kiln.conv2d %x, %w stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1
      : tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x6x28x28xf32>
  %gx = kiln.conv2d_input_grad %gy, %w stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1
      : tensor<8x6x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<8x1x28x28xf32>
  %gw = kiln.conv2d_weight_grad %x, %gy stride = [1, 1] padding = [2, 2] dilation = [1, 1] groups = 1
      : tensor<8x1x28x28xf32>, tensor<8x6x28x28xf32> -> tensor<6x1x5x5xf32>
  return %y, %gx, %gw : tensor<8x6x28x28xf32>, tensor<8x1x28x28xf32>, tensor<6x1x5x5xf32>
}
