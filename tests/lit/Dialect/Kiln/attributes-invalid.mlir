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

// -----

// Each attribute sits where its readers look for it.
// expected-error @+1 {{'kiln.model' belongs on a module}}
func.func @f() attributes {kiln.model = {name = "tiny", batch_size = 8 : i64, default_lr = 5.000000e-02 : f64, input_shape = array<i64: 16>, num_classes = 4 : i64}} {
  return
}

// -----

// expected-error @+1 {{'kiln.state_args' belongs on a function}}
module attributes {kiln.state_args = ["w"]} {
}

// -----

// expected-error @+1 {{'kiln.state_args' names 1 arguments but the function has 2}}
func.func @f(%w: tensor<2xf32>, %x: tensor<2xf32>) -> tensor<2xf32>
    attributes {kiln.state_args = ["w"], kiln.state_results = ["w"]} {
  return %w : tensor<2xf32>
}

// -----

// expected-error @+1 {{'kiln.state_results' names 2 results but the function has 1}}
func.func @f(%w: tensor<2xf32>) -> tensor<2xf32>
    attributes {kiln.state_args = ["w"], kiln.state_results = ["w", ""]} {
  return %w : tensor<2xf32>
}

// -----

// expected-error @+1 {{'kiln.num_outputs' must be a non-negative integer, got -1 : i64}}
func.func @f(%arena: memref<8xi8>) attributes {kiln.num_outputs = -1 : i64} {
  return
}

// -----

// expected-error @+1 {{'kiln.num_outputs' belongs on a function}}
module attributes {kiln.num_outputs = 1 : i64} {
}

// -----

// expected-error @+1 {{'kiln.arena_bytes' must be a non-negative integer, got "64"}}
module attributes {kiln.arena_bytes = "64", kiln.state_bytes = 0 : i64} {
}

// -----

// expected-error @+1 {{'kiln.state_bytes' belongs on a module}}
func.func @f() attributes {kiln.state_bytes = 8 : i64} {
  return
}

// -----

// expected-error @+1 {{'kiln.state_layout' entries need a string "name", an integer "offset" and a type "type", got {name = "w", offset = 0 : i64}}}
module attributes {kiln.state_layout = [{name = "w", offset = 0 : i64}]} {
}

// -----

// expected-error @+1 {{'kiln.state_layout' must be an array of dictionaries, got ["w"]}}
module attributes {kiln.state_layout = ["w"]} {
}

// -----

// expected-error @+1 {{'kiln.numerics_sites' must be an array of strings, got [3]}}
module attributes {kiln.numerics_sites = [3]} {
}

// -----

// expected-error @+1 {{'kiln.ptx' must be a string, got 1 : i64}}
module attributes {kiln.ptx = 1} {
}

// -----

// A misspelt name is caught instead of silently ignored.
// expected-error @+1 {{unknown kiln attribute 'kiln.state_arg'}}
func.func @f(%w: tensor<2xf32>) -> tensor<2xf32>
    attributes {kiln.state_arg = ["w"]} {
  return %w : tensor<2xf32>
}

// -----

// After bufferization the results are out-parameters: the two name lists
// together cover the arguments. And the memory plan's module attributes.
module attributes {kiln.arena_bytes = 16 : i64, kiln.state_bytes = 8 : i64, kiln.numerics_sites = ["model.cpp:3"], kiln.ptx = "", kiln.state_layout = [{name = "w", offset = 0 : i64, type = memref<2xf32>, observation}]} {
func.func @step(%w: memref<2xf32>, %out: memref<2xf32>)
    attributes {kiln.state_args = ["w"], kiln.state_results = ["w"]} {
  return
}
func.func @planned(%arena: memref<16xi8>, %out: memref<2xf32>)
    attributes {kiln.num_outputs = 1 : i64} {
  return
}
}

// -----

// kiln.chunk_lanes marks a convolution's chunk loop (an scf.for) for
// kiln-parallelize-chunk-loops.
// expected-error @+1 {{'kiln.chunk_lanes' belongs on an scf.for}}
func.func @chunk_lanes_on_a_function() attributes {kiln.chunk_lanes} {
  return
}

// -----

func.func @chunk_lanes_with_a_value() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'kiln.chunk_lanes' must be a unit attribute, got 2 : i64}}
  scf.for %i = %c0 to %c1 step %c1 {
  } {kiln.chunk_lanes = 2}
  return
}
