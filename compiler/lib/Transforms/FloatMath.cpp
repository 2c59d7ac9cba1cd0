//===- FloatMath.cpp - f32 exp, log, tanh and pow from arith ops ----------===//
//
// Every multiply and add below is a separate, correctly rounded f32
// operation (no contraction): the error bounds hold on every target, and the
// results are the same on all of them. Comparisons that guard a conversion
// to int map NaN to a harmless value first, since fptosi of NaN or of an
// out-of-range float is poison in LLVM; NaN inputs are selected back at the
// end.
//
//===----------------------------------------------------------------------===//

#include "FloatMath.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace kiln::floatmath;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

//===----------------------------------------------------------------------===//
// F32Builder
//===----------------------------------------------------------------------===//

F32Builder::F32Builder(OpBuilder &b, Location loc, Type type)
    : b(b), loc(loc), type(type) {
  Type i32 = b.getI32Type();
  auto vector = type.dyn_cast<VectorType>();
  i32Type = vector ? Type(VectorType::get(vector.getShape(), i32)) : i32;
}

Value F32Builder::f(double value) {
  auto scalar = b.getF32FloatAttr(static_cast<float>(value));
  if (auto vector = type.dyn_cast<VectorType>())
    return b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(vector, Attribute(scalar)));
  return b.create<arith::ConstantOp>(loc, scalar);
}

Value F32Builder::i(int32_t value) {
  auto scalar = b.getI32IntegerAttr(value);
  if (auto vector = i32Type.dyn_cast<VectorType>())
    return b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(vector, Attribute(scalar)));
  return b.create<arith::ConstantOp>(loc, scalar);
}

Value F32Builder::add(Value x, Value y) { return op<arith::AddFOp>(x, y); }
Value F32Builder::sub(Value x, Value y) { return op<arith::SubFOp>(x, y); }
Value F32Builder::mul(Value x, Value y) { return op<arith::MulFOp>(x, y); }
Value F32Builder::div(Value x, Value y) { return op<arith::DivFOp>(x, y); }
Value F32Builder::abs(Value x) { return b.create<math::AbsFOp>(loc, x); }
Value F32Builder::cmp(CmpFPredicate predicate, Value x, Value y) {
  return b.create<arith::CmpFOp>(loc, predicate, x, y);
}
Value F32Builder::isNaN(Value x) { return cmp(CmpFPredicate::UNO, x, x); }
Value F32Builder::select(Value condition, Value x, Value y) {
  return b.create<arith::SelectOp>(loc, condition, x, y);
}

Value F32Builder::bits(Value x) { return cast<arith::BitcastOp>(i32Type, x); }
Value F32Builder::fromBits(Value i) { return cast<arith::BitcastOp>(type, i); }
Value F32Builder::toInt(Value x) { return cast<arith::FPToSIOp>(i32Type, x); }
Value F32Builder::toFloat(Value i) { return cast<arith::SIToFPOp>(type, i); }
Value F32Builder::shl(Value x, int32_t n) { return op<arith::ShLIOp>(x, i(n)); }
Value F32Builder::shrS(Value x, int32_t n) {
  return op<arith::ShRSIOp>(x, i(n));
}
Value F32Builder::cmpI(CmpIPredicate predicate, Value x, Value y) {
  return b.create<arith::CmpIOp>(loc, predicate, x, y);
}

Value F32Builder::copySign(Value x, Value sign) {
  Value signBit = i(INT32_MIN);
  Value magnitude = op<arith::AndIOp>(bits(x), i(INT32_MAX));
  return fromBits(
      op<arith::OrIOp>(magnitude, op<arith::AndIOp>(bits(sign), signBit)));
}

Value F32Builder::pow2(Value k) {
  return fromBits(shl(op<arith::AddIOp>(k, i(127)), 23));
}

Value F32Builder::scaleByPow2(Value x, Value k) {
  // Two factors, each a normal power of two: only the second product rounds
  // (into the subnormals, or to infinity).
  Value half = shrS(k, 1);
  return mul(mul(x, pow2(half)), pow2(op<arith::SubIOp>(k, half)));
}

Value F32Builder::roundToInt(Value x) {
  Value half = select(cmp(CmpFPredicate::OLT, x, f(0.0)), f(-0.5), f(0.5));
  return toInt(add(x, half));
}

//===----------------------------------------------------------------------===//
// exp, log, tanh (Cephes)
//===----------------------------------------------------------------------===//

namespace {
/// c[0] x^(n-1) + ... + c[n-1] by Horner's rule.
Value horner(F32Builder &b, Value x, std::initializer_list<double> c) {
  const double *coefficient = c.begin();
  Value p = b.f(*coefficient++);
  for (; coefficient != c.end(); ++coefficient)
    p = b.add(b.mul(p, x), b.f(*coefficient));
  return p;
}
} // namespace

Value kiln::floatmath::buildExp(F32Builder &b, Value x) {
  // e^89 overflows and e^-104 is below half the smallest subnormal, so the
  // clamp changes no result; it keeps k in range (NaN is put back last).
  Value nan = b.isNaN(x);
  Value v = b.select(nan, b.f(0.0), x);
  v = b.select(b.cmp(CmpFPredicate::OLT, v, b.f(-104.0)), b.f(-104.0), v);
  v = b.select(b.cmp(CmpFPredicate::OGT, v, b.f(89.0)), b.f(89.0), v);
  Value k = b.roundToInt(b.mul(v, b.f(1.44269504088896341)));
  Value kf = b.toFloat(k);
  // ln2 = C1 + C2 with C1 = 355/512 (9 bits): k C1 is exact for |k| <= 150
  // and so is v - k C1 (Sterbenz); only k C2 and the last step round.
  Value r = b.sub(v, b.mul(kf, b.f(0.693359375)));
  r = b.sub(r, b.mul(kf, b.f(-2.12194440e-4)));
  // Cephes expf: e^r = 1 + r + r^2 P(r) on |r| <= ln2 / 2.
  Value p = horner(b, r,
                   {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                    4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1});
  Value y = b.add(b.add(b.mul(b.mul(r, r), p), r), b.f(1.0));
  return b.select(nan, x, b.scaleByPow2(y, k));
}

Value kiln::floatmath::buildLog(F32Builder &b, Value x) {
  // Subnormals are scaled into the normals (exact); negatives, zeros,
  // infinities and NaN run through harmlessly and are selected away below.
  Value subnormal = b.cmp(CmpFPredicate::OLT, x, b.f(0x1p-126));
  Value v = b.select(subnormal, b.mul(x, b.f(0x1p23)), x);
  Value bits = b.bits(v);
  // v = m 2^e with m in [0.5, 1).
  Value e = b.op<arith::SubIOp>(b.shrS(bits, 23), b.i(126));
  e = b.select(subnormal, b.op<arith::SubIOp>(e, b.i(23)), e);
  Value m = b.fromBits(b.op<arith::OrIOp>(
      b.op<arith::AndIOp>(bits, b.i(0x007fffff)), b.i(0x3f000000)));
  // m in [sqrt(1/2), sqrt(2)): 2m - 1 and m - 1 are exact.
  Value low = b.cmp(CmpFPredicate::OLT, m, b.f(0.707106781186547524));
  e = b.select(low, b.op<arith::SubIOp>(e, b.i(1)), e);
  m = b.sub(b.select(low, b.add(m, m), m), b.f(1.0));
  // Cephes logf: ln(1 + m) = m - m^2 / 2 + m^3 P(m).
  Value z = b.mul(m, m);
  Value p = horner(b, m,
                   {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1,
                    -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
                    2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1});
  Value y = b.mul(b.mul(p, m), z);
  Value fe = b.toFloat(e);
  // e ln2 in two parts (as for exp), the small one added first.
  y = b.add(y, b.mul(fe, b.f(-2.12194440e-4)));
  y = b.sub(y, b.mul(z, b.f(0.5)));
  Value r = b.add(m, y);
  r = b.add(r, b.mul(fe, b.f(0.693359375)));
  r = b.select(b.cmp(CmpFPredicate::OEQ, x, b.f(INFINITY)), x, r);
  r = b.select(b.cmp(CmpFPredicate::OEQ, x, b.f(0.0)), b.f(-INFINITY), r);
  // Negative or NaN.
  return b.select(b.cmp(CmpFPredicate::ULT, x, b.f(0.0)), b.f(NAN), r);
}

Value kiln::floatmath::buildTanh(F32Builder &b, Value x) {
  Value ax = b.abs(x);
  // 1 - 2 / (e^2|x| + 1): 1 once e^2|x| overflows.
  Value e = buildExp(b, b.add(ax, ax));
  Value large = b.sub(b.f(1.0), b.div(b.f(2.0), b.add(e, b.f(1.0))));
  // Cephes tanhf: tanh a = a + a^3 P(a^2) for a < 0.625.
  Value z = b.mul(ax, ax);
  Value p = horner(b, z,
                   {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2,
                    1.33314422036E-1, -3.33332819422E-1});
  Value small = b.add(b.mul(b.mul(p, z), ax), ax);
  Value magnitude =
      b.select(b.cmp(CmpFPredicate::OGE, ax, b.f(0.625)), large, small);
  // NaN stays NaN (small is NaN); -0 stays -0.
  return b.copySign(magnitude, x);
}

//===----------------------------------------------------------------------===//
// pow (SLEEF's double-float xpowf)
//===----------------------------------------------------------------------===//

namespace {
/// An unevaluated sum hi + lo of two f32 (about 48 bits), and the
/// error-free operations of SLEEF's df.h for cores without FMA: products are
/// split into 12-bit halves (Dekker), whose partial products are exact.
struct DF {
  Value hi, lo;
};

class DoubleFloat {
public:
  explicit DoubleFloat(F32Builder &b) : b(b) {}

  /// The top 12 significant bits of x.
  Value upper(Value x) {
    return b.fromBits(b.op<arith::AndIOp>(b.bits(x), b.i(-4096)));
  }

  /// x + y exactly, any magnitudes (Knuth's two-sum).
  DF add2(Value x, Value y) {
    Value s = b.add(x, y);
    Value v = b.sub(s, x);
    Value t = b.add(b.sub(x, b.sub(s, v)), b.sub(y, v));
    return {s, t};
  }
  DF add2(DF x, Value y) {
    DF s = add2(x.hi, y);
    return {s.hi, b.add(s.lo, x.lo)};
  }
  DF add2(DF x, DF y) {
    DF s = add2(x.hi, y.hi);
    return {s.hi, b.add(s.lo, b.add(x.lo, y.lo))};
  }
  /// x + y for |x| >= |y| (fast two-sum).
  DF add(DF x, DF y) {
    Value s = b.add(x.hi, y.hi);
    Value t = b.add(b.add(b.add(b.sub(x.hi, s), y.hi), x.lo), y.lo);
    return {s, t};
  }
  DF add(Value x, DF y) {
    Value s = b.add(x, y.hi);
    Value t = b.add(b.add(b.sub(x, s), y.hi), y.lo);
    return {s, t};
  }
  DF normalize(DF x) {
    Value s = b.add(x.hi, x.lo);
    return {s, b.add(b.sub(x.hi, s), x.lo)};
  }
  DF scale(DF x, Value s) { return {b.mul(x.hi, s), b.mul(x.lo, s)}; }

  DF mul(DF x, Value y) {
    Value xh = upper(x.hi), xl = b.sub(x.hi, xh);
    Value yh = upper(y), yl = b.sub(y, yh);
    Value r = b.mul(x.hi, y);
    Value t = b.sub(b.mul(xh, yh), r);
    t = b.add(t, b.mul(xl, yh));
    t = b.add(t, b.mul(xh, yl));
    t = b.add(t, b.mul(xl, yl));
    t = b.add(t, b.mul(x.lo, y));
    return {r, t};
  }
  DF mul(DF x, DF y) {
    Value xh = upper(x.hi), xl = b.sub(x.hi, xh);
    Value yh = upper(y.hi), yl = b.sub(y.hi, yh);
    Value r = b.mul(x.hi, y.hi);
    Value t = b.sub(b.mul(xh, yh), r);
    t = b.add(t, b.mul(xl, yh));
    t = b.add(t, b.mul(xh, yl));
    t = b.add(t, b.mul(xl, yl));
    t = b.add(t, b.mul(x.hi, y.lo));
    t = b.add(t, b.mul(x.lo, y.hi));
    return {r, t};
  }
  DF square(DF x) {
    Value xh = upper(x.hi), xl = b.sub(x.hi, xh);
    Value r = b.mul(x.hi, x.hi);
    Value t = b.sub(b.mul(xh, xh), r);
    t = b.add(t, b.mul(b.add(xh, xh), xl));
    t = b.add(t, b.mul(xl, xl));
    t = b.add(t, b.mul(x.hi, b.add(x.lo, x.lo)));
    return {r, t};
  }
  DF div(DF n, DF d) {
    Value t = b.div(b.f(1.0), d.hi);
    Value dh = upper(d.hi), dl = b.sub(d.hi, dh);
    Value th = upper(t), tl = b.sub(t, th);
    Value nh = upper(n.hi), nl = b.sub(n.hi, nh);
    Value q = b.mul(n.hi, t);
    // u = n.hi t - q exactly, plus q (1 - d.hi t).
    Value u = b.sub(b.mul(nh, th), q);
    u = b.add(u, b.mul(nh, tl));
    u = b.add(u, b.mul(nl, th));
    u = b.add(u, b.mul(nl, tl));
    Value residual = b.sub(b.f(1.0), b.mul(dh, th));
    residual = b.sub(residual, b.mul(dh, tl));
    residual = b.sub(residual, b.mul(dl, th));
    residual = b.sub(residual, b.mul(dl, tl));
    u = b.add(u, b.mul(q, residual));
    Value lo = b.add(b.mul(t, b.sub(n.lo, b.mul(q, d.lo))), u);
    return {q, lo};
  }

  /// ln d for d > 0 (SLEEF's logkf): d = m 2^e, m in [sqrt(1/2), sqrt(2)),
  /// ln m = 2 atanh((m - 1) / (m + 1)) by its series.
  DF log(Value d) {
    Value subnormal = b.cmp(CmpFPredicate::OLT, d, b.f(0x1p-126));
    d = b.select(subnormal, b.mul(d, b.f(0x1p32)), d);
    Value scaledBits = b.bits(b.mul(d, b.f(1.4142f)));
    Value e = b.op<arith::SubIOp>(
        b.op<arith::AndIOp>(b.shrS(scaledBits, 23), b.i(0xff)), b.i(127));
    Value m = b.fromBits(b.op<arith::SubIOp>(b.bits(d), b.shl(e, 23)));
    e = b.select(subnormal, b.op<arith::SubIOp>(e, b.i(32)), e);
    DF x = div(add2(b.f(-1.0), m), add2(b.f(1.0), m));
    DF x2 = square(x);
    Value t = horner(b, x2.hi,
                     {0.2371599674224853515625, 0.285279005765914916992188,
                      0.400005519390106201171875, 0.666666567325592041015625});
    DF ln2 = {b.f(0.69314718246459960938), b.f(-1.904654323148236017e-09)};
    return add2(mul(ln2, b.toFloat(e)),
                add2(scale(x, b.f(2.0)), mul(mul(x2, x), t)));
  }

  /// e^(d.hi + d.lo) (SLEEF's expkf); |d| is clamped to 150, beyond which
  /// the result is 0 or infinity anyway.
  Value exp(DF d) {
    Value bad = b.isNaN(d.hi);
    Value over = b.cmp(CmpFPredicate::OGT, d.hi, b.f(150.0));
    Value under = b.cmp(CmpFPredicate::OLT, d.hi, b.f(-150.0));
    Value hi = b.select(bad, b.f(0.0), d.hi);
    hi = b.select(over, b.f(150.0), b.select(under, b.f(-150.0), hi));
    Value lo = b.select(b.either(bad, b.either(over, under)), b.f(0.0), d.lo);
    Value q = b.roundToInt(b.mul(b.add(hi, lo), b.f(1.44269504088896341)));
    Value qf = b.toFloat(q);
    // ln2 = L2U + L2L, L2U with 15 bits: q L2U is exact.
    DF s = add2(DF{hi, lo}, b.mul(qf, b.f(-0.693145751953125)));
    s = add2(s, b.mul(qf, b.f(-1.428606765330187045e-06)));
    s = normalize(s);
    Value u = horner(b, s.hi,
                     {0.00136324646882712841033936,
                      0.00836596917361021041870117, 0.0416710823774337768554688,
                      0.166665524244308471679688, 0.499999850988388061523438});
    DF t = add(s, mul(square(s), u));
    t = add(b.f(1.0), t);
    return b.scaleByPow2(b.add(t.hi, t.lo), q);
  }

private:
  F32Builder &b;
};
} // namespace

Value kiln::floatmath::buildPow(F32Builder &b, Value x, Value y) {
  using P = CmpFPredicate;
  DoubleFloat df(b);
  Value ax = b.abs(x), ay = b.abs(y);
  Value result = df.exp(df.mul(df.log(ax), y));

  // Every f32 of magnitude >= 2^24 is an even integer.
  Value ySmall = b.select(b.cmp(P::OLT, ay, b.f(0x1p24)), y, b.f(0.0));
  Value yInt = b.toInt(ySmall);
  Value integral = b.cmp(P::OEQ, b.toFloat(yInt), ySmall);
  Value odd =
      b.both(integral, b.cmpI(CmpIPredicate::eq,
                              b.op<arith::AndIOp>(yInt, b.i(1)), b.i(1)));
  Value negated = b.copySign(result, b.f(-1.0));
  Value negativeBase =
      b.select(integral, b.select(odd, negated, result), b.f(NAN));
  result = b.select(b.cmp(P::OLT, x, b.f(0.0)), negativeBase, result);

  // y = +-inf: 0, 1 or inf as |x| is below, at or above 1 (flipped for -inf).
  // (|x| - 1) times the sign of y: the sign bits xor-ed.
  Value ySign = b.op<arith::AndIOp>(b.bits(y), b.i(INT32_MIN));
  Value towardInf =
      b.fromBits(b.op<arith::XOrIOp>(b.bits(b.sub(ax, b.f(1.0))), ySign));
  Value infExponent = b.select(
      b.cmp(P::OLT, towardInf, b.f(0.0)), b.f(0.0),
      b.select(b.cmp(P::OEQ, towardInf, b.f(0.0)), b.f(1.0), b.f(INFINITY)));
  result = b.select(b.cmp(P::OEQ, ay, b.f(INFINITY)), infExponent, result);

  // x = +-0 or +-inf: 0 or inf, with x's sign for an odd integral y.
  Value isZero = b.cmp(P::OEQ, x, b.f(0.0));
  Value growth = b.select(isZero, b.sub(b.f(0.0), y), y);
  Value magnitude =
      b.select(b.cmp(P::OLT, growth, b.f(0.0)), b.f(0.0), b.f(INFINITY));
  Value signedMagnitude = b.select(odd, b.copySign(magnitude, x), magnitude);
  result = b.select(b.either(isZero, b.cmp(P::OEQ, ax, b.f(INFINITY))),
                    signedMagnitude, result);

  result = b.select(b.either(b.isNaN(x), b.isNaN(y)), b.f(NAN), result);
  return b.select(
      b.either(b.cmp(P::OEQ, y, b.f(0.0)), b.cmp(P::OEQ, x, b.f(1.0))),
      b.f(1.0), result);
}
