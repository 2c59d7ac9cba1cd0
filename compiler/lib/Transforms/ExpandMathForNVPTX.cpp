//===- ExpandMathForNVPTX.cpp - math ops without libdevice ----------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNEXPANDMATHFORNVPTX
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
/// Same-width integer type of a scalar float.
IntegerType bitsOf(FloatType type) {
  return IntegerType::get(type.getContext(), type.getWidth());
}

/// The float types these expansions handle.
FloatType scalarF32OrF64(Type type) {
  auto floatType = type.dyn_cast<FloatType>();
  return floatType && (floatType.isF32() || floatType.isF64()) ? floatType
                                                               : FloatType();
}

/// The bits of `value` ANDed with `mask`, as a same-width integer.
Value maskedBits(PatternRewriter &rewriter, Location loc, Value value,
                 const APInt &mask) {
  IntegerType bits = bitsOf(value.getType().cast<FloatType>());
  return rewriter.create<arith::AndIOp>(
      loc, rewriter.create<arith::BitcastOp>(loc, bits, value),
      rewriter.create<arith::ConstantOp>(loc,
                                         rewriter.getIntegerAttr(bits, mask)));
}

/// floor/ceil exactly: below 2^(mantissa bits) round-trip through a wide
/// integer and step by one where truncation went the wrong way; larger
/// magnitudes (and NaN, infinities) are already integral.
template <typename MathOp, bool ceil>
struct ExpandRounding : OpRewritePattern<MathOp> {
  using OpRewritePattern<MathOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(MathOp op,
                                PatternRewriter &rewriter) const override {
    FloatType type = scalarF32OrF64(op.getType());
    if (!type)
      return failure();
    Location loc = op.getLoc();
    Value x = op.getOperand();
    double limit = type.isF32() ? 8388608.0 : 4503599627370496.0;
    Value bound = rewriter.create<arith::ConstantOp>(
        loc, rewriter.getFloatAttr(type, limit));
    Value one =
        rewriter.create<arith::ConstantOp>(loc, rewriter.getFloatAttr(type, 1));
    Value magnitude = rewriter.create<math::AbsFOp>(loc, x);
    Value small = rewriter.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT,
                                                 magnitude, bound);
    Type wide = rewriter.getI64Type();
    Value truncated = rewriter.create<arith::SIToFPOp>(
        loc, type, rewriter.create<arith::FPToSIOp>(loc, wide, x));
    Value wrongWay = rewriter.create<arith::CmpFOp>(
        loc, ceil ? arith::CmpFPredicate::OLT : arith::CmpFPredicate::OGT,
        truncated, x);
    Value stepped =
        ceil ? Value(rewriter.create<arith::AddFOp>(loc, truncated, one))
             : Value(rewriter.create<arith::SubFOp>(loc, truncated, one));
    Value rounded =
        rewriter.create<arith::SelectOp>(loc, wrongWay, stepped, truncated);
    // The result has x's sign (ceil(-0.5) and floor(-0.0) are -0.0); the
    // integer round trip loses it for zeros.
    rounded = rewriter.create<math::CopySignOp>(loc, rounded, x);
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, small, rounded, x);
    return success();
  }
};

/// |x| by clearing the sign bit.
struct ExpandAbsF : OpRewritePattern<math::AbsFOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::AbsFOp op,
                                PatternRewriter &rewriter) const override {
    FloatType type = scalarF32OrF64(op.getType());
    if (!type)
      return failure();
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(
        op, type,
        maskedBits(rewriter, op.getLoc(), op.getOperand(),
                   APInt::getSignedMaxValue(type.getWidth())));
    return success();
  }
};

/// copysign(x, y): x's magnitude bits, y's sign bit.
struct ExpandCopySign : OpRewritePattern<math::CopySignOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::CopySignOp op,
                                PatternRewriter &rewriter) const override {
    FloatType type = scalarF32OrF64(op.getType());
    if (!type)
      return failure();
    Location loc = op.getLoc();
    APInt sign = APInt::getSignMask(type.getWidth());
    Value magnitude = maskedBits(rewriter, loc, op.getLhs(), ~sign);
    Value signBit = maskedBits(rewriter, loc, op.getRhs(), sign);
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(
        op, type, rewriter.create<arith::OrIOp>(loc, magnitude, signBit));
    return success();
  }
};

struct ExpandFma : OpRewritePattern<math::FmaOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::FmaOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().isa<FloatType>())
      return failure();
    rewriter.replaceOpWithNewOp<LLVM::FMAOp>(op, op.getA(), op.getB(),
                                             op.getC());
    return success();
  }
};

struct KilnExpandMathForNVPTX
    : kiln::impl::KilnExpandMathForNVPTXBase<KilnExpandMathForNVPTX> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandRounding<math::FloorOp, false>,
                 ExpandRounding<math::CeilOp, true>, ExpandAbsF, ExpandCopySign,
                 ExpandFma>(&getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
