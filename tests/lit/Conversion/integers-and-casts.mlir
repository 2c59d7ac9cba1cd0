// Integer elementwise ops lower to arith's integer ops (signed compares and
// extrema), kiln.cast to the matching arith conversion.
// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @integers
// CHECK: arith.addi
// CHECK: arith.muli
// CHECK: arith.subi
// CHECK: arith.maxsi
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK-NOT: arith.addf
// CHECK: return
func.func @integers(%a: tensor<4xi32>, %b: tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi32>, tensor<4xi32>) {
  %s = kiln.add %a, %b : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  %p = kiln.mul %s, %b : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  %n = kiln.neg %p : tensor<4xi32>
  %m = kiln.maximum %n, %a : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  %lt = kiln.compare "lt", %a, %b : tensor<4xi32>, tensor<4xi32> -> tensor<4xi32>
  return %s, %m, %lt : tensor<4xi32>, tensor<4xi32>, tensor<4xi32>
}

// CHECK-LABEL: func.func @casts
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.fptosi %{{.*}} : f32 to i64
// CHECK: arith.trunci %{{.*}} : i64 to i32
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
func.func @casts(%a: tensor<4xi32>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi32>, tensor<4xf32>) {
  %f = kiln.cast %a : tensor<4xi32> -> tensor<4xf32>
  %l = kiln.cast %x : tensor<4xf32> -> tensor<4xi64>
  %i = kiln.cast %l : tensor<4xi64> -> tensor<4xi32>
  %d = kiln.cast %x : tensor<4xf32> -> tensor<4xf64>
  %r = kiln.cast %d : tensor<4xf64> -> tensor<4xf32>
  return %f, %i, %r : tensor<4xf32>, tensor<4xi32>, tensor<4xf32>
}

// Integer sums add with wrap-around from 0, integer maxima start from the
// smallest i32, relu is a signed max with 0 and select tests `cond != 0`.
// CHECK-LABEL: func.func @integer_reductions_and_selection
// CHECK: arith.constant 0 : i64
// CHECK: arith.addi
// CHECK: arith.constant -2147483648 : i32
// CHECK: arith.maxsi
// CHECK: arith.maxsi
// CHECK: arith.cmpi ne
// CHECK: arith.select
// CHECK-NOT: arith.addf
// CHECK-NOT: arith.cmpf
// CHECK: return
func.func @integer_reductions_and_selection(%a: tensor<2x3xi32>, %w: tensor<2x3xi64>) -> (tensor<i64>, tensor<3xi32>, tensor<2x3xi32>, tensor<2x3xi32>) {
  %s = kiln.reduce_sum %w axes = [0, 1] : tensor<2x3xi64> -> tensor<i64>
  %m = kiln.reduce_max %a axes = [0] : tensor<2x3xi32> -> tensor<3xi32>
  %r = kiln.relu %a : tensor<2x3xi32>
  %sel = kiln.select %a, %r, %a : tensor<2x3xi32>, tensor<2x3xi32>, tensor<2x3xi32> -> tensor<2x3xi32>
  return %s, %m, %r, %sel : tensor<i64>, tensor<3xi32>, tensor<2x3xi32>, tensor<2x3xi32>
}
