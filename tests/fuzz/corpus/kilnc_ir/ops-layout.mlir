func.func @layout(%x: tensor<8x784xf32>, %w: tensor<784x10xf32>, %v: tensor<3xf32>)
    -> (tensor<8x10xf32>, tensor<10x8xf32>, tensor<80xf32>, tensor<4x3xf32>) {
  %y = kiln.matmul %x, %w : tensor<8x784xf32>, tensor<784x10xf32> -> tensor<8x10xf32>
  %t = kiln.transpose %y, [1, 0] : tensor<8x10xf32> -> tensor<10x8xf32>
  %r = kiln.reshape %t : tensor<10x8xf32> -> tensor<80xf32>
  %b = kiln.broadcast_to %v : tensor<3xf32> -> tensor<4x3xf32>
  return %y, %t, %r, %b : tensor<8x10xf32>, tensor<10x8xf32>, tensor<80xf32>, tensor<4x3xf32>
}
