//===- ApproximateMath.cpp - kiln's own f32 exp/log/tanh/pow --------------===//
//
// Replaces f32 math.exp, math.log, math.tanh and math.powf (scalar or
// vector) with the arith code of FloatMath.h: a few ulp from the correctly
// rounded result over all floats, no libm call and no fma, floor or double
// (so a Cortex-M object links with nothing but memcpy/memset). MLIR's own
// polynomial approximations are not used: they reach ~2e-6 relative error
// and emit math.fma and math.floor, which become fmaf/floorf calls on cores
// without those instructions.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "FloatMath.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNAPPROXIMATEMATH
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::floatmath;

namespace {
/// Replaces an f32 (scalar or vector) op `OpTy` with `build` applied to its
/// operands.
template <typename OpTy, auto build> struct ExpandF32 : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Type type = op.getType();
    if (!getElementTypeOrSelf(type).isF32())
      return failure();
    F32Builder b(rewriter, op.getLoc(), type);
    Value result;
    if constexpr (OpTy::template hasTrait<OpTrait::OneOperand>())
      result = build(b, op->getOperand(0));
    else
      result = build(b, op->getOperand(0), op->getOperand(1));
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct KilnApproximateMathPass
    : public kiln::impl::KilnApproximateMathBase<KilnApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns
        .add<ExpandF32<math::ExpOp, buildExp>, ExpandF32<math::LogOp, buildLog>,
             ExpandF32<math::TanhOp, buildTanh>,
             ExpandF32<math::PowFOp, buildPow>>(&getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
