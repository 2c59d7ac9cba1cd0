func.func @gather_scatter(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %j: tensor<2x2xi32>, %s: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x2xf32>, tensor<4x3xf32>) {
  %0 = kiln.gather %x, %i dim = 0 : tensor<4x3xf32>, tensor<2x3xi64> -> tensor<2x3xf32>
  %1 = kiln.gather %x, %j dim = 1 : tensor<4x3xf32>, tensor<2x2xi32> -> tensor<2x2xf32>
  %2 = kiln.scatter_add %x, %i, %s dim = 0 : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32> -> tensor<4x3xf32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<2x2xf32>, tensor<4x3xf32>
}
