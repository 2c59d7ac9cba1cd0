// RUN: kiln-opt %s -kiln-map-to-gpu -verify-diagnostics

// A host read of the arena that the kernel using it also writes cannot move
// into the kernel (threads would race with the read): a clear error instead
// of a host dereference of a device pointer.
func.func @host_read(%arena: memref<64xi8>) {
  %c0 = arith.constant 0 : index
  %v = memref.view %arena[%c0][] : memref<64xi8> to memref<4xf32>
  %s = memref.view %arena[%c0][] : memref<64xi8> to memref<f32>
  // expected-error@+1 {{this value would be computed on the host}}
  %first = memref.load %v[%c0] : memref<4xf32>
  linalg.fill ins(%first : f32) outs(%s : memref<f32>)
  return
}
