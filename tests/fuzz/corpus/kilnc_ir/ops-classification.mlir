func.func @classification(%logits: tensor<8x10xf32>, %labels: tensor<8xi32>, %l64: tensor<2x3xi64>)
    -> (tensor<8x10xf32>, tensor<8x10xf32>, tensor<2x3x4xf32>) {
  %l = kiln.log_softmax %logits axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %labels : tensor<8xi32> -> tensor<8x10xf32>
  %h64 = kiln.one_hot %l64 : tensor<2x3xi64> -> tensor<2x3x4xf32>
  return %l, %h, %h64 : tensor<8x10xf32>, tensor<8x10xf32>, tensor<2x3x4xf32>
}
