// LLVM's partial and runtime unrolling copies kiln's already vectorized loop
// bodies: kept for small programs (this one: its 512-iteration vector loop
// becomes 64 copies a trip on Zen 3, 1 without; 16 while its loads and
// stores were masked, before kiln-infer-transfer-bounds), off above 4000
// LLVM instructions, where it only cost compile time (mlp: 7k instructions,
// 4.2x the optimized IR, no faster).
// RUN: kilnc %s --emit=llvm --mcpu=znver3 --no-parallel -o - | FileCheck %s --check-prefix=SMALL
// SMALL-COUNT-64: fmul <8 x float>
// SMALL-NOT: fmul <8 x float>

// No runtime unrolling's epilogue loops. (llvm.loop.unroll.disable, which
// LLVM puts on the loops it unrolled, is no sign here: the big module's
// packing loops carry it from the start, kilnc-product-loops-rolled.mlir.)
// RUN: mlp-gen --emit=llvm --mcpu=znver3 -o - | FileCheck %s --check-prefix=LARGE
// LARGE-NOT: .epil

func.func @f(%x: tensor<4096xf32>) -> tensor<4096xf32> {
  %e = kiln.mul %x, %x : tensor<4096xf32>, tensor<4096xf32> -> tensor<4096xf32>
  return %e : tensor<4096xf32>
}
