//===- Passes.td - kiln conversion passes ------------------*- tablegen -*-===//

#ifndef KILN_CONVERSION_PASSES
#define KILN_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalg : Pass<"convert-kiln-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lowers kiln ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Every kiln op becomes destination-style linalg on tensors (linalg.generic,
    linalg.fill, linalg.matmul-like contractions) or tensor reshapes, ready for
    elementwise fusion and one-shot bufferization. Fails on a kiln.vjp that
    the autodiff pass has not expanded.
  }];
  let options = [
    Option<"transposedMatmulOperands", "transposed-matmul-operands", "bool",
           "true",
           "a 2-D matmul reads an operand that is a kiln.transpose through a "
           "swapped indexing map instead of a transposed copy (off for the "
           "GPU, whose one-thread-per-element kernels read B^T uncoalesced)">,
    Option<"im2colChunkBytes", "im2col-chunk-bytes", "int64_t",
           /*default=*/"512 * 1024",
           "The most bytes of a convolution's im2col buffer: a batch whose "
           "im2col is larger runs in chunks of images, each chunk's im2col "
           "and product staying in the L2 cache (0: the whole batch at once)">
  ];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::scf::SCFDialect"];
}

#endif // KILN_CONVERSION_PASSES
