// Every user-facing verifier and shape-inference error of the kiln dialect.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Broadcasting names both shapes.
func.func @add_broadcast_mismatch(%a: tensor<4x3xf32>, %b: tensor<4xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{add: shapes [4, 3] and [4] cannot be broadcast together}}
  %0 = kiln.add %a, %b : tensor<4x3xf32>, tensor<4xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @sub_broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{sub: shapes [2, 3] and [3, 3] cannot be broadcast together}}
  %0 = kiln.sub %a, %b : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @mul_broadcast_mismatch(%a: tensor<5xf32>, %b: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{mul: shapes [5] and [2, 4] cannot be broadcast together}}
  %0 = kiln.mul %a, %b : tensor<5xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @div_broadcast_mismatch(%a: tensor<2x1x3xf32>, %b: tensor<4x2xf32>) -> tensor<2x4x3xf32> {
  // expected-error @+1 {{div: shapes [2, 1, 3] and [4, 2] cannot be broadcast together}}
  %0 = kiln.div %a, %b : tensor<2x1x3xf32>, tensor<4x2xf32> -> tensor<2x4x3xf32>
  return %0 : tensor<2x4x3xf32>
}

// -----

func.func @compare_broadcast_mismatch(%a: tensor<3xf32>, %b: tensor<2xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{compare: shapes [3] and [2] cannot be broadcast together}}
  %0 = kiln.compare "lt", %a, %b : tensor<3xf32>, tensor<2xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @add_element_types_differ(%a: tensor<4x3xf32>, %b: tensor<3xf64>) -> tensor<4x3xf32> {
  // expected-error @+1 {{add: element types differ ('f32' vs 'f64')}}
  %0 = kiln.add %a, %b : tensor<4x3xf32>, tensor<3xf64> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// A declared result type that disagrees with the inferred one.
func.func @add_wrong_result(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'kiln.add' op inferred type(s) 'tensor<4x3xf32>' are incompatible with return type(s) of operation 'tensor<4x4xf32>'}}
  %0 = kiln.add %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// Division is floating-point only (the DSL divides integers as f32).
func.func @div_integer_operands(%a: tensor<3xi32>, %b: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{'kiln.div' op operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.div %a, %b : tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

// A mean of integers has no integer result (torch.mean rejects it too).
func.func @reduce_mean_integer_operand(%a: tensor<3xi32>) -> tensor<i32> {
  // expected-error @+1 {{'kiln.reduce_mean' op operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.reduce_mean %a axes = [0] : tensor<3xi32> -> tensor<i32>
  return %0 : tensor<i32>
}

// -----

// Integer add needs one element type: the DSL casts mixed operands first.
func.func @add_mixed_integer_types(%a: tensor<3xi32>, %b: tensor<3xi64>) -> tensor<3xi64> {
  // expected-error @+1 {{add: element types differ ('i32' vs 'i64')}}
  %0 = kiln.add %a, %b : tensor<3xi32>, tensor<3xi64> -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

func.func @cast_changes_shape(%a: tensor<3xi32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.cast' op requires the same shape for all operands and results}}
  %0 = kiln.cast %a : tensor<3xi32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @compare_bad_predicate(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.compare' op unknown predicate 'gte' (expected eq, ne, lt, le, gt or ge)}}
  %0 = kiln.compare "gte", %a, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @matmul_inner_mismatch(%a: tensor<8x784xf32>, %b: tensor<748x10xf32>) -> tensor<8x10xf32> {
  // expected-error @+1 {{matmul: shapes [8, 784] and [748, 10] are incompatible (inner dimensions 784 and 748)}}
  %0 = kiln.matmul %a, %b : tensor<8x784xf32>, tensor<748x10xf32> -> tensor<8x10xf32>
  return %0 : tensor<8x10xf32>
}

// -----

func.func @matmul_batch_mismatch(%a: tensor<2x4x3xf32>, %b: tensor<3x3x5xf32>) -> tensor<2x4x5xf32> {
  // expected-error @+1 {{matmul: shapes [2, 4, 3] and [3, 3, 5] are incompatible (inner dimensions 3 and 3, batch dimensions must match)}}
  %0 = kiln.matmul %a, %b : tensor<2x4x3xf32>, tensor<3x3x5xf32> -> tensor<2x4x5xf32>
  return %0 : tensor<2x4x5xf32>
}

// -----

func.func @matmul_rank_mismatch(%a: tensor<4x3xf32>, %b: tensor<2x3x5xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{matmul: expects two rank-2 or two rank-3 tensors, got [4, 3] and [2, 3, 5]}}
  %0 = kiln.matmul %a, %b : tensor<4x3xf32>, tensor<2x3x5xf32> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @matmul_rank1(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<f32> {
  // expected-error @+1 {{matmul: expects two rank-2 or two rank-3 tensors, got [3] and [3]}}
  %0 = kiln.matmul %a, %b : tensor<3xf32>, tensor<3xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @matmul_element_types_differ(%a: tensor<4x3xf32>, %b: tensor<3x5xf64>) -> tensor<4x5xf32> {
  // expected-error @+1 {{matmul: element types differ ('f32' vs 'f64')}}
  %0 = kiln.matmul %a, %b : tensor<4x3xf32>, tensor<3x5xf64> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @transpose_repeated_dim(%a: tensor<4x3xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{transpose: [0, 0] is not a permutation}}
  %0 = kiln.transpose %a, [0, 0] : tensor<4x3xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @transpose_out_of_range(%a: tensor<4x3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{transpose: [2, 0] is not a permutation}}
  %0 = kiln.transpose %a, [2, 0] : tensor<4x3xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @transpose_wrong_length(%a: tensor<4x3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{transpose: permutation has 3 entries but the input has rank 2}}
  %0 = kiln.transpose %a, [1, 0, 2] : tensor<4x3xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @reshape_element_count(%a: tensor<8x28x28xf32>) -> tensor<8x748xf32> {
  // expected-error @+1 {{'kiln.reshape' op cannot reshape [8, 28, 28] (6272 elements) to [8, 748] (5984 elements)}}
  %0 = kiln.reshape %a : tensor<8x28x28xf32> -> tensor<8x748xf32>
  return %0 : tensor<8x748xf32>
}

// -----

func.func @reshape_element_type(%a: tensor<4xf32>) -> tensor<4xi32> {
  // expected-error @+1 {{'kiln.reshape' op element type changes from 'f32' to 'i32'}}
  %0 = kiln.reshape %a : tensor<4xf32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @broadcast_to_incompatible(%a: tensor<3xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'kiln.broadcast_to' op cannot broadcast [3] to [4, 2]}}
  %0 = kiln.broadcast_to %a : tensor<3xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// Broadcasting only grows a shape: the target must be the broadcast result.
func.func @broadcast_to_smaller(%a: tensor<4x3xf32>) -> tensor<1x3xf32> {
  // expected-error @+1 {{'kiln.broadcast_to' op cannot broadcast [4, 3] to [1, 3]}}
  %0 = kiln.broadcast_to %a : tensor<4x3xf32> -> tensor<1x3xf32>
  return %0 : tensor<1x3xf32>
}

// -----

func.func @broadcast_to_lower_rank(%a: tensor<2x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.broadcast_to' op cannot broadcast [2, 3] to [3]}}
  %0 = kiln.broadcast_to %a : tensor<2x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @broadcast_to_element_type(%a: tensor<3xf32>) -> tensor<2x3xf64> {
  // expected-error @+1 {{'kiln.broadcast_to' op element type changes from 'f32' to 'f64'}}
  %0 = kiln.broadcast_to %a : tensor<3xf32> -> tensor<2x3xf64>
  return %0 : tensor<2x3xf64>
}

// -----

func.func @reduce_sum_axis_out_of_range(%a: tensor<4x3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{reduce_sum: axis 2 is out of range for a rank-2 tensor}}
  %0 = kiln.reduce_sum %a axes = [2] : tensor<4x3xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @reduce_mean_negative_axis(%a: tensor<4x3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{reduce_mean: axis -1 is out of range for a rank-2 tensor}}
  %0 = kiln.reduce_mean %a axes = [-1] : tensor<4x3xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @reduce_max_unsorted(%a: tensor<4x3x2xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{reduce_max: axes must be sorted and unique}}
  %0 = kiln.reduce_max %a axes = [2, 0] : tensor<4x3x2xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reduce_sum_duplicate_axis(%a: tensor<4x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{reduce_sum: axes must be sorted and unique}}
  %0 = kiln.reduce_sum %a axes = [0, 0] : tensor<4x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// keepdims changes the inferred shape; a result without the size-1 dims is
// rejected.
func.func @reduce_sum_keepdims_result(%a: tensor<4x3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.reduce_sum' op inferred type(s) 'tensor<4x1xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  %0 = kiln.reduce_sum %a axes = [1] keepdims : tensor<4x3xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @log_softmax_axis_out_of_range(%a: tensor<8x10xf32>) -> tensor<8x10xf32> {
  // expected-error @+1 {{'kiln.log_softmax' op axis 2 is out of range for a rank-2 tensor}}
  %0 = kiln.log_softmax %a axis = 2 : tensor<8x10xf32>
  return %0 : tensor<8x10xf32>
}

// -----

// A negative axis is rejected too (it is not a Python-style "from the end").
func.func @log_softmax_negative_axis(%a: tensor<8x10xf32>) -> tensor<8x10xf32> {
  // expected-error @+1 {{is out of range for a rank-2 tensor}}
  %0 = kiln.log_softmax %a axis = -1 : tensor<8x10xf32>
  return %0 : tensor<8x10xf32>
}

// -----

func.func @one_hot_missing_class_dim(%l: tensor<8xi32>) -> tensor<8xf32> {
  // expected-error @+1 {{'kiln.one_hot' op result shape [8] must be the indices' shape [8] plus a class dimension}}
  %0 = kiln.one_hot %l : tensor<8xi32> -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

func.func @one_hot_wrong_batch(%l: tensor<8xi32>) -> tensor<4x10xf32> {
  // expected-error @+1 {{'kiln.one_hot' op result shape [4, 10] must be the indices' shape [8] plus a class dimension}}
  %0 = kiln.one_hot %l : tensor<8xi32> -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @one_hot_float_indices(%l: tensor<8xf32>) -> tensor<8x10xf32> {
  // expected-error @+1 {{'kiln.one_hot' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = kiln.one_hot %l : tensor<8xf32> -> tensor<8x10xf32>
  return %0 : tensor<8x10xf32>
}

// -----

func.func @random_uniform_low_above_high(%seed: tensor<i64>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.random_uniform' op low must not exceed high}}
  %0 = kiln.random_uniform %seed stream 0 range [1.0, -1.0] : tensor<i64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @random_uniform_vector_seed(%seed: tensor<2xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.random_uniform' op seed must be a 0-d tensor<i64>}}
  %0 = kiln.random_uniform %seed stream 0 range [0.0, 1.0] : tensor<2xi64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @random_uniform_i32_seed(%seed: tensor<i32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.random_uniform' op operand #0 must be ranked tensor of 64-bit signless integer values}}
  %0 = kiln.random_uniform %seed stream 0 range [0.0, 1.0] : tensor<i32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// In the custom form the seed takes the output's type, so a mismatch is
// caught where the seed value was defined with another type.
// expected-note @+1 {{prior use here}}
func.func @vjp_seed_type_parse(%x: tensor<3xf32>, %seed: tensor<f32>) -> tensor<3xf32> {
  %y = kiln.exp %x : tensor<3xf32>
  // expected-error @+1 {{use of value '%seed' expects different type than prior uses: 'tensor<3xf32>' vs 'tensor<f32>'}}
  %g = kiln.vjp %y, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}

// -----

// The generic form reaches the verifier.
func.func @vjp_seed_type_verifier(%x: tensor<3xf32>, %seed: tensor<f32>) -> tensor<3xf32> {
  %y = kiln.exp %x : tensor<3xf32>
  // expected-error @+1 {{'kiln.vjp' op failed to verify that all of {output, seed} have same type}}
  %g = "kiln.vjp"(%y, %seed, %x) : (tensor<3xf32>, tensor<f32>, tensor<3xf32>) -> tensor<3xf32>
  return %g : tensor<3xf32>
}

// -----

// Each gradient has its wrt value's type.
func.func @vjp_gradient_type(%x: tensor<3xf32>, %seed: tensor<3xf32>) -> tensor<4xf32> {
  %y = kiln.exp %x : tensor<3xf32>
  // expected-error @+1 {{'kiln.vjp' op inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  %g = "kiln.vjp"(%y, %seed, %x) : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

// The constant's result type is its attribute's type.
func.func @constant_type_mismatch() -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.constant' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  %0 = "kiln.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @unary_type_mismatch(%x: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.exp' op requires the same type for all operands and results}}
  %0 = "kiln.exp"(%x) : (tensor<3xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
