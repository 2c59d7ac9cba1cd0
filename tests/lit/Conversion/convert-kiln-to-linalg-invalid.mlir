// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg -verify-diagnostics

// A vjp left for the lowering is a pipeline-order bug, reported at the op.
func.func @unexpanded_vjp(%w: tensor<3xf32>) -> tensor<3xf32> {
  %y = kiln.reduce_sum %w axes = [0] : tensor<3xf32> -> tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  // expected-error @+1 {{kiln.vjp must be expanded by -kiln-autodiff before lowering}}
  %g = kiln.vjp %y, %one wrt %w : tensor<f32>, tensor<3xf32>
  return %g : tensor<3xf32>
}
