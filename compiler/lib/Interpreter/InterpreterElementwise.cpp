//===- InterpreterElementwise.cpp - reference semantics of elementwise ops ===//
//
// float64 evaluation of the ops in KilnElementwiseOps.td. Broadcasting
// follows NumPy (as the core evaluators do); random_normal implements the
// counter-based Box-Muller transform of the op's description with fixed
// series for ln and cos (float64 for f64 results, float32 for the others),
// which the lowering in KilnToLinalgElementwise.cpp repeats operation for
// operation: the two agree bit for bit.
//
//===----------------------------------------------------------------------===//

#include "InterpreterGroups.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

using namespace mlir;
using kiln::interp::Buffer;

namespace {

std::vector<int64_t> shapeOf(Value v) {
  ArrayRef<int64_t> shape = v.getType().cast<RankedTensorType>().getShape();
  return std::vector<int64_t>(shape.begin(), shape.end());
}

/// Row-major offset into `in` of each element of `outShape`, reading `in`
/// broadcast (NumPy rules; shapes were verified).
std::vector<int64_t> broadcastOffsets(const std::vector<int64_t> &inShape,
                                      const std::vector<int64_t> &outShape) {
  size_t rank = outShape.size(), lead = rank - inShape.size();
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t d = inShape.size(); d-- > 0;) {
    if (inShape[d] != 1)
      strides[d + lead] = stride;
    stride *= inShape[d];
  }
  int64_t count = 1;
  for (int64_t d : outShape)
    count *= d;
  std::vector<int64_t> offsets(count);
  std::vector<int64_t> coord(rank, 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    offsets[i] = offset;
    for (size_t d = rank; d-- > 0;) {
      offset += strides[d];
      if (++coord[d] < outShape[d])
        break;
      offset -= strides[d] * outShape[d];
      coord[d] = 0;
    }
  }
  return offsets;
}

/// Applies `fn` to the operands' elements, broadcast to the result shape.
template <typename Fn>
Buffer mapBroadcast(Operation &op, kiln::interp::detail::Inputs inputs, Fn fn) {
  Buffer out{shapeOf(op.getResult(0)), {}};
  std::vector<std::vector<int64_t>> offsets;
  for (const Buffer *in : inputs)
    offsets.push_back(broadcastOffsets(in->shape, out.shape));
  int64_t n = out.numElements();
  out.data.resize(n);
  double args[3];
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < inputs.size(); ++k)
      args[k] = inputs[k]->data[offsets[k][i]];
    out.data[i] = fn(args);
  }
  return out;
}

/// torch.maximum / torch.minimum: NaN-propagating; -0 < +0.
double maximum(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<double>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
double minimum(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<double>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

//===----------------------------------------------------------------------===//
// random_normal
//===----------------------------------------------------------------------===//

/// The float type random_normal computes in: float64 with 53 random bits
/// for f64 results, float32 with 24 bits for the others (no double
/// arithmetic, which a Cortex-M would run through soft-float helpers).
/// `logTerms` and `cosTerms` are the series lengths that reach the type's
/// precision.
template <typename T> struct NormalPrecision;
template <> struct NormalPrecision<double> {
  using Bits = uint64_t;
  static constexpr int mantissaBits = 52, bias = 1023, logTerms = 10,
                       cosTerms = 11;
};
template <> struct NormalPrecision<float> {
  using Bits = uint32_t;
  static constexpr int mantissaBits = 23, bias = 127, logTerms = 6,
                       cosTerms = 8;
};

/// ln(u) for u in (0, 1]: u = m 2^e with m in [sqrt(1/2), sqrt(2)), then
/// ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), by its series to
/// s^(2 logTerms + 1).
template <typename T> T seriesLog(T u) {
  using P = NormalPrecision<T>;
  typename P::Bits bits;
  std::memcpy(&bits, &u, sizeof bits);
  auto e = static_cast<int64_t>(bits >> P::mantissaBits) - P::bias;
  typename P::Bits mantissaMask =
      (typename P::Bits(1) << P::mantissaBits) - 1;
  typename P::Bits oneBits = typename P::Bits(P::bias) << P::mantissaBits;
  bits = (bits & mantissaMask) | oneBits;
  T m;
  std::memcpy(&m, &bits, sizeof m);
  if (m > static_cast<T>(1.4142135623730951)) {
    m = m * T(0.5);
    e = e + 1;
  }
  T s = (m - T(1.0)) / (m + T(1.0));
  T s2 = s * s;
  T p = static_cast<T>(1.0 / static_cast<double>(2 * P::logTerms + 1));
  for (int k = P::logTerms - 1; k >= 0; --k)
    p = p * s2 + static_cast<T>(1.0 / static_cast<double>(2 * k + 1));
  T lnM = T(2.0) * (s * p);
  return static_cast<T>(e) * static_cast<T>(0.6931471805599453) + lnM;
}

/// cos(2 pi t) for t in [0, 1): reduced by symmetry to x = 2 pi t in
/// [0, pi/2], then the Taylor series to x^(2 cosTerms).
template <typename T> T seriesCos2Pi(T t) {
  using P = NormalPrecision<T>;
  if (t >= T(0.5))
    t = T(1.0) - t;
  T sign = T(1.0);
  if (t > T(0.25)) {
    t = T(0.5) - t;
    sign = T(-1.0);
  }
  T x = static_cast<T>(6.283185307179586) * t;
  T x2 = x * x;
  // Coefficients (-1)^k / (2k)!, computed in double.
  double factorial = 1.0;
  double coefficients[P::cosTerms + 1];
  for (int k = 0; k <= P::cosTerms; ++k) {
    if (k > 0)
      factorial = factorial * static_cast<double>((2 * k - 1) * (2 * k));
    coefficients[k] = (k % 2 ? -1.0 : 1.0) / factorial;
  }
  T p = static_cast<T>(coefficients[P::cosTerms]);
  for (int k = P::cosTerms - 1; k >= 0; --k)
    p = p * x2 + static_cast<T>(coefficients[k]);
  return sign * p;
}

/// mean + std sqrt(-2 ln u1) cos(2 pi u2) in T, from the hashes of 2i and
/// 2i + 1.
template <typename T>
T boxMuller(uint64_t seed, uint64_t stream, uint64_t i, double mean,
            double stddev) {
  uint64_t index = i * 2;
  T u1, u2;
  if constexpr (std::is_same_v<T, double>) {
    u1 = kiln::interp::uniform01(seed, stream, index) + 0x1.0p-53;
    u2 = kiln::interp::uniform01(seed, stream, index + 1);
  } else {
    u1 = (static_cast<T>(kiln::interp::hash24(seed, stream, index)) + T(1)) *
         T(0x1.0p-24);
    u2 = static_cast<T>(kiln::interp::hash24(seed, stream, index + 1)) *
         T(0x1.0p-24);
  }
  T radius = std::sqrt(T(-2.0) * seriesLog(u1));
  T z = radius * seriesCos2Pi(u2);
  return static_cast<T>(mean) + static_cast<T>(stddev) * z;
}

/// Exact seed: from the defining constant when there is one, so seeds
/// beyond 2^53 are not rounded through double (as for random_uniform).
uint64_t seedOf(kiln::RandomNormalOp op, const Buffer &seed) {
  if (auto cst = op.getSeed().getDefiningOp<kiln::ConstantOp>())
    if (auto values = cst.getValue().tryGetValues<APInt>())
      return (*values->begin()).getZExtValue();
  return static_cast<uint64_t>(static_cast<int64_t>(seed.data[0]));
}

/// Rounds to the op's element type, as the compiled code's final truncf.
double roundTo(Type elementType, double value) {
  if (elementType.isF64())
    return value;
  if (elementType.isF32())
    return static_cast<double>(static_cast<float>(value));
  APFloat narrow(value);
  bool lost;
  narrow.convert(elementType.cast<FloatType>().getFloatSemantics(),
                 APFloat::rmNearestTiesToEven, &lost);
  narrow.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return narrow.convertToDouble();
}

/// A value converted to `elementType` as kiln.cast (and C++) converts:
/// floats round, float to integer truncates toward zero, integers wrap to
/// their width (i64 beyond 2^53 is not exact in this double interpreter).
double convertTo(Type elementType, double value) {
  if (elementType.isa<FloatType>())
    return roundTo(elementType, value);
  auto wide = static_cast<int64_t>(std::trunc(value));
  if (elementType.isInteger(32))
    return static_cast<double>(
        static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(wide))));
  return static_cast<double>(wide);
}

Buffer evalRandomNormal(kiln::RandomNormalOp op, const Buffer &seedBuf) {
  Buffer out{shapeOf(op.getResult()), {}};
  uint64_t seed = seedOf(op, seedBuf);
  uint64_t stream = op.getStream();
  double mean = op.getMean().convertToDouble();
  double stddev = op.getStd().convertToDouble();
  Type elementType = op.getType().cast<RankedTensorType>().getElementType();
  int64_t n = out.numElements();
  out.data.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    double value =
        elementType.isF64()
            ? boxMuller<double>(seed, stream, uint64_t(i), mean, stddev)
            : boxMuller<float>(seed, stream, uint64_t(i), mean, stddev);
    out.data.push_back(roundTo(elementType, value));
  }
  return out;
}

} // namespace

kiln::interp::detail::GroupResult
kiln::interp::detail::evalElementwiseGroup(Operation &op, Inputs inputs) {
  using Result = FailureOr<std::vector<Buffer>>;
  auto one = [](Buffer b) -> GroupResult {
    return Result(std::vector<Buffer>{std::move(b)});
  };
  auto unary = [&](double (*fn)(double)) {
    return one(
        mapBroadcast(op, inputs, [&](const double *x) { return fn(x[0]); }));
  };
  return llvm::TypeSwitch<Operation *, GroupResult>(&op)
      .Case([&](kiln::SqrtOp) {
        return unary([](double x) { return std::sqrt(x); });
      })
      .Case([&](kiln::TanhOp) {
        return unary([](double x) { return std::tanh(x); });
      })
      .Case([&](kiln::AbsOp) {
        return unary([](double x) { return std::fabs(x); });
      })
      .Case([&](kiln::MaximumOp) {
        return one(mapBroadcast(
            op, inputs, [](const double *x) { return maximum(x[0], x[1]); }));
      })
      .Case([&](kiln::MinimumOp) {
        return one(mapBroadcast(
            op, inputs, [](const double *x) { return minimum(x[0], x[1]); }));
      })
      .Case([&](kiln::PowOp) {
        return one(mapBroadcast(
            op, inputs, [](const double *x) { return std::pow(x[0], x[1]); }));
      })
      .Case([&](kiln::SelectOp) {
        return one(mapBroadcast(op, inputs, [](const double *x) {
          return x[0] != 0.0 ? x[1] : x[2];
        }));
      })
      .Case([&](kiln::RandomNormalOp r) {
        return one(evalRandomNormal(r, *inputs[0]));
      })
      .Case([&](kiln::CastOp c) {
        Type to = c.getType().cast<RankedTensorType>().getElementType();
        Buffer out = *inputs[0];
        for (double &v : out.data)
          v = convertTo(to, v);
        return one(std::move(out));
      })
      .Default([](Operation *) -> GroupResult { return std::nullopt; });
}
