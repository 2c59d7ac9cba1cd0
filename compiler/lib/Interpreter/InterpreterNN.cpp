//===- InterpreterNN.cpp - reference semantics of the NN ops ---------===//
//
// conv2d, its two gradients, max_pool2d and its gradient, rsqrt and
// increment on float64 buffers. The convolutions are written as the direct
// sums of their descriptions in KilnNNOps.td (one loop nest over the output
// and window positions, skipping positions in the zero padding), so they are
// an independent check of the im2col + matmul lowering.
//
//===----------------------------------------------------------------------===//

#include "InterpreterGroups.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using kiln::interp::Buffer;
using kiln::interp::detail::GroupResult;
using kiln::interp::detail::Inputs;

namespace {

/// Sizes and window of one convolution (or pooling: o == c, groups == c).
struct ConvGeometry {
  int64_t n, c, h, w;  // input
  int64_t o, kh, kw;   // weight [o, c / groups, kh, kw]
  int64_t oh, ow;      // output
  int64_t sh, sw, ph, pw, dh, dw, groups;

  int64_t cg() const { return c / groups; }
  int64_t og() const { return o / groups; }
  int64_t in(int64_t n_, int64_t c_, int64_t h_, int64_t w_) const {
    return ((n_ * c + c_) * h + h_) * w + w_;
  }
  int64_t out(int64_t n_, int64_t o_, int64_t i, int64_t j) const {
    return ((n_ * o + o_) * oh + i) * ow + j;
  }
  int64_t weight(int64_t o_, int64_t c_, int64_t p, int64_t q) const {
    return ((o_ * cg() + c_) * kh + p) * kw + q;
  }

  /// Calls fn(inputOffset, outputOffset, weightOffset) for every term of
  /// every output sum whose input position lies inside the input (padding
  /// contributes zeros).
  template <typename Fn>
  void forEachTerm(Fn fn) const {
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oc = 0; oc < o; ++oc) {
        int64_t g = oc / og();
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j)
            for (int64_t ci = 0; ci < cg(); ++ci)
              for (int64_t p = 0; p < kh; ++p) {
                int64_t y = i * sh - ph + p * dh;
                if (y < 0 || y >= h)
                  continue;
                for (int64_t q = 0; q < kw; ++q) {
                  int64_t x = j * sw - pw + q * dw;
                  if (x < 0 || x >= w)
                    continue;
                  fn(in(b, g * cg() + ci, y, x), out(b, oc, i, j),
                     weight(oc, ci, p, q));
                }
              }
      }
  }
};

ArrayRef<int64_t> shapeOf(Value v) {
  return v.getType().cast<RankedTensorType>().getShape();
}

template <typename OpTy>
ConvGeometry convGeometry(OpTy op, ArrayRef<int64_t> input,
                          ArrayRef<int64_t> weight, ArrayRef<int64_t> output) {
  ArrayRef<int64_t> s = op.getStride(), p = op.getPadding(),
                    d = op.getDilation();
  return {input[0],  input[1],  input[2],  input[3], weight[0],
          weight[2], weight[3], output[2], output[3], s[0],
          s[1],      p[0],      p[1],      d[0],     d[1],
          static_cast<int64_t>(op.getGroups())};
}

Buffer zerosOf(ArrayRef<int64_t> shape) {
  Buffer out{std::vector<int64_t>(shape.begin(), shape.end()), {}};
  out.data.assign(out.numElements(), 0.0);
  return out;
}

/// out[n, o, i, j] = sum x[n, c, i*s - p + k*d, ...] * w[o, c, k, ...]
Buffer evalConv(const ConvGeometry &g, const Buffer &x, const Buffer &w) {
  Buffer y = zerosOf({g.n, g.o, g.oh, g.ow});
  g.forEachTerm([&](int64_t xi, int64_t yi, int64_t wi) {
    y.data[yi] += x.data[xi] * w.data[wi];
  });
  return y;
}

/// The adjoint of evalConv in x.
Buffer evalConvInputGrad(const ConvGeometry &g, const Buffer &gy,
                         const Buffer &w) {
  Buffer gx = zerosOf({g.n, g.c, g.h, g.w});
  g.forEachTerm([&](int64_t xi, int64_t yi, int64_t wi) {
    gx.data[xi] += gy.data[yi] * w.data[wi];
  });
  return gx;
}

/// The adjoint of evalConv in w.
Buffer evalConvWeightGrad(const ConvGeometry &g, const Buffer &x,
                          const Buffer &gy) {
  Buffer gw = zerosOf({g.o, g.cg(), g.kh, g.kw});
  g.forEachTerm([&](int64_t xi, int64_t yi, int64_t wi) {
    gw.data[wi] += x.data[xi] * gy.data[yi];
  });
  return gw;
}

/// Pooling windows as a depthwise convolution geometry (o == c).
ConvGeometry poolGeometry(Operation *op, ArrayRef<int64_t> input,
                          ArrayRef<int64_t> output) {
  auto attr = [&](StringRef name) {
    return op->getAttrOfType<DenseI64ArrayAttr>(name).asArrayRef();
  };
  ArrayRef<int64_t> k = attr("kernel"), s = attr("stride"),
                    p = attr("padding"), d = attr("dilation");
  return {input[0], input[1], input[2],  input[3], input[1], k[0],
          k[1],     output[2], output[3], s[0],     s[1],     p[0],
          p[1],     d[0],      d[1],      input[1]};
}

/// For every window (row-major over [n, c, i, j]), the input offset of its
/// first maximum, or -1 when no input element beats -inf (padding counts as
/// -inf, and a strict `>` keeps the first of equal maxima). A NaN wins, as
/// in PyTorch: `v > best || isnan(v)`.
std::vector<int64_t> windowArgmax(const ConvGeometry &g, const Buffer &x,
                                  std::vector<double> *maxima) {
  std::vector<int64_t> argmax;
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) {
          double best = -std::numeric_limits<double>::infinity();
          int64_t at = -1;
          for (int64_t p = 0; p < g.kh; ++p) {
            int64_t y = i * g.sh - g.ph + p * g.dh;
            for (int64_t q = 0; q < g.kw; ++q) {
              int64_t xx = j * g.sw - g.pw + q * g.dw;
              if (y < 0 || y >= g.h || xx < 0 || xx >= g.w)
                continue;
              double v = x.data[g.in(b, c, y, xx)];
              if (v > best || std::isnan(v)) {
                best = v;
                at = g.in(b, c, y, xx);
              }
            }
          }
          argmax.push_back(at);
          if (maxima)
            maxima->push_back(best);
        }
  return argmax;
}

std::vector<Buffer> one(Buffer b) {
  std::vector<Buffer> results;
  results.push_back(std::move(b));
  return results;
}

} // namespace

GroupResult kiln::interp::detail::evalNNGroup(Operation &op, Inputs inputs) {
  auto in = [&](unsigned i) -> const Buffer & { return *inputs[i]; };
  using Results = FailureOr<std::vector<Buffer>>;
  return llvm::TypeSwitch<Operation *, GroupResult>(&op)
      .Case([&](kiln::Conv2DOp c) -> Results {
        ConvGeometry g = convGeometry(c, in(0).shape, in(1).shape,
                                      shapeOf(c.getResult()));
        return one(evalConv(g, in(0), in(1)));
      })
      .Case([&](kiln::Conv2DInputGradOp c) -> Results {
        ConvGeometry g = convGeometry(c, shapeOf(c.getResult()), in(1).shape,
                                      in(0).shape);
        return one(evalConvInputGrad(g, in(0), in(1)));
      })
      .Case([&](kiln::Conv2DWeightGradOp c) -> Results {
        ConvGeometry g = convGeometry(c, in(0).shape, shapeOf(c.getResult()),
                                      in(1).shape);
        return one(evalConvWeightGrad(g, in(0), in(1)));
      })
      .Case([&](kiln::MaxPool2DOp p) -> Results {
        ConvGeometry g = poolGeometry(p, in(0).shape, shapeOf(p.getResult()));
        std::vector<double> maxima;
        windowArgmax(g, in(0), &maxima);
        Buffer y{{g.n, g.c, g.oh, g.ow}, std::move(maxima)};
        return one(std::move(y));
      })
      .Case([&](kiln::MaxPool2DGradOp p) -> Results {
        ConvGeometry g = poolGeometry(p, in(0).shape, in(1).shape);
        std::vector<int64_t> argmax = windowArgmax(g, in(0), nullptr);
        Buffer gx = zerosOf(in(0).shape);
        for (size_t k = 0; k < argmax.size(); ++k)
          if (argmax[k] >= 0)
            gx.data[argmax[k]] += in(1).data[k];
        return one(std::move(gx));
      })
      .Case([&](kiln::RsqrtOp) -> Results {
        Buffer y = in(0);
        for (double &v : y.data)
          v = 1.0 / std::sqrt(v);
        return one(std::move(y));
      })
      .Case([&](kiln::IncrementOp i) -> Results {
        Buffer y = in(0);
        unsigned bits =
            i.getType().cast<RankedTensorType>().getElementTypeBitWidth();
        for (double &v : y.data) {
          // Wrap like the compiled code: i32 at 2^31, i64 at 2^63 (where a
          // double is no longer exact anyway).
          double limit = std::ldexp(1.0, bits - 1);
          v = v + 1.0 >= limit ? -limit : v + 1.0;
        }
        return one(std::move(y));
      })
      .Default([](Operation *) -> GroupResult { return std::nullopt; });
}
