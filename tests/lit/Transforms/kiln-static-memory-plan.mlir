// kiln-static-memory-plan on hand-written bufferized IR, where every live
// range is known: the arena becomes argument 0, state sits at fixed 64-byte
// aligned offsets at its front, scratch buffers share bytes only when their
// live ranges do not overlap, and no alloc or dealloc is left.
// RUN: kiln-opt %s -split-input-file -kiln-static-memory-plan | FileCheck %s

// A buffer is live from its first use to its last (its dealloc included):
// a (64 B, positions 4-7), b (400 B -> 448, 6-9), c (64 B, 10-11).
// Biggest first: b at scratch 0, a after b at 448 (they overlap), c reuses
// b's bytes (b's last read comes before c's first write). State w takes 64
// bytes, so scratch starts at 64: b and c at 64, a at 512, arena 576.
// CHECK: module attributes {kiln.arena_bytes = 576 : i64, kiln.state_bytes = 64 : i64, kiln.state_layout = [{name = "w", offset = 0 : i64, type = memref<4xf32>}]}
// CHECK-LABEL: func.func @step
// The state argument w and the state result w disappear; x and out stay.
// CHECK-SAME: (%[[ARENA:.*]]: memref<576xi8>, %[[X:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK-SAME: attributes {kiln.num_outputs = 1 : i64}
// CHECK-NOT: kiln.state_args
// CHECK-NOT: kiln.state_results
// CHECK-DAG: %[[W_IN:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<576xi8> to memref<4xf32>
// CHECK-DAG: %[[W_OUT:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<576xi8> to memref<4xf32>
// CHECK: %[[O512:.*]] = arith.constant 512 : index
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%[[O512]]][] : memref<576xi8> to memref<16xf32>
// CHECK: %[[O64:.*]] = arith.constant 64 : index
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%[[O64]]][] : memref<576xi8> to memref<100xf32>
// CHECK: memref.load %[[X]]
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: memref.load %[[A]]
// CHECK: memref.store %{{.*}}, %[[B]]
// CHECK-NOT: memref.dealloc
// CHECK: %[[O64B:.*]] = arith.constant 64 : index
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%[[O64B]]][] : memref<576xi8> to memref<16xf32>
// CHECK: memref.load %[[B]]
// CHECK: memref.store %{{.*}}, %[[C]]
// CHECK: memref.load %[[C]]
// CHECK: memref.load %[[W_IN]]
// CHECK: memref.store %{{.*}}, %[[W_OUT]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func @step(%w: memref<4xf32>, %x: memref<4xf32>, %nw: memref<4xf32>, %out: memref<4xf32>)
    attributes {kiln.state_args = ["w", ""], kiln.state_results = ["w", ""]} {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<16xf32>
  %b = memref.alloc() : memref<100xf32>
  %v = memref.load %x[%c0] : memref<4xf32>
  memref.store %v, %a[%c0] : memref<16xf32>
  %u = memref.load %a[%c0] : memref<16xf32>
  memref.store %u, %b[%c0] : memref<100xf32>
  memref.dealloc %a : memref<16xf32>
  %c = memref.alloc() : memref<16xf32>
  %t = memref.load %b[%c0] : memref<100xf32>
  memref.store %t, %c[%c0] : memref<16xf32>
  %s = memref.load %c[%c0] : memref<16xf32>
  %p = memref.load %w[%c0] : memref<4xf32>
  memref.store %s, %nw[%c0] : memref<4xf32>
  memref.store %p, %out[%c0] : memref<4xf32>
  return
}

// -----

// A state argument and the state result of the same name share one slot:
// writing the old value back onto itself disappears.
// CHECK-LABEL: func.func @state_in_place
// CHECK-SAME: (%[[ARENA:.*]]: memref<64xi8>)
// CHECK-NOT: memref.copy
// CHECK: return
func.func @state_in_place(%w: memref<4xf32>, %nw: memref<4xf32>)
    attributes {kiln.state_args = ["w"], kiln.state_results = ["w"]} {
  memref.copy %w, %nw : memref<4xf32> to memref<4xf32>
  return
}

// -----

// State is shared by every function of the module, at one offset per name
// (in order of first appearance), whatever the argument position. A view
// of a scratch buffer keeps it alive: t is read through its subview after u
// is first written, so they do not share bytes. The arena is one size for all
// functions: state (128) + the largest scratch (t 192 + u 192).
// CHECK: module attributes {kiln.arena_bytes = 512 : i64, kiln.state_bytes = 128 : i64,
// CHECK-SAME: kiln.state_layout = [{name = "w", offset = 0 : i64, type = memref<4xf32>}, {name = "m", offset = 64 : i64, type = memref<2x2xf64>}]}
// CHECK-LABEL: func.func @a
// CHECK-SAME: (%[[ARENA:.*]]: memref<512xi8>)
// CHECK-SAME: attributes {kiln.num_outputs = 0 : i64}
// CHECK-DAG: %[[O0:.*]] = arith.constant 0 : index
// CHECK-DAG: memref.view %[[ARENA]][%[[O0]]][] : memref<512xi8> to memref<4xf32>
// CHECK-DAG: %[[O64:.*]] = arith.constant 64 : index
// CHECK-DAG: memref.view %[[ARENA]][%[[O64]]][] : memref<512xi8> to memref<2x2xf64>
// CHECK: %[[O128:.*]] = arith.constant 128 : index
// CHECK: %[[T:.*]] = memref.view %[[ARENA]][%[[O128]]][] : memref<512xi8> to memref<40xf32>
// CHECK: memref.subview %[[T]]
// CHECK: %[[O320:.*]] = arith.constant 320 : index
// CHECK: memref.view %[[ARENA]][%[[O320]]][] : memref<512xi8> to memref<40xf32>
// CHECK-NOT: memref.alloc
// CHECK-LABEL: func.func @b
// CHECK-SAME: (%[[ARENA:.*]]: memref<512xi8>, %[[X:.*]]: memref<3xi32>, %[[OUT:.*]]: memref<3xi32>)
// CHECK-SAME: attributes {kiln.num_outputs = 1 : i64}
// CHECK: %[[O64:.*]] = arith.constant 64 : index
// CHECK: memref.view %[[ARENA]][%[[O64]]][] : memref<512xi8> to memref<2x2xf64>
// CHECK: memref.copy %[[X]], %[[OUT]]
func.func @a(%w: memref<4xf32>, %m: memref<2x2xf64>, %nw: memref<4xf32>)
    attributes {kiln.state_args = ["w", "m"], kiln.state_results = ["w"]} {
  %c0 = arith.constant 0 : index
  %t = memref.alloc() : memref<40xf32>
  %sv = memref.subview %t[0][4][1] : memref<40xf32> to memref<4xf32, strided<[1]>>
  %u = memref.alloc() : memref<40xf32>
  %one = arith.constant 1.0 : f32
  memref.store %one, %u[%c0] : memref<40xf32>
  %v = memref.load %sv[%c0] : memref<4xf32, strided<[1]>>
  memref.store %v, %u[%c0] : memref<40xf32>
  memref.store %v, %nw[%c0] : memref<4xf32>
  return
}
func.func @b(%x: memref<3xi32>, %m: memref<2x2xf64>, %out: memref<3xi32>)
    attributes {kiln.state_args = ["", "m"], kiln.state_results = [""]} {
  memref.copy %x, %out : memref<3xi32> to memref<3xi32>
  return
}

// -----

// Allocations hoisted above their uses, as bufferization leaves them when
// CSE has merged the identical tensor.empty ops of repeated code (one per
// micro-batch): p (positions 4-5) and q (6-7) never hold live data at the
// same time, so they share bytes.
// CHECK: module attributes {kiln.arena_bytes = 256 : i64
// CHECK-LABEL: func.func @hoisted_allocs
// CHECK-COUNT-2: memref.view %{{.*}}[%c0{{(_[0-9]+)?}}][] : memref<256xi8> to memref<64xf32>
func.func @hoisted_allocs(%x: memref<4xf32>, %out: memref<4xf32>)
    attributes {kiln.state_args = [""], kiln.state_results = [""]} {
  %c0 = arith.constant 0 : index
  %p = memref.alloc() : memref<64xf32>
  %q = memref.alloc() : memref<64xf32>
  %v = memref.load %x[%c0] : memref<4xf32>
  memref.store %v, %p[%c0] : memref<64xf32>
  %a = memref.load %p[%c0] : memref<64xf32>
  memref.store %a, %q[%c0] : memref<64xf32>
  %b = memref.load %q[%c0] : memref<64xf32>
  memref.store %b, %out[%c0] : memref<4xf32>
  return
}

// -----

// No state, no scratch: the arena still has one byte, so its type is valid.
// CHECK: module attributes {kiln.arena_bytes = 1 : i64, kiln.state_bytes = 0 : i64, kiln.state_layout = []}
// CHECK-LABEL: func.func @copy
// CHECK-SAME: (%{{.*}}: memref<1xi8>, %[[X:.*]]: memref<2xf32>, %[[Y:.*]]: memref<2xf32>)
// CHECK-SAME: attributes {kiln.num_outputs = 1 : i64}
// CHECK-NEXT: memref.copy %[[X]], %[[Y]]
func.func @copy(%x: memref<2xf32>, %y: memref<2xf32>)
    attributes {kiln.state_args = [""], kiln.state_results = [""]} {
  memref.copy %x, %y : memref<2xf32> to memref<2xf32>
  return
}

// -----

// Observations (the DSL's observe()) are state at fixed offsets like any
// other, marked in the layout so that checkpoints leave them out; the
// function attribute naming them is consumed.
// CHECK: kiln.state_layout = [{name = "w", offset = 0 : i64, type = memref<4xf32>}, {name = "h", observation, offset = 64 : i64, type = memref<4xf32>}, {name = "h.grad", observation, offset = 128 : i64, type = memref<4xf32>}]
// CHECK-LABEL: func.func @observed_step
// CHECK-NOT: kiln.observations
// CHECK: return
func.func @observed_step(%w: memref<4xf32>, %nw: memref<4xf32>, %h: memref<4xf32>, %g: memref<4xf32>)
    attributes {kiln.state_args = ["w"], kiln.state_results = ["w", "h", "h.grad"],
                kiln.observations = ["h", "h.grad"]} {
  memref.copy %w, %nw : memref<4xf32> to memref<4xf32>
  memref.copy %w, %h : memref<4xf32> to memref<4xf32>
  memref.copy %w, %g : memref<4xf32> to memref<4xf32>
  return
}
