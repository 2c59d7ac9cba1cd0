//===- KilnToLinalgElementwise.cpp - lowering of the elementwise group ----===//
//
// Patterns of convert-kiln-to-linalg for KilnElementwiseOps.td: every op is
// one all-parallel linalg.generic (buildElementwise broadcasts the operands
// through the indexing maps) around math/arith scalar code: math.sqrt,
// math.tanh (f32; an exp form otherwise), math.absf, maximum/minimum as
// compares and selects, arith.select, math.powf (products for a small
// constant integer exponent). The CPU pipeline's kiln-approximate-math later
// turns f32 tanh and powf into arith code (no libm).
//
// random_normal repeats, operation for operation, the Box-Muller transform
// of the reference interpreter (InterpreterElementwise.cpp): splitmix64
// counters, then series for ln and cos built from arith only, in float64
// for f64 results and float32 otherwise, so that the compiled values are
// bit-identical to the interpreter's and f32 models need no double helpers.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "KilnToLinalgCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <optional>

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
/// NaN if either operand is NaN (torch.maximum/minimum), else `extremum`.
Value propagateNaN(OpBuilder &b, Location loc, ValueRange x, Value extremum) {
  Value unordered =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNO, x[0], x[1]);
  Value nan = scalarConstant(b, loc, x[0].getType(), NAN);
  return b.create<arith::SelectOp>(loc, unordered, nan, extremum);
}
/// max (or min) of two ordered floats with -0 < +0, from compares and
/// selects: arith.maxf/minf lower to llvm.maxnum/minnum, an fmaxf/fminf
/// call on cores without the instruction (Cortex-M4). Equal operands have
/// the same bits but for the sign of a zero, which the bits' and (max: +0
/// wins) or or (min: -0 wins) settles.
Value orderedExtremum(OpBuilder &b, Location loc, ValueRange x, bool max) {
  Type type = x[0].getType();
  Type bitsType = b.getIntegerType(type.getIntOrFloatBitWidth());
  auto predicate = max ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT;
  Value first = b.create<arith::CmpFOp>(loc, predicate, x[0], x[1]);
  Value equal =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, x[0], x[1]);
  Value lhsBits = b.create<arith::BitcastOp>(loc, bitsType, x[0]);
  Value rhsBits = b.create<arith::BitcastOp>(loc, bitsType, x[1]);
  Value tieBits =
      max ? b.create<arith::AndIOp>(loc, lhsBits, rhsBits).getResult()
          : b.create<arith::OrIOp>(loc, lhsBits, rhsBits).getResult();
  Value tie = b.create<arith::BitcastOp>(loc, type, tieBits);
  Value other = b.create<arith::SelectOp>(loc, equal, tie, x[1]);
  return b.create<arith::SelectOp>(loc, first, x[0], other);
}
Value scalarOp(MaximumOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0]))
    return b.create<arith::MaxSIOp>(loc, x[0], x[1]);
  return propagateNaN(b, loc, x, orderedExtremum(b, loc, x, /*max=*/true));
}
Value scalarOp(MinimumOp, OpBuilder &b, Location loc, ValueRange x) {
  if (!isFloat(x[0]))
    return b.create<arith::MinSIOp>(loc, x[0], x[1]);
  return propagateNaN(b, loc, x, orderedExtremum(b, loc, x, /*max=*/false));
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
/// The exponent when it is a constant integer n with -1 <= n <= 4: x^n is
/// then 1, 1 / x, or one to three products, exact wherever x^n is a float
/// (-1.5^2 = 2.25) and as C's pow at zeros, infinities and NaN. Larger
/// negative n would overflow x^|n| before the division.
std::optional<int> smallIntegerExponent(PowOp op) {
  DenseElementsAttr exponent;
  if (!matchPattern(op.getRhs(), m_Constant(&exponent)) ||
      !exponent.isSplat() ||
      !exponent.getElementType().isa<FloatType>())
    return std::nullopt;
  double n = exponent.getSplatValue<APFloat>().convertToDouble();
  if (n != std::trunc(n) || n < -1.0 || n > 4.0)
    return std::nullopt;
  return static_cast<int>(n);
}
Value scalarOp(PowOp op, OpBuilder &b, Location loc, ValueRange x) {
  std::optional<int> n = smallIntegerExponent(op);
  if (!n)
    return b.create<math::PowFOp>(loc, x[0], x[1]);
  Type type = x[0].getType();
  auto mul = [&](Value p, Value q) -> Value {
    return b.create<arith::MulFOp>(loc, p, q);
  };
  switch (*n) {
  case -1:
    return b.create<arith::DivFOp>(loc, scalarConstant(b, loc, type, 1.0),
                                   x[0]);
  case 0:
    return scalarConstant(b, loc, type, 1.0);
  case 1:
    return x[0];
  case 2:
    return mul(x[0], x[0]);
  case 3:
    return mul(mul(x[0], x[0]), x[0]);
  default: {
    Value square = mul(x[0], x[0]);
    return mul(square, square);
  }
  }
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

/// Emits the scalar code of one random_normal element in `floatType`: f64
/// (53 random bits) for f64 results, f32 (24 bits, no double arithmetic) for
/// the others. The series lengths reach each type's precision.
class NormalBuilder {
public:
  NormalBuilder(OpBuilder &b, Location loc, Type floatType)
      : b(b), loc(loc), floatType(floatType),
        bitsType(b.getIntegerType(floatType.getIntOrFloatBitWidth())),
        isF64(floatType.isF64()) {}

  Value i64(uint64_t v) { return intConstant(b.getI64Type(), v); }
  Value bitsConstant(uint64_t v) { return intConstant(bitsType, v); }
  Value c(double v) { return scalarConstant(b, loc, floatType, v); }
  Value add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
  Value select(Value cond, Value x, Value y) {
    return b.create<arith::SelectOp>(loc, cond, x, y);
  }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) {
    return b.create<arith::CmpFOp>(loc, p, x, y);
  }

  /// splitmix64(base + index * kIndexMul): its top 53 bits as an f64, or
  /// its top 24 as an f32 (through i32: no 64-bit int-to-float helper).
  Value hashBits(Value base, Value index) {
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
    if (isF64)
      return b.create<arith::UIToFPOp>(
          loc, floatType, b.create<arith::ShRUIOp>(loc, z, i64(11)));
    Value top24 = b.create<arith::TruncIOp>(
        loc, b.getI32Type(), b.create<arith::ShRUIOp>(loc, z, i64(40)));
    return b.create<arith::SIToFPOp>(loc, floatType, top24);
  }
  /// 2^-53 or 2^-24: hashBits times this is in [0, 1).
  Value unit() { return c(isF64 ? 0x1p-53 : 0x1p-24); }

  /// ln(u), u in (0, 1]: exponent and mantissa from the bits, mantissa
  /// reduced to [sqrt(1/2), sqrt(2)), then 2 atanh(s) by its series.
  Value log(Value u) {
    int mantissaBits = isF64 ? 52 : 23, bias = isF64 ? 1023 : 127;
    Value bits = b.create<arith::BitcastOp>(loc, bitsType, u);
    Value biased =
        b.create<arith::ShRUIOp>(loc, bits, bitsConstant(mantissaBits));
    Value e = b.create<arith::SubIOp>(loc, biased, bitsConstant(bias));
    uint64_t mantissaMask = (uint64_t(1) << mantissaBits) - 1;
    Value mantissa = b.create<arith::OrIOp>(
        loc, b.create<arith::AndIOp>(loc, bits, bitsConstant(mantissaMask)),
        bitsConstant(uint64_t(bias) << mantissaBits));
    Value m = b.create<arith::BitcastOp>(loc, floatType, mantissa);
    Value high = cmp(arith::CmpFPredicate::OGT, m, c(1.4142135623730951));
    m = select(high, mul(m, c(0.5)), m);
    e = b.create<arith::SelectOp>(
        loc, high, b.create<arith::AddIOp>(loc, e, bitsConstant(1)), e);
    Value s = b.create<arith::DivFOp>(loc, sub(m, c(1.0)), add(m, c(1.0)));
    Value s2 = mul(s, s);
    int terms = isF64 ? 10 : 6;
    Value p = c(1.0 / static_cast<double>(2 * terms + 1));
    for (int k = terms - 1; k >= 0; --k)
      p = add(mul(p, s2), c(1.0 / static_cast<double>(2 * k + 1)));
    Value lnM = mul(c(2.0), mul(s, p));
    Value eF = b.create<arith::SIToFPOp>(loc, floatType, e);
    return add(mul(eF, c(0.6931471805599453)), lnM);
  }

  /// cos(2 pi t), t in [0, 1): symmetric reduction to [0, pi/2], then the
  /// Taylor series to x^22 (f64) or x^16 (f32).
  Value cos2Pi(Value t) {
    Value upper = cmp(arith::CmpFPredicate::OGE, t, c(0.5));
    t = select(upper, sub(c(1.0), t), t);
    Value second = cmp(arith::CmpFPredicate::OGT, t, c(0.25));
    t = select(second, sub(c(0.5), t), t);
    Value sign = select(second, c(-1.0), c(1.0));
    Value x = mul(c(6.283185307179586), t);
    Value x2 = mul(x, x);
    int terms = isF64 ? 11 : 8;
    double factorial = 1.0;
    SmallVector<double> coefficients;
    for (int k = 0; k <= terms; ++k) {
      if (k > 0)
        factorial = factorial * static_cast<double>((2 * k - 1) * (2 * k));
      coefficients.push_back((k % 2 ? -1.0 : 1.0) / factorial);
    }
    Value p = c(coefficients[terms]);
    for (int k = terms - 1; k >= 0; --k)
      p = add(mul(p, x2), c(coefficients[k]));
    return mul(sign, p);
  }

private:
  Value intConstant(Type type, uint64_t v) {
    return b.create<arith::ConstantOp>(
        loc, b.getIntegerAttr(type, static_cast<int64_t>(v)));
  }

  OpBuilder &b;
  Location loc;
  Type floatType, bitsType;
  bool isF64;
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
    Type elementType = type.getElementType();
    Type computeType =
        elementType.isF64() ? elementType : Type(rewriter.getF32Type());
    NormalBuilder outer(rewriter, loc, computeType);
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
          NormalBuilder nb(b, loc, computeType);
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
          Value u1 = nb.mul(nb.add(nb.hashBits(base, even), nb.c(1.0)),
                            nb.unit());
          Value u2 = nb.mul(nb.hashBits(base, odd), nb.unit());
          Value radius =
              b.create<math::SqrtOp>(loc, nb.mul(nb.c(-2.0), nb.log(u1)));
          Value z = nb.mul(radius, nb.cos2Pi(u2));
          Value r = nb.add(nb.c(mean), nb.mul(nb.c(stddev), z));
          if (elementType == computeType)
            return r;
          return b.create<arith::TruncFOp>(loc, elementType, r);
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
