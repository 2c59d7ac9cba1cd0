// Every error of kiln-static-memory-plan, reported at the buffer or the
// function that cannot be planned.
// RUN: kiln-opt %s -split-input-file -kiln-static-memory-plan -verify-diagnostics

func.func @dynamic_alloc(%n: index) {
  // expected-error @+1 {{kiln-static-memory-plan needs a static, identity-layout buffer, got 'memref<?xf32>'}}
  %a = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

func.func @strided_alloc() {
  // expected-error @+1 {{kiln-static-memory-plan needs a static, identity-layout buffer, got 'memref<4x4xf32, strided<[8, 1]>>'}}
  %a = memref.alloc() : memref<4x4xf32, strided<[8, 1]>>
  return
}

// -----

// The dialect's attribute verifier rejects lists that miss an argument
// before the pass reads them.
// expected-error @+1 {{'kiln.state_args' names 1 arguments but the function has 2}}
func.func @state_count(%x: memref<4xf32>, %y: memref<4xf32>)
    attributes {kiln.state_args = ["w"], kiln.state_results = []} {
  return
}

// -----

func.func @p(%w: memref<4xf32>) attributes {kiln.state_args = ["w"], kiln.state_results = []} {
  return
}
// expected-error @+1 {{state 'w' has type 'memref<8xf32>' here but 'memref<4xf32>' elsewhere}}
func.func @q(%w: memref<8xf32>) attributes {kiln.state_args = ["w"], kiln.state_results = []} {
  return
}

// -----

// expected-error @+1 {{state 'w' must be a static memref}}
func.func @dynamic_state(%w: memref<?xf32>)
    attributes {kiln.state_args = ["w"], kiln.state_results = []} {
  return
}

// -----

// expected-error @+1 {{kiln-static-memory-plan expects a single-block body}}
func.func @blocks() {
  cf.br ^bb1
^bb1:
  return
}

// -----

// Sizes are checked, not wrapped: 2^62 x 4 floats is 2^66 bytes.
func.func @wrapping_alloc() {
  // expected-error @+1 {{a buffer of type 'memref<4611686018427387904x4xf32>' does not fit the 64-bit address space of the target (at most 9223372036854775807 bytes)}}
  %a = memref.alloc() : memref<4611686018427387904x4xf32>
  return
}

// -----

// Rounding up to the 64-byte alignment overflows too.
func.func @alignment_overflow() {
  // expected-error @+1 {{a buffer of type 'memref<9223372036854775800xi8>' does not fit the 64-bit address space}}
  %a = memref.alloc() : memref<9223372036854775800xi8>
  return
}

// -----

// Inputs and outputs are indexed with the target's pointers as well.
func.func @huge_argument(%x: memref<99999999999x99999999999xf32>,
                         %y: memref<99999999999x99999999999xf32>) {
  // expected-error @+1 {{argument #0 of type 'memref<99999999999x99999999999xf32>' does not fit the 64-bit address space}}
  memref.copy %x, %y : memref<99999999999x99999999999xf32> to memref<99999999999x99999999999xf32>
  return
}

// -----

// Each buffer fits (2^62 bytes), their sum does not.
func.func @scratch_sum() {
  %a = memref.alloc() : memref<1152921504606846976xf32>
  // expected-error @+1 {{the scratch memory of 'scratch_sum' (2 buffers) does not fit the 64-bit address space}}
  %b = memref.alloc() : memref<1152921504606846976xf32>
  memref.copy %a, %b : memref<1152921504606846976xf32> to memref<1152921504606846976xf32>
  return
}

// -----

func.func @state_sum(%a: memref<1152921504606846976xf32>, %b: memref<1152921504606846976xf32>)
    attributes {kiln.state_args = ["a", "b"], kiln.state_results = []} {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{the model state (2 buffers, the last 'b') does not fit the 64-bit address space}}
  %vb = memref.load %b[%c0] : memref<1152921504606846976xf32>
  memref.store %vb, %a[%c0] : memref<1152921504606846976xf32>
  return
}
