//===- Passes.h - kiln transformation passes --------------------*- C++ -*-===//
//
// Declares the passes' constructors, options and registration. The dialects
// a pass works on are included by the pass's own .cpp (its anchor op and
// dependent dialects), not here: a user of one pass does not compile nine
// dialects' headers.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_KILN_TRANSFORMS_PASSES_H
#define KILN_DIALECT_KILN_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace kiln {
#define GEN_PASS_DECL
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"

/// "file:line:col" of the first file location in `loc` (CSE fuses the
/// locations of merged ops), with the file's directories dropped;
/// "<unknown>" when it has none. Names the model's line in diagnostics and
/// reports.
std::string sourceOf(mlir::Location loc);

/// The LLVM function attribute kiln-outline-matmuls gives each product's
/// function (an MLIR passthrough, copied by LLVM onto the OpenMP functions
/// outlined from it): LLVMTarget.cpp tells the products' loops from the
/// rest by it to choose which ones LLVM may fully unroll.
inline constexpr llvm::StringLiteral kMatrixProductAttr = "kiln-matrix-product";
} // namespace kiln

#endif // KILN_DIALECT_KILN_TRANSFORMS_PASSES_H
