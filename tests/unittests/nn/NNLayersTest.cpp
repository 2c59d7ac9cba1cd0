//===- NNLayersTest.cpp - the DSL's conv/pool/norm/dropout layers ---------===//
//
// The layers of kiln/dsl/layers.h traced into programs and run by the
// reference interpreter: values against PyTorch 1.13 (the script is in
// NNOpsTest.cpp; the lines for each table are quoted), batch norm's running
// statistics in training and their use in evaluation, dropout's masks,
// shape errors at the user's line, and build_classifier with module
// buffers, interpreted and compiled.
//
//===----------------------------------------------------------------------===//

#include "DslErrors.h"
#include "NNTestUtil.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"

#include "kiln/Pipelines/Pipelines.h"
#include "kiln/dsl/ProgramMLIR.h"
#include "kiln/dsl/kiln.h"

#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

using namespace kiln::dsl;
using nntest::Buffer;
using kiln::dsl::test_support::errorOf;
using nntest::expectNear;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// "<this file>:<line>:" — where an error at `line` of this file starts.
std::string here(int line) {
  return std::string(__FILE__) + ":" + std::to_string(line) + ":";
}

void expectContains(const std::string &text, const std::string &part) {
  EXPECT_NE(text.find(part), std::string::npos)
      << "no '" << part << "' in:\n" << text;
}

/// Binds every parameter and buffer of `m` to a state input named as in the
/// state dict (prefix + name), for the lifetime of the binding. Float state
/// is f64 here, so that values compare with PyTorch's float64 closely.
class Bind {
public:
  Bind(Function &fn, nn::Module &m, const std::string &prefix = "",
       DType floatType = DType::f64) {
    for (auto list : {m.named_parameters(), m.named_buffers()})
      for (auto &[name, p] : list) {
        DType dtype = p->dtype() == DType::f32 ? floatType : p->dtype();
        p->bind(fn.state_input(prefix + name, p->shape(), dtype), prefix + name);
        bound.push_back(p);
      }
  }
  ~Bind() {
    for (nn::Parameter *p : bound)
      p->unbind();
  }

private:
  std::vector<nn::Parameter *> bound;
};

/// Differentiates `p` (kiln.vjp -> backward ops) in place.
void differentiate(Program &p) {
  mlir::PassManager pm(moduleOf(p).getContext());
  kiln::buildKilnDifferentiatePipeline(pm);
  ASSERT_TRUE(mlir::succeeded(pm.run(moduleOf(p)))) << p.str();
}

std::vector<Buffer> run(Program &p, const std::string &name,
                        const std::vector<Buffer> &inputs,
                        std::map<std::string, Buffer> &state) {
  return nntest::interpretWithState(moduleOf(p), name, inputs, state);
}

Buffer filled(std::vector<int64_t> shape, double value) {
  Buffer b{std::move(shape), {}};
  b.data.assign(b.numElements(), value);
  return b;
}

//===----------------------------------------------------------------------===//
// Conv2d
//===----------------------------------------------------------------------===//

TEST(NNLayers, Conv2dShapesNamesAndInit) {
  nn::Conv2d plain{3, 8, Size2(3, 5)};
  EXPECT_EQ(plain.weight.shape(), (Shape{8, 3, 3, 5}));
  EXPECT_EQ(plain.bias.shape(), (Shape{8}));
  // kaiming_uniform(a=sqrt(5)): bound 1/sqrt(fan_in), fan_in = 3 * 3 * 5.
  EXPECT_DOUBLE_EQ(plain.weight.init().b, 1 / std::sqrt(45.0));
  EXPECT_DOUBLE_EQ(plain.weight.init().a, -1 / std::sqrt(45.0));
  EXPECT_DOUBLE_EQ(plain.bias.init().b, 1 / std::sqrt(45.0));

  nn::Conv2d grouped{6, 4, 3, 1, 1, 1, /*groups=*/2, /*bias=*/false};
  EXPECT_EQ(grouped.weight.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_DOUBLE_EQ(grouped.weight.init().b, 1 / std::sqrt(27.0));
  auto names = grouped.named_parameters();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].first, "weight");

  Program p;
  Function f = p.function("f");
  Bind bind(f, plain, "", DType::f32);
  nn::Conv2d keep{3, 2, 5, 1, same, 2};
  Bind bindKeep(f, keep, "keep.", DType::f32);
  Tensor x = f.input({2, 3, 16, 12});
  EXPECT_EQ(plain(x).shape(), (Shape{2, 8, 14, 8}));
  EXPECT_EQ(keep(x).shape(), (Shape{2, 2, 16, 12}));
  EXPECT_EQ(conv2d(x, plain.weight, 2, {1, 2}).shape(), (Shape{2, 8, 8, 6}));
}

TEST(NNLayers, Conv2dWithBiasComputes) {
  // Ones convolved with a 2x2 kernel of ones: 4 + bias in every position.
  struct Net : nn::Module {
    nn::Conv2d conv{1, 2, 2};
    Net() { register_module("conv", conv); }
  } net;
  Program p;
  Function f = p.function("f");
  {
    Bind bind(f, net);
    f.output(net.conv(f.input({1, 1, 3, 3}, DType::f64)));
  }
  f.finish();
  std::map<std::string, Buffer> state{
      {"conv.weight", filled({2, 1, 2, 2}, 1.0)},
      {"conv.bias", Buffer{{2}, {0.5, -1.0}}}};
  auto r = run(p, "f", {filled({1, 1, 3, 3}, 1.0)}, state);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].shape, (std::vector<int64_t>{1, 2, 2, 2}));
  expectNear(r[0], {4.5, 4.5, 4.5, 4.5, 3, 3, 3, 3}, 0, "conv + bias");
}

TEST(NNLayers, ChannelMismatchNamesBothShapesAtTheUsersLine) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({2, 3, 8, 8});
  Tensor w = f.input({4, 2, 3, 3});
  std::string functional = errorOf([&] { conv2d(x, w); }); int line = __LINE__;
  EXPECT_EQ(functional.rfind(here(line), 0), 0u) << functional;
  expectContains(functional, "conv2d: input [2, 3, 8, 8] has 3 channels but "
                             "weight [4, 2, 3, 3] expects 2");
  // With groups the expected count is weight.shape[1] * groups.
  std::string grouped = errorOf([&] { conv2d(x, w, 1, 0, 1, 2); });
  expectContains(grouped, "expects 4 (weight.shape[1] * groups = 2 * 2)");

  nn::Conv2d conv{1, 6, 5};
  Bind bind(f, conv, "", DType::f32);
  std::string module = errorOf([&] { conv(x); }); line = __LINE__;
  EXPECT_EQ(module.rfind(here(line), 0), 0u) << module;
  expectContains(module, "Conv2d(1, 6, kernel [5, 5]): input shape [2, 3, 8, "
                         "8] does not match weight shape [6, 1, 5, 5]");

  std::string small = errorOf([&] { conv2d(f.input({1, 2, 2, 2}), w); });
  expectContains(small, "the 3x3 window (dilation [1, 1]) does not fit input "
                        "[1, 2, 2, 2] with padding [0, 0]");
  std::string rank = errorOf([&] { conv2d(f.input({4, 2}), w); });
  expectContains(rank, "expects a 4-D input [N, C, H, W] and a 4-D weight");
  std::string sameEven = errorOf([&] { nn::Conv2d c(1, 1, 4, 1, same); });
  expectContains(sameEven, "needs asymmetric padding");
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

TEST(NNLayers, AvgPoolMatchesPyTorchAndSpreadsItsGradient) {
  //   x = X([1, 2, 5, 5]); F.avg_pool2d(x, 3, stride=2, padding=1)
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({1, 2, 5, 5}, DType::f64);
  nn::AvgPool2d pool{3, 2, 1};
  Tensor y = pool(x);
  f.output(y);
  f.output(grad(y.sum(), {x})[0]);
  f.finish();
  differentiate(p);
  std::map<std::string, Buffer> none;
  auto r = run(p, "f", {nntest::seqX({1, 2, 5, 5})}, none);
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0],
             {-0.0502663130154, 0.0304152819551, 0.0727453935186,
              -0.178442394012, -0.162662839316, 0.0582228588042,
              -0.0243698444804, -0.0984514084658, -0.0483928259373,
              -0.0645679456773, -0.0864723068984, 0.000658692725523,
              -0.00314474103292, -0.214901833872, -0.155683167616,
              0.063252611458, -0.00341354790513, -0.0657754688253},
             1e-11, "avg_pool2d");
  // d sum / d x = (number of windows covering x) / 9: the windows start at
  // rows (and columns) -1, 1, 3, so rows 1 and 3 are in two of them.
  const int cover[5] = {1, 2, 1, 2, 1};
  std::vector<double> expected;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j)
        expected.push_back(cover[i] * cover[j] / 9.0);
  expectNear(r[1], expected, 1e-15, "avg_pool2d gradient");
}

TEST(NNLayers, MaxPoolModuleAndErrors) {
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({2, 3, 9, 8});
  EXPECT_EQ(nn::MaxPool2d(2)(x).shape(), (Shape{2, 3, 4, 4}));
  EXPECT_EQ(nn::MaxPool2d(3, 1, 1)(x).shape(), (Shape{2, 3, 9, 8}));
  EXPECT_EQ(max_pool2d(x, Size2(3, 2), Size2(2, 1)).shape(),
            (Shape{2, 3, 4, 7}));
  std::string pad = errorOf([&] { max_pool2d(x, 2, 2, 2); });
  expectContains(pad, "max_pool2d: padding [2, 2] must be at most half the "
                      "kernel [2, 2]");
  std::string rank = errorOf([&] { max_pool2d(f.input({4, 4}), 2); });
  expectContains(rank, "max_pool2d: expects a 4-D input [N, C, H, W], got "
                       "[4, 4]");
}

//===----------------------------------------------------------------------===//
// Batch norm
//===----------------------------------------------------------------------===//

TEST(NNLayers, BatchNorm2dTrainAndEvalMatchPyTorch) {
  //   bn = torch.nn.BatchNorm2d(2)
  //   bn.weight = [1.5, -0.5]; bn.bias = [0.25, 1.0]; x = X([3, 2, 2, 2])
  //   bn.train(); bn(x); bn.running_mean; bn.running_var
  //   bn.eval(); bn(x)
  nn::BatchNorm2d bn{2};
  auto buffers = bn.named_buffers();
  ASSERT_EQ(buffers.size(), 3u);
  EXPECT_EQ(buffers[0].first, "running_mean");
  EXPECT_EQ(buffers[1].first, "running_var");
  EXPECT_EQ(buffers[2].first, "num_batches_tracked");
  EXPECT_EQ(bn.named_parameters().size(), 2u); // weight, bias only
  EXPECT_FALSE(bn.running_mean.requires_grad());

  Program p;
  {
    Function f = p.function("train");
    Bind bind(f, bn);
    bn.train();
    f.output(bn(f.input({3, 2, 2, 2}, DType::f64)));
    f.state_output("running_mean", bn.running_mean.update());
    f.state_output("running_var", bn.running_var.update());
    f.state_output("num_batches_tracked", bn.num_batches_tracked.update());
    f.finish();
  }
  {
    Function f = p.function("eval");
    Bind bind(f, bn);
    bn.eval();
    f.output(bn(f.input({3, 2, 2, 2}, DType::f64)));
    EXPECT_FALSE(bn.running_mean.update().defined());
    f.finish();
  }
  std::map<std::string, Buffer> state{
      {"weight", Buffer{{2}, {1.5, -0.5}}},
      {"bias", Buffer{{2}, {0.25, 1.0}}},
      {"running_mean", filled({2}, 0.0)},
      {"running_var", filled({2}, 1.0)},
      {"num_batches_tracked", Buffer::scalar(0)}};
  Buffer x = nntest::seqX({3, 2, 2, 2});
  auto train = run(p, "train", {x}, state);
  ASSERT_EQ(train.size(), 1u);
  expectNear(train[0],
             {0.0412036170653, 1.42532072643,  1.80609835716,
              1.0044508397,    0.821029699438, 1.31489408893,
              1.59126665689,   1.52016506618,  -1.65587916013,
              0.0818211199582, 1.44805077909,  1.80025066065,
              0.351388469957,  0.833730982609, 1.32488020102,
              1.59384097335,   -2.92749424453, -1.61620926527,
              0.122215315661,  1.47017125423,  0.106660578084,
              0.360972977729,  0.846437559875, 1.33473274594},
             1e-10, "train");
  expectNear(state["running_mean"], {0.0377877795456, -0.0195217326621},
             1e-12, "running_mean");
  expectNear(state["running_var"], {0.938187390042, 0.947743332679}, 1e-12,
             "running_var");
  expectNear(state["num_batches_tracked"], {1}, 0, "num_batches_tracked");
  auto eval = run(p, "eval", {x}, state);
  expectNear(eval[0],
             {0.649128934239, 1.49459783649,  1.72719061587,  1.23751525387,
              0.968618002875, 1.30422197996,  1.49203008061,  1.4437132205,
              -0.387510742388, 0.673939577321, 1.50848217658, 1.72361863088,
              0.649474797223, 0.977249119507, 1.31100801071,  1.49377944918,
              -1.16425932979, -0.363278932646, 0.698613816276, 1.52199416462,
              0.483170735692, 0.655987919034, 0.985883833725, 1.31770327632},
             1e-10, "eval");
}

TEST(NNLayers, BatchNorm1dOnTwoAndThreeDimensionalInputs) {
  // Hand-computed: per-channel statistics over every dim but 1.
  for (Shape shape : {Shape{4, 3}, Shape{2, 3, 5}}) {
    nn::BatchNorm1d bn{3, 1e-5, 0.25, /*affine=*/false};
    Program p;
    Function f = p.function("f");
    Bind bind(f, bn);
    f.output(bn(f.input(shape, DType::f64)));
    f.state_output("running_var", bn.running_var.update());
    f.finish();
    Buffer x = nntest::seqX(shape);
    std::map<std::string, Buffer> state{{"running_mean", filled({3}, 0.0)},
                                        {"running_var", filled({3}, 1.0)},
                                        {"num_batches_tracked",
                                         Buffer::scalar(0)}};
    auto r = run(p, "f", {x}, state);
    int64_t n = shape[0], l = shape.size() == 3 ? shape[2] : 1, count = n * l;
    std::vector<double> expected(x.data.size());
    for (int64_t c = 0; c < 3; ++c) {
      double sum = 0, sq = 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t k = 0; k < l; ++k)
          sum += x.data[(b * 3 + c) * l + k];
      double mean = sum / count;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t k = 0; k < l; ++k)
          sq += std::pow(x.data[(b * 3 + c) * l + k] - mean, 2);
      double var = sq / count;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t k = 0; k < l; ++k)
          expected[(b * 3 + c) * l + k] =
              (x.data[(b * 3 + c) * l + k] - mean) / std::sqrt(var + 1e-5);
      EXPECT_NEAR(state["running_var"].data[c],
                  0.75 + 0.25 * sq / (count - 1), 1e-12);
    }
    expectNear(r[0], expected, 1e-12, "batch_norm1d " + to_string(shape));
  }
}

TEST(NNLayers, BatchNormShapeErrors) {
  Program p;
  Function f = p.function("f");
  nn::BatchNorm2d bn{4};
  Bind bind(f, bn, "", DType::f32);
  std::string e = errorOf([&] { bn(f.input({2, 3, 5, 5})); });
  expectContains(e, "BatchNorm2d(4): expects input [N, C, H, W] with C = 4, "
                    "got [2, 3, 5, 5]");
  std::string one = errorOf([&] { bn(f.input({1, 4, 1, 1})); });
  expectContains(one, "more than one value per channel");
}

/// Traces f(x) = sum(layer(x) * R) for a fixed R, with its gradients with
/// respect to x and every parameter of `m`, and compares them with central
/// differences through the interpreter.
void checkLayerGradients(nn::Module &m,
                         const std::function<Tensor(const Tensor &)> &layer,
                         const Shape &inputShape,
                         std::map<std::string, Buffer> state) {
  Program p;
  Function f = p.function("f");
  std::vector<std::string> names;
  {
    Bind bind(f, m);
    Tensor x = f.input(inputShape, DType::f64);
    Tensor y = layer(x);
    Tensor r = f.input(y.shape(), DType::f64);
    Tensor loss = (y * r).sum();
    std::vector<Tensor> wrt{x};
    for (auto &[name, param] : m.named_parameters()) {
      wrt.push_back(param->value());
      names.push_back(name);
    }
    f.output(loss);
    for (const Tensor &g : grad(loss, wrt))
      f.output(g);
  }
  f.finish();
  differentiate(p);
  Buffer x = nntest::seqX(inputShape);
  for (size_t i = 0; i < x.data.size(); ++i)
    x.data[i] += 0.3 * std::cos(1.3 * i); // break the sequence's symmetry
  auto fn = moduleOf(p).lookupSymbol<mlir::func::FuncOp>("f");
  auto resultShape =
      fn.getArgumentTypes().back().cast<mlir::RankedTensorType>().getShape();
  Buffer r = nntest::seqW({resultShape.begin(), resultShape.end()});
  auto results = run(p, "f", {x, r}, state);
  ASSERT_EQ(results.size(), 2 + names.size());
  auto loss = [&](const Buffer &at, std::map<std::string, Buffer> s) {
    return run(p, "f", {at, r}, s)[0].data[0];
  };
  const double eps = 1e-6;
  auto check = [&](const Buffer &analytic, const std::string &what,
                   const std::function<double(size_t, double)> &shifted) {
    for (size_t j = 0; j < analytic.data.size(); ++j) {
      double numeric = (shifted(j, eps) - shifted(j, -eps)) / (2 * eps);
      EXPECT_NEAR(analytic.data[j], numeric,
                  1e-6 * std::max(1.0, std::abs(numeric)))
          << what << " element " << j;
    }
  };
  check(results[1], "d/dx", [&](size_t j, double h) {
    Buffer moved = x;
    moved.data[j] += h;
    return loss(moved, state);
  });
  for (size_t k = 0; k < names.size(); ++k)
    check(results[2 + k], "d/d" + names[k], [&](size_t j, double h) {
      std::map<std::string, Buffer> moved = state;
      moved[names[k]].data[j] += h;
      return loss(x, moved);
    });
}

TEST(NNLayers, BatchNormAndLayerNormGradientsMatchFiniteDifferences) {
  nn::BatchNorm2d bn{3};
  checkLayerGradients(bn, [&](const Tensor &x) { return bn(x); }, {4, 3, 2, 3},
                      {{"weight", Buffer{{3}, {1.5, -0.5, 0.75}}},
                       {"bias", Buffer{{3}, {0.1, 0.2, -0.3}}},
                       {"running_mean", filled({3}, 0.0)},
                       {"running_var", filled({3}, 1.0)},
                       {"num_batches_tracked", Buffer::scalar(0)}});
  nn::BatchNorm1d bn1{4};
  checkLayerGradients(bn1, [&](const Tensor &x) { return bn1(x); }, {5, 4},
                      {{"weight", nntest::seqW({4})},
                       {"bias", nntest::seqX({4})},
                       {"running_mean", filled({4}, 0.0)},
                       {"running_var", filled({4}, 1.0)},
                       {"num_batches_tracked", Buffer::scalar(0)}});
  nn::LayerNorm ln{{2, 3}};
  checkLayerGradients(ln, [&](const Tensor &x) { return ln(x); }, {3, 2, 3},
                      {{"weight", nntest::seqW({2, 3})},
                       {"bias", nntest::seqX({2, 3})}});
  nn::Conv2d conv{2, 3, Size2(2, 3), 1, Padding2d(1, 0)};
  checkLayerGradients(conv, [&](const Tensor &x) { return conv(x); },
                      {2, 2, 4, 4},
                      {{"weight", nntest::seqW({3, 2, 2, 3})},
                       {"bias", nntest::seqX({3})}});
  nn::AvgPool2d avg{Size2(2, 3), Size2(1, 2), Size2(1, 1)};
  nn::Sequential none;
  checkLayerGradients(none, [&](const Tensor &x) { return avg(x); },
                      {1, 2, 5, 6}, {});
}

//===----------------------------------------------------------------------===//
// Layer norm, embedding, Sequential
//===----------------------------------------------------------------------===//

TEST(NNLayers, LayerNormMatchesPyTorch) {
  //   ln = torch.nn.LayerNorm([3, 4])
  //   ln.weight = W([3, 4]) + 1; ln.bias = X([3, 4]) * 0.1
  //   ln(X([2, 3, 4]))
  nn::LayerNorm ln{{3, 4}};
  Program p;
  Function f = p.function("f");
  {
    Bind bind(f, ln);
    f.output(ln(f.input({2, 3, 4}, DType::f64)));
  }
  f.finish();
  {
    Program q;
    Function g = q.function("g");
    Bind bind(g, ln);
    std::string e = errorOf([&] { ln(g.input({3, 3}, DType::f64)); });
    expectContains(e, "layer_norm: normalized_shape [3, 4] is not a suffix of "
                      "the input shape [3, 3]");
  }
  Buffer w = nntest::seqW({3, 4}), b = nntest::seqX({3, 4});
  for (double &v : w.data)
    v += 1;
  for (double &v : b.data)
    v *= 0.1;
  std::map<std::string, Buffer> state{{"weight", w}, {"bias", b}};
  auto r = run(p, "f", {nntest::seqX({2, 3, 4})}, state);
  expectNear(r[0],
             {0.276728797332,  1.48611572477,   1.70085936552,
              0.919788728574,  -0.189217170163, -0.929192723821,
              -1.08652744741,  -0.859896660932, -0.444829553957,
              0.148225616175,  0.850435395447,  1.27598226236,
              1.50305861338,   0.131576819972,  -1.20373638981,
              -1.71002777182,  -1.29452122367,  -0.478509206662,
              0.19347403947,   0.564940929647,  0.724311227908,
              0.632779245081,  0.0904340236453, -0.881177565728},
             1e-10, "layer_norm");
}

TEST(NNLayers, EmbeddingPicksRowsAndAccumulatesGradients) {
  nn::Embedding emb{5, 3};
  EXPECT_EQ(emb.weight.shape(), (Shape{5, 3}));
  EXPECT_EQ(emb.weight.init().kind, nn::Init::Normal);
  Program p;
  Function f = p.function("f");
  {
    Bind bind(f, emb);
    Tensor y = emb(f.input({2, 2}, DType::i32));
    EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
    f.output(y);
    f.output(grad(y.sum(), {emb.weight})[0]);
  }
  f.finish();
  differentiate(p);
  std::map<std::string, Buffer> state{
      {"weight", nntest::seqW({5, 3})}};
  auto r = run(p, "f", {Buffer{{2, 2}, {4, 0, 4, 2}}}, state);
  ASSERT_EQ(r.size(), 2u);
  const std::vector<double> &w = state["weight"].data;
  std::vector<double> rows;
  for (int index : {4, 0, 4, 2})
    for (int k = 0; k < 3; ++k)
      rows.push_back(w[index * 3 + k]);
  expectNear(r[0], rows, 0, "rows");
  expectNear(r[1], {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2}, 0,
             "row counts");
}

TEST(NNLayers, SequentialNamesAndOrder) {
  nn::Sequential seq;
  seq.add<nn::Conv2d>(1, 2, 3, 1, 1);
  seq.add<nn::ReLU>();
  seq.add<nn::MaxPool2d>(2);
  seq.add<nn::Flatten>();
  seq.add_named<nn::Linear>("head", 2 * 4 * 4, 3);
  std::vector<std::string> names;
  for (auto &[name, param] : seq.named_parameters())
    names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias",
                                             "head.weight", "head.bias"}));
  Program p;
  Function f = p.function("f");
  Bind bind(f, seq, "", DType::f32);
  EXPECT_EQ(seq(f.input({5, 1, 8, 8})).shape(), (Shape{5, 3}));
  EXPECT_EQ(seq.size(), 5u);
}

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

TEST(NNLayers, DropoutMasksScaleReproduceAndAdvance) {
  nn::Dropout drop{0.3};
  nn::Dropout other{0.3};
  ASSERT_EQ(drop.named_buffers().size(), 1u);
  EXPECT_EQ(drop.named_buffers()[0].first, "rng_state");
  EXPECT_TRUE(drop.named_parameters().empty());

  Program p;
  {
    Function f = p.function("train");
    Bind bind(f, drop);
    Bind bindOther(f, other, "other.");
    Tensor x = f.input({100, 100}, DType::f64);
    Tensor y = drop(x);
    f.output(y);
    f.output(other(x));
    f.output(grad((y * y).sum(), {x})[0]);
    f.state_output("rng_state", drop.rng_state.update());
    f.finish();
  }
  {
    Function f = p.function("eval");
    Bind bind(f, drop);
    drop.eval();
    Tensor x = f.input({100, 100}, DType::f64);
    f.output(drop(x));
    f.finish();
    drop.train();
  }
  differentiate(p);
  Buffer x = filled({100, 100}, 2.0);
  std::map<std::string, Buffer> state{{"rng_state", Buffer::scalar(42)},
                                      {"other.rng_state", Buffer::scalar(42)}};
  auto first = run(p, "train", {x}, state);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(state["rng_state"].data[0], 43); // the step advances the counter
  int dropped = 0;
  for (size_t i = 0; i < first[0].data.size(); ++i) {
    double v = first[0].data[i];
    EXPECT_TRUE(v == 0.0 || std::abs(v - 2.0 / 0.7) < 1e-12) << v;
    dropped += v == 0.0;
    // d/dx (x * m / 0.7)^2 = 2 x (m / 0.7)^2
    EXPECT_NEAR(first[2].data[i], v == 0.0 ? 0.0 : 2 * 2.0 / 0.49, 1e-12);
  }
  EXPECT_NEAR(dropped / 10000.0, 0.3, 0.02);
  EXPECT_NE(first[0].data, first[1].data); // another instance, another mask

  // The same counter reproduces the mask; the next one draws a new mask.
  std::map<std::string, Buffer> again{{"rng_state", Buffer::scalar(42)},
                                      {"other.rng_state", Buffer::scalar(0)}};
  EXPECT_EQ(run(p, "train", {x}, again)[0].data, first[0].data);
  auto second = run(p, "train", {x}, state);
  EXPECT_NE(second[0].data, first[0].data);

  auto eval = run(p, "eval", {x}, state);
  EXPECT_EQ(eval[0].data, x.data);
}

TEST(NNLayers, DropoutArguments) {
  std::string e = errorOf([] { nn::Dropout d(1.5); });
  expectContains(e, "Dropout: probability must be in [0, 1], got 1.5");
  Program p;
  Function f = p.function("f");
  Tensor x = f.input({4});
  Tensor seed = f.input({}, DType::i64);
  EXPECT_EQ(dropout(x, 0.0, seed, 0).value(), x.value());
  EXPECT_EQ(dropout(x, 0.5, seed, 0, /*training=*/false).value(), x.value());
}

//===----------------------------------------------------------------------===//
// build_classifier with buffers, interpreted and compiled
//===----------------------------------------------------------------------===//

/// conv -> batch norm -> relu -> max pool -> dropout -> linear.
struct SmallCNN : nn::Module {
  nn::Conv2d conv{1, 4, 3, 1, 1};
  nn::BatchNorm2d bn{4};
  nn::MaxPool2d pool{2};
  nn::Dropout drop{0.25};
  nn::Linear fc{4 * 4 * 4, 3};
  SmallCNN() {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("drop", drop);
    register_module("fc", fc);
  }
  Tensor forward(const Tensor &x) const {
    Tensor h = pool(relu(bn(conv(reshape(x, {x.size(0), 1, 8, 8})))));
    return fc(drop(flatten(h, 1)));
  }
};

Program smallProgram(SmallCNN &model) {
  ClassifierOptions options;
  options.batch_size = 6;
  options.input_shape = {8, 8};
  options.num_classes = 3;
  options.optimizer = optim::SGD{.lr = 0.1, .momentum = 0.9};
  return build_classifier("cnn", model, options,
                          [&](const Tensor &x) { return model.forward(x); });
}

std::vector<std::string> stateNames(Program &p, const std::string &fn, llvm::StringRef attr) {
  std::vector<std::string> names;
  auto f = moduleOf(p).lookupSymbol<mlir::func::FuncOp>(fn);
  for (mlir::Attribute a : f->getAttrOfType<mlir::ArrayAttr>(attr))
    if (!a.cast<mlir::StringAttr>().getValue().empty())
      names.push_back(a.cast<mlir::StringAttr>().getValue().str());
  return names;
}

TEST(NNClassifier, BuffersAreStateButNotTrained) {
  SmallCNN model;
  Program p = smallProgram(model);
  std::vector<std::string> init =
      stateNames(p, "cnn_init", kiln::KilnDialect::getStateResultsAttrName());
  for (const char *name :
       {"bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
        "drop.rng_state", "bn.weight.momentum_buffer"})
    EXPECT_NE(std::find(init.begin(), init.end(), name), init.end()) << name;
  for (const char *name :
       {"bn.running_mean.momentum_buffer", "drop.rng_state.momentum_buffer"})
    EXPECT_EQ(std::find(init.begin(), init.end(), name), init.end()) << name;
  // The step stores the buffers; predict reads bn's but stores nothing.
  std::vector<std::string> step =
      stateNames(p, "cnn_train_step", kiln::KilnDialect::getStateResultsAttrName());
  for (const char *name : {"bn.running_mean", "bn.running_var",
                           "bn.num_batches_tracked", "drop.rng_state"})
    EXPECT_NE(std::find(step.begin(), step.end(), name), step.end()) << name;
  EXPECT_TRUE(stateNames(p, "cnn_predict", kiln::KilnDialect::getStateResultsAttrName()).empty());
  // The module is back in its own mode.
  EXPECT_TRUE(model.is_training());
  EXPECT_TRUE(model.bn.is_training());
}

TEST(NNClassifier, InterpretedStepUpdatesBuffersAndPredictUsesThem) {
  SmallCNN model;
  Program p = smallProgram(model);
  differentiate(p);
  std::map<std::string, Buffer> state;
  run(p, "cnn_init", {Buffer::scalar(5)}, state);
  EXPECT_EQ(state["drop.rng_state"].data[0], 5);
  EXPECT_EQ(state["bn.running_var"].data, std::vector<double>(4, 1.0));
  Buffer x = nntest::seqX({6, 8, 8});
  Buffer y{{6}, {0, 1, 2, 0, 1, 2}};
  // Dropout draws a new mask every step, so single steps are noisy: compare
  // the mean loss of the first and last three of eight steps.
  std::vector<double> losses;
  for (int step = 0; step < 8; ++step)
    losses.push_back(
        run(p, "cnn_train_step", {x, y, Buffer::scalar(0.05)}, state)[0]
            .data[0]);
  double first = (losses[0] + losses[1] + losses[2]) / 3;
  double last = (losses[5] + losses[6] + losses[7]) / 3;
  EXPECT_LT(last, first);
  EXPECT_EQ(state["bn.num_batches_tracked"].data[0], 8);
  EXPECT_EQ(state["drop.rng_state"].data[0], 13);
  EXPECT_NE(state["bn.running_mean"].data, std::vector<double>(4, 0.0));
  // predict: deterministic (no dropout) and leaves the state alone.
  auto a = run(p, "cnn_predict", {x}, state);
  auto b = run(p, "cnn_predict", {x}, state);
  EXPECT_EQ(a[0].data, b[0].data);
  EXPECT_EQ(state["bn.num_batches_tracked"].data[0], 8);
}

TEST(NNClassifier, SubmodulesInEvalModeStayThereInTheTrainStep) {
  // PyTorch's fine-tuning idiom: model.train(); model.bn.eval(); the step
  // normalizes with the running statistics and leaves them alone, and the
  // dropout in eval mode is the identity.
  SmallCNN model;
  model.bn.eval();
  model.drop.eval();
  Program p = smallProgram(model);
  std::vector<std::string> step =
      stateNames(p, "cnn_train_step", kiln::KilnDialect::getStateResultsAttrName());
  for (const char *name : {"bn.running_mean", "bn.running_var",
                           "bn.num_batches_tracked", "drop.rng_state"})
    EXPECT_EQ(std::find(step.begin(), step.end(), name), step.end()) << name;
  EXPECT_NE(std::find(step.begin(), step.end(), "bn.weight"), step.end());
  // Each module is back in its own mode.
  EXPECT_TRUE(model.is_training());
  EXPECT_TRUE(model.conv.is_training());
  EXPECT_FALSE(model.bn.is_training());
  EXPECT_FALSE(model.drop.is_training());

  differentiate(p);
  std::map<std::string, Buffer> state;
  run(p, "cnn_init", {Buffer::scalar(5)}, state);
  state["bn.running_mean"] = Buffer{{4}, {0.1, -0.2, 0.3, 0.0}};
  state["bn.running_var"] = Buffer{{4}, {2.0, 0.5, 1.0, 4.0}};
  Buffer x = nntest::seqX({6, 8, 8});
  Buffer y{{6}, {0, 1, 2, 0, 1, 2}};
  // The step's loss is the cross-entropy of predict's logits: the same
  // (eval-mode) forward, no dropout noise.
  std::vector<double> logits = run(p, "cnn_predict", {x}, state)[0].data;
  double loss = 0;
  for (int i = 0; i < 6; ++i) {
    const double *row = &logits[3 * i];
    double top = std::max({row[0], row[1], row[2]});
    double sum = std::exp(row[0] - top) + std::exp(row[1] - top) +
                 std::exp(row[2] - top);
    loss += top + std::log(sum) - row[static_cast<int>(y.data[i])];
  }
  double stepLoss =
      run(p, "cnn_train_step", {x, y, Buffer::scalar(0.05)}, state)[0].data[0];
  EXPECT_NEAR(stepLoss, loss / 6, 1e-9);
  EXPECT_EQ(state["bn.running_mean"].data,
            (std::vector<double>{0.1, -0.2, 0.3, 0.0}));
  EXPECT_EQ(state["bn.num_batches_tracked"].data[0], 0);
  EXPECT_EQ(state["drop.rng_state"].data[0], 5);
}

/// Wide hidden layers on a narrow input: the activations outweigh the
/// parameters.
struct WideMLP : nn::Module {
  nn::Linear fc1{8, 256}, fc2{256, 256}, fc3{256, 4};
  WideMLP() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }
  Tensor forward(const Tensor &x) const {
    return fc3(relu(fc2(relu(fc1(x)))));
  }
};

int64_t arenaBytesWithMicroBatches(int64_t steps) {
  WideMLP model;
  ClassifierOptions options;
  options.batch_size = 1024;
  options.input_shape = {8};
  options.num_classes = 4;
  options.accumulation_steps = steps;
  options.optimizer = optim::SGD{.lr = 0.1, .momentum = 0.9};
  Program p = build_classifier("wide", model, options, [&](const Tensor &x) {
    return model.forward(x);
  });
  nntest::CompiledModule compiled;
  std::string error;
  EXPECT_TRUE(compiled.build(moduleOf(p), error)) << error;
  return compiled.abi().arenaBytes;
}

TEST(NNClassifier, GradientAccumulationNeedsTheActivationsOfOneMicroBatch) {
  // Each micro-batch is differentiated before the next runs and predict
  // runs in the same chunks, so the memory plan reuses one micro-batch's
  // activations for the next: 8 micro-batches of 128 rows need far less
  // than one batch of 1024 (the parameters, gradients and momentum, about
  // 0.8 MB, are the same in both). Measured: 5.8 MB and 2.0 MB; before,
  // when every micro-batch's activations lived until one backward pass at
  // the end, 7.2 MB and 5.9 MB.
  int64_t whole = arenaBytesWithMicroBatches(1);
  int64_t eighths = arenaBytesWithMicroBatches(8);
  EXPECT_LT(eighths * 2, whole) << "1 x 1024 rows: " << whole
                                << " bytes, 8 x 128 rows: " << eighths;
}

TEST(NNClassifier, CompiledStepMatchesTheInterpreter) {
  SmallCNN model;
  Program p = smallProgram(model);
  nntest::CompiledModule compiled;
  std::string error;
  ASSERT_TRUE(compiled.build(moduleOf(p), error)) << error;
  differentiate(p);
  std::map<std::string, Buffer> state;
  run(p, "cnn_init", {Buffer::scalar(11)}, state);
  compiled.call("cnn_init", {Buffer::scalar(11)});
  for (auto &[name, value] : state)
    expectNear(compiled.readState(name), value.data, 1e-7, "init " + name,
               1e-6);
  // Start both from the compiled (f32) state.
  for (auto &[name, value] : state)
    value = compiled.readState(name);
  Buffer x = nntest::seqX({6, 8, 8});
  for (double &v : x.data)
    v = static_cast<float>(v);
  Buffer y{{6}, {2, 1, 0, 0, 1, 2}};
  for (int step = 0; step < 2; ++step) {
    auto expected = run(p, "cnn_train_step", {x, y, Buffer::scalar(0.1)}, state);
    auto actual = compiled.call("cnn_train_step", {x, y, Buffer::scalar(0.1)});
    ASSERT_EQ(actual.size(), 1u);
    expectNear(actual[0], expected[0].data, 1e-5, "loss", 1e-4);
    for (auto &[name, value] : state)
      expectNear(compiled.readState(name), value.data, 2e-5,
                 "step " + std::to_string(step) + " " + name, 1e-3);
  }
  auto expected = run(p, "cnn_predict", {x}, state);
  auto actual = compiled.call("cnn_predict", {x});
  expectNear(actual[0], expected[0].data, 1e-4, "logits", 1e-3);
}

} // namespace

namespace {
TEST(NNLayers, EmbeddingCompiles) {
  nn::Embedding emb{7, 4};
  Program p;
  Function f = p.function("f");
  {
    Bind bind(f, emb, "", DType::f32);
    Tensor y = emb(f.input({3, 2}, DType::i32));
    f.output(y);
    f.output(grad((y * y).sum(), {emb.weight})[0]);
  }
  f.finish();
  nntest::CompiledModule compiled;
  std::string error;
  ASSERT_TRUE(compiled.build(moduleOf(p), error)) << error;
  differentiate(p);
  std::map<std::string, Buffer> state{{"weight", nntest::seqW({7, 4})}};
  for (double &v : state["weight"].data)
    v = static_cast<float>(v);
  compiled.writeState("weight", state["weight"]);
  Buffer indices{{3, 2}, {6, 0, 3, 3, 1, 6}};
  auto expected = run(p, "f", {indices}, state);
  auto actual = compiled.call("f", {indices});
  ASSERT_EQ(actual.size(), 2u);
  expectNear(actual[0], expected[0].data, 1e-7, "rows");
  expectNear(actual[1], expected[1].data, 1e-6, "gradient");
}
} // namespace
