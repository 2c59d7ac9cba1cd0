//===- MathToLibm.cpp - libm calls for math ops LLVM has no intrinsic for -===//
//
// With --no-approx-math kiln keeps libm's accuracy: exp, log, pow become
// LLVM intrinsics (libm calls in the end), but LLVM has no intrinsic for
// tanh, erf, atan, atan2, tan or an accurate log1p, and translating a
// math.tanh to LLVM IR fails. MLIR 16's convert-math-to-libm cannot be used
// for them: it declares the whole math dialect illegal and fails on
// math.exp. This pass applies the same patterns to those ops only (vector
// forms are unrolled into scalar calls).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNMATHTOLIBM
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct MathToLibmPass : public kiln::impl::KilnMathToLibmBase<MathToLibmPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<math::TanhOp, math::ErfOp, math::AtanOp, math::Atan2Op,
              math::TanOp, math::Log1pOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    RewritePatternSet patterns(&getContext());
    populateMathToLibmConversionPatterns(patterns, /*benefit=*/1,
                                         /*log1pBenefit=*/1);
    if (failed(applyOpPatternsAndFold(ops, std::move(patterns),
                                      GreedyRewriteStrictness::ExistingAndNewOps)))
      return signalPassFailure();
  }
};
} // namespace
