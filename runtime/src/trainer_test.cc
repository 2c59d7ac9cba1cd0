//===- trainer_test.cc - Tests for kiln_train_main ------------------------===//
//
// Drives the trainer end to end with the toy model of toy_trainer.h on a tiny
// synthetic, linearly separable dataset, and checks flags, the output format,
// determinism, and that every failure is a non-zero status with a message
// that says where (file:line, epoch and step) and with which value.
//
//===----------------------------------------------------------------------===//

#include "toy_trainer.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>

#include <sys/stat.h>

using namespace kiln::runtime::testutil;
using testing::HasSubstr;
using testing::Not;

namespace {

int nanCalls = 0;
int nanAfterTwoSteps(void *, const float *, const void *, float, float *loss) {
  *loss = ++nanCalls >= 3 ? NAN : 1.0f;
  return 0;
}

/// The learning rates train_step was given.
std::vector<float> ratesSeen;
int rateRecordingStep(void *, const float *, const void *, float lr, float *loss) {
  ratesSeen.push_back(lr);
  *loss = 1.0f;
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
                           "--log-every", "--loss-csv", "--init-from", "--partial", "--help",
                           "--save-every", "--max-csv-bytes", "--threads", "--cuda-graph"})
    EXPECT_THAT(r.out, HasSubstr(flag));
  EXPECT_THAT(r.out, HasSubstr("toy_softmax"));
}

TEST_F(TrainerTest, BadFlagsAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"--bogus"}, {"--epochs", "abc"}, {"--epochs", "-1"}, {"--lr", "0"},
      {"--lr", "nan"}, {"--seed", "-1"}, {"--log-every"}, {"stray"},
      {"--partial"}, {"--partial=1", "--init-from", "x"}, {"--save-every", "3"},
      {"--save-every", "0", "--save", "x"}, {"--max-csv-bytes", "0"},
      {"--threads", "0"}, {"--threads", "-2"}, {"--threads", "two"}, {"--threads"},
      {"--cuda-graph"}, {"--cuda-graph=1", "--device", "cuda"}};
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

TEST_F(TrainerTest, NanStopNamesWhereAndTheRateInUse) {
  kiln_model_info model = makeModel();
  model.train_step = nanAfterTwoSteps;
  nanCalls = 0;
  // step:1:0.5 halves the rate every step: the third step runs at 0.125,
  // not at the base rate 0.5.
  RunResult r = runTrainer(model, {"--data-dir", dir, "--lr-schedule", "step:1:0.5"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_EQ(r.err, "error: loss became NaN at epoch 1 step 3 (global step 3, lr 0.125); "
                   "training diverged\n");
}

TEST_F(TrainerTest, ScheduleReachingZeroFailsBeforeTraining) {
  kiln_model_info model = makeModel();
  model.train_step = rateRecordingStep;
  ratesSeen.clear();
  // cosine:4 reaches eta_min = 0 at step 4, the fifth of an 8-step epoch.
  RunResult r = runTrainer(model, {"--data-dir", dir, "--epochs", "1", "--lr-schedule",
                                   "cosine:4"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("error: --lr-schedule 'cosine:4' gives learning rate 0 at step t=4 "
                               "(epoch 1 step 5); a schedule must keep the rate finite and > 0"));
  EXPECT_TRUE(ratesSeen.empty()) << "checked before the first step";

  r = runTrainer(model, {"--data-dir", dir, "--epochs", "2", "--lr-schedule", "exp:-0.5"});
  EXPECT_THAT(r.err, HasSubstr("gives learning rate -0.25 at step t=1 (epoch 1 step 2)"));

  // Ending at a positive eta_min is fine, and every step gets its own rate.
  r = runTrainer(model, {"--data-dir", dir, "--epochs", "1", "--lr-schedule", "cosine:4:0.1"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(ratesSeen.size(), 8u);
  EXPECT_FLOAT_EQ(ratesSeen[0], 0.5f);
  EXPECT_FLOAT_EQ(ratesSeen[7], 0.1f);
}

TEST_F(TrainerTest, LearningRatesFloat32CannotHoldAreUsageErrors) {
  for (const char *lr : {"1e-50", "1e39"}) {
    RunResult r = runTrainer(makeModel(), {"--data-dir", dir, "--lr", lr});
    EXPECT_EQ(r.status, KILN_TRAIN_USAGE_ERROR);
    EXPECT_EQ(r.err, std::string("toy-train: error: invalid value '") + lr +
                         "' for --lr (expected a finite number > 0 that float32 can hold, "
                         "1.2e-38 to 3.4e+38)\n");
  }
  kiln_model_info model = makeModel();
  model.default_lr = 0;
  RunResult r = runTrainer(model, {"--data-dir", dir});
  EXPECT_EQ(r.err, "error: learning rate 0 (the model's default) is not a finite float32 "
                   "number > 0; pass --lr\n");
}

TEST_F(TrainerTest, EmptyTestSetIsAnError) {
  writeToySplit(dir, /*train=*/false, 0);
  RunResult r = runTrainer(makeModel(), {"--data-dir", dir});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_EQ(r.err, "error: test set is empty: " + dir +
                       " has 0 samples, so there is nothing to evaluate the model on\n");
  EXPECT_THAT(r.out, Not(HasSubstr("final test accuracy")));
}

/// A CSV table the toy model can train on: 16 features f0..f15 and a label.
std::string toyCsv(const std::vector<std::string> &labels) {
  std::string text;
  for (int e = 0; e < kElems; ++e)
    text += "f" + std::to_string(e) + ",";
  text += "label\n";
  for (size_t i = 0; i < labels.size(); ++i) {
    for (int e = 0; e < kElems; ++e)
      text += std::to_string((i + e) % 3) + ",";
    text += labels[i] + "\n";
  }
  return text;
}

TEST_F(TrainerTest, CsvLabelErrorsNameFileAndLine) {
  const std::string train = dir + "/train.csv", test = dir + "/test.csv";
  std::vector<std::string> labels(16, "1");
  auto write = [](const std::string &path, const std::string &text) {
    writeFile(path, std::vector<uint8_t>(text.begin(), text.end()));
  };
  write(test, toyCsv(labels));
  labels[5] = "7"; // line 7: the header is line 1
  write(train, toyCsv(labels));
  RunResult r = runTrainer(makeModel(), {"--train-csv", train, "--test-csv", test,
                                         "--label-column", "label"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_EQ(r.err, "error: " + train + ":7: column 'label': class 7 is out of range for 4 "
                                       "classes\n");

  kiln_model_info binary = makeModel();
  binary.task = KILN_TASK_BINARY;
  binary.num_classes = 1;
  labels.assign(16, "0");
  labels[2] = "0.5";
  write(train, toyCsv(labels));
  r = runTrainer(binary, {"--train-csv", train, "--test-csv", test, "--label-column", "label"});
  EXPECT_EQ(r.err, "error: " + train + ":4: column 'label': target 0.5 is not 0 or 1, which a "
                                       "binary model needs\n");
}

TEST_F(TrainerTest, CsvSizeLimitIsAFlag) {
  const std::string table = dir + "/t.csv";
  const std::string text = toyCsv(std::vector<std::string>(16, "1"));
  writeFile(table, std::vector<uint8_t>(text.begin(), text.end()));
  RunResult r = runTrainer(makeModel(), {"--train-csv", table, "--test-csv", table,
                                         "--label-column", "label", "--max-csv-bytes", "100"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_EQ(r.err, "error: " + table + ": file of " + std::to_string(text.size()) +
                       " bytes exceeds the limit of 100 bytes (CsvOptions::max_file_bytes; the "
                       "trainer's --max-csv-bytes)\n");
}

TEST_F(TrainerTest, CsvFromAFifoIsRefusedWithoutBlocking) {
  const std::string fifo = dir + "/train.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RunResult r = runTrainer(makeModel(), {"--train-csv", fifo, "--test-csv", fifo,
                                         "--label-column", "label"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr(fifo + ": cannot read: it is a FIFO, not a regular file"));
}

TEST_F(TrainerTest, BadFlagValuesAreQuotedPrintably) {
  RunResult r = runTrainer(makeModel(), {"--seed", "1\x01\x7f" + std::string(300, 'x')});
  EXPECT_EQ(r.status, KILN_TRAIN_USAGE_ERROR);
  EXPECT_EQ(r.err, "toy-train: error: invalid value '1\\x01\\x7f" + std::string(197, 'x') +
                       "... (303 bytes)' for --seed (expected an unsigned 64-bit integer)\n");
}

} // namespace
