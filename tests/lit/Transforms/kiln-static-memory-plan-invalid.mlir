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

// expected-error @+1 {{kiln.state_args/kiln.state_results cover 1 buffers but the function has 2 arguments after bufferization}}
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
