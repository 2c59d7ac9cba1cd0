//===- ApproximateMath.cpp - polynomial exp/log/tanh ----------------------===//
//
// MLIR ships the approximations as patterns only (the mlir-opt flag is a
// test pass), so kiln wraps them in its own pass. MLIR 16 has no expansion
// of f32 math.powf, so kiln adds one: exp(y ln|x|) with C's special cases,
// whose exp and log the same pass then approximates.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_KILNAPPROXIMATEMATH
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// f32 (scalar or vector) x^y = exp(y ln|x|), negated for a negative base
/// and an odd integral exponent, NaN for a negative base and a fractional
/// one; x^0 = 1^y = 1. Matches C's powf up to the exp/log error.
struct ExpandPowF : OpRewritePattern<math::PowFOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::PowFOp op,
                                PatternRewriter &rewriter) const override {
    Type type = op.getType();
    if (!getElementTypeOrSelf(type).isF32())
      return failure();
    Location loc = op.getLoc();
    auto vector = type.dyn_cast<VectorType>();
    Type i32 = rewriter.getI32Type();
    Type intType = vector ? Type(VectorType::get(vector.getShape(), i32)) : i32;
    auto constant = [&](Type t, Attribute scalar) -> Value {
      auto v = t.dyn_cast<VectorType>();
      TypedAttr attr = v ? TypedAttr(DenseElementsAttr::get(v, scalar))
                         : scalar.cast<TypedAttr>();
      return rewriter.create<arith::ConstantOp>(loc, attr);
    };
    auto f = [&](double v) {
      return constant(type, rewriter.getF32FloatAttr(v));
    };
    auto cmp = [&](arith::CmpFPredicate p, Value a, Value b) -> Value {
      return rewriter.create<arith::CmpFOp>(loc, p, a, b);
    };
    auto select = [&](Value c, Value a, Value b) -> Value {
      return rewriter.create<arith::SelectOp>(loc, c, a, b);
    };
    Value x = op.getLhs(), y = op.getRhs();
    Value magnitude = rewriter.create<math::ExpOp>(
        loc, rewriter.create<arith::MulFOp>(
                 loc, y,
                 rewriter.create<math::LogOp>(
                     loc, rewriter.create<math::AbsFOp>(loc, x))));
    // Every f32 of magnitude >= 2^24 is an even integer.
    Value small = cmp(arith::CmpFPredicate::OLT,
                      rewriter.create<math::AbsFOp>(loc, y), f(0x1p24));
    Value yc = select(small, y, f(0.0));
    Value yi = rewriter.create<arith::FPToSIOp>(loc, intType, yc);
    Value integral = cmp(arith::CmpFPredicate::OEQ,
                         rewriter.create<arith::SIToFPOp>(loc, type, yi), yc);
    Value one = constant(intType, rewriter.getI32IntegerAttr(1));
    Value odd = rewriter.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::eq,
        rewriter.create<arith::AndIOp>(loc, yi, one), one);
    Value signedMagnitude =
        select(odd, rewriter.create<arith::NegFOp>(loc, magnitude), magnitude);
    Value negativeBase = select(integral, signedMagnitude, f(NAN));
    Value result = select(cmp(arith::CmpFPredicate::OLT, x, f(0.0)),
                          negativeBase, magnitude);
    result = select(cmp(arith::CmpFPredicate::OEQ, y, f(0.0)), f(1.0), result);
    result = select(cmp(arith::CmpFPredicate::OEQ, x, f(1.0)), f(1.0), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct KilnApproximateMathPass
    : public kiln::impl::KilnApproximateMathBase<KilnApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    MathPolynomialApproximationOptions options;
    options.enableAvx2 = false;
    populateMathPolynomialApproximationPatterns(patterns, options);
    patterns.add<ExpandPowF>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
