//===- trainer_test.cc - Tests for kiln_train_main ------------------------===//
//
// Drives the trainer end to end with a hand-written softmax-regression model
// behind the kiln_model_info ABI (a stand-in for a compiled model) on a tiny
// synthetic, linearly separable dataset, and checks flags, the output format,
// determinism, and that every failure is a non-zero status with a message.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/trainer.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

constexpr int kBatch = 8, kClasses = 4, kSide = 4, kElems = kSide * kSide;
const int64_t kShape[] = {kSide, kSide};

// Arena layout: weights [kElems][kClasses], then biases [kClasses].
float *weights(void *arena) { return static_cast<float *>(arena); }
float *biases(void *arena) { return weights(arena) + kElems * kClasses; }

int initModel(void *arena, uint64_t seed) {
  for (int i = 0; i < kElems * kClasses; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    weights(arena)[i] = (static_cast<float>(seed >> 40) / (1 << 24) - 0.5f) * 0.02f;
  }
  for (int c = 0; c < kClasses; ++c)
    biases(arena)[c] = 0;
  return 0;
}

void logitsOf(void *arena, const float *x, float *out) {
  for (int c = 0; c < kClasses; ++c) {
    out[c] = biases(arena)[c];
    for (int e = 0; e < kElems; ++e)
      out[c] += x[e] * weights(arena)[e * kClasses + c];
  }
}

int predictModel(void *arena, const float *x, float *logits) {
  for (int r = 0; r < kBatch; ++r)
    logitsOf(arena, x + r * kElems, logits + r * kClasses);
  return 0;
}

/// One SGD step on mean softmax cross-entropy; d loss / d logit = p - onehot.
int trainModel(void *arena, const float *x, const void *labels, float lr, float *loss) {
  const int32_t *y = static_cast<const int32_t *>(labels);
  float grad[kBatch][kClasses];
  double total = 0;
  for (int r = 0; r < kBatch; ++r) {
    float z[kClasses];
    logitsOf(arena, x + r * kElems, z);
    float mx = *std::max_element(z, z + kClasses), sum = 0;
    for (float &v : z)
      sum += (v = std::exp(v - mx));
    for (int c = 0; c < kClasses; ++c)
      grad[r][c] = (z[c] / sum - (c == y[r])) / kBatch;
    total -= std::log(z[y[r]] / sum);
  }
  for (int r = 0; r < kBatch; ++r)
    for (int c = 0; c < kClasses; ++c) {
      biases(arena)[c] -= lr * grad[r][c];
      for (int e = 0; e < kElems; ++e)
        weights(arena)[e * kClasses + c] -= lr * grad[r][c] * x[r * kElems + e];
    }
  *loss = static_cast<float>(total / kBatch);
  return 0;
}

int nanCalls = 0;
int nanAfterTwoSteps(void *, const float *, const void *, float, float *loss) {
  *loss = ++nanCalls >= 3 ? NAN : 1.0f;
  return 0;
}

int failingStep(void *, const float *, const void *, float, float *) { return 7; }

/// Records a fingerprint of every training row it is given.
std::vector<uint64_t> seenRows;
int recordingStep(void *, const float *x, const void *, float, float *loss) {
  for (int r = 0; r < kBatch; ++r) {
    uint64_t h = 1469598103934665603ULL; // FNV-1a over the row's pixels.
    for (int e = 0; e < kElems; ++e)
      h = (h ^ static_cast<uint64_t>(x[r * kElems + e] * 255.0f)) * 1099511628211ULL;
    seenRows.push_back(h);
  }
  *loss = 1.0f;
  return 0;
}

/// Classifies perfectly by the hot quadrant, and answers class 3 for an
/// all-zero (padding) row, whose label is 0: an evaluation that counted
/// padding rows would score below 1.
int oraclePredict(void *, const float *x, float *logits) {
  for (int r = 0; r < kBatch; ++r) {
    float *out = logits + r * kClasses;
    std::fill(out, out + kClasses, 0.0f);
    out[3] = 1e-3f;
    for (int e = 0; e < kElems; ++e)
      out[((e / kSide) / 2) * 2 + (e % kSide) / 2] += x[r * kElems + e];
  }
  return 0;
}

kiln_model_info makeModel() {
  return {"toy_softmax", (kElems + 1) * kClasses * sizeof(float), kBatch, 2, kShape, kElems,
          kClasses, 0.5f, initModel, trainModel, predictModel};
}

/// Class c lights up quadrant c of a 4x4 image, with some deterministic noise.
void writeToySplit(const std::string &dir, bool train, uint32_t n) {
  std::vector<uint8_t> images, labels;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t c = (i * 5 + (train ? 0 : 1)) % kClasses;
    labels.push_back(static_cast<uint8_t>(c));
    for (int row = 0; row < kSide; ++row)
      for (int col = 0; col < kSide; ++col) {
        bool hot = static_cast<uint32_t>((row / 2) * 2 + col / 2) == c;
        images.push_back(static_cast<uint8_t>(hot ? 180 + (i * 7 + col) % 70 : (i * 13 + row) % 60));
      }
  }
  writeSplit(dir, train, n, kSide, kSide, images, labels);
}

struct RunResult {
  int status;
  std::string out, err;
};

RunResult runTrainer(const kiln_model_info &model, std::vector<std::string> args) {
  args.insert(args.begin(), "toy-train");
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  int status = kiln_train_main(&model, static_cast<int>(args.size()), argv.data());
  std::string out = testing::internal::GetCapturedStdout();
  std::string err = testing::internal::GetCapturedStderr();
  return {status, out, err};
}

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

class TrainerTest : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    writeToySplit(dir, /*train=*/true, 64); // 8 batches of 8.
    writeToySplit(dir, /*train=*/false, 30); // Last eval batch padded (6 of 8).
  }
};

TEST_F(TrainerTest, TrainsAndPrintsDocumentedFormat) {
  std::string csv = dir + "/loss.csv";
  RunResult r = runTrainer(makeModel(), {"--epochs", "3", "--data-dir", dir, "--log-every=4",
                                         "--loss-csv", csv, "--seed", "5"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 4u + 3 * 3 + 1) << r.out;
  EXPECT_EQ(out[0], "model toy_softmax: batch 8, input [4x4] (16 elements), 4 classes");
  EXPECT_EQ(out[1], "arena: 272 bytes");
  EXPECT_EQ(out[2], "data: " + dir + " (64 train, 30 test samples)");
  EXPECT_EQ(out[3], "training: 3 epochs x 8 steps, lr 0.5, seed 5");
  const std::regex progress(R"(epoch 1/3 step 4/8 loss \d+\.\d{4} samples/s \d+)");
  EXPECT_TRUE(std::regex_match(out[4], progress)) << out[4];
  const std::regex done(
      R"(epoch 3/3 done: train loss \d+\.\d{4} test accuracy (\d\.\d{4}) \(\d+\.\d s\))");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(out[12], m, done)) << out[12];
  const std::regex last(R"(final test accuracy: (\d\.\d{4}))");
  std::smatch f;
  ASSERT_TRUE(std::regex_match(out[13], f, last)) << out[13];
  EXPECT_EQ(f[1], m[1]) << "final accuracy must be the last epoch's";
  EXPECT_GE(std::stod(f[1]), 0.95) << "toy problem is separable";

  std::vector<uint8_t> csvBytes = readFile(csv);
  auto csvLines = lines(std::string(csvBytes.begin(), csvBytes.end()));
  ASSERT_EQ(csvLines.size(), 7u);
  EXPECT_EQ(csvLines[0], "step,epoch,loss");
  EXPECT_TRUE(std::regex_match(csvLines[1], std::regex(R"(4,1,\d+\.\d{6})"))) << csvLines[1];
  EXPECT_TRUE(std::regex_match(csvLines[6], std::regex(R"(24,3,\d+\.\d{6})"))) << csvLines[6];
}

TEST_F(TrainerTest, SameSeedIsReproducibleDifferentSeedIsNot) {
  auto losses = [&](const char *seed) {
    std::string csv = dir + "/loss_" + seed + ".csv";
    RunResult r = runTrainer(makeModel(), {"--epochs=2", "--data-dir=" + dir, "--log-every=1",
                                           "--loss-csv=" + csv, "--seed", seed});
    EXPECT_EQ(r.status, 0) << r.err;
    return readFile(csv);
  };
  EXPECT_EQ(losses("1"), losses("1"));
  EXPECT_NE(losses("1"), losses("2"));
}

TEST_F(TrainerTest, MaxStepsLimitsEpoch) {
  RunResult r = runTrainer(makeModel(), {"--epochs=1", "--data-dir", dir, "--max-steps=3",
                                         "--log-every=1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("epoch 1/1 step 3/3 loss"));
  EXPECT_THAT(r.out, testing::Not(HasSubstr("step 4/")));
}

TEST_F(TrainerTest, EachEpochVisitsAllSamplesInANewOrder) {
  kiln_model_info model = makeModel();
  model.train_step = recordingStep;
  seenRows.clear();
  RunResult r = runTrainer(model, {"--epochs=2", "--data-dir", dir, "--log-every=0"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(seenRows.size(), 2u * 64u);
  std::vector<uint64_t> first(seenRows.begin(), seenRows.begin() + 64);
  std::vector<uint64_t> second(seenRows.begin() + 64, seenRows.end());
  EXPECT_NE(first, second) << "epochs must be shuffled differently";
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  EXPECT_EQ(first, second) << "both epochs must see the same 64 samples";
}

TEST_F(TrainerTest, EvaluationIgnoresPaddingRows) {
  // 30 test samples in batches of 8: the last batch has 2 padding rows.
  kiln_model_info model = makeModel();
  model.predict = oraclePredict;
  RunResult r = runTrainer(model, {"--epochs=0", "--data-dir", dir});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("final test accuracy: 1.0000\n"));
}

TEST_F(TrainerTest, HelpListsFlags) {
  RunResult r = runTrainer(makeModel(), {"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char *flag : {"--epochs", "--lr", "--seed", "--data-dir", "--max-steps",
                           "--log-every", "--loss-csv", "--init-from", "--partial", "--help"})
    EXPECT_THAT(r.out, HasSubstr(flag));
  EXPECT_THAT(r.out, HasSubstr("toy_softmax"));
}

TEST_F(TrainerTest, BadFlagsAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"--bogus"}, {"--epochs", "abc"}, {"--epochs", "-1"}, {"--lr", "0"},
      {"--lr", "nan"}, {"--seed", "-1"}, {"--log-every"}, {"stray"},
      {"--partial"}, {"--partial=1", "--init-from", "x"}};
  for (const auto &args : cases) {
    RunResult r = runTrainer(makeModel(), args);
    EXPECT_EQ(r.status, KILN_TRAIN_USAGE_ERROR) << args[0];
    EXPECT_THAT(r.err, HasSubstr("error:")) << args[0];
    EXPECT_EQ(r.out, "") << args[0];
  }
}

TEST_F(TrainerTest, MissingDataNamesFile) {
  RunResult r = runTrainer(makeModel(), {"--data-dir", dir + "/nowhere"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("nowhere/train-images-idx3-ubyte.gz: cannot open"));
}

TEST_F(TrainerTest, NanLossFails) {
  kiln_model_info model = makeModel();
  model.train_step = nanAfterTwoSteps;
  nanCalls = 0;
  RunResult r = runTrainer(model, {"--data-dir", dir});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("loss became NaN at epoch 1 step 3"));
  EXPECT_THAT(r.out, testing::Not(HasSubstr("final test accuracy")));
}

TEST_F(TrainerTest, ModelErrorsAndMismatchesFail) {
  kiln_model_info failing = makeModel();
  failing.train_step = failingStep;
  RunResult r = runTrainer(failing, {"--data-dir", dir});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("train_step failed with status 7"));

  kiln_model_info wide = makeModel();
  const int64_t wideShape[] = {28, 28};
  wide.input_shape = wideShape;
  wide.input_elements = 784;
  r = runTrainer(wide, {"--data-dir", dir});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("expects 784 input elements per sample"));

  kiln_model_info fewClasses = makeModel();
  fewClasses.num_classes = 2;
  r = runTrainer(fewClasses, {"--data-dir", dir});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("out of range for 2 classes"));

  testing::internal::CaptureStderr();
  EXPECT_EQ(kiln_train_main(nullptr, 0, nullptr), KILN_TRAIN_FAILED);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("null kiln_model_info"));
}

} // namespace
