//===- NNShapes.h - conv2d/max_pool2d cases as kiln IR text -----*- C++ -*-===//
//
// The shapes and attributes of a convolution or pooling case and their kiln
// IR spelling, shared by the NN op tests (NNOpsTest.cpp) and the op timings
// in bench/nn_op_bench.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNITTESTS_NN_NNSHAPES_H
#define KILN_TESTS_UNITTESTS_NN_NNSHAPES_H

#include <cstdint>
#include <string>
#include <vector>

namespace nntest {

using Shape = std::vector<int64_t>;

inline std::string typeOf(const Shape &shape, const std::string &element = "f64") {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + element + ">";
}

inline std::string pair(int64_t h, int64_t w) {
  return "[" + std::to_string(h) + ", " + std::to_string(w) + "]";
}

struct Conv {
  Shape x, w;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;

  Shape y() const {
    auto out = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
      return (in + 2 * p - d * (k - 1) - 1) / s + 1;
    };
    return {x[0], w[0], out(x[2], w[2], sh, ph, dh), out(x[3], w[3], sw, pw, dw)};
  }
  std::string attrs() const {
    return " stride = " + pair(sh, sw) + " padding = " + pair(ph, pw) +
           " dilation = " + pair(dh, dw) +
           " groups = " + std::to_string(groups) + " ";
  }
  std::string name() const {
    auto s = [](const Shape &v) {
      std::string t;
      for (int64_t d : v)
        t += (t.empty() ? "" : "x") + std::to_string(d);
      return t;
    };
    return "x" + s(x) + "_w" + s(w) + "_s" + std::to_string(sh) +
           std::to_string(sw) + "_p" + std::to_string(ph) +
           std::to_string(pw) + "_d" + std::to_string(dh) +
           std::to_string(dw) + "_g" + std::to_string(groups);
  }
};

struct Pool {
  Shape x;
  int64_t kh, kw, sh, sw, ph = 0, pw = 0, dh = 1, dw = 1;

  Shape y() const {
    auto out = [](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
      return (in + 2 * p - d * (k - 1) - 1) / s + 1;
    };
    return {x[0], x[1], out(x[2], kh, sh, ph, dh), out(x[3], kw, sw, pw, dw)};
  }
  std::string attrs() const {
    return " kernel = " + pair(kh, kw) + " stride = " + pair(sh, sw) +
           " padding = " + pair(ph, pw) + " dilation = " + pair(dh, dw) + " ";
  }
};

} // namespace nntest

#endif // KILN_TESTS_UNITTESTS_NN_NNSHAPES_H
