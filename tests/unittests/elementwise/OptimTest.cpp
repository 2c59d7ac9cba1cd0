//===- OptimTest.cpp - optimizers and gradient transforms vs PyTorch ------===//
//
// Each optimizer's update traced in float64 and interpreted, against
// torch.optim (1.13) for two steps on fixed gradients; then build_classifier
// with Adam, AdamW and RMSprop (an f32 model, interpreted) against torch on
// the same tiny model; clip_grad_norm_ / clip_grad_value_, loss scaling and
// per-group learning-rate factors.
//
//===----------------------------------------------------------------------===//

#include "DslErrors.h"
#include "ElementwiseTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

using namespace kiln::dsl;
using kiln::test::Buffer;
using kiln::test::expectNear;
using kiln::test::interpret;
using kiln::test::State;

using kiln::dsl::test_support::errorOf;
using kiln::dsl::test_support::has;

namespace {

//===----------------------------------------------------------------------===//
// One optimizer, two steps, float64
//===----------------------------------------------------------------------===//

struct DirectCase {
  const char *name;
  double lr;
  std::vector<std::vector<double>> params;          ///< after step 1 and step 2
  std::map<std::string, std::vector<double>> state; ///< after step 2
};

// Generated with /usr/bin/python3 (torch 1.13), float64:
//   p = tensor([0.2, -0.1, 0.4, 0.3, -0.5, 0.25]).reshape(2, 3)
//   opt = torch.optim.<Optimizer>([p], ...)
//   for g in ([0.05, -0.3, 0.01, 0.2, -0.07, 0.0],
//             [-0.02, -0.25, 0.04, 0.1, 0.09, 0.5]):
//     p.grad = tensor(g).reshape(2, 3); opt.step()
// adam: Adam(lr=0.1); adam_amsgrad_wd: Adam(lr=0.05, betas=(0.8, 0.9),
// eps=1e-3, weight_decay=0.05, amsgrad=True); adamw: AdamW(lr=0.1,
// weight_decay=0.1); adamw_amsgrad: AdamW(lr=0.01, amsgrad=True); rmsprop:
// RMSprop(lr=0.01); rmsprop_centered_momentum_wd: RMSprop(lr=0.01,
// alpha=0.9, momentum=0.9, centered=True, weight_decay=0.01);
// rmsprop_momentum: RMSprop(lr=0.02, momentum=0.5, eps=1e-4);
// sgd_nesterov_wd: SGD(lr=0.1, momentum=0.9, nesterov=True,
// weight_decay=0.01).
const DirectCase kDirectCases[] = {
    {"adam",
     0.1,
     {{0.10000001999999603, -3.3333332205565114e-09, 0.30000009999990007,
       0.20000000499999976, -0.40000001428571225, 0.25},
      {0.065439444286433238, 0.099117280535721913, 0.21156248126946167,
       0.10678204701536582, -0.41762491558064879, 0.17558631974751227}},
     {{"step", {2.0}},
      {"exp_avg",
       {0.0025000000000000001, -0.051999999999999991, 0.004899999999999999,
        0.027999999999999997, 0.0026999999999999984, 0.049999999999999989}},
      {"exp_avg_sq",
       {2.8975000000000032e-06, 0.00015241000000000012, 1.6999000000000017e-06,
        4.9960000000000057e-05, 1.2995100000000012e-05,
        0.00025000000000000022}}}},
    {"adam_amsgrad_wd",
     0.05,
     {{0.15081967213114755, -0.050163398692810474, 0.35161290322580646,
       0.2502314814814815, -0.45052083333333337, 0.20370370370370372},
      {0.12864852597432019, -0.00083762669847513987, 0.30400270292614318,
       0.2037407264030523, -0.44765626738510594, 0.1647798632999512}},
     {{"step", {2.0}},
      {"exp_avg",
       {0.0071081967213114756, -0.099301633986928081, 0.016316129032258063,
        0.056902314814814808, -0.0017052083333333344, 0.10403703703703701}},
      {"exp_avg_sq",
       {0.00033952270894920715, 0.014748287588374129, 0.00041255306971904262,
        0.0054261354300625857, 0.00126752350531684, 0.026042954818244164}},
      {"max_exp_avg_sq",
       {0.00035999999999999997, 0.014748287588374129, 0.00041255306971904262,
        0.0054261354300625857, 0.00126752350531684, 0.026042954818244164}}}},
    {"adamw",
     0.1,
     {{0.098000019999996024, 0.00099999666666678033, 0.29600009999990007,
       0.19700000499999976, -0.39500001428571224, 0.2475},
      {0.06245944408643328, 0.10010728056905524, 0.20460248026946268,
       0.10181204696536582, -0.40867491543779166, 0.17061131974751226}},
     {{"step", {2.0}},
      {"exp_avg",
       {0.0025000000000000001, -0.051999999999999991, 0.004899999999999999,
        0.027999999999999997, 0.0026999999999999984, 0.049999999999999989}},
      {"exp_avg_sq",
       {2.8975000000000032e-06, 0.00015241000000000012, 1.6999000000000017e-06,
        4.9960000000000057e-05, 1.2995100000000012e-05,
        0.00025000000000000022}}}},
    {"adamw_amsgrad",
     0.01,
     {{0.18998000199999962, -0.089990000333333334, 0.38996000999999003,
       0.28997000049999999, -0.4899500014285712, 0.249975},
      {0.18650494642844334, -0.080069272946394487, 0.38107725212594618,
       0.28061920770148663, -0.49166349655792202, 0.24250863447475124}},
     {{"step", {2.0}},
      {"exp_avg",
       {0.0025000000000000001, -0.051999999999999991, 0.004899999999999999,
        0.027999999999999997, 0.0026999999999999984, 0.049999999999999989}},
      {"exp_avg_sq",
       {2.8975000000000032e-06, 0.00015241000000000012, 1.6999000000000017e-06,
        4.9960000000000057e-05, 1.2995100000000012e-05,
        0.00025000000000000022}},
      {"max_exp_avg_sq",
       {2.8975000000000032e-06, 0.00015241000000000012, 1.6999000000000017e-06,
        4.9960000000000057e-05, 1.2995100000000012e-05,
        0.00025000000000000022}}}},
    {"rmsprop",
     0.01,
     {{0.10000019999960007, -3.3333322269069043e-08, 0.30000099999000018,
       0.20000004999997506, -0.4000001428569388, 0.25},
      {0.13730032276412496, 0.064208137293106024, 0.20295843921002965,
       0.15509874465456264, -0.47908447950074129, 0.15000001999999604}},
     {{"step", {2.0}},
      {"square_avg",
       {2.8750000000000028e-05, 0.0015160000000000013, 1.6990000000000015e-05,
        0.00049600000000000046, 0.00012951000000000011,
        0.0025000000000000022}}}},
    {"rmsprop_centered_momentum_wd",
     0.01,
     {{0.16666668803417434, -0.066666670358065297, 0.36666674603155708,
       0.26666667214011952, -0.46666668148147489, 0.21666711110518527},
      {0.14784748284212373, -0.013509500005400986, 0.30381324748458838,
       0.22032816131080496, -0.4609857056183021, 0.1533179492802707}},
     {{"step", {2.0}},
      {"square_avg",
       {0.0002769711103276358, 0.014437467779628396, 0.00020831778470897821,
        0.0047628544455683274, 0.0012344277752493837, 0.025217699057475524}},
      {"momentum_buffer",
       {1.8819205192050594, -5.3157170352664309, 6.2853498546968716,
        4.6338510829314572, -0.56809758631727769, 6.3349161824914555}},
      {"grad_avg",
       {0.0028466666880341742, -0.052156666670358051, 0.0056266667460315558,
        0.028536666672140117, 0.0017833333185185234, 0.050441667111105176}}}},
    {"rmsprop_momentum",
     0.02,
     {{0.0039215686274510801, 0.099335548172757374, 0.21818181818181828,
       0.10099502487562197, -0.3028169014084508, 0.25},
      {-0.02088309385935503, 0.32709072609380369, -0.062215742414197799,
       -0.087908690337608716, -0.36101641680350172, 0.050399201596806477}},
     {{"step", {2.0}},
      {"square_avg",
       {2.8750000000000028e-05, 0.0015160000000000013, 1.6990000000000015e-05,
        0.00049600000000000046, 0.00012951000000000011, 0.0025000000000000022}},
      {"momentum_buffer",
       {1.2402331243403055, -11.387758896052315, 14.019878029800804,
        9.4451857606615341, 2.9099757697525455, 9.9800399201596761}}}},
    {"sgd_nesterov_wd",
     0.1,
     {{0.19012000000000001, -0.042810000000000008, 0.39734000000000003, 0.26143,
       -0.48575000000000002, 0.249525},
      {0.18934677200000002, 0.029152338999999992, 0.38785105400000003,
       0.22549028299999999, -0.495852075, 0.15384840250000001}},
     {{"momentum_buffer",
       {0.028701200000000007, -0.52132809999999996, 0.056573400000000003,
        0.28531430000000002, 0.017642499999999978, 0.50474524999999992}}}},
};

optim::Optimizer optimizerNamed(const std::string &name) {
  if (name == "adam")
    return optim::Adam{.lr = 0.1};
  if (name == "adam_amsgrad_wd")
    return optim::Adam{.lr = 0.05,
                       .betas = {0.8, 0.9},
                       .eps = 1e-3,
                       .weight_decay = 0.05,
                       .amsgrad = true};
  if (name == "adamw")
    return optim::AdamW{.lr = 0.1, .weight_decay = 0.1};
  if (name == "adamw_amsgrad")
    return optim::AdamW{.lr = 0.01, .amsgrad = true};
  if (name == "rmsprop")
    return optim::RMSprop{.lr = 0.01};
  if (name == "rmsprop_centered_momentum_wd")
    return optim::RMSprop{.lr = 0.01,
                          .alpha = 0.9,
                          .weight_decay = 0.01,
                          .momentum = 0.9,
                          .centered = true};
  if (name == "rmsprop_momentum")
    return optim::RMSprop{.lr = 0.02, .eps = 1e-4, .momentum = 0.5};
  if (name == "sgd_nesterov_wd")
    return optim::SGD{
        .lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true};
  ADD_FAILURE() << "unknown optimizer " << name;
  return {};
}

class OptimizerStep : public ::testing::TestWithParam<DirectCase> {};

TEST_P(OptimizerStep, MatchesPyTorchForTwoSteps) {
  const DirectCase &c = GetParam();
  optim::Optimizer opt = optimizerNamed(c.name);
  std::vector<std::string> names = opt.state_names();
  Program p;
  {
    Function f = p.function("step");
    Tensor param = f.state_input("p", {2, 3}, DType::f64);
    std::vector<Tensor> buffers;
    for (const std::string &n : names)
      buffers.push_back(
          f.state_input("p." + n, opt.state_shape(n, {2, 3}), DType::f64));
    Tensor g = f.input({2, 3}, DType::f64);
    Tensor lr = f.input({}, DType::f64);
    f.state_output("p", opt.step(param, g, lr, buffers));
    for (size_t i = 0; i < names.size(); ++i)
      f.state_output("p." + names[i], buffers[i]);
    f.finish();
  }
  State state{{"p", Buffer{{2, 3}, {0.2, -0.1, 0.4, 0.3, -0.5, 0.25}}}};
  for (const std::string &n : names) {
    Buffer zero{opt.state_shape(n, {2, 3}), {}};
    zero.data.assign(zero.numElements(), 0.0);
    state["p." + n] = zero;
  }
  const std::vector<double> grads[] = {{0.05, -0.3, 0.01, 0.2, -0.07, 0.0},
                                       {-0.02, -0.25, 0.04, 0.1, 0.09, 0.5}};
  for (int s = 0; s < 2; ++s) {
    state = interpret(p, "step", state,
                      {Buffer{{2, 3}, grads[s]}, Buffer::scalar(c.lr)});
    expectNear(state["p"], c.params[s], 1e-15, 1e-12,
               "step " + std::to_string(s + 1));
  }
  for (const auto &[n, expected] : c.state) {
    if (!state.count("p." + n)) {
      // PyTorch's RMSprop keeps a step count its formula never reads.
      EXPECT_EQ(n, "step") << c.name;
      continue;
    }
    expectNear(state["p." + n], expected, 1e-15, 1e-12, n);
  }
  // Every buffer is PyTorch's, except Adam's running bias corrections
  // 1 - beta^t (PyTorch recomputes them from the step count).
  std::pair<double, double> betas;
  if (auto *adam = opt.get_if<optim::Adam>())
    betas = adam->betas;
  if (auto *adamw = opt.get_if<optim::AdamW>())
    betas = adamw->betas;
  for (const std::string &n : names) {
    if (n == "bias_correction1")
      expectNear(state["p." + n], {1 - betas.first * betas.first}, 1e-16,
                 1e-15);
    else if (n == "bias_correction2")
      expectNear(state["p." + n], {1 - betas.second * betas.second}, 1e-16,
                 1e-15);
    else
      EXPECT_TRUE(c.state.count(n)) << "buffer " << n << " is not PyTorch's";
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, OptimizerStep,
                         ::testing::ValuesIn(kDirectCases),
                         [](const ::testing::TestParamInfo<DirectCase> &info) {
                           return std::string(info.param.name);
                         });

TEST(Optimizer, StateNamesAndShapes) {
  using V = std::vector<std::string>;
  optim::Optimizer adam = optim::Adam{};
  EXPECT_EQ(adam.state_names(), (V{"step", "exp_avg", "exp_avg_sq",
                                   "bias_correction1", "bias_correction2"}));
  EXPECT_EQ(adam.state_shape("step", {3, 4}), Shape{});
  EXPECT_EQ(adam.state_shape("bias_correction2", {3, 4}), Shape{});
  EXPECT_EQ(adam.state_shape("exp_avg", {3, 4}), (Shape{3, 4}));
  EXPECT_EQ(optim::Optimizer(optim::AdamW{.amsgrad = true}).state_names(),
            (V{"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq",
               "bias_correction1", "bias_correction2"}));
  EXPECT_EQ(optim::Optimizer(optim::RMSprop{}).state_names(),
            (V{"square_avg"}));
  EXPECT_EQ(optim::Optimizer(optim::RMSprop{.momentum = 0.9, .centered = true})
                .state_names(),
            (V{"square_avg", "momentum_buffer", "grad_avg"}));
  EXPECT_EQ(optim::Optimizer(optim::SGD{.momentum = 0.5}).state_names(),
            (V{"momentum_buffer"}));
  // PyTorch's defaults.
  EXPECT_EQ(adam.lr(), 1e-3);
  EXPECT_EQ(optim::AdamW{}.weight_decay, 1e-2);
  EXPECT_EQ(optim::RMSprop{}.alpha, 0.99);
  EXPECT_EQ(optim::Optimizer().lr(), 0.01);
  EXPECT_TRUE(adam.get_if<optim::Adam>());
  EXPECT_FALSE(adam.get_if<optim::SGD>());
}

//===----------------------------------------------------------------------===//
// build_classifier with each optimizer
//===----------------------------------------------------------------------===//

struct Tiny : nn::Module {
  nn::Linear fc{4, 3};
  Tiny() { register_module("fc", fc); }
};

Program tinyProgram(Tiny &model, const optim::Optimizer &optimizer,
                    const optim::UpdateOptions &update = {}) {
  ClassifierOptions options;
  options.batch_size = 2;
  options.input_shape = {4};
  options.num_classes = 3;
  options.optimizer = optimizer;
  options.update = update;
  return build_classifier("tiny", model, options,
                          [&](const Tensor &x) { return model.fc(x); });
}

/// The weights, biases and batch of ClassifierTest's TinyCase.
State tinyState() {
  return {{"fc.weight", Buffer{{3, 4},
                               {0.2, -0.1, 0.4, 0.3, -0.5, 0.25, 0.1, -0.2,
                                0.05, 0.3, -0.3, 0.15}}},
          {"fc.bias", Buffer{{3}, {0.1, -0.2, 0.05}}}};
}
std::vector<Buffer> tinyBatch(double lr) {
  return {Buffer{{2, 4}, {1, 2, -1, 0.5, 0, -1, 2, 1}}, Buffer{{2}, {2, 0}},
          Buffer::scalar(lr)};
}

/// Runs init (for the buffers) then `steps` train steps from tinyState();
/// returns the state after each step.
std::vector<State> train(Program &p, int steps, double lr) {
  EXPECT_TRUE(kiln::test::differentiate(p));
  State state = interpret(p, "tiny_init", {}, {Buffer::scalar(1)});
  for (auto &[name, value] : tinyState())
    state[name] = value;
  std::vector<State> after;
  for (int s = 0; s < steps; ++s) {
    state = interpret(p, "tiny_train_step", state, tinyBatch(lr));
    after.push_back(state);
    state.erase("#0");
  }
  return after;
}

TEST(DslClassifierOptim, AdamStateLayout) {
  Tiny model;
  Program p = tinyProgram(model, optim::Adam{.lr = 3e-4});
  std::string ir = p.str();
  EXPECT_TRUE(has(ir, "kiln.state_results = [\"fc.weight\", \"fc.bias\", "
                      "\"fc.weight.step\", \"fc.weight.exp_avg\", "
                      "\"fc.weight.exp_avg_sq\", "
                      "\"fc.weight.bias_correction1\", "
                      "\"fc.weight.bias_correction2\", \"fc.bias.step\", "
                      "\"fc.bias.exp_avg\", \"fc.bias.exp_avg_sq\", "
                      "\"fc.bias.bias_correction1\", "
                      "\"fc.bias.bias_correction2\"]"))
      << ir;
  EXPECT_TRUE(has(ir, "@tiny_init(%arg0: tensor<i64>) -> (tensor<3x4xf32>, "
                      "tensor<3xf32>, tensor<f32>, tensor<3x4xf32>, "
                      "tensor<3x4xf32>, tensor<f32>, tensor<f32>, tensor<f32>"))
      << ir;
  EXPECT_TRUE(has(ir, "default_lr = 3.000000e-04")) << ir;
  std::vector<State> s = train(p, 2, 0.1);
  EXPECT_EQ(s[0]["fc.weight.step"].data, std::vector<double>{1.0});
  EXPECT_EQ(s[1]["fc.bias.step"].data, std::vector<double>{2.0});
  // 1 - 0.9^2 with f32 constants.
  EXPECT_NEAR(s[1]["fc.bias.bias_correction1"].data.at(0), 0.19, 1e-7);
}

struct ClassifierCase {
  const char *name;
  optim::Optimizer optimizer;
  std::vector<double> losses;
  std::vector<std::vector<double>> weight, bias; ///< after each step
};

// Generated with /usr/bin/python3 (torch 1.13), float64: the tiny model
// (w, b as tinyState()), loss = F.cross_entropy(x @ w.t() + b, y) on
// tinyBatch(), two opt.step()s with lr 0.1 (RMSprop 0.01). The model here
// is f32 with f32 constants (0.999f), hence the 5e-6 tolerance; the exact
// formulas are checked in f64 by OptimizerStep above.
const ClassifierCase kClassifierCases[] = {
    {"adam",
     optim::Adam{.lr = 0.1},
     {0.34486228631586058, 0.17237777408499044},
     {{0.10000001036593267, -0.19999999678457209, 0.49999999699330999,
       0.39999998567868461, -0.59999998668987942, 0.15000001192029733,
       1.7357691464714442e-08, -0.29999999037873792, 0.14999999417251597,
       0.39999999746765635, -0.39999999636337602, 0.24999997068350516},
      {0.0052091772487739135, -0.29480456312771419, 0.59481648719903457,
       0.49485176183251506, -0.69337236764049126, 0.056745405655314052,
       -0.09370763056057449, -0.39346644355761307, 0.2441973332203953,
       0.49449731119361057, -0.49503121775236214, 0.33991177656063776}},
     {{0.19999995368454893, -0.29999999293295526, 0.14999999166046804},
      {0.2949861622891774, -0.39344156256662433, 0.24313395045668096}}},
    {"adam_amsgrad_wd",
     optim::Adam{.lr = 0.1,
                 .betas = {0.8, 0.9},
                 .eps = 1e-3,
                 .weight_decay = 0.05,
                 .amsgrad = true},
     {0.34486228631586058, 0.17323200439045494},
     {{0.10093049358942854, -0.19967426772267777, 0.49968111395090375,
       0.39820871925700563, -0.59804423124747985, 0.15102679403626007,
       0.0015720467976649694, -0.2989466638859346, 0.1494121127086403,
       0.39973745776745973, -0.39961682932345843, 0.24637818681660006},
      {0.0076789950639093441, -0.2932026772048752, 0.59269090052825579,
       0.48368108804188037, -0.67006895528088306, 0.058916087121503202,
       -0.088909099546416528, -0.38731526171247754, 0.24155139866418429,
       0.49277852446380249, -0.49277444725069519, 0.30834695244912386}},
     {{0.19431529322673308, -0.29924529357270224, 0.14915548241084226},
      {0.2639983940666113, -0.38905735909411027, 0.2391333972000671}}},
    {"adamw",
     optim::AdamW{.lr = 0.1, .weight_decay = 0.1},
     {0.34486228631586058, 0.17485199500520324},
     {{0.098000010365932672, -0.19899999678457209, 0.49599999699330999,
       0.39699998567868461, -0.59499998668987941, 0.14750001192029732,
       -0.00099998264230853617, -0.29799999037873792, 0.14949999417251597,
       0.39699999746765635, -0.39699999636337602, 0.24849997068350516},
      {0.0020950136327895913, -0.2919819852678831, 0.5860526370601189,
       0.48816205219081421, -0.68260098821277104, 0.052622948784251999,
       -0.09496209817894441, -0.38868958404821091, 0.2423549442644661,
       0.48769165746797988, -0.48824452421003917, 0.33584972553737596}},
     {{0.19899995368454892, -0.29799999293295526, 0.14949999166046804},
      {0.29258451424398979, -0.38865824841256608, 0.24124446906545116}}},
    {"rmsprop",
     optim::RMSprop{.lr = 0.01},
     {0.34486228631586058, 0.1723778451251812},
     {{0.10000010365922993, -0.19999996784573004, 0.49999996993310802,
       0.39999985678703087, -0.59999986689895335, 0.15000011920284528,
       1.7357664329475941e-07, -0.29999990378746255, 0.14999994172519038,
       0.39999997467656911, -0.39999996363377233, 0.24999970683582518},
      {0.051055214074532014, -0.24898208269249689, 0.54901442934963962,
       0.44911018614631854, -0.64528112546378313, 0.1050089396796751,
       -0.046117729569437008, -0.3455142706556617, 0.19737085065965337,
       0.44815835785535602, -0.44960171171279512, 0.28741433886531803}},
     {{0.19999953684741989, -0.29999992932959724, 0.14999991660474288},
      {0.24947744891294166, -0.34545251669931976, 0.194695927140772}}},
    {"rmsprop_centered_momentum_wd",
     optim::RMSprop{
         .lr = 0.01, .weight_decay = 0.01, .momentum = 0.9, .centered = true},
     {0.34486228631586058, 0.17175567398566793},
     {{0.09949632105370608, -0.20050374894208975, 0.50050375078561715,
       0.40050363037220582, -0.6005036374950935, 0.14949633539661772,
       -0.0005036091873746217, -0.30050368243477837, 0.15050372249046329,
       0.40050375575088443, -0.40050374438717917, 0.25050347177951415},
      {-0.040155074539833323, -0.3399602394892694, 0.63973856506211657,
       0.53801540645387225, -0.73281112668517046, 0.013578272559191333,
       -0.13673935393525621, -0.43533073519752719, 0.28813053973886099,
       0.53902160181408554, -0.54033821752580002, 0.37361687331058407}},
     {{0.20050329097505365, -0.30050370911826052, 0.15050369693556642},
      {0.33592220423663316, -0.43565156693516122, 0.28514157838169857}}},
};

TEST(DslClassifierOptim, TwoStepsMatchPyTorch) {
  for (const ClassifierCase &c : kClassifierCases) {
    Tiny model;
    Program p = tinyProgram(model, c.optimizer);
    double lr = c.optimizer.lr();
    std::vector<State> s = train(p, 2, lr);
    for (int step = 0; step < 2; ++step) {
      std::string what =
          std::string(c.name) + " step " + std::to_string(step + 1);
      EXPECT_NEAR(s[step]["#0"].data.at(0), c.losses[step], 1e-6) << what;
      expectNear(s[step]["fc.weight"], c.weight[step], 5e-6, 0.0, what);
      expectNear(s[step]["fc.bias"], c.bias[step], 5e-6, 0.0, what);
    }
  }
}

//===----------------------------------------------------------------------===//
// Gradient transforms
//===----------------------------------------------------------------------===//

// Generated with /usr/bin/python3 (torch 1.13), float64, the tiny model:
//   loss.backward(); <clip>; torch.optim.SGD([w, b], lr=1.0).step()
// clip: torch.nn.utils.clip_grad_norm_([w, b], 0.1) (total norm
// 0.73848207119071396), clip_grad_norm_([w, b], 0.1, norm_type=inf) (total norm
// 0.39489110095711932), clip_grad_value_([w, b], 0.05), or none.
const std::vector<double> kNoClip[] = {
    {0.10353015696602925, -0.41100058594766953, 0.73259164279342692,
     0.36982597836274267, -0.57513078929763195, 0.16610948499055017,
     0.042388662126003868, -0.30393645823463, 0.22160063233160265,
     0.69489110095711926, -0.57498030491943064, 0.18411047987188736},
    {0.12159105684575731, -0.34150185288344598, 0.16991079603768872}};
const std::vector<double> kClipNorm2[] = {
    {0.18693675633235238, -0.14211343469881024, 0.44503713839467757,
     0.30945532552969113, -0.51017366439781653, 0.23864015733303315,
     0.092198692140484026, -0.21407431832757456, 0.073236908065464193,
     0.35347327736577705, -0.33723583053516154, 0.15461899279788341},
    {0.10292370369586731, -0.21916115052648283, 0.066237446830615526}};
const std::vector<double> kClipNormInf[] = {
    {0.17557058173608639, -0.1787558386693181, 0.48422342254689532,
     0.31768229300953399, -0.51902565007391477, 0.22875609190304888,
     0.085410865972157787, -0.22632021708783592, 0.093455068337828448,
     0.39999974676626915, -0.369634288519053, 0.15863792407830193},
    {0.1054675838775772, -0.23583304212479334, 0.080365458247216151}};
const std::vector<double> kClipValue[] = {
    {0.15000000000000002, -0.15000000000000002, 0.45000000000000001,
     0.34999999999999998, -0.55000000000000004, 0.20000000000000001,
     0.050000000000000003, -0.25, 0.10000000000000001, 0.34999999999999998,
     -0.34999999999999998, 0.18411047987188736},
    {0.12159105684575731, -0.25, 0.10000000000000001}};

void expectSGDStep(const optim::UpdateOptions &update,
                   const std::vector<double> (&expected)[2],
                   const std::string &what) {
  Tiny model;
  Program p = tinyProgram(model, optim::SGD{.lr = 1.0}, update);
  State s = train(p, 1, 1.0)[0];
  expectNear(s["fc.weight"], expected[0], 1e-6, 0.0, what);
  expectNear(s["fc.bias"], expected[1], 1e-6, 0.0, what);
}

TEST(DslClassifierOptim, ClipGradNormAndValueMatchPyTorch) {
  expectSGDStep({}, kNoClip, "no clip");
  expectSGDStep({.max_norm = 0.1}, kClipNorm2, "clip_grad_norm_ 2");
  expectSGDStep({.max_norm = 0.1, .norm_type = INFINITY}, kClipNormInf,
                "clip_grad_norm_ inf");
  expectSGDStep({.clip_value = 0.05}, kClipValue, "clip_grad_value_");
  // A max_norm above the total norm leaves the gradients alone.
  expectSGDStep({.max_norm = 10.0}, kNoClip, "clip_grad_norm_ inactive");
}

TEST(DslClassifierOptim, LossScalingIsUndone) {
  // loss * 1024 differentiated, gradients / 1024: the same step.
  expectSGDStep({.loss_scale = 1024.0}, kNoClip, "loss_scale 1024");
  expectSGDStep({.loss_scale = 3.0}, kNoClip, "loss_scale 3");
  Tiny model;
  Program p = tinyProgram(model, optim::SGD{}, {.loss_scale = 1024.0});
  EXPECT_TRUE(has(p.str(), "dense<1.024000e+03>")) << p.str();
}

TEST(DslClassifierOptim, LearningRateFactorsByLongestGroup) {
  optim::UpdateOptions update{.lr_factors = {{"fc", 2.0}, {"fc.bias", 0.5}}};
  EXPECT_EQ(optim::lr_factor(update, "fc.weight"), 2.0);
  EXPECT_EQ(optim::lr_factor(update, "fc.bias"), 0.5);
  EXPECT_EQ(optim::lr_factor(update, "conv.weight"), 1.0);
  // A group is a module path, not a text prefix.
  EXPECT_EQ(optim::lr_factor(update, "fc2.weight"), 1.0);
  EXPECT_EQ(optim::lr_factor({.lr_factors = {{"fc.", 3.0}}}, "fc.weight"), 3.0);
  EXPECT_EQ(optim::lr_factor({.lr_factors = {{"fc.", 3.0}}}, "fc2.weight"), 1.0);
  EXPECT_EQ(optim::lr_factor({.lr_factors = {{"fc.b", 3.0}}}, "fc.bias"), 1.0);
  Tiny model;
  Program p = tinyProgram(model, optim::SGD{.lr = 1.0}, update);
  State s = train(p, 1, 1.0)[0];
  State start = tinyState();
  std::vector<double> w = start["fc.weight"].data, b = start["fc.bias"].data;
  for (size_t i = 0; i < w.size(); ++i)
    w[i] += 2.0 * (kNoClip[0][i] - w[i]);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] += 0.5 * (kNoClip[1][i] - b[i]);
  expectNear(s["fc.weight"], w, 2e-6);
  expectNear(s["fc.bias"], b, 1e-6);
}

TEST(DslClassifierOptim, LearningRateGroupsThatNameNoParameterAreErrors) {
  Tiny model;
  std::string e = errorOf(
      [&] { tinyProgram(model, optim::SGD{}, {.lr_factors = {{"fcc", 0.1}}}); });
  EXPECT_TRUE(has(e, "model 'tiny': lr_factors: 'fcc' names no parameter"))
      << e;
  EXPECT_TRUE(has(e, "parameters: fc.weight, fc.bias")) << e;
  e = errorOf(
      [&] { tinyProgram(model, optim::SGD{}, {.lr_factors = {{"fc", -1.0}}}); });
  EXPECT_TRUE(has(e, "lr_factors: invalid factor -1")) << e;
  e = errorOf(
      [&] { tinyProgram(model, optim::SGD{}, {.lr_factors = {{"fc", NAN}}}); });
  EXPECT_TRUE(has(e, "lr_factors: invalid factor")) << e;
}

TEST(DslClassifierOptim, WeightDecayPerParameterGroup) {
  // SGD lr 1 with weight decay 0.1 except for the bias (PyTorch's
  // [{'params': [w], 'weight_decay': 0.1}, {'params': [b],
  // 'weight_decay': 0.0}]): w - (g + 0.1 w), b - g, where kNoClip holds
  // p - g.
  Tiny model;
  Program p = tinyProgram(model, optim::SGD{.lr = 1.0, .weight_decay = 0.1},
                          {.weight_decays = {{"fc.bias", 0.0}}});
  State s = train(p, 1, 1.0)[0];
  State start = tinyState();
  std::vector<double> w = kNoClip[0];
  for (size_t i = 0; i < w.size(); ++i)
    w[i] -= 0.1 * start["fc.weight"].data[i];
  expectNear(s["fc.weight"], w, 1e-6);
  expectNear(s["fc.bias"], kNoClip[1], 1e-6);
  // A group can also add decay to an optimizer without it; AdamW's
  // decoupled decay follows the group too.
  optim::Optimizer adamw = optim::AdamW{.weight_decay = 0.01};
  optim::UpdateOptions update{.weight_decays = {{"fc", 0.5}, {"fc.bias", 0.0}}};
  EXPECT_EQ(optim::optimizer_for(adamw, update, "fc.weight")
                .get_if<optim::AdamW>()->weight_decay, 0.5);
  EXPECT_EQ(optim::optimizer_for(adamw, update, "fc.bias")
                .get_if<optim::AdamW>()->weight_decay, 0.0);
  EXPECT_EQ(optim::optimizer_for(adamw, update, "head.weight")
                .get_if<optim::AdamW>()->weight_decay, 0.01);
  std::string e = errorOf([&] {
    tinyProgram(model, optim::SGD{}, {.weight_decays = {{"fc.bias", -0.1}}});
  });
  EXPECT_TRUE(has(e, "weight_decays: invalid weight_decay -0.1")) << e;
  e = errorOf(
      [&] { tinyProgram(model, optim::SGD{}, {.weight_decays = {{"bias", 0.0}}}); });
  EXPECT_TRUE(has(e, "weight_decays: 'bias' names no parameter")) << e;
}

TEST(DslOptim, ClipGradNormFunctions) {
  // Two gradients [3, -4] and [12]: 2-norm 13, 1-norm 19, inf-norm 12,
  // 3-norm (27 + 64 + 1728)^(1/3).
  Program p;
  Function f = p.function("f");
  Tensor a = f.input({2}, DType::f64);
  Tensor b = f.input({1}, DType::f64);
  for (double norm : {2.0, 1.0, double(INFINITY), 3.0}) {
    Tensor total;
    std::vector<Tensor> clipped =
        optim::clip_grad_norm({a, b}, 6.5, norm, &total);
    f.output(total);
    f.output(clipped[0]);
    f.output(clipped[1]);
  }
  std::vector<Tensor> v = optim::clip_grad_value({a, b}, 3.5);
  f.output(v[0]);
  f.output(v[1]);
  f.finish();
  State r = interpret(p, "f", {}, {Buffer{{2}, {3, -4}}, Buffer{{1}, {12}}});
  double norms[] = {13.0, 19.0, 12.0, std::cbrt(1819.0)};
  for (int k = 0; k < 4; ++k) {
    double total = r["#" + std::to_string(3 * k)].data.at(0);
    EXPECT_NEAR(total, norms[k], 1e-12) << k;
    double coef = std::min(1.0, 6.5 / (norms[k] + 1e-6));
    expectNear(r["#" + std::to_string(3 * k + 1)], {3 * coef, -4 * coef},
               1e-12);
    expectNear(r["#" + std::to_string(3 * k + 2)], {12 * coef}, 1e-12);
  }
  expectNear(r["#12"], {3, -3.5}, 0.0);
  expectNear(r["#13"], {3.5}, 0.0);
}

TEST(DslOptim, InvalidOptionsAreErrors) {
  Tiny model;
  auto message = [&](const optim::UpdateOptions &update) -> std::string {
    try {
      tinyProgram(model, optim::SGD{}, update);
    } catch (const Error &e) {
      return e.what();
    }
    return "";
  };
  EXPECT_TRUE(has(message({.loss_scale = 0.0}), "loss_scale must be positive"));
  EXPECT_TRUE(has(message({.clip_value = -1.0}),
                  "clip_grad_value: clip_value must be positive"));
  EXPECT_TRUE(has(message({.max_norm = 1.0, .norm_type = -2.0}),
                  "clip_grad_norm: max_norm and norm_type must be positive"));
}

// The checks of PyTorch's optimizer constructors, with its wording.
TEST(DslOptim, InvalidHyperparametersAreErrors) {
  Tiny model;
  auto message = [&](const optim::Optimizer &optimizer) -> std::string {
    try {
      tinyProgram(model, optimizer, {});
    } catch (const Error &e) {
      return e.what();
    }
    return "";
  };
  EXPECT_TRUE(has(message(optim::SGD{.lr = -0.1}),
                  "SGD: invalid learning rate: -0.1"));
  EXPECT_TRUE(has(message(optim::SGD{.momentum = -0.5}),
                  "SGD: invalid momentum value: -0.5"));
  EXPECT_TRUE(has(message(optim::SGD{.weight_decay = -1.0}),
                  "SGD: invalid weight_decay value: -1"));
  EXPECT_TRUE(has(message(optim::Adam{.betas = {1.0, 0.999}}),
                  "Adam: invalid beta parameter at index 0: 1"));
  EXPECT_TRUE(has(message(optim::AdamW{.betas = {0.9, -0.1}}),
                  "AdamW: invalid beta parameter at index 1: -0.1"));
  EXPECT_TRUE(has(message(optim::Adam{.eps = -1e-8}),
                  "Adam: invalid epsilon value"));
  EXPECT_TRUE(has(message(optim::RMSprop{.alpha = -0.9}),
                  "RMSprop: invalid alpha value: -0.9"));
  EXPECT_TRUE(has(message(optim::RMSprop{.momentum = -0.9}),
                  "RMSprop: invalid momentum value: -0.9"));
  EXPECT_EQ(message(optim::SGD{.lr = 0.0}), "") << "lr 0 is allowed";
  EXPECT_EQ(message(optim::Adam{.betas = {0.0, 0.0}}), "");
}

} // namespace
