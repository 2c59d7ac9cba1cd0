// The kiln.* attributes that passes and the C ABI read are verified, so
// hand-written or damaged IR gets a diagnostic instead of a crash (found by
// tests/fuzz's kilnc IR fuzzer: kilnc segfaulted on each case below).
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'kiln.model' needs "name" as a string}}
module attributes {kiln.model = {batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = 4 : i64}} {
}

// -----

// expected-error @+1 {{'kiln.model' needs "name" as a string, got 3 : i64}}
module attributes {kiln.model = {name = 3 : i64, batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = 4 : i64}} {
}

// -----

// expected-error @+1 {{'kiln.model' needs "batch_size" as an integer}}
module attributes {kiln.model = {name = "tiny", default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = 4 : i64}} {
}

// -----

// expected-error @+1 {{'kiln.model' needs "num_classes" as an integer, got "4"}}
module attributes {kiln.model = {name = "tiny", batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = "4"}} {
}

// -----

// expected-error @+1 {{'kiln.model' needs "input_shape" as array<i64: ...>, got [16]}}
module attributes {kiln.model = {name = "tiny", batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = [16], num_classes = 4 : i64}} {
}

// -----

// expected-error @+1 {{'kiln.model' needs "default_lr" as a float}}
module attributes {kiln.model = {name = "tiny", batch_size = 8 : i64, input_shape = array<i64: 16>, num_classes = 4 : i64}} {
}

// -----

// expected-error @+1 {{'kiln.model' needs "task" as a string, got 1 : i64}}
module attributes {kiln.model = {name = "tiny", batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = 4 : i64, task = 1}} {
}

// -----

// expected-error @+1 {{'kiln.model' must be a dictionary, got "tiny"}}
module attributes {kiln.model = "tiny"} {
}

// -----

// expected-error @+1 {{'kiln.state_results' must be an array of strings, got [1, 2]}}
func.func @f(%w: tensor<2xf32>) -> tensor<2xf32>
    attributes {kiln.state_args = ["w"], kiln.state_results = [1, 2]} {
  return %w : tensor<2xf32>
}

// -----

// expected-error @+1 {{'kiln.state_args' must be an array of strings, got "w"}}
func.func @f(%w: tensor<2xf32>) -> tensor<2xf32>
    attributes {kiln.state_args = "w", kiln.state_results = ["w"]} {
  return %w : tensor<2xf32>
}

// -----

// expected-error @+1 {{'kiln.observations' must be an array of strings, got [unit]}}
func.func @f(%w: tensor<2xf32>) -> tensor<2xf32>
    attributes {kiln.observations = [unit]} {
  return %w : tensor<2xf32>
}

// -----

// A complete kiln.model (task is optional) and string lists verify.
module attributes {kiln.model = {name = "tiny", batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = 4 : i64}} {
func.func @tiny_predict(%w: tensor<2xf32>) -> tensor<2xf32>
    attributes {kiln.state_args = ["w"], kiln.state_results = [""], kiln.observations = []} {
  return %w : tensor<2xf32>
}
}
