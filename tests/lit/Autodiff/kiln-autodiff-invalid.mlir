// kiln-autodiff reports an op on the differentiated path that has no
// vector-Jacobian product rule, at that op.
// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-autodiff))' -verify-diagnostics

func.func @upstream_op_on_path(%x: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{cannot differentiate 'arith.addf': it has no vector-Jacobian product rule}}
  %y = arith.addf %x, %x : tensor<3xf32>
  %z = kiln.exp %y : tensor<3xf32>
  %seed = kiln.constant dense<1.0> : tensor<3xf32>
  %g = kiln.vjp %z, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}

// -----

// The same op off the differentiated path is fine: no error, no vjp left.
func.func @upstream_op_off_path(%x: tensor<3xf32>, %d: tensor<3xf32>) -> tensor<3xf32> {
  %c = arith.addf %d, %d : tensor<3xf32>
  %y = kiln.mul %x, %c : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %seed = kiln.constant dense<1.0> : tensor<3xf32>
  %g = kiln.vjp %y, %seed wrt %x : tensor<3xf32>, tensor<3xf32>
  return %g : tensor<3xf32>
}
