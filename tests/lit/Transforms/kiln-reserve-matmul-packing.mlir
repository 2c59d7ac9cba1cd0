// kiln-reserve-matmul-packing gives a product whose A kiln-vectorize-matmul
// packs in several MC-row chunks, and whose B is larger than L2, an arena
// buffer for its packed B (a third input that no iteration reads), and
// kiln-vectorize-matmul then packs each k block of B once, shared by the
// chunks and the workers, instead of once per chunk (AVX2: KC 256,
// MR x NR 6 x 16, MC 252, a 512 KiB L2).
// RUN: kiln-opt %s -kiln-reserve-matmul-packing=vector-width=8 | FileCheck %s
// RUN: kiln-opt %s -kiln-reserve-matmul-packing | FileCheck %s --check-prefix=NONE --implicit-check-not=memref.alloc
// RUN: kiln-opt %s -kiln-reserve-matmul-packing=vector-width=8 -kiln-vectorize-matmul="vector-width=8 parallel-min-work=1" | FileCheck %s --check-prefix=SHARED

// dW = dy^T x: 263 rows of packed A in chunks of 132 and 131, k = 300 in two
// blocks of 152, 450 columns = 28 panels and 2 more (one panel's slot); B
// takes 540 KB.
// CHECK-LABEL: func.func @chunks
// CHECK-SAME: (%[[AT:.*]]: memref<300x263xf32>, %[[B:.*]]: memref<300x450xf32>, %[[C:.*]]: memref<263x450xf32>)
// CHECK: %[[PACKED:.*]] = memref.alloc() {alignment = 64 : i64} : memref<29x152x16xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[ZEROS:[a-z0-9]+]], #{{.*}}]
// CHECK-SAME: ins(%[[AT]], %[[B]], %[[PACKED]] : memref<300x263xf32>, memref<300x450xf32>, memref<29x152x16xf32>) outs(%[[C]] : memref<263x450xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32, %[[ACC:.*]]: f32):
// CHECK: arith.mulf %[[X]], %[[Y]]
// CHECK: arith.addf %[[ACC]]
// NONE-LABEL: func.func @chunks
// NONE: ins(%{{.*}}, %{{.*}} : memref<300x263xf32>, memref<300x450xf32>)

// SHARED-LABEL: func.func @chunks
// SHARED-SAME: (%[[AT:.*]]: memref<300x263xf32>, %[[B:.*]]: memref<300x450xf32>, %[[C:.*]]: memref<263x450xf32>)
// SHARED: %[[PACKA:.*]] = memref.alloca() {alignment = 64 : i64} : memref<22x152x6xf32>
// SHARED: %[[PACKED:.*]] = memref.alloc() {alignment = 64 : i64} : memref<29x152x16xf32>
// SHARED: scf.for %{{.*}} = %c0{{.*}} to %c300{{.*}} step %c152
// The k block of every panel, once: the 28 full ones by the workers, each
// in its own slot, then the 2 leftover columns in the last slot.
// SHARED: scf.parallel (%[[P:.*]]) = (%c0{{.*}}) to (%c28{{.*}})
// SHARED: vector.load %[[B]]
// SHARED: vector.store %{{.*}}, %[[PACKED]][%[[P]],
// SHARED: vector.store %{{.*}}, %[[PACKED]][%c28
// Then each chunk packs its A and its tiles read the shared panels; no chunk
// packs B again.
// SHARED: memref.store %{{.*}}, %[[PACKA]]
// SHARED-NOT: %[[PACKED]][{{.*}}] : memref<29x152x16xf32>, vector<8xf32>
// SHARED: vector.load %[[PACKED]]
// SHARED-NOT: vector.store %{{.*}}, %[[PACKED]]
// SHARED: arith.addi %c132
// SHARED: memref.store %{{.*}}, %[[PACKA]]
// SHARED-NOT: vector.store %{{.*}}, %[[PACKED]]
// SHARED: vector.load %[[PACKED]]
// SHARED-NOT: vector.store %{{.*}}, %[[PACKED]]
// SHARED: return
func.func @chunks(%at: memref<300x263xf32>, %b: memref<300x450xf32>, %c: memref<263x450xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (k, i)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%at, %b : memref<300x263xf32>, memref<300x450xf32>) outs(%c : memref<263x450xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// The same chunks with 45 columns: B (54 KB) stays in L2, where packing it
// again per chunk costs little; no room in the arena for it.
// CHECK-LABEL: func.func @b_in_l2
// CHECK-NOT: memref.alloc
// CHECK: ins(%{{.*}}, %{{.*}} : memref<300x263xf32>, memref<300x45xf32>)
func.func @b_in_l2(%at: memref<300x263xf32>, %b: memref<300x45xf32>, %c: memref<263x45xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (k, i)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%at, %b : memref<300x263xf32>, memref<300x45xf32>) outs(%c : memref<263x45xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// One chunk of A (A not packed): each panel of B is packed once anyway.
// CHECK-LABEL: func.func @one_chunk
// CHECK-NOT: memref.alloc
// CHECK: ins(%{{.*}}, %{{.*}} : memref<128x300xf32>, memref<300x640xf32>)
func.func @one_chunk(%a: memref<128x300xf32>, %b: memref<300x640xf32>, %c: memref<128x640xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<128x300xf32>, memref<300x640xf32>) outs(%c : memref<128x640xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// In a loop (a convolution's chunks, whose lanes may run on threads): one
// buffer would be shared by the lanes, so none.
// CHECK-LABEL: func.func @in_loop
// CHECK-NOT: memref.alloc
// CHECK: ins(%{{.*}}, %{{.*}} : memref<300x263xf32>, memref<300x450xf32>)
func.func @in_loop(%at: memref<300x263xf32>, %b: memref<300x450xf32>, %c: memref<263x450xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %c2 step %c1 {
    linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (k, i)>, affine_map<(i, k, j) -> (k, j)>, affine_map<(i, k, j) -> (i, j)>], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%at, %b : memref<300x263xf32>, memref<300x450xf32>) outs(%c : memref<263x450xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
  }
  return
}
