//===- KilnToLinalgCommon.h - helpers shared by kiln-to-linalg --*- C++ -*-===//
//
// Private to the convert-kiln-to-linalg pass, whose patterns live in five
// files: KilnToLinalg.cpp (the pass, constants and the core elementwise ops),
// KilnToLinalgStructured.cpp (matmul, transpose, reshape, reductions,
// log_softmax, one_hot, random_uniform) and one file per op group,
// KilnToLinalg{Elementwise,Layout,NN}.cpp. Everything here builds
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

} // namespace kiln::lowering

#endif // KILN_LIB_CONVERSION_KILNTOLINALG_KILNTOLINALGCOMMON_H
