func.func @slices(%x: tensor<4x6xf32>, %s: tensor<2x3xf32>, %i: tensor<5xi32>) -> (tensor<2x3xf32>, tensor<4x6xf32>, tensor<2xi32>) {
  %0 = kiln.slice %x offsets = [1, 0] sizes = [2, 3] strides = [1, 2] : tensor<4x6xf32> -> tensor<2x3xf32>
  %1 = kiln.slice_scatter %s into %x offsets = [2, 1] strides = [1, 2] : tensor<2x3xf32> into tensor<4x6xf32>
  %2 = kiln.slice %i offsets = [3] sizes = [2] strides = [1] : tensor<5xi32> -> tensor<2xi32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<4x6xf32>, tensor<2xi32>
}
