//===- FunctionalLossTest.cpp - functional ops and losses of the DSL ------===//
//
// The functional API (functional.h) traced and interpreted in float64:
// values, special cases, gradients and trace-time errors. The losses
// (losses.h) against PyTorch 1.13's values and input gradients, for every
// reduction.
//
//===----------------------------------------------------------------------===//

#include "DslErrors.h"
#include "ElementwiseTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

using namespace kiln::dsl;
using kiln::test::Buffer;
using kiln::test::expectNear;
using kiln::test::interpret;

using kiln::dsl::test_support::errorOf;
using kiln::dsl::test_support::has;

namespace {

/// evalTraced on a 1-D x.
std::vector<Buffer>
evalUnary(const std::vector<double> &x,
          const std::function<std::vector<Tensor>(const Tensor &)> &body,
          bool differentiate = false) {
  return kiln::test::evalTraced(Buffer{{int64_t(x.size())}, x}, body,
                                differentiate);
}

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

//===----------------------------------------------------------------------===//
// Functional ops
//===----------------------------------------------------------------------===//

TEST(DslFunctional, PointwiseValues) {
  std::vector<Buffer> r =
      evalUnary({-2.0, -0.5, 0.0, 0.25, 4.0}, [](const Tensor &x) {
        return std::vector<Tensor>{sqrt(abs(x)),
                                   tanh(x),
                                   abs(x),
                                   maximum(x, scalar(0.1, DType::f64)),
                                   minimum(scalar(0.1, DType::f64), x),
                                   pow(x, 2.0),
                                   pow(2.0, x),
                                   pow(abs(x), x)};
      });
  ASSERT_EQ(r.size(), 8u);
  expectNear(r[0], {std::sqrt(2.0), std::sqrt(0.5), 0.0, 0.5, 2.0}, 1e-15);
  expectNear(
      r[1],
      {std::tanh(-2.0), std::tanh(-0.5), 0.0, std::tanh(0.25), std::tanh(4.0)},
      1e-15);
  expectNear(r[2], {2.0, 0.5, 0.0, 0.25, 4.0}, 0.0);
  expectNear(r[3], {0.1, 0.1, 0.1, 0.25, 4.0}, 0.0);
  expectNear(r[4], {-2.0, -0.5, 0.0, 0.1, 0.1}, 0.0);
  expectNear(r[5], {4.0, 0.25, 0.0, 0.0625, 16.0}, 1e-15);
  expectNear(r[6], {0.25, std::pow(2.0, -0.5), 1.0, std::pow(2.0, 0.25), 16.0},
             1e-15);
  // 0^0 = 1.
  expectNear(r[7],
             {0.25, std::pow(0.5, -0.5), 1.0, std::pow(0.25, 0.25), 256.0},
             1e-13);
}

TEST(DslFunctional, WhereComparisonsAndMasks) {
  std::vector<Buffer> r = evalUnary({-1.0, 0.0, 1.0, 2.0}, [](const Tensor &x) {
    Tensor one = scalar(1.0, DType::f64);
    return std::vector<Tensor>{lt(x, one),
                               le(x, one),
                               ge(x, 1.0),
                               ne(x, one),
                               gt(x, 0.0),
                               eq(x, 2.0),
                               where(lt(x, 1.0), x, 10.0),
                               where(ge(x, 1.0), -5.0, x),
                               where(ne(x, 0.0), x * 2.0, x - 7.0)};
  });
  ASSERT_EQ(r.size(), 9u);
  expectNear(r[0], {1, 1, 0, 0}, 0.0);
  expectNear(r[1], {1, 1, 1, 0}, 0.0);
  expectNear(r[2], {0, 0, 1, 1}, 0.0);
  expectNear(r[3], {1, 1, 0, 1}, 0.0);
  expectNear(r[4], {0, 0, 1, 1}, 0.0);
  expectNear(r[5], {0, 0, 0, 1}, 0.0);
  expectNear(r[6], {-1, 0, 10, 10}, 0.0);
  expectNear(r[7], {-1, 0, -5, -5}, 0.0);
  expectNear(r[8], {-2, -7, 2, 4}, 0.0);
}

TEST(DslFunctional, WhereBroadcastsMaskAndValues) {
  Program p;
  Function f = p.function("f");
  Tensor m = f.input({2, 1}, DType::f64);
  Tensor a = f.input({3}, DType::f64);
  Tensor w = where(m, a, 0.5);
  EXPECT_EQ(w.shape(), (Shape{2, 3}));
  f.output(w);
  f.finish();
  kiln::test::State r =
      interpret(p, "f", {}, {Buffer{{2, 1}, {1, 0}}, Buffer{{3}, {1, 2, 3}}});
  expectNear(r["#0"], {1, 2, 3, 0.5, 0.5, 0.5}, 0.0);
}

TEST(DslFunctional, SigmoidIsStableAndMatchesItsDefinition) {
  std::vector<double> x = {-800.0, -30.0, -1.0, 0.0, 0.5, 30.0, 800.0};
  std::vector<Buffer> r = evalUnary(
      x,
      [](const Tensor &t) {
        Tensor s = sigmoid(t);
        return std::vector<Tensor>{s, grad(s.sum(), {t})[0]};
      },
      /*differentiate=*/true);
  ASSERT_EQ(r.size(), 2u);
  for (size_t i = 0; i < x.size(); ++i) {
    double s = 1.0 / (1.0 + std::exp(-x[i]));
    EXPECT_NEAR(r[0].data[i], s, 1e-16) << x[i];
    EXPECT_NEAR(r[1].data[i], s * (1 - s), 1e-16) << x[i];
    EXPECT_TRUE(std::isfinite(r[1].data[i])) << x[i];
  }
}

TEST(DslFunctional, SoftmaxSumsToOne) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({2, 3}, DType::f64);
  f.output(softmax(x, -1));
  f.output(softmax(x, 0));
  f.finish();
  kiln::test::State r = interpret(
      p, "f", {}, {Buffer{{2, 3}, {1.0, 2.0, 3.0, -1.0, 0.0, 1000.0}}});
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expectNear(r["#0"],
             {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z,
              std::exp(-1001.0), std::exp(-1000.0), 1.0},
             1e-15);
  double c0 = std::exp(1.0) + std::exp(-1.0), c1 = std::exp(2.0) + 1.0;
  expectNear(r["#1"],
             {std::exp(1.0) / c0, std::exp(2.0) / c1, 0.0, std::exp(-1.0) / c0,
              1.0 / c1, 1.0},
             1e-15);
}

TEST(DslFunctional, ClampIsNotInPlaceAndPassesGradientInsideBounds) {
  std::vector<double> x = {-2.0, -0.5, 0.0, 0.75, 1.0, kNaN};
  std::vector<Buffer> r = evalUnary(
      x,
      [](const Tensor &t) {
        Tensor c = clamp(t, -0.5, 0.75);
        return std::vector<Tensor>{c,
                                   t,
                                   grad((c * 2.0).sum(), {t})[0],
                                   clamp(t, 1.0, -1.0),
                                   clamp_min(t, 0.0),
                                   clamp_max(t, 0.0)};
      },
      true);
  ASSERT_EQ(r.size(), 6u);
  expectNear(Buffer{{5}, {r[0].data.begin(), r[0].data.end() - 1}},
             {-0.5, -0.5, 0.0, 0.75, 0.75}, 0.0);
  EXPECT_TRUE(std::isnan(r[0].data[5]));
  // The input is unchanged (a new tensor, not clamp_).
  EXPECT_EQ(r[1].data[0], -2.0);
  // Gradient 2 where lo <= x <= hi, bounds included (torch.clamp).
  expectNear(Buffer{{5}, {r[2].data.begin(), r[2].data.end() - 1}},
             {0.0, 2.0, 2.0, 2.0, 0.0}, 0.0);
  // lo > hi: every element is hi, as in PyTorch.
  expectNear(Buffer{{5}, {r[3].data.begin(), r[3].data.end() - 1}},
             {-1.0, -1.0, -1.0, -1.0, -1.0}, 0.0);
  expectNear(Buffer{{5}, {r[4].data.begin(), r[4].data.end() - 1}},
             {0.0, 0.0, 0.0, 0.75, 1.0}, 0.0);
  expectNear(Buffer{{5}, {r[5].data.begin(), r[5].data.end() - 1}},
             {-2.0, -0.5, 0.0, 0.0, 0.0}, 0.0);
}

TEST(DslFunctional, PowSpecialCasesFollowC) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({8}, DType::f64);
  Tensor y = f.input({8}, DType::f64);
  f.output(pow(x, y));
  f.finish();
  std::vector<double> xs = {kNaN, 1.0, 0.0, 0.0, -2.0, -2.0, -8.0, kInf};
  std::vector<double> ys = {0.0, kNaN, -1.0, 3.0, 0.5, 3.0, 1.0 / 3, -2.0};
  kiln::test::State r =
      interpret(p, "f", {}, {Buffer{{8}, xs}, Buffer{{8}, ys}});
  ASSERT_EQ(r["#0"].data.size(), 8u);
  EXPECT_EQ(r["#0"].data[0], 1.0);
  EXPECT_EQ(r["#0"].data[1], 1.0);
  EXPECT_EQ(r["#0"].data[2], kInf);
  EXPECT_EQ(r["#0"].data[3], 0.0);
  EXPECT_TRUE(std::isnan(r["#0"].data[4]));
  EXPECT_EQ(r["#0"].data[5], -8.0);
  EXPECT_TRUE(std::isnan(r["#0"].data[6]));
  EXPECT_EQ(r["#0"].data[7], 0.0);
}

TEST(DslFunctional, ErrorsPointAtTheCall) {
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2, 3});
  Tensor b = f.input({4});
  Tensor labels = f.input({2}, DType::i32);
  int line = __LINE__ + 1;
  std::string e = errorOf([&] { maximum(a, b); });
  EXPECT_TRUE(has(e, "FunctionalLossTest.cpp:" + std::to_string(line))) << e;
  EXPECT_TRUE(has(e, "maximum: shapes [2, 3] and [4] cannot be broadcast "
                     "together"))
      << e;
  e = errorOf([&] { pow(a, b); });
  EXPECT_TRUE(has(e, "pow: shapes [2, 3] and [4]")) << e;
  e = errorOf([&] { where(gt(a, 0.0), a, b); });
  EXPECT_TRUE(has(e, "select: shapes [2, 3] and [4]")) << e;
  e = errorOf([&] {
    random_normal(scalar(1, DType::i64), {3}, 0.0, 1.0, 0, DType::i32);
  });
  EXPECT_TRUE(has(e, "random_normal: the result must have a float dtype")) << e;
  e = errorOf([&] { random_normal(scalar(1, DType::i64), {3}, 0.0, -1.0, 0); });
  EXPECT_TRUE(has(e, "std must be non-negative")) << e;
  // Losses report at the user's line too, with both shapes.
  line = __LINE__ + 1;
  e = errorOf([&] { nn::l1_loss(a, b); });
  EXPECT_TRUE(has(e, "FunctionalLossTest.cpp:" + std::to_string(line))) << e;
  EXPECT_TRUE(has(e, "l1_loss: input shape [2, 3] and target shape [4] "
                     "differ"))
      << e;
  e = errorOf([&] { nn::nll_loss(a, b); });
  EXPECT_TRUE(has(e, "nll_loss expects scores [N, C] and integer class "
                     "indices [N], got [2, 3] and [4]"))
      << e;
  e = errorOf([&] { nn::cross_entropy(a, labels, nn::Reduction::Sum, 1.5); });
  EXPECT_TRUE(has(e, "label_smoothing must be in [0, 1]")) << e;
  e = errorOf([&] { nn::binary_cross_entropy(a, labels); });
  EXPECT_TRUE(has(e, "binary_cross_entropy: input shape [2, 3] and target "
                     "shape [2] differ"))
      << e;
  f.finish();
}

//===----------------------------------------------------------------------===//
// Losses against PyTorch
//===----------------------------------------------------------------------===//

struct LossCase {
  const char *name, *reduction;
  std::vector<double> value, grad;
};

// Generated with /usr/bin/python3 (torch 1.13, float64):
//   x = [[0.2, -1.3, 0.7], [1.5, 0.1, -0.4]]      (scores / inputs)
//   t = [[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]]       (float targets)
//   labels = [2, 0]
//   p = [[0.1, 0.8, 0.5], [0.999, 0.02, 0.3]]     (bce probabilities)
//   xl = [[100, -100, 0.5], [-3, 2, 0]]           (bce_with_logits logits)
//   ypm = [[1, -1, 1], [-1, -1, 1]]               (hinge targets)
//   for red in ['mean', 'sum', 'none']:
//     out = F.<loss>(a.requires_grad_(), <target>, reduction=red, ...)
//     g, = torch.autograd.grad(out.sum(), a)
// with cross_entropy_smooth: F.cross_entropy(x, labels, label_smoothing=0.1),
// cross_entropy_probs: F.cross_entropy(x, t, label_smoothing=0.2),
// nll: F.nll_loss(log_softmax(x, 1), labels), multi_margin:
// F.multi_margin_loss(x, labels) (p=1, margin=1), hinge_embedding:
// F.hinge_embedding_loss(x, ypm) (margin=1).
const LossCase kLossCases[] = {
    {"mse",
     "mean",
     {1.0087499999999998},
     {0.066666666666666666, -0.76666666666666661, 0.066666666666666652,
      0.16666666666666666, 0.033333333333333333, -0.21666666666666667}},
    {"l1",
     "mean",
     {0.65833333333333333},
     {0.16666666666666666, -0.16666666666666666, 0.16666666666666666,
      0.16666666666666666, 0.16666666666666666, -0.16666666666666666}},
    {"cross_entropy",
     "mean",
     {0.4443432647650451},
     {0.17410371394186744, 0.038847789574285287, -0.21295150351615272,
      -0.14187628886624604, 0.088312219881084633, 0.053564068985161403}},
    {"cross_entropy_smooth",
     "mean",
     {0.54100993143171172},
     {0.15743704727520078, 0.02218112290761862, -0.17961817018281939,
      -0.10854295553291271, 0.07164555321441797, 0.03689740231849474}},
    {"cross_entropy_probs",
     "mean",
     {1.7720409430155866},
     {0.21041186618528107, -0.37894642792933397, 0.16853456174405282,
      -0.0035848799728286076, 0.07264133052396822, -0.069056450551139653}},
    {"nll", "mean", {0.4443432647650451}, {0, 0, -0.5, -0.5, 0, 0}},
    {"bce",
     "mean",
     {0.26855897736976958},
     {0.18518518518518515, -0.20833333333333334, 0, -0.16683350016683349,
      0.17006802721088435, 0.039682539682539673}},
    {"bce_logits",
     "mean",
     {34.432123254559464},
     {0.16666666666666666, -0.16666666666666666, 0.020409888533642433,
      -0.15876235447040554, 0.14679951299631372, 0.041666666666666664}},
    {"multi_margin",
     "mean",
     {0.083333333333333329},
     {0.16666666666666666, 0, -0.16666666666666666, 0, 0, 0}},
    {"hinge_embedding",
     "mean",
     {0.6166666666666667},
     {0.16666666666666666, -0.16666666666666666, 0.16666666666666666, 0,
      -0.16666666666666666, 0.16666666666666666}},
    {"mse",
     "sum",
     {6.0524999999999993},
     {0.40000000000000002, -4.5999999999999996, 0.39999999999999991, 1,
      0.20000000000000001, -1.3}},
    {"l1", "sum", {3.9500000000000002}, {1, -1, 1, 1, 1, -1}},
    {"cross_entropy",
     "sum",
     {0.8886865295300902},
     {0.34820742788373488, 0.077695579148570573, -0.42590300703230544,
      -0.28375257773249207, 0.17662443976216927, 0.10712813797032281}},
    {"cross_entropy_smooth",
     "sum",
     {1.0820198628634234},
     {0.31487409455040155, 0.04436224581523724, -0.35923634036563878,
      -0.21708591106582542, 0.14329110642883594, 0.073794804636989481}},
    {"cross_entropy_probs",
     "sum",
     {3.5440818860311731},
     {0.42082373237056214, -0.75789285585866795, 0.33706912348810564,
      -0.0071697599456572152, 0.14528266104793644, -0.13811290110227931}},
    {"nll", "sum", {0.8886865295300902}, {0, 0, -1, -1, 0, 0}},
    {"bce",
     "sum",
     {1.6113538642186176},
     {1.1111111111111109, -1.25, 0, -1.0010010010010009, 1.0204081632653061,
      0.23809523809523805}},
    {"bce_logits",
     "sum",
     {206.59273952735677},
     {1, -1, 0.12245933120185459, -0.95257412682243325, 0.88079707797788231,
      0.25}},
    {"multi_margin",
     "sum",
     {0.16666666666666666},
     {0.33333333333333331, 0, -0.33333333333333331, 0, 0, 0}},
    {"hinge_embedding", "sum", {3.7000000000000002}, {1, -1, 1, 0, -1, 1}},
    {"mse",
     "none",
     {0.040000000000000008, 5.2899999999999991, 0.03999999999999998, 0.25,
      0.010000000000000002, 0.42250000000000004},
     {0.40000000000000002, -4.5999999999999996, 0.39999999999999991, 1,
      0.20000000000000001, -1.3}},
    {"l1",
     "none",
     {0.20000000000000001, 2.2999999999999998, 0.19999999999999996, 0.5,
      0.10000000000000001, 0.65000000000000002},
     {1, -1, 1, 1, 1, -1}},
    {"cross_entropy",
     "none",
     {0.55495691964199056, 0.33372960988809963},
     {0.34820742788373488, 0.077695579148570573, -0.42590300703230544,
      -0.28375257773249207, 0.17662443976216927, 0.10712813797032281}},
    {"cross_entropy_smooth",
     "none",
     {0.63829025297532394, 0.44372960988809962},
     {0.31487409455040155, 0.04436224581523724, -0.35923634036563878,
      -0.21708591106582542, 0.14329110642883594, 0.073794804636989481}},
    {"cross_entropy_probs",
     "none",
     {2.5436063541654534, 1.0004755318657195},
     {0.42082373237056214, -0.75789285585866795, 0.33706912348810564,
      -0.0071697599456572152, 0.14528266104793644, -0.13811290110227931}},
    {"nll",
     "none",
     {0.55495691964199056, 0.33372960988809963},
     {0, 0, -1, -1, 0, 0}},
    {"bce",
     "none",
     {0.10536051565782628, 0.22314355131420971, 0.69314718055994529,
      0.0010005003335835344, 0.020202707317519466, 0.56849940903553331},
     {1.1111111111111109, -1.25, 0, -1.0010010010010009, 1.0204081632653061,
      0.23809523809523805}},
    {"bce_logits",
     "none",
     {100, 100, 0.72407698418010669, 3.0485873515737421, 2.1269280110429727,
      0.69314718055994529},
     {1, -1, 0.12245933120185459, -0.95257412682243325, 0.88079707797788231,
      0.25}},
    {"multi_margin",
     "none",
     {0.16666666666666666, 0},
     {0.33333333333333331, 0, -0.33333333333333331, 0, 0, 0}},
    {"hinge_embedding",
     "none",
     {0.20000000000000001, 2.2999999999999998, 0.69999999999999996, 0,
      0.90000000000000002, -0.40000000000000002},
     {1, -1, 1, 0, -1, 1}},
};

Tensor lossOf(const std::string &name, nn::Reduction red, const Tensor &a,
              Function &f) {
  auto tensor2x3 = [&](std::vector<double> v) {
    return tensor(v, {2, 3}, DType::f64);
  };
  Tensor t = tensor2x3({0.0, 1.0, 0.5, 1.0, 0.0, 0.25});
  Tensor labels = tensor({2, 0}, {2});
  if (name == "mse")
    return nn::mse_loss(a, t, red);
  if (name == "l1")
    return nn::l1_loss(a, t, red);
  if (name == "cross_entropy")
    return nn::cross_entropy(a, labels, red);
  if (name == "cross_entropy_smooth")
    return nn::cross_entropy(a, labels, red, 0.1);
  if (name == "cross_entropy_probs")
    return nn::cross_entropy(a, t, red, 0.2);
  if (name == "nll")
    return nn::nll_loss(a, labels, red);
  if (name == "bce")
    return nn::binary_cross_entropy(a, t, red);
  if (name == "bce_logits")
    return nn::binary_cross_entropy_with_logits(a, t, red);
  if (name == "multi_margin")
    return nn::multi_margin_loss(a, labels, 1.0, red);
  if (name == "hinge_embedding")
    return nn::hinge_embedding_loss(
        a, tensor2x3({1.0, -1.0, 1.0, -1.0, -1.0, 1.0}), 1.0, red);
  ADD_FAILURE() << "unknown loss " << name;
  return a;
}

std::vector<double> inputOf(const std::string &name) {
  if (name == "bce")
    return {0.1, 0.8, 0.5, 0.999, 0.02, 0.3};
  if (name == "bce_logits")
    return {100.0, -100.0, 0.5, -3.0, 2.0, 0.0};
  std::vector<double> x = {0.2, -1.3, 0.7, 1.5, 0.1, -0.4};
  if (name == "nll") { // log_softmax(x, 1)
    for (int n = 0; n < 2; ++n) {
      double z = 0;
      for (int c = 0; c < 3; ++c)
        z += std::exp(x[3 * n + c]);
      for (int c = 0; c < 3; ++c)
        x[3 * n + c] -= std::log(z);
    }
  }
  return x;
}

class DslLoss : public ::testing::TestWithParam<LossCase> {};

TEST_P(DslLoss, MatchesPyTorch) {
  const LossCase &c = GetParam();
  std::string red = c.reduction;
  nn::Reduction reduction = red == "mean"  ? nn::Reduction::Mean
                            : red == "sum" ? nn::Reduction::Sum
                                           : nn::Reduction::None;
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2, 3}, DType::f64);
  Tensor loss = lossOf(c.name, reduction, a, f);
  f.output(loss);
  f.output(grad(loss.sum(), {a})[0]);
  f.finish();
  ASSERT_TRUE(kiln::test::differentiate(p));
  kiln::test::State r =
      interpret(p, "f", {}, {Buffer{{2, 3}, inputOf(c.name)}});
  if (reduction == nn::Reduction::None)
    EXPECT_EQ(int64_t(r["#0"].data.size()), int64_t(c.value.size()));
  else
    EXPECT_TRUE(r["#0"].shape.empty());
  expectNear(r["#0"], c.value, 1e-14, 1e-13, "loss");
  expectNear(r["#1"], c.grad, 1e-14, 1e-12, "gradient");
}

INSTANTIATE_TEST_SUITE_P(PyTorch, DslLoss, ::testing::ValuesIn(kLossCases),
                         [](const ::testing::TestParamInfo<LossCase> &info) {
                           return std::string(info.param.name) + "_" +
                                  info.param.reduction;
                         });

TEST(DslLoss, BinaryCrossEntropyClampsLogAtMinus100) {
  // torch: F.binary_cross_entropy(p, t, reduction='none') with p exactly 0
  // or 1 gives 100 where the target disagrees (log clamped at -100). The
  // gradient there is PyTorch's +-1e12, finite (LossEdgesTest.cpp).
  Program p;
  Function f = p.function("f");
  Tensor probs = f.input({2, 3}, DType::f64);
  Tensor t = tensor({0.0, 1.0, 0.5, 1.0, 0.0, 0.25}, {2, 3}, DType::f64);
  Tensor loss = nn::binary_cross_entropy(probs, t, nn::Reduction::None);
  f.output(loss);
  f.output(grad(loss.sum(), {probs})[0]);
  f.finish();
  ASSERT_TRUE(kiln::test::differentiate(p));
  kiln::test::State r =
      interpret(p, "f", {}, {Buffer{{2, 3}, {1.0, 0.0, 0.5, 0.0, 1.0, 0.3}}});
  expectNear(r["#0"],
             {100, 100, 0.69314718055994529, 100, 100, 0.56849940903553331},
             1e-13);
  for (double g : r["#1"].data)
    EXPECT_TRUE(std::isfinite(g));
  EXPECT_NEAR(r["#1"].data[5], 0.23809523809523805, 1e-14);
}

TEST(DslLoss, LegacyOverloadsAreMean) {
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2, 3}, DType::f64);
  Tensor t = tensor({0.0, 1.0, 0.5, 1.0, 0.0, 0.25}, {2, 3}, DType::f64);
  Tensor labels = tensor({2, 0}, {2});
  f.output(nn::mse_loss(a, t) - nn::mse_loss(a, t, nn::Reduction::Mean));
  f.output(nn::cross_entropy(a, labels) -
           nn::cross_entropy(a, labels, nn::Reduction::Mean));
  f.finish();
  kiln::test::State r =
      interpret(p, "f", {}, {Buffer{{2, 3}, {0.2, -1.3, 0.7, 1.5, 0.1, -0.4}}});
  EXPECT_NEAR(r["#0"].data.at(0), 0.0, 1e-15);
  EXPECT_NEAR(r["#1"].data.at(0), 0.0, 1e-15);
}

} // namespace
