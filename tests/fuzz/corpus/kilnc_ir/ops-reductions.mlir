func.func @reductions(%x: tensor<4x3x2xf32>) -> (tensor<4x1x1xf32>, tensor<3xf32>, tensor<f32>) {
  %s = kiln.reduce_sum %x axes = [1, 2] keepdims : tensor<4x3x2xf32> -> tensor<4x1x1xf32>
  %m = kiln.reduce_mean %x axes = [0, 2] : tensor<4x3x2xf32> -> tensor<3xf32>
  %mx = kiln.reduce_max %x axes = [0, 1, 2] : tensor<4x3x2xf32> -> tensor<f32>
  return %s, %m, %mx : tensor<4x1x1xf32>, tensor<3xf32>, tensor<f32>
}
