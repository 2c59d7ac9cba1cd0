// lr_schedule_test.cc - learning-rate schedules against torch.optim.lr_scheduler.

#include "kiln/runtime/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace kiln::runtime {
namespace {

void expectSequence(const LrSchedule &s, const std::vector<double> &expected,
                    const std::string &what) {
  for (size_t t = 0; t < expected.size(); ++t)
    EXPECT_NEAR(s.at(static_cast<int64_t>(t)), expected[t], 1e-15 + 1e-13 * expected[t])
        << what << " at t = " << t;
}

// Generated with /usr/bin/python3 (torch 1.13): the lr of an SGD(lr=0.1)
// param group before each of the first steps of
//   step:          StepLR(opt, 3, 0.5)
//   multistep:     MultiStepLR(opt, [2, 5, 9], 0.1)
//   exp:           ExponentialLR(opt, 0.9)
//   cosine:        CosineAnnealingLR(opt, 10, 0.001)
//   linear:        LinearLR(opt, 0.25, 1.0, 4)
//   warmup_cosine: SequentialLR(opt, [LinearLR(opt, 0.1, 1.0, 3),
//                                     CosineAnnealingLR(opt, 8, 0.0)], milestones=[3])
const std::vector<double> kStep = {0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.012500000000000001, 0.012500000000000001, 0.012500000000000001};
const std::vector<double> kMultiStep = {0.10000000000000001, 0.10000000000000001, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 0.00010000000000000003};
const std::vector<double> kExp = {0.10000000000000001, 0.090000000000000011, 0.081000000000000016, 0.07290000000000002, 0.065610000000000016, 0.059049000000000018, 0.05314410000000002, 0.047829690000000022, 0.043046721000000024, 0.03874204890000002, 0.034867844010000017, 0.031381059609000013};
const std::vector<double> kCosine = {0.10000000000000001, 0.097577297556610113, 0.090546341221559898, 0.079595369988477424, 0.065796341221559904, 0.050500000000000003, 0.03520365877844011, 0.021404630011522589, 0.010453658778440109, 0.0034227024433899004, 0.001};
const std::vector<double> kLinear = {0.025000000000000001, 0.043750000000000004, 0.062500000000000014, 0.081250000000000017, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002};
const std::vector<double> kWarmupCosine = {0.010000000000000002, 0.040000000000000001, 0.070000000000000007, 0.10000000000000001, 0.096193976625564337, 0.085355339059327379, 0.069134171618254497, 0.050000000000000003, 0.030865828381745515, 0.014644660940672627, 0.0038060233744356634, 0};

TEST(LrSchedule, MatchesPyTorch) {
  expectSequence(LrSchedule::step(0.1, 3, 0.5), kStep, "step");
  expectSequence(LrSchedule::multiStep(0.1, {2, 5, 9}, 0.1), kMultiStep, "multistep");
  expectSequence(LrSchedule::exponential(0.1, 0.9), kExp, "exp");
  expectSequence(LrSchedule::cosine(0.1, 10, 0.001), kCosine, "cosine");
  expectSequence(LrSchedule::linear(0.1, 0.25, 1.0, 4), kLinear, "linear");
  expectSequence(LrSchedule::warmup(3, 0.1, LrSchedule::cosine(0.1, 8)), kWarmupCosine,
                 "warmup + cosine");
  EXPECT_EQ(LrSchedule::constant(0.3)(1000), 0.3);
}

TEST(LrSchedule, CosineHoldsEtaMinAfterTMaxAndNegativeStepsReadAsZero) {
  LrSchedule s = LrSchedule::cosine(0.1, 10, 0.001);
  EXPECT_EQ(s.at(10), 0.001);
  EXPECT_EQ(s.at(25), 0.001);
  EXPECT_EQ(s.at(-4), 0.1);
}

TEST(LrSchedule, ParsesFlagText) {
  std::string error;
  auto s = parseLrSchedule("warmup:3:0.1,cosine:8", 0.1, error);
  ASSERT_TRUE(s) << error;
  expectSequence(*s, kWarmupCosine, "parsed warmup + cosine");
  EXPECT_EQ(s->describe(), "warmup:3:0.10000000000000001,cosine:8:0");
  s = parseLrSchedule("multistep:2/5/9", 0.1, error);
  ASSERT_TRUE(s) << error;
  expectSequence(*s, kMultiStep, "parsed multistep");
  s = parseLrSchedule("step:3:0.5", 0.1, error);
  ASSERT_TRUE(s) << error;
  expectSequence(*s, kStep, "parsed step");
  s = parseLrSchedule("linear:0.25:1:4", 0.1, error);
  ASSERT_TRUE(s) << error;
  expectSequence(*s, kLinear, "parsed linear");
  s = parseLrSchedule("exp:0.9", 0.1, error);
  ASSERT_TRUE(s) << error;
  expectSequence(*s, kExp, "parsed exp");
  s = parseLrSchedule("constant", 0.5, error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->at(7), 0.5);
  // Warm-up with the default start factor 1/3 (torch LinearLR's).
  s = parseLrSchedule("warmup:4,constant", 0.3, error);
  ASSERT_TRUE(s) << error;
  EXPECT_NEAR(s->at(0), 0.1, 1e-16);
  EXPECT_NEAR(s->at(2), 0.2, 1e-16);
  EXPECT_EQ(s->at(4), 0.3);
}

TEST(LrSchedule, ParseErrorsNameTheProblem) {
  struct Case {
    const char *spec, *message;
  } cases[] = {
      {"cosin:10", "unknown schedule 'cosin'"},
      {"step", "expected step:STEP_SIZE[:GAMMA], got 'step' with 0 value(s)"},
      {"step:0", "step: step_size must be positive"},
      {"step:x", "step size 'x' is not an integer"},
      {"cosine:10:abc", "eta_min 'abc' is not a number"},
      {"multistep:5/2", "multistep: milestones must be sorted"},
      {"warmup:10", "warmup needs a schedule after it"},
      {"step:3,cosine:4", "only a warmup may precede ','"},
      {"warmup:0,constant", "warmup: the number of steps must be positive"},
      {"warmup:5,step:0", "step: step_size must be positive"},
      {"linear:1:2", "expected linear:START_FACTOR:END_FACTOR:TOTAL_ITERS"},
  };
  for (const Case &c : cases) {
    std::string error;
    EXPECT_FALSE(parseLrSchedule(c.spec, 0.1, error)) << c.spec;
    EXPECT_NE(error.find(c.message), std::string::npos) << c.spec << ": " << error;
    EXPECT_NE(error.find(std::string("'") + c.spec + "'"), std::string::npos) << error;
  }
  // The factories leave the checks to check(), which parseLrSchedule calls.
  std::string error;
  EXPECT_FALSE(LrSchedule::cosine(0.1, 0).check(error));
  EXPECT_EQ(error, "cosine: t_max must be positive");
  EXPECT_FALSE(LrSchedule::warmup(5, 0.1, LrSchedule::step(0.1, 0)).check(error));
  EXPECT_EQ(error, "step: step_size must be positive");
  EXPECT_FALSE(LrSchedule::multiStep(0.1, {5, 2}).check(error));
  EXPECT_EQ(error, "multistep: milestones must be sorted");
  EXPECT_TRUE(LrSchedule::warmup(5, 0.1, LrSchedule::cosine(0.1, 9)).check(error)) << error;
}

TEST(LrSchedule, ParseErrorsEscapeTheText) {
  std::string error;
  EXPECT_FALSE(parseLrSchedule(std::string("cos\0x:1", 7), 0.1, error));
  EXPECT_EQ(error, "invalid learning-rate schedule 'cos\\x00x:1': unknown schedule "
                   "'cos\\x00x' (expected constant, step, multistep, exp, cosine or linear)");
}

} // namespace
} // namespace kiln::runtime
