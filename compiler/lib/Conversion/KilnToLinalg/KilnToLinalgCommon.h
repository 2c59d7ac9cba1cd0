//===- KilnToLinalgCommon.h - helpers shared by kiln-to-linalg --*- C++ -*-===//
//
// Private to the convert-kiln-to-linalg pass, whose patterns live in six
// files: KilnToLinalg.cpp (the pass, constants and the core elementwise ops),
// KilnToLinalgStructured.cpp (matmul, transpose, reshape, reductions,
// log_softmax, one_hot, random_uniform) and one file per op group,
// KilnToLinalg{Elementwise,Layout,NN,Pool}.cpp. Everything here builds
// destination-style linalg on static-shape tensors.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_CONVERSION_KILNTOLINALG_KILNTOLINALGCOMMON_H
#define KILN_LIB_CONVERSION_KILNTOLINALG_KILNTOLINALGCOMMON_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln::lowering {

/// The static ranked tensor type of `value` (every kiln value has one).
inline mlir::RankedTensorType tensorType(mlir::Value value) {
  return value.getType().cast<mlir::RankedTensorType>();
}

/// Whether a scalar (a block argument of a generic) is a float; kiln's other
/// element types are signless integers.
inline bool isFloat(mlir::Value scalar) {
  return scalar.getType().isa<mlir::FloatType>();
}

/// The scalar constant `value` of element type `type`: a float, or an integer
/// (`value` truncated toward zero).
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Type type, double value);

/// `tensor.empty` of `type`: the destination of a linalg op that overwrites
/// every element.
mlir::Value createEmpty(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type);

/// `linalg.fill` of `type` with the scalar `value`: the destination of a
/// reduction, which accumulates into it.
mlir::Value createFilled(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type, mlir::TypedAttr value);

/// Map reading an operand of `operandShape` inside a loop nest over
/// `resultShape`, with NumPy broadcasting: missing leading dimensions are
/// dropped and a stretched size-1 dimension reads index 0.
mlir::AffineMap broadcastMap(llvm::ArrayRef<int64_t> operandShape,
                             llvm::ArrayRef<int64_t> resultShape,
                             mlir::MLIRContext *ctx);

/// Computes the value to yield from the block arguments (inputs, then the
/// output's current element).
using BodyBuilder = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// One `linalg.generic` with a single output `init`; `maps` holds the inputs'
/// maps followed by the output's.
mlir::Value buildGeneric(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value init, mlir::ValueRange inputs,
                         llvm::ArrayRef<mlir::AffineMap> maps,
                         llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                         BodyBuilder body);

/// An all-parallel `linalg.generic` producing `resultType` from `inputs`,
/// each broadcast to the result shape; `body` sees the inputs' scalars only.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::RankedTensorType resultType,
                             mlir::ValueRange inputs, BodyBuilder body);

//===----------------------------------------------------------------------===//
// Builders of the NN and pooling lowerings (KilnToLinalgNN.cpp)
//===----------------------------------------------------------------------===//

mlir::Value indexConstant(mlir::OpBuilder &b, mlir::Location loc,
                          int64_t value);

/// linalg.index `dim` inside a generic body.
mlir::Value loopIndex(mlir::OpBuilder &b, mlir::Location loc, int64_t dim);

/// `parallel` parallel iterators followed by `reduction` reductions.
llvm::SmallVector<mlir::utils::IteratorType> iterators(int64_t parallel,
                                                       int64_t reduction);

/// d0 ... d(count-1).
llvm::SmallVector<mlir::AffineExpr> dims(int64_t count, mlir::MLIRContext *ctx);

/// A tensor type of `shape` with the element type of `like`.
mlir::RankedTensorType withShape(mlir::Value like,
                                 llvm::ArrayRef<int64_t> shape);

/// A [rows, cols] tensor.empty: an input that gives loops over window
/// positions their bounds (linalg derives loop ranges from operand shapes,
/// as linalg.pooling_* ops do with their kernel operand); never read.
mlir::Value windowShape(mlir::OpBuilder &b, mlir::Location loc, int64_t rows,
                        int64_t cols, mlir::Type elementType);

/// Where each output row/column of padDilate reads its source: output index
/// `i` reads source index (i - before) / step when that is an integer in
/// [0, size), and takes the pad value otherwise.
struct Spread {
  int64_t before; // may be negative: a crop
  int64_t step;   // 1: plain padding; s: s - 1 zeros between elements
  int64_t size;   // source extent
  int64_t result; // output extent
  bool isIdentity() const { return before == 0 && step == 1 && size == result; }
  /// Every source element lands in the output: no crop, no dilation.
  bool isPlainPadding() const {
    return before >= 0 && step == 1 && before + size <= result;
  }
};

/// Builds (source index clamped into range, in-range flag) for one dim.
std::pair<mlir::Value, mlir::Value> spreadIndex(mlir::OpBuilder &b,
                                                mlir::Location loc,
                                                mlir::Value i, const Spread &s);

/// [N, C, H, W] -> [N, C, rows.result, cols.result], each spatial dim
/// spread as described by `rows` / `cols`, elsewhere `padValue`.
mlir::Value padDilate(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      const Spread &rows, const Spread &cols,
                      mlir::TypedAttr padValue);

/// i * scale + j * scale2 in index arithmetic (the constants fold).
mlir::Value scaledSum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value i,
                      int64_t scale, mlir::Value j, int64_t scale2);

/// xp[n, c, i*s0 + p*d0, j*s1 + q*d1] inside a generic body.
mlir::Value windowElement(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value xp, mlir::Value n, mlir::Value c,
                          mlir::Value i, mlir::Value j, mlir::Value p,
                          mlir::Value q, llvm::ArrayRef<int64_t> stride,
                          llvm::ArrayRef<int64_t> dilation);

void populateElementwisePatterns(mlir::RewritePatternSet &patterns);
/// `foldTransposesIntoMatmuls`: see convert-kiln-to-linalg's option.
void populateStructuredPatterns(mlir::RewritePatternSet &patterns,
                                bool foldTransposesIntoMatmuls);
void populateElementwiseGroupPatterns(mlir::RewritePatternSet &patterns);
void populateLayoutGroupPatterns(mlir::RewritePatternSet &patterns);
/// Convolutions whose im2col exceeds `im2colChunkBytes` (unless 0) run in
/// chunks of images.
void populateNNGroupPatterns(mlir::RewritePatternSet &patterns,
                             int64_t im2colChunkBytes);
void populatePoolGroupPatterns(mlir::RewritePatternSet &patterns);

} // namespace kiln::lowering

#endif // KILN_LIB_CONVERSION_KILNTOLINALG_KILNTOLINALGCOMMON_H
