//===- LossEdgesTest.cpp - losses and gradients at their edges vs PyTorch -===//
//
// Every loss of losses.h at saturated or degenerate inputs (probabilities 0,
// 1, 1e-30; logits +-1e4 and +-inf; -inf log-probabilities of classes that
// are not the target; l1/hinge/multi-margin exactly at their kinks), traced
// in float64 and interpreted, against PyTorch 1.13's values and input
// gradients; binary_cross_entropy also compiled in f32.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

using namespace kiln::dsl;
using kiln::test::Buffer;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// NaN matches NaN, an infinity itself; anything else within
/// 1e-15 + 1e-13 |expected|.
void expectSame(const Buffer &actual, const std::vector<double> &expected,
                const std::string &what) {
  ASSERT_EQ(actual.data.size(), expected.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    double a = actual.data[i], e = expected[i];
    if (std::isnan(e) || std::isinf(e))
      EXPECT_TRUE(std::isnan(e) ? std::isnan(a) : a == e)
          << what << " element " << i << ": " << a << " vs " << e;
    else
      EXPECT_NEAR(a, e, 1e-15 + 1e-13 * std::abs(e))
          << what << " element " << i;
  }
}

struct EdgeCase {
  const char *name;
  Shape shape;
  std::vector<double> input;
  /// The loss of the f64 input (reduction='none' unless the name says).
  std::function<Tensor(const Tensor &)> loss;
  std::vector<double> value, grad; // PyTorch's
};

// Generated with /usr/bin/python3 (torch 1.13, float64):
//   out = F.<loss>(x.requires_grad_(), <target>, reduction='none', ...)
//   g, = torch.autograd.grad(out.sum(), x)
// BCE's gradient is (p - t) / max(p (1 - p), EPSILON) with EPSILON the
// float 1e-12f (= 9.9999999600419720e-13), hence 1.0000000039958e12.
std::vector<EdgeCase> edgeCases() {
  auto f64 = [](std::vector<double> v, Shape shape) {
    return tensor(v, shape, DType::f64);
  };
  return {
      {"bce",
       {9},
       {0.0, 1.0, 1e-30, 1e-13, 1 - 1e-7, 0.0, 1.0, 0.0, 0.5},
       [=](const Tensor &p) {
         return nn::binary_cross_entropy(
             p, f64({1, 0, 1, 1, 1, 0, 1, 0.5, 0.5}, {9}), nn::Reduction::None);
       },
       {100.0, 100.0, 69.07755278982137, 29.933606208922594,
        1.0000000494736474e-07, 0.0, 0.0, 50.0, 0.6931471805599453},
       {-1000000003995.8029, 1000000003995.8029, -1000000003995.8029,
        -1000000003995.7028, -1.0000001000000098, 0.0, 0.0,
        -500000001997.9014, 0.0}},
      {"bce_with_logits",
       {9},
       {1e4, -1e4, 1e4, -1e4, 0.0, 0.0, -kInf, kInf, 30.0},
       [=](const Tensor &x) {
         return nn::binary_cross_entropy_with_logits(
             x, f64({0, 1, 1, 0, 1, 0.25, 0, 1, 1}, {9}), nn::Reduction::None);
       },
       {10000.0, 10000.0, 0.0, 0.0, 0.6931471805599453, 0.6931471805599453,
        kNaN, kNaN, 9.348077867343381e-14},
       {1.0, -1.0, 0.0, 0.0, -0.5, 0.25, 0.0, 0.0, -9.348077867343818e-14}},
      {"cross_entropy",
       {3, 3},
       {1e4, -1e4, 0.0, 0.0, -kInf, 1.0, -1e4, 1e4, -1e4},
       [](const Tensor &x) {
         return nn::cross_entropy(x, tensor({1, 0, 1}, {3}),
                                  nn::Reduction::None);
       },
       {20000.0, 1.3132616875182228, 0.0},
       {1.0, -1.0, 0.0, -0.7310585786300049, 0.0, 0.7310585786300049, 0.0, 0.0,
        0.0}},
      {"cross_entropy_two_argument_mean",
       {3, 3},
       {1e4, -1e4, 0.0, 0.0, -kInf, 1.0, -1e4, 1e4, -1e4},
       [](const Tensor &x) {
         return nn::cross_entropy(x, tensor({1, 0, 1}, {3}));
       },
       {6667.104420562507},
       {0.3333333333333333, -0.3333333333333333, 0.0, -0.2436861928766683, 0.0,
        0.2436861928766683, 0.0, 0.0, 0.0}},
      {"cross_entropy_smoothing",
       {3, 3},
       {1e4, -1e4, 0.0, 0.0, 2.0, 1.0, -1e4, 1e4, -1e4},
       [](const Tensor &x) {
         return nn::cross_entropy(x, tensor({1, 0, 1}, {3}),
                                  nn::Reduction::None, 0.1);
       },
       {19000.0, 2.3076059644443805, 1333.3333333333333},
       {0.9666666666666667, -0.9333333333333333, -0.03333333333333333,
        -0.8433027601629529, 0.6319076224414885, 0.21139513772146432,
        -0.03333333333333333, 0.06666666666666665, -0.03333333333333333}},
      {"nll",
       {2, 3},
       {-kInf, -1.0, -2.0, -0.5, -kInf, -3.0},
       [](const Tensor &x) {
         return nn::nll_loss(x, tensor({1, 0}, {2}), nn::Reduction::None);
       },
       {1.0, 0.5},
       {0.0, -1.0, 0.0, -1.0, 0.0, 0.0}},
      {"l1",
       {4},
       {1.0, 2.0, -1.0, 0.5},
       [=](const Tensor &x) {
         return nn::l1_loss(x, f64({1, 1, -1, 1}, {4}), nn::Reduction::None);
       },
       {0.0, 1.0, 0.0, 0.5},
       {0.0, 1.0, 0.0, -1.0}},
      {"mse",
       {3},
       {1.0, 1e200, -1.0},
       [=](const Tensor &x) {
         return nn::mse_loss(x, f64({1, 0, 1}, {3}), nn::Reduction::None);
       },
       {0.0, kInf, 4.0},
       {0.0, 2e200, -4.0}},
      {"hinge_embedding",
       {4},
       {1.0, 1.0, 0.5, 2.0},
       [=](const Tensor &x) {
         return nn::hinge_embedding_loss(x, f64({-1, 1, -1, -1}, {4}), 1.0,
                                         nn::Reduction::None);
       },
       {0.0, 1.0, 0.5, 0.0},
       {-1.0, 1.0, -1.0, 0.0}},
      {"multi_margin",
       {2, 3},
       {1.0, 0.0, 0.5, 0.0, 0.0, 0.0},
       [](const Tensor &x) {
         return nn::multi_margin_loss(x, tensor({0, 2}, {2}), 1.0,
                                      nn::Reduction::None);
       },
       {0.16666666666666666, 0.6666666666666666},
       {-0.3333333333333333, 0.0, 0.3333333333333333, 0.3333333333333333,
        0.3333333333333333, -0.6666666666666666}},
  };
}

TEST(DslLossEdges, ValuesAndGradientsMatchPyTorch) {
  for (const EdgeCase &c : edgeCases()) {
    SCOPED_TRACE(c.name);
    Program p;
    Function f = p.function("f");
    Tensor x = f.input(c.shape, DType::f64);
    Tensor loss = c.loss(x);
    f.output(loss);
    f.output(grad(loss.sum(), {x})[0]);
    f.finish();
    ASSERT_TRUE(kiln::test::differentiate(p));
    kiln::test::State r =
        kiln::test::interpret(p, "f", {}, {Buffer{c.shape, c.input}});
    expectSame(r["#0"], c.value, "loss");
    expectSame(r["#1"], c.grad, "gradient");
  }
}

TEST(DslLossEdges, BinaryCrossEntropyTargetGradientIsMinusLogit) {
  // torch: d/dt = -logit(p) = log(1 - p) - log(p); at p = 0 or 1 kiln's is
  // +-100 from the clamped logs where PyTorch's is infinite.
  Program p;
  Function f = p.function("f");
  Tensor t = f.input({5}, DType::f64);
  Tensor probs = tensor({0.5, 0.25, 0.9, 1e-30, 1 - 1e-7}, {5}, DType::f64);
  Tensor loss = nn::binary_cross_entropy(probs, t, nn::Reduction::Sum);
  f.output(grad(loss, {t})[0]);
  f.finish();
  ASSERT_TRUE(kiln::test::differentiate(p));
  kiln::test::State r =
      kiln::test::interpret(p, "f", {}, {Buffer{{5}, {1, 0, 1, 1, 1}}});
  expectSame(r["#0"],
             {0.0, 1.0986122886681096, -2.1972245773362196, 69.07755278982137,
              -16.11809555148467},
             "target gradient");
}

TEST(DslLossEdges, BinaryCrossEntropyCompiledPushesBackSaturatedProbs) {
  // f32, compiled: p = 0 with t = 1 gets PyTorch's -1e12, not 0; p = 1e-30
  // gets -1e12, not -1e30 (nor -inf: 1e-30 is a normal float).
  Program p;
  {
    Function f = p.function("f");
    Tensor probs = f.input({6});
    Tensor t = f.input({6});
    Tensor loss = nn::binary_cross_entropy(probs, t, nn::Reduction::Sum);
    f.output(loss);
    f.output(grad(loss, {probs})[0]);
    f.finish();
  }
  kiln::test::CompiledModule m;
  ASSERT_TRUE(m.build(p.str()));
  Buffer probs{{6}, {0.0, 1.0, double(1e-30f), double(1e-13f), 0.5, 0.25}};
  Buffer t{{6}, {1.0, 0.0, 1.0, 1.0, 0.0, 1.0}};
  std::vector<Buffer> out = m.check("f", {probs, t});
  ASSERT_EQ(out.size(), 2u);
  std::vector<double> expected = {-1e12, 1e12, -1e12, -1e12, 2.0, -4.0};
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(out[1].data[i], expected[i], 1e-6 * std::abs(expected[i]))
        << i;
  // 100 + 100 + -log(1e-30) + -log(1e-13) + log 2 + log 4.
  EXPECT_NEAR(out[0].data[0],
              200.0 - std::log(double(1e-30f)) - std::log(double(1e-13f)) +
                  std::log(2.0) + std::log(4.0),
              1e-3);
}

} // namespace
