//===- InitTest.cpp - torch.nn.init formulas and the traced init ----------===//
//
// Gains, fans and bounds against PyTorch's formulas (values from torch 1.13
// where noted), then the distributions the compiled init draws: the traced
// random ops interpreted, checked statistically on large tensors, and
// reproducible for a seed.
//
//===----------------------------------------------------------------------===//

#include "DslErrors.h"
#include "ElementwiseTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

using namespace kiln::dsl;
using kiln::test::Buffer;
using kiln::test::interpret;
namespace init = kiln::dsl::nn::init;

using kiln::dsl::test_support::errorOf;

namespace {

TEST(DslInit, GainsAndFansMatchPyTorch) {
  // torch.nn.init.calculate_gain(...)
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Linear), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Conv2d), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::Tanh), 5.0 / 3);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::ReLU),
                   1.4142135623730951);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU),
                   1.4141428569978354); // slope 0.01
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::LeakyReLU, 0.2),
                   1.3867504905630728);
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::SELU), 0.75);

  init::Fans linear = init::calculate_fan_in_and_fan_out({128, 784});
  EXPECT_EQ(linear.fan_in, 784);
  EXPECT_EQ(linear.fan_out, 128);
  init::Fans conv = init::calculate_fan_in_and_fan_out({16, 3, 5, 5});
  EXPECT_EQ(conv.fan_in, 75);
  EXPECT_EQ(conv.fan_out, 400);
  std::string e = errorOf([] { init::calculate_fan_in_and_fan_out({10}); });
  EXPECT_NE(e.find("fewer than 2 dimensions, got shape [10]"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("InitTest.cpp:"), std::string::npos) << e;
}

TEST(DslInit, BoundsAndStandardDeviations) {
  // xavier_uniform_(w [64, 32], gain=2): a = 2 sqrt(6 / 96) = 0.5.
  nn::Init xu = init::xavier_uniform({64, 32}, 2.0);
  EXPECT_EQ(xu.kind, nn::Init::Uniform);
  EXPECT_DOUBLE_EQ(xu.a, -0.5);
  EXPECT_DOUBLE_EQ(xu.b, 0.5);
  // xavier_normal_(w [16, 3, 5, 5]): std = sqrt(2 / (75 + 400)).
  nn::Init xn = init::xavier_normal({16, 3, 5, 5});
  EXPECT_EQ(xn.kind, nn::Init::Normal);
  EXPECT_DOUBLE_EQ(xn.a, 0.0);
  EXPECT_DOUBLE_EQ(xn.b, std::sqrt(2.0 / 475.0));
  // kaiming_uniform_(w [128, 784]) (a=0, fan_in, leaky_relu):
  // bound = sqrt(2) sqrt(3 / 784) = sqrt(6 / 784).
  nn::Init ku = init::kaiming_uniform({128, 784});
  EXPECT_DOUBLE_EQ(ku.b, std::sqrt(6.0 / 784.0));
  EXPECT_DOUBLE_EQ(ku.a, -ku.b);
  // PyTorch's nn.Linear weight init: kaiming_uniform_(a=sqrt(5)), which is
  // U(-1/sqrt(in), 1/sqrt(in)), as nn::Linear's.
  nn::Init linear = init::kaiming_uniform({10, 16}, std::sqrt(5.0));
  EXPECT_NEAR(linear.b, 0.25, 1e-15);
  nn::Linear fc{16, 10};
  EXPECT_NEAR(fc.weight.init().b, linear.b, 1e-15);
  // kaiming_normal_(w, mode='fan_out', nonlinearity='relu') on a conv
  // weight [16, 3, 5, 5]: std = sqrt(2 / 400).
  nn::Init kn = init::kaiming_normal({16, 3, 5, 5}, 0.0, init::FanMode::FanOut,
                                     init::Nonlinearity::ReLU);
  EXPECT_EQ(kn.kind, nn::Init::Normal);
  EXPECT_DOUBLE_EQ(kn.b, std::sqrt(2.0 / 400.0));
  // The in-place forms set the parameter's Init.
  nn::Parameter w({8, 4}, nn::Init::zeros());
  init::normal_(w, 1.5, 0.25);
  EXPECT_EQ(w.init().kind, nn::Init::Normal);
  EXPECT_EQ(w.init().a, 1.5);
  EXPECT_EQ(w.init().b, 0.25);
  init::constant_(w, 3.0);
  EXPECT_EQ(w.init().kind, nn::Init::Constant);
  EXPECT_EQ(w.init().a, 3.0);
  init::ones_(w);
  EXPECT_EQ(w.init().a, 1.0);
  init::xavier_uniform_(w);
  EXPECT_DOUBLE_EQ(w.init().b, std::sqrt(6.0 / 12.0));
  init::kaiming_normal_(w, 0.0, init::FanMode::FanIn,
                        init::Nonlinearity::Linear);
  EXPECT_DOUBLE_EQ(w.init().b, 0.5);
  init::zeros_(w);
  EXPECT_EQ(w.init().kind, nn::Init::Zeros);
}

//===----------------------------------------------------------------------===//
// The traced distributions
//===----------------------------------------------------------------------===//

struct Moments {
  double mean = 0, std = 0, min = 1e300, max = -1e300;
  double within1Sigma = 0; ///< fraction with |x - mean| < std
};

Moments momentsOf(const std::vector<double> &v) {
  Moments m;
  for (double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= double(v.size());
  for (double x : v)
    m.std += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(m.std / double(v.size() - 1));
  for (double x : v)
    m.within1Sigma += std::abs(x - m.mean) < m.std;
  m.within1Sigma /= double(v.size());
  return m;
}

/// Interprets random_normal/random_uniform of `shape` for `seed`.
Buffer draw(bool normal, Shape shape, double a, double b, double seed,
            int64_t stream = 0) {
  Program p;
  Function f = p.function("f");
  Tensor s = f.input({}, DType::i64);
  f.output(normal ? random_normal(s, shape, a, b, stream)
                  : random_uniform(s, shape, a, b, stream));
  f.finish();
  return interpret(p, "f", {}, {Buffer::scalar(seed)})["#0"];
}

TEST(DslInit, RandomNormalHasTheRightMoments) {
  // 2^16 draws: the sample mean is within 5 standard errors, the sample std
  // within 2%, the mass within one sigma 0.6827 +- 0.01.
  const double n = 65536;
  for (auto [mean, sigma] :
       {std::pair{0.0, 1.0}, std::pair{3.0, 0.02}, std::pair{-1.0, 5.0}}) {
    Buffer b = draw(true, {256, 256}, mean, sigma, 42);
    Moments m = momentsOf(b.data);
    EXPECT_NEAR(m.mean, mean, 5 * sigma / std::sqrt(n)) << mean << " " << sigma;
    EXPECT_NEAR(m.std, sigma, 0.02 * sigma) << mean << " " << sigma;
    EXPECT_NEAR(m.within1Sigma, 0.6827, 0.01);
    // Box-Muller's support with 53-bit uniforms: |z| < 8.6.
    EXPECT_GT(m.min, mean - 8.6 * sigma);
    EXPECT_LT(m.max, mean + 8.6 * sigma);
    // Tails exist: some draw beyond 3 sigma on each side.
    EXPECT_LT(m.min, mean - 3 * sigma);
    EXPECT_GT(m.max, mean + 3 * sigma);
  }
}

TEST(DslInit, RandomNormalIsSeededAndStreamed) {
  Buffer a = draw(true, {1000}, 0.0, 1.0, 7);
  Buffer again = draw(true, {1000}, 0.0, 1.0, 7);
  Buffer otherSeed = draw(true, {1000}, 0.0, 1.0, 8);
  Buffer otherStream = draw(true, {1000}, 0.0, 1.0, 7, 1);
  EXPECT_EQ(a.data, again.data);
  EXPECT_NE(a.data, otherSeed.data);
  EXPECT_NE(a.data, otherStream.data);
  // Element i depends on i only, not on the shape.
  Buffer prefix = draw(true, {10, 10}, 0.0, 1.0, 7);
  EXPECT_EQ(std::vector<double>(prefix.data.begin(), prefix.data.end()),
            std::vector<double>(a.data.begin(), a.data.begin() + 100));
  // Consecutive draws are uncorrelated (lag-1 correlation ~ 0).
  Buffer big = draw(true, {65536}, 0.0, 1.0, 3);
  double corr = 0;
  for (size_t i = 0; i + 1 < big.data.size(); ++i)
    corr += big.data[i] * big.data[i + 1];
  EXPECT_NEAR(corr / 65535.0, 0.0, 5.0 / std::sqrt(65536.0));
}

struct Net : nn::Module {
  nn::Linear fc1{512, 256}, fc2{256, 10};
  nn::Parameter scale{{256}, nn::init::constant(0.5)};
  Net() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_parameter("scale", scale);
    init::kaiming_normal_(fc1.weight, 0.0, init::FanMode::FanIn,
                          init::Nonlinearity::ReLU);
    init::zeros_(fc1.bias);
    init::xavier_uniform_(fc2.weight);
    init::normal_(fc2.bias, 0.1, 0.01);
  }
};

TEST(DslInit, ClassifierInitDrawsTheChosenDistributions) {
  Net model;
  ClassifierOptions options;
  options.batch_size = 2;
  options.input_shape = {512};
  options.num_classes = 10;
  Program p = build_classifier("net", model, options, [&](const Tensor &x) {
    return model.fc2(relu(model.fc1(x)) * model.scale);
  });
  std::string ir = p.str();
  EXPECT_NE(ir.find("kiln.random_normal"), std::string::npos);
  kiln::test::State s = interpret(p, "net_init", {}, {Buffer::scalar(42)});
  // fc1.weight ~ N(0, 2 / 512): 131072 draws.
  Moments w1 = momentsOf(s["fc1.weight"].data);
  double std1 = std::sqrt(2.0 / 512.0);
  EXPECT_NEAR(w1.mean, 0.0, 5 * std1 / std::sqrt(131072.0));
  EXPECT_NEAR(w1.std, std1, 0.02 * std1);
  EXPECT_EQ(s["fc1.bias"].data, std::vector<double>(256, 0.0));
  // fc2.weight ~ U(-a, a), a = sqrt(6 / 266); uniform std = a / sqrt(3).
  double a = std::sqrt(6.0 / 266.0);
  Moments w2 = momentsOf(s["fc2.weight"].data);
  EXPECT_GE(w2.min, -a * (1 + 1e-7));
  EXPECT_LE(w2.max, a * (1 + 1e-7));
  EXPECT_LT(w2.min, -0.95 * a);
  EXPECT_GT(w2.max, 0.95 * a);
  EXPECT_NEAR(w2.std, a / std::sqrt(3.0), 0.05 * a);
  Moments b2 = momentsOf(s["fc2.bias"].data);
  EXPECT_NEAR(b2.mean, 0.1, 0.02);
  EXPECT_EQ(s["scale"].data, std::vector<double>(256, 0.5));
  // Reproducible for a seed, different for another; f32 values.
  kiln::test::State again = interpret(p, "net_init", {}, {Buffer::scalar(42)});
  kiln::test::State other = interpret(p, "net_init", {}, {Buffer::scalar(43)});
  EXPECT_EQ(again["fc1.weight"].data, s["fc1.weight"].data);
  EXPECT_NE(other["fc1.weight"].data, s["fc1.weight"].data);
  for (double v : s["fc1.weight"].data)
    ASSERT_EQ(v, double(float(v)));
}

} // namespace
