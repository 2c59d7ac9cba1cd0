// --timing prints where the compile time goes: every MLIR pipeline and pass,
// translation to LLVM IR, LLVM's optimization passes and its code generation
// passes. Without it nothing is printed.
// RUN: kilnc %s --emit=obj --timing -o %t.o 2>&1 | FileCheck %s
// RUN: kilnc %s --emit=obj -o %t.quiet.o 2>&1 | count 0
// RUN: kilnc %s --emit=llvm --timing -o %t.ll 2>&1 | FileCheck %s --check-prefix=LLVM
// RUN: kilnc %s --emit=obj --timing --compile-threads=2 -o %t.parts.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PARTS
// RUN: env -u KILN_COMPILE_THREADS kilnc %s --emit=obj --timing \
// RUN:   -o %t.whole.o 2>&1 | FileCheck %s --check-prefix=WHOLE
// RUN: not kilnc %s --emit=obj --compile-threads=0 -o %t.bad.o 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD

// The LLVM optimizer's passes (new pass manager), then code generation's.
// CHECK: Pass execution timing report
// CHECK: InstCombinePass
// CHECK: Pass execution timing report
// CHECK: Greedy Register Allocator
// The summary: MLIR's pipelines with their passes, then LLVM's phases.
// CHECK: Execution time report
// CHECK: kiln-differentiate
// CHECK: KilnAutodiff
// CHECK: kiln-bufferize
// CHECK: OneShotBufferize
// CHECK: kiln-lower-to-llvm
// CHECK: ConvertFuncToLLVM
// CHECK: Translate to LLVM IR
// CHECK: LLVM optimization
// CHECK: LLVM code generation
// CHECK: Total

// No code generation without an object or assembly.
// LLVM: Execution time report
// LLVM: LLVM optimization
// LLVM-NOT: LLVM code generation

// Optimized in two parts (@f and @g call nothing), each part's passes
// timed on its own.
// PARTS: LLVM optimization, part 1 of 2
// PARTS: Pass execution timing report
// PARTS: LLVM optimization, part 2 of 2
// PARTS: Pass execution timing report
// PARTS: LLVM optimization
// PARTS: LLVM code generation
// By default a module this small (under 4000 instructions) stays whole.
// WHOLE-NOT: LLVM optimization, part
// WHOLE: Execution time report
// BAD: invalid --compile-threads '0' (expected a positive thread count)

func.func @f(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %e = kiln.mul %x, %x : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32>
  return %e : tensor<64x64xf32>
}

func.func @g(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %e = kiln.mul %x, %x : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32>
  return %e : tensor<64x64xf32>
}
