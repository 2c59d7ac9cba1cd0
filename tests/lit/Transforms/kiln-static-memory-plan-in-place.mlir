// kiln-static-memory-plan writes a new state in place when the one op that
// computes it reads the old state only at the element it writes and nothing
// reads the old state afterwards (SGD's update): no scratch buffer, no copy.
// RUN: kiln-opt %s -split-input-file -kiln-static-memory-plan | FileCheck %s

// w - 0.1 * g: the update writes w's slot (state 64 bytes, no scratch).
// CHECK: module attributes {kiln.arena_bytes = 64 : i64, kiln.state_bytes = 64 : i64
// CHECK-LABEL: func.func @sgd
// CHECK-SAME: (%[[ARENA:.*]]: memref<64xi8>, %[[G:.*]]: memref<4xf32>)
// CHECK-DAG: %[[W_IN:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<64xi8> to memref<4xf32>
// CHECK-DAG: %[[W_OUT:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<64xi8> to memref<4xf32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[W_IN]], %[[G]] : memref<4xf32>, memref<4xf32>) outs(%[[W_OUT]] : memref<4xf32>)
// CHECK-NOT: memref.copy
// CHECK: return
func.func @sgd(%w: memref<4xf32>, %g: memref<4xf32>, %nw: memref<4xf32>)
    attributes {kiln.state_args = ["w", ""], kiln.state_results = ["w"]} {
  %lr = arith.constant 0.1 : f32
  %t = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%w, %g : memref<4xf32>, memref<4xf32>) outs(%t : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.mulf %b, %lr : f32
    %d = arith.subf %a, %s : f32
    linalg.yield %d : f32
  }
  memref.copy %t, %nw : memref<4xf32> to memref<4xf32>
  memref.dealloc %t : memref<4xf32>
  return
}

// -----

// The old w is read after the update (the loss, say): the update must not
// overwrite it, so it goes to scratch and is copied at the end.
// CHECK-LABEL: func.func @read_after
// CHECK: linalg.generic
// CHECK: memref.load
// CHECK: memref.copy
// CHECK: return
func.func @read_after(%w: memref<4xf32>, %g: memref<4xf32>, %nw: memref<4xf32>, %out: memref<f32>)
    attributes {kiln.state_args = ["w", ""], kiln.state_results = ["w", ""]} {
  %c0 = arith.constant 0 : index
  %t = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%w, %g : memref<4xf32>, memref<4xf32>) outs(%t : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  }
  %v = memref.load %w[%c0] : memref<4xf32>
  memref.store %v, %out[] : memref<f32>
  memref.copy %t, %nw : memref<4xf32> to memref<4xf32>
  return
}

// -----

// The update reads w transposed: element (i, j) is written while (j, i)
// is still to be read, so it stays out of place.
// CHECK-LABEL: func.func @transposed
// CHECK: linalg.generic
// CHECK: memref.copy
// CHECK: return
func.func @transposed(%w: memref<2x2xf32>, %nw: memref<2x2xf32>)
    attributes {kiln.state_args = ["w"], kiln.state_results = ["w"]} {
  %t = memref.alloc() : memref<2x2xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w : memref<2x2xf32>) outs(%t : memref<2x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  memref.copy %t, %nw : memref<2x2xf32> to memref<2x2xf32>
  return
}
