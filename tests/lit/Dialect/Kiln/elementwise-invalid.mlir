// Every user-facing shape-inference and verifier error of the elementwise
// group.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @maximum_broadcast_mismatch(%a: tensor<4x3xf32>, %b: tensor<4xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{maximum: shapes [4, 3] and [4] cannot be broadcast together}}
  %0 = kiln.maximum %a, %b : tensor<4x3xf32>, tensor<4xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @minimum_element_types(%a: tensor<3xf32>, %b: tensor<3xf64>) -> tensor<3xf32> {
  // expected-error @+1 {{minimum: element types differ ('f32' vs 'f64')}}
  %0 = kiln.minimum %a, %b : tensor<3xf32>, tensor<3xf64> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @pow_broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<2xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{pow: shapes [2, 3] and [2] cannot be broadcast together}}
  %0 = kiln.pow %a, %b : tensor<2x3xf32>, tensor<2xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// The mask broadcasts with the values too.
func.func @select_mask_mismatch(%m: tensor<5xf32>, %a: tensor<4x3xf32>, %b: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{select: shapes [5] and [4, 3] cannot be broadcast together}}
  %0 = kiln.select %m, %a, %b : tensor<5xf32>, tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @select_value_mismatch(%m: tensor<3xf32>, %a: tensor<2x3xf32>, %b: tensor<4x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{select: shapes [2, 3] and [4, 3] cannot be broadcast together}}
  %0 = kiln.select %m, %a, %b : tensor<3xf32>, tensor<2x3xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @select_mask_type(%m: tensor<3xf64>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{select: element types differ ('f64' vs 'f32')}}
  %0 = kiln.select %m, %a, %b : tensor<3xf64>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @select_result_type(%m: tensor<3xf32>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'kiln.select' op inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  %0 = kiln.select %m, %a, %b : tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @random_normal_negative_std(%seed: tensor<i64>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.random_normal' op std must be non-negative, got -1.000000e+00}}
  %0 = kiln.random_normal %seed stream 0 mean 0.0 std -1.0 : tensor<i64> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @random_normal_seed_rank(%seed: tensor<1xi64>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.random_normal' op seed must be a 0-d tensor<i64>}}
  %0 = kiln.random_normal %seed stream 0 mean 0.0 std 1.0 : tensor<1xi64> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @sqrt_integer(%x: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{'kiln.sqrt' op operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.sqrt %x : tensor<3xi32>
  return %0 : tensor<3xi32>
}
