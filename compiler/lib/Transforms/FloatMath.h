//===- FloatMath.h - f32 exp, log, tanh and pow from arith ops --*- C++ -*-===//
//
// kiln's own single-precision transcendental functions, emitted as arith
// operations on f32 scalars or vectors: no libm call, no fused multiply-add
// (an `fmaf` call on cores without one), no floor, no double. Each is
// accurate to a few ulp over every finite float (ApproximateMathTest sweeps
// them against float64) and gets C's special values right.
//
// The algorithms and coefficients follow Cephes (expf, logf, tanhf; Stephen
// L. Moshier) and SLEEF's double-float pow (xpowf, logkf, expkf; Naoki
// Shibata, Boost license), both public. What differs: exponent handling
// through integer bits (subnormals, overflow and underflow without ldexp),
// and guards that keep every float-to-int conversion in range.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_TRANSFORMS_FLOATMATH_H
#define KILN_LIB_TRANSFORMS_FLOATMATH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace kiln::floatmath {

/// Builds arith operations on one f32 shape: `type` is f32 or a vector of
/// f32, integer values have the same shape with i32 elements. Constants are
/// splats of that shape.
class F32Builder {
public:
  F32Builder(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type);

  mlir::Type floatType() const { return type; }
  mlir::Type intType() const { return i32Type; }

  mlir::Value f(double value);
  mlir::Value i(int32_t value);

  mlir::Value add(mlir::Value x, mlir::Value y);
  mlir::Value sub(mlir::Value x, mlir::Value y);
  mlir::Value mul(mlir::Value x, mlir::Value y);
  mlir::Value div(mlir::Value x, mlir::Value y);
  mlir::Value abs(mlir::Value x);
  mlir::Value cmp(mlir::arith::CmpFPredicate predicate, mlir::Value x,
                  mlir::Value y);
  mlir::Value isNaN(mlir::Value x);
  mlir::Value select(mlir::Value condition, mlir::Value x, mlir::Value y);
  /// Boolean and/or of two comparison results.
  mlir::Value both(mlir::Value x, mlir::Value y) {
    return op<mlir::arith::AndIOp>(x, y);
  }
  mlir::Value either(mlir::Value x, mlir::Value y) {
    return op<mlir::arith::OrIOp>(x, y);
  }

  mlir::Value bits(mlir::Value x);
  mlir::Value fromBits(mlir::Value bits);
  /// Any other op on values of this shape (integer arithmetic mostly).
  template <typename OpTy> mlir::Value op(mlir::Value x, mlir::Value y) {
    return b.create<OpTy>(loc, x, y);
  }
  mlir::Value shl(mlir::Value x, int32_t amount);
  mlir::Value shrS(mlir::Value x, int32_t amount);
  mlir::Value cmpI(mlir::arith::CmpIPredicate predicate, mlir::Value x,
                   mlir::Value y);
  mlir::Value toInt(mlir::Value x);   // round toward zero; |x| < 2^31
  mlir::Value toFloat(mlir::Value i); // signed

  /// x with the sign bit of `sign` (bit operations, never a call).
  mlir::Value copySign(mlir::Value x, mlir::Value sign);
  /// 2^k for an i32 k in [-126, 127], built from its exponent bits.
  mlir::Value pow2(mlir::Value k);
  /// x 2^k for k in [-252, 254], with one rounding (subnormal results and
  /// overflow to infinity included) when x 2^(k/2) is normal.
  mlir::Value scaleByPow2(mlir::Value x, mlir::Value k);
  /// Nearest integer of x (halves away from zero), for |x| < 2^31.
  mlir::Value roundToInt(mlir::Value x);

private:
  template <typename OpTy> mlir::Value cast(mlir::Type to, mlir::Value x) {
    return b.create<OpTy>(loc, to, x);
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::Type type, i32Type;
};

/// e^x: Cody-Waite reduction x = k ln2 + r, |r| <= ln2 / 2, Cephes' expf
/// polynomial, then r's exponential scaled by 2^k through the exponent bits.
mlir::Value buildExp(F32Builder &b, mlir::Value x);
/// ln x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), Cephes' logf polynomial
/// in m - 1, e ln2 added in two parts. Subnormals are scaled first.
mlir::Value buildLog(F32Builder &b, mlir::Value x);
/// tanh x: Cephes' odd polynomial below |x| = 0.625, 1 - 2 / (e^2|x| + 1)
/// above, the sign copied back.
mlir::Value buildTanh(F32Builder &b, mlir::Value x);
/// x^y: e^(y ln|x|) with ln|x| and the product in double-float (SLEEF's
/// logkf/expkf), so the result is within 2 ulp even where y ln|x| is
/// large; C's special cases (powf in C99 Annex F).
mlir::Value buildPow(F32Builder &b, mlir::Value x, mlir::Value y);

} // namespace kiln::floatmath

#endif // KILN_LIB_TRANSFORMS_FLOATMATH_H
