func.func @select(%m: tensor<4x1xf32>, %a: tensor<3xf32>, %b: tensor<f32>) -> tensor<4x3xf32> {
  %r = kiln.select %m, %a, %b : tensor<4x1xf32>, tensor<3xf32>, tensor<f32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
