// Every user-facing shape error of the layout ops names the shapes involved.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @slice_out_of_range(%x: tensor<4x6xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{slice: window offset 2, size 3, stride 2 reads index 6 of dimension 1 of [4, 6]}}
  %0 = kiln.slice %x offsets = [0, 2] sizes = [2, 3] strides = [1, 2] : tensor<4x6xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @slice_rank(%x: tensor<4x6xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{slice: a rank-2 tensor [4, 6] needs 2 offsets, sizes and strides, got 1, 1 and 1}}
  %0 = kiln.slice %x offsets = [0] sizes = [2] strides = [1] : tensor<4x6xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @slice_zero_stride(%x: tensor<4xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{slice: dimension 0 has offset 0, size 2, stride 0 (expected offset >= 0, size >= 1, stride >= 1)}}
  %0 = kiln.slice %x offsets = [0] sizes = [2] strides = [0] : tensor<4xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @slice_wrong_result(%x: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'kiln.slice' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  %0 = kiln.slice %x offsets = [0] sizes = [2] strides = [1] : tensor<4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @slice_scatter_too_big(%s: tensor<3x3xf32>, %x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{slice_scatter: window offset 2, size 3, stride 1 reads index 4 of dimension 0 of [4, 6]}}
  %0 = kiln.slice_scatter %s into %x offsets = [2, 0] strides = [1, 1] : tensor<3x3xf32> into tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @slice_scatter_types(%s: tensor<2xf64>, %x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{slice_scatter: element types differ ('f64' vs 'f32')}}
  %0 = kiln.slice_scatter %s into %x offsets = [0] strides = [1] : tensor<2xf64> into tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// concat names both shapes.
func.func @concat_mismatch(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x7xf32> {
  // expected-error @+1 {{concat: shapes [2, 3] and [3, 4] differ outside dimension 1}}
  %0 = kiln.concat %a, %b dim = 1 : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x7xf32>
  return %0 : tensor<2x7xf32>
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{concat: shapes [2, 3] and [3] differ outside dimension 0}}
  %0 = kiln.concat %a, %b dim = 0 : tensor<2x3xf32>, tensor<3xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @concat_dim(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{concat: dim 2 is out of range for shape [2, 3]}}
  %0 = kiln.concat %a, %a dim = 2 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @concat_types(%a: tensor<2xf32>, %b: tensor<2xi32>) -> tensor<4xf32> {
  // expected-error @+1 {{concat: element types differ ('f32' vs 'i32')}}
  %0 = kiln.concat %a, %b dim = 0 : tensor<2xf32>, tensor<2xi32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gather_rank(%x: tensor<4x3xf32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+1 {{gather: index of shape [2] must have the rank of the input [4, 3] (1 vs 2)}}
  %0 = kiln.gather %x, %i dim = 0 : tensor<4x3xf32>, tensor<2xi64> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gather_index_too_big(%x: tensor<4x3xf32>, %i: tensor<2x5xi64>) -> tensor<2x5xf32> {
  // expected-error @+1 {{gather: index shape [2, 5] exceeds input shape [4, 3] in dimension 1 (only dimension 0 may be larger)}}
  %0 = kiln.gather %x, %i dim = 0 : tensor<4x3xf32>, tensor<2x5xi64> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @gather_float_index(%x: tensor<4x3xf32>, %i: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = kiln.gather %x, %i dim = 0 : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @scatter_add_source(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %s: tensor<2x2xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{scatter_add: index shape [2, 3] does not fit in source shape [2, 2]}}
  %0 = kiln.scatter_add %x, %i, %s dim = 0 : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x2xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @scatter_add_dim(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %s: tensor<2x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{scatter_add: dim 2 is out of range for shape [4, 3]}}
  %0 = kiln.scatter_add %x, %i, %s dim = 2 : tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @topk_k(%x: tensor<3x5xf32>) -> (tensor<3x6xf32>, tensor<3x6xi64>) {
  // expected-error @+1 {{topk: k = 6 is out of range for dimension 1 of size 5 in [3, 5] (expected 1 <= k <= 5)}}
  %v, %i = kiln.topk %x k = 6 dim = 1 largest = true : tensor<3x5xf32> -> tensor<3x6xf32>, tensor<3x6xi64>
  return %v, %i : tensor<3x6xf32>, tensor<3x6xi64>
}

// -----

func.func @topk_rank0(%x: tensor<f32>) -> (tensor<f32>, tensor<i64>) {
  // expected-error @+1 {{topk: expects tensors of rank at least 1}}
  %v, %i = kiln.topk %x k = 1 dim = 0 largest = true : tensor<f32> -> tensor<f32>, tensor<i64>
  return %v, %i : tensor<f32>, tensor<i64>
}
