func.func @vjp(%w: tensor<4x3xf32>, %b: tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
  %y = kiln.add %w, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %loss = kiln.reduce_sum %y axes = [0, 1] : tensor<4x3xf32> -> tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %gw, %gb = kiln.vjp %loss, %one wrt %w, %b : tensor<f32>, tensor<4x3xf32>, tensor<3xf32>
  return %gw, %gb : tensor<4x3xf32>, tensor<3xf32>
}
