//===- Interpreter.cpp - reference interpreter for kiln IR ----------------===//
//
// Walks the ops of one block in order, keeping a float64 Buffer per SSA value.
// Every kiln op has one small evaluator; layout ops (broadcasting, transpose,
// reductions) share one index helper, `linearOffsets`, which turns a shape
// and per-dimension strides into the linear offset of every element. The
// semantics follow KilnOps.td exactly; this file is the oracle the compiled
// code and the VJP rules are checked against.
//
//===----------------------------------------------------------------------===//

#include "kiln/Interpreter/Interpreter.h"

#include "InterpreterGroups.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <functional>
#include <limits>

using namespace mlir;
using kiln::interp::Buffer;

int64_t Buffer::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Buffer Buffer::scalar(double value) { return Buffer{{}, {value}}; }

namespace {
/// splitmix64 of seed + stream C1 + index C2 (kiln.random_uniform's hash).
uint64_t splitmix(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t z = seed + stream * 0x9E3779B97F4A7C15ull +
               index * 0xBF58476D1CE4E5B9ull;
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ull;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z;
}
} // namespace

double kiln::interp::uniform01(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<double>(splitmix(seed, stream, index) >> 11) * 0x1.0p-53;
}

uint32_t kiln::interp::hash24(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<uint32_t>(splitmix(seed, stream, index) >> 40);
}

namespace {

//===----------------------------------------------------------------------===//
// Index helpers
//===----------------------------------------------------------------------===//

std::vector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

/// Visits the elements of `shape` in row-major order and returns, for each,
/// the sum over dimensions of coordinate * strides[d]. With strides of
/// another tensor this gathers (transpose, broadcasting: stride 0) or
/// scatters (reductions: stride 0 on reduced axes).
std::vector<int64_t> linearOffsets(ArrayRef<int64_t> shape,
                                   ArrayRef<int64_t> strides) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  std::vector<int64_t> offsets(count);
  std::vector<int64_t> coord(shape.size(), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    offsets[i] = offset;
    for (size_t d = shape.size(); d-- > 0;) {
      offset += strides[d];
      if (++coord[d] < shape[d])
        break;
      offset -= strides[d] * shape[d];
      coord[d] = 0;
    }
  }
  return offsets;
}

/// Reads `in` broadcast (NumPy rules) to `outShape`; shapes were verified.
Buffer broadcastTo(const Buffer &in, ArrayRef<int64_t> outShape) {
  std::vector<int64_t> inStrides = rowMajorStrides(in.shape);
  size_t lead = outShape.size() - in.shape.size();
  std::vector<int64_t> strides(outShape.size(), 0);
  for (size_t d = lead; d < outShape.size(); ++d)
    if (in.shape[d - lead] != 1)
      strides[d] = inStrides[d - lead];
  Buffer out{std::vector<int64_t>(outShape.begin(), outShape.end()), {}};
  for (int64_t offset : linearOffsets(outShape, strides))
    out.data.push_back(in.data[offset]);
  return out;
}

ArrayRef<int64_t> shapeOf(Value v) {
  return v.getType().cast<RankedTensorType>().getShape();
}

//===----------------------------------------------------------------------===//
// Op evaluators: each returns the result buffer or emits an error.
//===----------------------------------------------------------------------===//

using Env = llvm::DenseMap<Value, Buffer>;

FailureOr<Buffer> evalConstant(kiln::ConstantOp op) {
  auto attr = op.getValue();
  auto type = attr.getType().cast<ShapedType>();
  Buffer out{std::vector<int64_t>(type.getShape().begin(),
                                  type.getShape().end()),
             {}};
  if (type.getElementType().isa<FloatType>()) {
    if (auto values = attr.tryGetValues<APFloat>()) {
      for (APFloat v : *values) {
        bool lost;
        v.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
        out.data.push_back(v.convertToDouble());
      }
      return out;
    }
  } else if (auto values = attr.tryGetValues<APInt>()) {
    for (const APInt &v : *values)
      out.data.push_back(static_cast<double>(v.getSExtValue()));
    return out;
  }
  return op.emitError("interpreter: unsupported constant attribute");
}

/// Exact seed: read from the defining constant when there is one, so seeds
/// beyond 2^53 are not rounded through double.
uint64_t seedOf(kiln::RandomUniformOp op, const Buffer &seed) {
  if (auto cst = op.getSeed().getDefiningOp<kiln::ConstantOp>())
    if (auto values = cst.getValue().tryGetValues<APInt>())
      return (*values->begin()).getZExtValue();
  return static_cast<uint64_t>(static_cast<int64_t>(seed.data[0]));
}

Buffer evalRandomUniform(kiln::RandomUniformOp op, const Buffer &seedBuf) {
  auto type = op.getType().cast<RankedTensorType>();
  Buffer out{std::vector<int64_t>(type.getShape().begin(),
                                  type.getShape().end()),
             {}};
  uint64_t seed = seedOf(op, seedBuf);
  uint64_t stream = op.getStream();
  double low = op.getLow().convertToDouble();
  double high = op.getHigh().convertToDouble();
  Type elementType = type.getElementType();
  int64_t n = out.numElements();
  out.data.reserve(n);
  // Narrower than f64: float32 operations on 24 bits, as the lowering.
  auto lowF = static_cast<float>(low);
  auto rangeF = static_cast<float>(high - low);
  for (int64_t i = 0; i < n; ++i) {
    if (elementType.isF64()) {
      out.data.push_back(low + (high - low) * kiln::interp::uniform01(
                                                  seed, stream, uint64_t(i)));
      continue;
    }
    float u = static_cast<float>(kiln::interp::hash24(seed, stream, i)) *
              0x1.0p-24f;
    float scaled = rangeF * u;
    double value = static_cast<double>(lowF + scaled);
    if (!elementType.isF32()) {
      // f16/bf16: round to the declared type as the compiled code would.
      APFloat narrow(value);
      bool lost;
      narrow.convert(elementType.cast<FloatType>().getFloatSemantics(),
                     APFloat::rmNearestTiesToEven, &lost);
      narrow.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                     &lost);
      value = narrow.convertToDouble();
    }
    out.data.push_back(value);
  }
  return out;
}

Buffer evalBinary(const Buffer &lhs, const Buffer &rhs,
                  ArrayRef<int64_t> outShape,
                  const std::function<double(double, double)> &fn) {
  Buffer a = broadcastTo(lhs, outShape), b = broadcastTo(rhs, outShape);
  for (size_t i = 0; i < a.data.size(); ++i)
    a.data[i] = fn(a.data[i], b.data[i]);
  return a;
}

std::function<double(double, double)> comparison(StringRef predicate) {
  if (predicate == "eq")
    return [](double a, double b) { return double(a == b); };
  if (predicate == "ne")
    return [](double a, double b) { return double(a != b); };
  if (predicate == "lt")
    return [](double a, double b) { return double(a < b); };
  if (predicate == "le")
    return [](double a, double b) { return double(a <= b); };
  if (predicate == "gt")
    return [](double a, double b) { return double(a > b); };
  return [](double a, double b) { return double(a >= b); }; // "ge", verified
}

Buffer evalUnary(Buffer in, double (*fn)(double)) {
  for (double &v : in.data)
    v = fn(v);
  return in;
}

/// [M,K] x [K,N] or [B,M,K] x [B,K,N].
Buffer evalMatmul(const Buffer &a, const Buffer &b) {
  size_t r = a.shape.size();
  int64_t batch = r == 3 ? a.shape[0] : 1;
  int64_t m = a.shape[r - 2], k = a.shape[r - 1], n = b.shape[r - 1];
  Buffer out{a.shape, std::vector<double>(batch * m * n, 0.0)};
  out.shape[r - 1] = n;
  for (int64_t p = 0; p < batch; ++p) {
    const double *x = a.data.data() + p * m * k;
    const double *y = b.data.data() + p * k * n;
    double *z = out.data.data() + p * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t l = 0; l < k; ++l)
        for (int64_t j = 0; j < n; ++j)
          z[i * n + j] += x[i * k + l] * y[l * n + j];
  }
  return out;
}

/// Result dimension i is input dimension perm[i].
Buffer evalTranspose(const Buffer &in, ArrayRef<int64_t> perm) {
  std::vector<int64_t> inStrides = rowMajorStrides(in.shape);
  Buffer out;
  std::vector<int64_t> strides;
  for (int64_t p : perm) {
    out.shape.push_back(in.shape[p]);
    strides.push_back(inStrides[p]);
  }
  for (int64_t offset : linearOffsets(out.shape, strides))
    out.data.push_back(in.data[offset]);
  return out;
}

enum class Reduction { Sum, Mean, Max };

Buffer evalReduce(const Buffer &in, ArrayRef<int64_t> axes, bool keepdims,
                  Reduction kind) {
  // Output shape with reduced axes as 1; its strides scatter input elements.
  std::vector<int64_t> kept = in.shape;
  int64_t count = 1;
  for (int64_t axis : axes) {
    count *= in.shape[axis];
    kept[axis] = 1;
  }
  std::vector<int64_t> strides = rowMajorStrides(kept);
  for (int64_t axis : axes)
    strides[axis] = 0;
  int64_t outCount = 1;
  for (int64_t d : kept)
    outCount *= d;
  double init = kind == Reduction::Max
                    ? -std::numeric_limits<double>::infinity()
                    : 0.0;
  Buffer out{{}, std::vector<double>(outCount, init)};
  std::vector<int64_t> offsets = linearOffsets(in.shape, strides);
  for (size_t i = 0; i < offsets.size(); ++i) {
    double &acc = out.data[offsets[i]], v = in.data[i];
    if (kind != Reduction::Max)
      acc += v;
    else if (v > acc || std::isnan(v))
      acc = v;
  }
  if (kind == Reduction::Mean)
    for (double &v : out.data)
      v /= static_cast<double>(count);
  for (size_t d = 0; d < kept.size(); ++d)
    if (keepdims || !llvm::is_contained(axes, int64_t(d)))
      out.shape.push_back(kept[d]);
  return out;
}

/// x - max - log(sum(exp(x - max))) along `axis`.
Buffer evalLogSoftmax(Buffer in, int64_t axis) {
  int64_t outer = 1, inner = 1, n = in.shape[axis];
  for (int64_t d = 0; d < axis; ++d)
    outer *= in.shape[d];
  for (size_t d = axis + 1; d < in.shape.size(); ++d)
    inner *= in.shape[d];
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double *x = in.data.data() + o * n * inner + i;
      double max = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n; ++j)
        max = std::max(max, x[j * inner]);
      double sum = 0.0;
      for (int64_t j = 0; j < n; ++j)
        sum += std::exp(x[j * inner] - max);
      double logSum = max + std::log(sum);
      for (int64_t j = 0; j < n; ++j)
        x[j * inner] -= logSum;
    }
  }
  return in;
}

/// Indices' shape plus a class dimension; an out-of-range index is a zero row.
Buffer evalOneHot(const Buffer &indices, int64_t classes) {
  Buffer out{indices.shape, std::vector<double>(indices.data.size() * classes,
                                                0.0)};
  out.shape.push_back(classes);
  for (size_t i = 0; i < indices.data.size(); ++i) {
    double index = indices.data[i];
    if (index >= 0 && index < static_cast<double>(classes))
      out.data[i * classes + static_cast<int64_t>(index)] = 1.0;
  }
  return out;
}

/// Evaluates one op, storing its result in `env`.
LogicalResult evalOp(Operation &op, Env &env) {
  auto in = [&](unsigned i) -> const Buffer & {
    return env.find(op.getOperand(i))->second;
  };
  auto outShape = [&]() { return shapeOf(op.getResult(0)); };
  using kiln::ReduceMaxOp, kiln::ReduceMeanOp, kiln::ReduceSumOp;
  FailureOr<Buffer> result =
      llvm::TypeSwitch<Operation *, FailureOr<Buffer>>(&op)
          .Case([&](kiln::ConstantOp c) { return evalConstant(c); })
          .Case([&](kiln::RandomUniformOp r) {
            return evalRandomUniform(r, in(0));
          })
          .Case([&](kiln::AddOp) {
            return evalBinary(in(0), in(1), outShape(), std::plus<double>());
          })
          .Case([&](kiln::SubOp) {
            return evalBinary(in(0), in(1), outShape(), std::minus<double>());
          })
          .Case([&](kiln::MulOp) {
            return evalBinary(in(0), in(1), outShape(),
                              std::multiplies<double>());
          })
          .Case([&](kiln::DivOp) {
            return evalBinary(in(0), in(1), outShape(),
                              std::divides<double>());
          })
          .Case([&](kiln::CompareOp c) {
            return evalBinary(in(0), in(1), outShape(),
                              comparison(c.getPredicate()));
          })
          .Case([&](kiln::NegOp) {
            return evalUnary(in(0), [](double x) { return -x; });
          })
          .Case([&](kiln::ExpOp) {
            return evalUnary(in(0), [](double x) { return std::exp(x); });
          })
          .Case([&](kiln::LogOp) {
            return evalUnary(in(0), [](double x) { return std::log(x); });
          })
          .Case([&](kiln::ReluOp) {
            return evalUnary(in(0),
                             [](double x) { return x > 0.0 ? x : 0.0; });
          })
          .Case([&](kiln::StopGradientOp) { return in(0); })
          .Case([&](kiln::MatmulOp) { return evalMatmul(in(0), in(1)); })
          .Case([&](kiln::TransposeOp t) {
            return evalTranspose(in(0), t.getPermutation());
          })
          .Case([&](kiln::ReshapeOp) {
            Buffer b = in(0);
            b.shape.assign(outShape().begin(), outShape().end());
            return b;
          })
          .Case([&](kiln::BroadcastToOp) {
            return broadcastTo(in(0), outShape());
          })
          .Case([&](ReduceSumOp r) {
            return evalReduce(in(0), r.getAxes(), r.getKeepdims(),
                              Reduction::Sum);
          })
          .Case([&](ReduceMeanOp r) {
            return evalReduce(in(0), r.getAxes(), r.getKeepdims(),
                              Reduction::Mean);
          })
          .Case([&](ReduceMaxOp r) {
            return evalReduce(in(0), r.getAxes(), r.getKeepdims(),
                              Reduction::Max);
          })
          .Case([&](kiln::LogSoftmaxOp l) -> FailureOr<Buffer> {
            // LogSoftmaxOp::verify rejects an axis outside [0, rank), but
            // run() does not verify the IR it is given, so check again
            // instead of reading out of bounds (getAxis() is unsigned: a
            // negative axis reads as a huge one).
            if (l.getAxis() >= in(0).shape.size())
              return l.emitError("interpreter: axis ")
                     << int64_t(l.getAxis()) << " is out of range";
            return evalLogSoftmax(in(0), int64_t(l.getAxis()));
          })
          .Case([&](kiln::OneHotOp) {
            return evalOneHot(in(0), outShape().back());
          })
          .Case([&](kiln::VJPOp v) -> FailureOr<Buffer> {
            return v.emitError("interpreter: unexpanded kiln.vjp; run the "
                               "kiln-autodiff pass first");
          })
          .Default([&](Operation *) -> FailureOr<Buffer> {
            return Buffer{{-1}, {}}; // marker: not a core op
          });
  if (failed(result))
    return failure();
  if (result->shape.empty() || result->shape.front() != -1) {
    // i32 arithmetic wraps around as the compiled code's does.
    if (isa<kiln::AddOp, kiln::SubOp, kiln::MulOp, kiln::NegOp,
            kiln::ReduceSumOp>(op) &&
        op.getResult(0).getType().cast<RankedTensorType>()
            .getElementType().isInteger(32))
      for (double &v : result->data)
        v = static_cast<double>(static_cast<int32_t>(
            static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(v)))));
    env[op.getResult(0)] = std::move(*result);
    return success();
  }
  // Ops of the groups in Interpreter{Elementwise,Layout,NN}.cpp, which may
  // have several results.
  std::vector<const Buffer *> inputs;
  for (Value operand : op.getOperands())
    inputs.push_back(&env.find(operand)->second);
  for (auto group : {kiln::interp::detail::evalElementwiseGroup,
                     kiln::interp::detail::evalLayoutGroup,
                     kiln::interp::detail::evalNNGroup}) {
    kiln::interp::detail::GroupResult results = group(op, inputs);
    if (!results)
      continue;
    if (failed(*results))
      return failure();
    for (auto [value, buffer] : llvm::zip(op.getResults(), **results))
      env[value] = std::move(buffer);
    return success();
  }
  return op.emitError("interpreter: unsupported operation '")
         << op.getName() << "'";
}

/// Every result must be a static-shape tensor and every operand must already
/// have a value.
LogicalResult checkOperands(Operation &op, const Env &env) {
  for (Value v : op.getOperands())
    if (!env.count(v))
      return op.emitError("interpreter: operand defined outside the block");
  for (Type t : op.getResultTypes()) {
    auto tensor = t.dyn_cast<RankedTensorType>();
    if (!tensor || !tensor.hasStaticShape())
      return op.emitError("interpreter: expected static-shape tensor "
                          "results, got ")
             << t;
  }
  return success();
}

} // namespace

FailureOr<std::vector<Buffer>> kiln::interp::run(func::FuncOp fn,
                                                 ArrayRef<Buffer> args) {
  if (fn.isExternal() || !fn.getBody().hasOneBlock())
    return fn.emitError("interpreter: expected a function with one block");
  Block &block = fn.getBody().front();
  if (block.getNumArguments() != args.size())
    return fn.emitError("interpreter: expected ")
           << block.getNumArguments() << " arguments, got " << args.size();

  Env env;
  for (auto [i, arg] : llvm::enumerate(block.getArguments())) {
    auto type = arg.getType().dyn_cast<RankedTensorType>();
    if (!type || !type.hasStaticShape())
      return fn.emitError("interpreter: argument #")
             << i << " is not a static-shape tensor";
    const Buffer &buffer = args[i];
    if (ArrayRef<int64_t>(buffer.shape) != type.getShape() ||
        static_cast<int64_t>(buffer.data.size()) != buffer.numElements())
      return fn.emitError("interpreter: argument #")
             << i << " has shape " << formatShape(buffer.shape) << " and "
             << buffer.data.size() << " values, expected "
             << formatShape(type.getShape());
    if (type.getElementType().isa<IntegerType>())
      for (double v : buffer.data)
        if (std::trunc(v) != v || std::abs(v) >= 0x1.0p63)
          return fn.emitError("interpreter: argument #")
                 << i << " is an integer tensor but holds " << v;
    env[arg] = buffer;
  }

  for (Operation &op : block) {
    if (failed(checkOperands(op, env)))
      return failure();
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<Buffer> results;
      for (Value v : ret.getOperands())
        results.push_back(env.find(v)->second);
      return results;
    }
    if (failed(evalOp(op, env)))
      return failure();
  }
  return fn.emitError("interpreter: function has no func.return");
}
