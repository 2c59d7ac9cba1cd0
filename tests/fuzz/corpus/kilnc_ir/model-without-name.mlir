module attributes {kiln.model = {batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = 4 : i64, task = "classification"}} {
func.func @tiny_init(%seed: tensor<i64>) -> (tensor<16x4xf32>, tensor<4xf32>)
    attributes {kiln.state_args = [""], kiln.state_results = ["w", "b"]} {
  %w = kiln.random_uniform %seed stream 0 range [-0.5, 0.5] : tensor<i64> -> tensor<16x4xf32>
  %b = kiln.constant dense<0.0> : tensor<4xf32>
  return %w, %b : tensor<16x4xf32>, tensor<4xf32>
}
func.func @tiny_train_step(%w: tensor<16x4xf32>, %b: tensor<4xf32>, %x: tensor<8x16xf32>, %y: tensor<8xi32>, %lr: tensor<f32>)
    -> (tensor<16x4xf32>, tensor<4xf32>, tensor<f32>)
    attributes {kiln.state_args = ["w", "b", "", "", ""], kiln.state_results = ["w", "b", ""]} {
  %h = kiln.matmul %x, %w : tensor<8x16xf32>, tensor<16x4xf32> -> tensor<8x4xf32>
  %z = kiln.add %h, %b : tensor<8x4xf32>, tensor<4xf32> -> tensor<8x4xf32>
  %r = kiln.relu %z : tensor<8x4xf32>
  %l = kiln.log_softmax %r axis = 1 : tensor<8x4xf32>
  %oh = kiln.one_hot %y : tensor<8xi32> -> tensor<8x4xf32>
  %p = kiln.mul %l, %oh : tensor<8x4xf32>, tensor<8x4xf32> -> tensor<8x4xf32>
  %s = kiln.reduce_sum %p axes = [1] : tensor<8x4xf32> -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : tensor<8xf32> -> tensor<f32>
  %loss = kiln.neg %m : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %gw, %gb = kiln.vjp %loss, %one wrt %w, %b : tensor<f32>, tensor<16x4xf32>, tensor<4xf32>
  %sw = kiln.mul %gw, %lr : tensor<16x4xf32>, tensor<f32> -> tensor<16x4xf32>
  %nw = kiln.sub %w, %sw : tensor<16x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  %sb = kiln.mul %gb, %lr : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %nb = kiln.sub %b, %sb : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %nw, %nb, %loss : tensor<16x4xf32>, tensor<4xf32>, tensor<f32>
}
func.func @tiny_predict(%w: tensor<16x4xf32>, %b: tensor<4xf32>, %x: tensor<8x16xf32>) -> tensor<8x4xf32>
    attributes {kiln.state_args = ["w", "b", ""], kiln.state_results = [""]} {
  %h = kiln.matmul %x, %w : tensor<8x16xf32>, tensor<16x4xf32> -> tensor<8x4xf32>
  %z = kiln.add %h, %b : tensor<8x4xf32>, tensor<4xf32> -> tensor<8x4xf32>
  return %z : tensor<8x4xf32>
}
}
