//===- KilnToLinalgElementwise.cpp - lowering of the elementwise group ----===//
//
// Patterns of convert-kiln-to-linalg for KilnElementwiseOps.td: every op is
// one all-parallel linalg.generic (buildElementwise broadcasts the operands
// through the indexing maps) around math/arith scalar code: math.sqrt,
// math.tanh (f32; an exp form otherwise), math.absf, arith.maxf/minf with
// NaN propagation, arith.select, math.powf. The CPU pipeline's
// kiln-approximate-math later turns f32 tanh and powf into polynomials (no
// libm).
//
// random_normal repeats, operation for operation in float64, the Box-Muller
// transform of the reference interpreter (InterpreterElementwise.cpp):
// splitmix64 counters, then series for ln and cos built from arith only, so
// that the compiled values are bit-identical to the interpreter's.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "KilnToLinalgCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

namespace {

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

// The scalar code of each op, chosen by overloading on the op class; `x`
// holds the operands' elements.
Value scalarOp(SqrtOp, OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::SqrtOp>(loc, x[0]);
}
// f32: math.tanh, which kiln-approximate-math turns into a polynomial.
// Other types: LLVM has no tanh intrinsic (math.tanh would not translate),
// so tanh |x| = (1 - e^-2|x|) / (1 + e^-2|x|), which cancels for small |x|:
// below 0.1 the Taylor series to x^15 is used instead (both within 1e-15
// relative in f64). The sign is copied back.
Value scalarOp(TanhOp, OpBuilder &b, Location loc, ValueRange x) {
  Type type = x[0].getType();
  if (type.isF32())
    return b.create<math::TanhOp>(loc, x[0]);
  auto c = [&](double v) { return scalarConstant(b, loc, type, v); };
  Value ax = b.create<math::AbsFOp>(loc, x[0]);
  Value e =
      b.create<math::ExpOp>(loc, b.create<arith::MulFOp>(loc, ax, c(-2.0)));
  Value ratio =
      b.create<arith::DivFOp>(loc, b.create<arith::SubFOp>(loc, c(1.0), e),
                              b.create<arith::AddFOp>(loc, c(1.0), e));
  // tanh x = x (1 + x^2 (-1/3 + x^2 (2/15 + ...))), coefficients of x^(2k+1).
  static constexpr double kSeries[] = {
      1.0,         -1.0 / 3,         2.0 / 15,          -17.0 / 315,
      62.0 / 2835, -1382.0 / 155925, 21844.0 / 6081075, -929569.0 / 638512875};
  Value x2 = b.create<arith::MulFOp>(loc, ax, ax);
  Value poly = c(kSeries[7]);
  for (int k = 6; k >= 0; --k)
    poly = b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, poly, x2),
                                   c(kSeries[k]));
  Value series = b.create<arith::MulFOp>(loc, ax, poly);
  Value small =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, ax, c(0.1));
  Value magnitude = b.create<arith::SelectOp>(loc, small, series, ratio);
  return b.create<math::CopySignOp>(loc, magnitude, x[0]);
}
Value scalarOp(AbsOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0])) {
    Value zero = scalarConstant(b, loc, x[0].getType(), 0.0);
    Value negative =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, x[0], zero);
    return b.create<arith::SelectOp>(
        loc, negative, b.create<arith::SubIOp>(loc, zero, x[0]), x[0]);
  }
  return b.create<math::AbsFOp>(loc, x[0]);
}
/// NaN if either operand is NaN (torch.maximum/minimum), else `extremum`:
/// MLIR 16 lowers arith.maxf/minf to llvm.maxnum/minnum, which return the
/// other operand.
Value propagateNaN(OpBuilder &b, Location loc, ValueRange x, Value extremum) {
  Value unordered =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNO, x[0], x[1]);
  Value nan = scalarConstant(b, loc, x[0].getType(), NAN);
  return b.create<arith::SelectOp>(loc, unordered, nan, extremum);
}
Value scalarOp(MaximumOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0]))
    return b.create<arith::MaxSIOp>(loc, x[0], x[1]);
  return propagateNaN(b, loc, x, b.create<arith::MaxFOp>(loc, x[0], x[1]));
}
Value scalarOp(MinimumOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0]))
    return b.create<arith::MinSIOp>(loc, x[0], x[1]);
  return propagateNaN(b, loc, x, b.create<arith::MinFOp>(loc, x[0], x[1]));
}
/// Float <-> float rounds, int -> float is signed, float -> int truncates
/// toward zero, int -> int wraps or sign-extends.
Value scalarOp(CastOp op, OpBuilder &b, Location loc, ValueRange x) {
  Type from = x[0].getType();
  Type to = tensorType(op.getResult()).getElementType();
  bool fromFloat = from.isa<FloatType>(), toFloat = to.isa<FloatType>();
  unsigned fromWidth = from.getIntOrFloatBitWidth(),
           toWidth = to.getIntOrFloatBitWidth();
  if (from == to)
    return x[0];
  if (fromFloat && toFloat)
    return toWidth > fromWidth
               ? b.create<arith::ExtFOp>(loc, to, x[0]).getResult()
               : b.create<arith::TruncFOp>(loc, to, x[0]).getResult();
  if (!fromFloat && toFloat)
    return b.create<arith::SIToFPOp>(loc, to, x[0]);
  if (fromFloat)
    return b.create<arith::FPToSIOp>(loc, to, x[0]);
  return toWidth > fromWidth
             ? b.create<arith::ExtSIOp>(loc, to, x[0]).getResult()
             : b.create<arith::TruncIOp>(loc, to, x[0]).getResult();
}
Value scalarOp(PowOp, OpBuilder &b, Location loc, ValueRange x) {
  return b.create<math::PowFOp>(loc, x[0], x[1]);
}
// cond != 0 (unordered: a NaN mask selects lhs, as C++'s `!= 0.0`).
Value scalarOp(SelectOp, OpBuilder &b, Location loc, ValueRange x) {
  Value zero = scalarConstant(b, loc, x[0].getType(), 0.0);
  Value holds =
      isFloat(x[0])
          ? b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, x[0], zero)
                .getResult()
          : b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, x[0], zero)
                .getResult();
  return b.create<arith::SelectOp>(loc, holds, x[1], x[2]);
}

template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = buildElementwise(
        rewriter, op.getLoc(), tensorType(op.getResult()),
        adaptor.getOperands(), [&](OpBuilder &b, Location loc, ValueRange x) {
          return scalarOp(op, b, loc, x);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// random_normal
//===----------------------------------------------------------------------===//

/// Emits the float64 scalar code of one random_normal element.
class NormalBuilder {
public:
  NormalBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value i64(uint64_t v) {
    return b.create<arith::ConstantOp>(
        loc, b.getIntegerAttr(b.getI64Type(), static_cast<int64_t>(v)));
  }
  Value f64(double v) { return scalarConstant(b, loc, b.getF64Type(), v); }
  Value add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
  Value select(Value c, Value x, Value y) {
    return b.create<arith::SelectOp>(loc, c, x, y);
  }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) {
    return b.create<arith::CmpFOp>(loc, p, x, y);
  }

  /// Top 53 bits of splitmix64(base + index * kIndexMul), as a double.
  Value hash53(Value base, Value index) {
    auto xorShift = [&](Value z, uint64_t s) -> Value {
      return b.create<arith::XOrIOp>(loc, z,
                                     b.create<arith::ShRUIOp>(loc, z, i64(s)));
    };
    auto mulC = [&](Value z, uint64_t c) -> Value {
      return b.create<arith::MulIOp>(loc, z, i64(c));
    };
    Value z =
        b.create<arith::AddIOp>(loc, base, mulC(index, 0xBF58476D1CE4E5B9ULL));
    z = mulC(xorShift(z, 30), 0xBF58476D1CE4E5B9ULL);
    z = mulC(xorShift(z, 27), 0x94D049BB133111EBULL);
    z = xorShift(z, 31);
    Value top53 = b.create<arith::ShRUIOp>(loc, z, i64(11));
    return b.create<arith::UIToFPOp>(loc, b.getF64Type(), top53);
  }

  /// ln(u), u in (0, 1]: exponent and mantissa from the bits, mantissa
  /// reduced to [sqrt(1/2), sqrt(2)), then 2 atanh(s) by its series.
  Value log(Value u) {
    Type i64Type = b.getI64Type(), f64Type = b.getF64Type();
    Value bits = b.create<arith::BitcastOp>(loc, i64Type, u);
    Value biased = b.create<arith::ShRUIOp>(loc, bits, i64(52));
    Value e = b.create<arith::SubIOp>(loc, biased, i64(1023));
    Value mantissa = b.create<arith::OrIOp>(
        loc, b.create<arith::AndIOp>(loc, bits, i64(0x000FFFFFFFFFFFFFULL)),
        i64(0x3FF0000000000000ULL));
    Value m = b.create<arith::BitcastOp>(loc, f64Type, mantissa);
    Value high = cmp(arith::CmpFPredicate::OGT, m, f64(1.4142135623730951));
    m = select(high, mul(m, f64(0.5)), m);
    e = b.create<arith::SelectOp>(loc, high,
                                  b.create<arith::AddIOp>(loc, e, i64(1)), e);
    Value s = b.create<arith::DivFOp>(loc, sub(m, f64(1.0)), add(m, f64(1.0)));
    Value s2 = mul(s, s);
    Value p = f64(1.0 / 21.0);
    for (int k = 9; k >= 0; --k)
      p = add(mul(p, s2), f64(1.0 / static_cast<double>(2 * k + 1)));
    Value lnM = mul(f64(2.0), mul(s, p));
    Value eF = b.create<arith::SIToFPOp>(loc, f64Type, e);
    return add(mul(eF, f64(0.6931471805599453)), lnM);
  }

  /// cos(2 pi t), t in [0, 1): symmetric reduction to [0, pi/2], then the
  /// Taylor series to x^22.
  Value cos2Pi(Value t) {
    Value upper = cmp(arith::CmpFPredicate::OGE, t, f64(0.5));
    t = select(upper, sub(f64(1.0), t), t);
    Value second = cmp(arith::CmpFPredicate::OGT, t, f64(0.25));
    t = select(second, sub(f64(0.5), t), t);
    Value sign = select(second, f64(-1.0), f64(1.0));
    Value x = mul(f64(6.283185307179586), t);
    Value x2 = mul(x, x);
    double factorial = 1.0;
    double coefficients[12];
    for (int k = 0; k < 12; ++k) {
      if (k > 0)
        factorial = factorial * static_cast<double>((2 * k - 1) * (2 * k));
      coefficients[k] = (k % 2 ? -1.0 : 1.0) / factorial;
    }
    Value p = f64(coefficients[11]);
    for (int k = 10; k >= 0; --k)
      p = add(mul(p, x2), f64(coefficients[k]));
    return mul(sign, p);
  }

private:
  OpBuilder &b;
  Location loc;
};

struct RandomNormalLowering : OpConversionPattern<RandomNormalOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RandomNormalOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = tensorType(op.getResult());
    ArrayRef<int64_t> shape = type.getShape();
    Type i64 = rewriter.getI64Type();
    NormalBuilder outer(rewriter, loc);
    Value seed = rewriter.create<tensor::ExtractOp>(loc, adaptor.getSeed(),
                                                    ValueRange{});
    Value base = rewriter.create<arith::AddIOp>(
        loc, seed, outer.i64(op.getStream() * 0x9E3779B97F4A7C15ULL));
    double mean = op.getMean().convertToDouble();
    double stddev = op.getStd().convertToDouble();

    int64_t rank = type.getRank();
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank, getContext())};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    Value result = buildGeneric(
        rewriter, loc, createEmpty(rewriter, loc, type), ValueRange{}, maps,
        iterators, [&](OpBuilder &b, Location loc, ValueRange) -> Value {
          NormalBuilder nb(b, loc);
          // Row-major linear index by Horner's rule (0 for rank 0).
          Value i = nb.i64(0);
          for (int64_t d = 0; d < rank; ++d) {
            Value idx = b.create<arith::IndexCastOp>(
                loc, i64, b.create<linalg::IndexOp>(loc, d));
            Value scaled = b.create<arith::MulIOp>(loc, i, nb.i64(shape[d]));
            i = b.create<arith::AddIOp>(loc, scaled, idx);
          }
          Value even = b.create<arith::MulIOp>(loc, i, nb.i64(2));
          Value odd = b.create<arith::AddIOp>(loc, even, nb.i64(1));
          Value u1 = nb.mul(nb.add(nb.hash53(base, even), nb.f64(1.0)),
                            nb.f64(0x1p-53));
          Value u2 = nb.mul(nb.hash53(base, odd), nb.f64(0x1p-53));
          Value radius =
              b.create<math::SqrtOp>(loc, nb.mul(nb.f64(-2.0), nb.log(u1)));
          Value z = nb.mul(radius, nb.cos2Pi(u2));
          Value r = nb.add(nb.f64(mean), nb.mul(nb.f64(stddev), z));
          if (type.getElementType().isF64())
            return r;
          return b.create<arith::TruncFOp>(loc, type.getElementType(), r);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void lowering::populateElementwiseGroupPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ElementwiseLowering<SqrtOp>, ElementwiseLowering<TanhOp>,
               ElementwiseLowering<AbsOp>, ElementwiseLowering<MaximumOp>,
               ElementwiseLowering<MinimumOp>, ElementwiseLowering<PowOp>,
               ElementwiseLowering<SelectOp>, ElementwiseLowering<CastOp>,
               RandomNormalLowering>(ctx);
}
