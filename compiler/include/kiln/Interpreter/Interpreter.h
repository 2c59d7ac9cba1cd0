//===- Interpreter.h - reference interpreter for kiln IR --------*- C++ -*-===//
//
// The project's numerical oracle: evaluates a single-block func.func of kiln
// ops on host buffers, in float64 whatever the declared element type, so that
// finite-difference gradient checks are accurate and compiled code can be
// compared against it. Slow and simple on purpose.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INTERPRETER_INTERPRETER_H
#define KILN_INTERPRETER_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace kiln::interp {

/// A host tensor: row-major float64 data. Integer tensors (one_hot indices,
/// random seeds) hold their values as exact doubles.
struct Buffer {
  std::vector<int64_t> shape;
  std::vector<double> data;

  /// Product of `shape` (1 for a rank-0 tensor).
  int64_t numElements() const;
  /// A rank-0 tensor holding `value`.
  static Buffer scalar(double value);
};

/// Evaluates `fn` (one block of kiln ops ending in func.return) on `args`,
/// which must match the function's argument count and shapes. Returns the
/// values of the func.return operands. On an unsupported op, an unexpanded
/// kiln.vjp or mismatched arguments, emits an error on the offending
/// operation (or the function) and returns failure.
mlir::FailureOr<std::vector<Buffer>> run(mlir::func::FuncOp fn,
                                         llvm::ArrayRef<Buffer> args);

/// Element `index` of kiln.random_uniform before scaling: a splitmix64 hash of
/// (seed, stream, index) mapped to [0, 1) with 53 bits. The compiled lowering
/// implements the same formula bit for bit.
double uniform01(uint64_t seed, uint64_t stream, uint64_t index);

/// The top 24 bits of the same hash. Float32 (and narrower) results of
/// kiln.random_uniform and kiln.random_normal are computed from them in
/// float32 arithmetic alone, so that code for a microcontroller needs no
/// double-precision helpers; float64 results use uniform01's 53 bits.
uint32_t hash24(uint64_t seed, uint64_t stream, uint64_t index);

} // namespace kiln::interp

#endif // KILN_INTERPRETER_INTERPRETER_H
