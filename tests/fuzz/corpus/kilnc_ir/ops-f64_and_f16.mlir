func.func @f64_and_f16(%x: tensor<2xf64>, %h: tensor<2xf16>) -> (tensor<2xf64>, tensor<2xf16>) {
  %0 = kiln.exp %x : tensor<2xf64>
  %1 = kiln.add %h, %h : tensor<2xf16>, tensor<2xf16> -> tensor<2xf16>
  return %0, %1 : tensor<2xf64>, tensor<2xf16>
}
