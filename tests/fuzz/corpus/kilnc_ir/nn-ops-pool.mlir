func.func @pool(%x: tensor<8x6x28x28xf32>, %g: tensor<8x6x14x14xf32>) -> (tensor<8x6x14x14xf32>, tensor<8x6x28x28xf32>) {
  %y = kiln.max_pool2d %x kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1]
      : tensor<8x6x28x28xf32> -> tensor<8x6x14x14xf32>
  %gx = kiln.max_pool2d_grad %x, %g kernel = [2, 2] stride = [2, 2] padding = [0, 0] dilation = [1, 1]
      : tensor<8x6x28x28xf32>, tensor<8x6x14x14xf32> -> tensor<8x6x28x28xf32>
  return %y, %gx : tensor<8x6x14x14xf32>, tensor<8x6x28x28xf32>
}
