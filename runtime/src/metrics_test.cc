//===- metrics_test.cc - The --metrics CSV and the progress display -------===//
//
// The test loss of each task, the CSV rows MetricsLog writes, the trainer's
// --metrics file against what it prints, and the progress bar: drawn with an
// ETA and erased again on a terminal, absent from piped output.
//
//===----------------------------------------------------------------------===//

#include "metrics.h"
#include "progress.h"
#include "toy_trainer.h"

#include <gmock/gmock.h>

#include <cmath>
#include <cstdio>
#include <regex>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;
using testing::Not;
using testing::StartsWith;

namespace {

std::string fileText(const std::string &path) {
  std::vector<uint8_t> bytes = readFile(path);
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::string> fields(const std::string &line) {
  std::vector<std::string> result;
  size_t begin = 0;
  for (size_t comma; (comma = line.find(',', begin)) != std::string::npos; begin = comma + 1)
    result.push_back(line.substr(begin, comma - begin));
  result.push_back(line.substr(begin));
  return result;
}

std::string fixed4(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%.4f", v);
  return text;
}

TEST(MetricsTest, SampleLossIsCrossEntropyMseOrBinaryCrossEntropy) {
  kiln_model_info m = makeModel(); // 4 classes.
  const float equal[] = {0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(sampleLoss(&m, equal, 2, nullptr), std::log(4.0));
  // Large logits must not overflow: log(1 + e^-1000) - 0 for the right class.
  const float confident[] = {1000, 0, 0, 0};
  EXPECT_DOUBLE_EQ(sampleLoss(&m, confident, 0, nullptr), 0.0);
  EXPECT_DOUBLE_EQ(sampleLoss(&m, confident, 1, nullptr), 1000.0);

  m.num_classes = 2;
  m.task = KILN_TASK_REGRESSION;
  const float outputs[] = {1, 2}, zeros[] = {0, 0};
  EXPECT_DOUBLE_EQ(sampleLoss(&m, outputs, 0, zeros), 2.5); // (1 + 4) / 2

  m.task = KILN_TASK_BINARY;
  const float logits[] = {0, 100}, targets[] = {1, 0};
  EXPECT_DOUBLE_EQ(sampleLoss(&m, logits, 0, targets), (std::log(2.0) + 100.0) / 2);
}

TEST(MetricsTest, RowsHaveTheDocumentedColumns) {
  MetricsLog log("unused.csv");
  log.addStep(4, 1, 0.5, 0.1f, 1234.56);
  log.addEpoch(8, 1, 0.25, 0.1f, 1000, 0.75, 0.875);
  log.addEpoch(16, 2, 0.125, 0.05f, 999.95, 0.5, std::nullopt);
  EXPECT_EQ(log.text(), "kind,step,epoch,train_loss,lr,samples_per_s,test_loss,test_accuracy\n"
                        "step,4,1,0.5,0.1,1234.6,,\n"
                        "epoch,8,1,0.25,0.1,1000.0,0.75,0.875\n"
                        "epoch,16,2,0.125,0.05,1000.0,0.5,\n");
  MetricsLog none("");
  none.addStep(1, 1, 1, 1, 1);
  EXPECT_FALSE(none.enabled());
  EXPECT_EQ(none.text(), "");
}

class MetricsFileTest : public TrainerTest {};

TEST_F(MetricsFileTest, WriteReplacesTheFileOrNamesFlagAndPath) {
  const std::string path = dir + "/m.csv";
  writeFile(path, {'o', 'l', 'd'});
  MetricsLog log(path);
  log.addStep(1, 1, 2, 0.5f, 10);
  std::string error;
  ASSERT_TRUE(log.write(error)) << error;
  EXPECT_EQ(fileText(path), log.text());

  MetricsLog lost(dir + "/gone/m.csv");
  EXPECT_FALSE(lost.write(error));
  EXPECT_THAT(error, StartsWith("--metrics " + dir + "/gone/m.csv: "));
}

TEST_F(MetricsFileTest, TrainerCsvMatchesWhatItPrints) {
  const std::string path = dir + "/metrics.csv";
  RunResult r = runTrainer(makeModel(), {"--epochs=2", "--data-dir", dir, "--log-every=2",
                                         "--lr=0.25", "--metrics", path});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << "a pipe must get plain lines, no bar";
  const std::vector<std::string> rows = lines(fileText(path));
  // 8 steps per epoch, a row every 2 steps, and one per epoch.
  ASSERT_EQ(rows.size(), 1u + 2 * (4 + 1));
  EXPECT_EQ(rows[0] + "\n", MetricsLog::kHeader);

  const std::regex stepLine(R"(epoch (\d)/2 step (\d)/8 loss (\d+\.\d{4}) samples/s \d+)");
  const std::regex doneLine(
      R"(epoch (\d)/2 done: train loss (\d+\.\d{4}) test accuracy (\d\.\d{4}) .*)");
  size_t row = 1;
  for (const std::string &line : lines(r.out)) {
    std::smatch m;
    if (std::regex_match(line, m, stepLine)) {
      ASSERT_LT(row, rows.size());
      const std::vector<std::string> f = fields(rows[row++]);
      ASSERT_EQ(f.size(), 8u) << rows[row - 1];
      EXPECT_EQ(f[0], "step");
      EXPECT_EQ(std::stoi(f[1]), (std::stoi(m[1]) - 1) * 8 + std::stoi(m[2])) << line;
      EXPECT_EQ(f[2], m[1].str());
      EXPECT_EQ(fixed4(std::stod(f[3])), m[3].str()) << "printed loss of " << line;
      EXPECT_EQ(f[4], "0.25");
      EXPECT_GT(std::stod(f[5]), 0);
      EXPECT_EQ(f[6], "");
      EXPECT_EQ(f[7], "");
    } else if (std::regex_match(line, m, doneLine)) {
      ASSERT_LT(row, rows.size());
      const std::vector<std::string> f = fields(rows[row++]);
      ASSERT_EQ(f.size(), 8u) << rows[row - 1];
      EXPECT_EQ(f[0], "epoch");
      EXPECT_EQ(std::stoi(f[1]), std::stoi(m[1]) * 8);
      EXPECT_EQ(f[2], m[1].str());
      EXPECT_EQ(fixed4(std::stod(f[3])), m[2].str()) << "train loss of " << line;
      EXPECT_EQ(f[4], "0.25");
      const double testLoss = std::stod(f[6]), accuracy = std::stod(f[7]);
      EXPECT_TRUE(std::isfinite(testLoss) && testLoss > 0) << f[6];
      EXPECT_LT(testLoss, std::log(4.0)) << "a trained model beats uniform guessing";
      EXPECT_GE(accuracy, 0.0);
      EXPECT_LE(accuracy, 1.0);
      EXPECT_EQ(fixed4(accuracy), m[3].str()) << "accuracy of " << line;
    }
  }
  EXPECT_EQ(row, rows.size()) << "every CSV row has a printed line";
}

int predictZeros(void *, const float *, float *logits) {
  std::fill(logits, logits + kBatch * kClasses, 0.0f);
  return 0;
}

TEST_F(MetricsFileTest, EpochRowHoldsTheTestLossAndAccuracyOfThePredictions) {
  // Equal logits: cross-entropy log 4 for every sample, and argmax picks
  // class 0, the label of test samples 3, 7, ..., 27 (7 of 30).
  kiln_model_info model = makeModel();
  model.predict = predictZeros;
  const std::string path = dir + "/metrics.csv";
  RunResult r = runTrainer(model, {"--epochs=1", "--data-dir", dir, "--log-every=0",
                                   "--metrics", path});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> rows = lines(fileText(path));
  ASSERT_EQ(rows.size(), 2u);
  const std::vector<std::string> f = fields(rows[1]);
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f[0], "epoch");
  EXPECT_EQ(f[1], "8");
  EXPECT_DOUBLE_EQ(std::stod(f[6]), std::log(4.0));
  EXPECT_DOUBLE_EQ(std::stod(f[7]), 7.0 / 30.0);
}

int stepsTaken = 0;
int divergingStep(void *arena, const float *x, const void *y, float lr, float *loss) {
  trainModel(arena, x, y, lr, loss);
  if (++stepsTaken == 5)
    *loss = NAN;
  return 0;
}

TEST_F(MetricsFileTest, ADivergingRunKeepsTheRowsBeforeTheError) {
  kiln_model_info model = makeModel();
  model.train_step = divergingStep;
  stepsTaken = 0;
  const std::string path = dir + "/metrics.csv";
  RunResult r = runTrainer(model, {"--epochs=1", "--data-dir", dir, "--log-every=2",
                                   "--metrics", path});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("loss became NaN at epoch 1 step 5"));
  const std::vector<std::string> rows = lines(fileText(path));
  ASSERT_EQ(rows.size(), 3u) << "the header and the rows of steps 2 and 4";
  EXPECT_THAT(rows[1], StartsWith("step,2,1,"));
  EXPECT_THAT(rows[2], StartsWith("step,4,1,"));
}

TEST_F(MetricsFileTest, BadPathFailsBeforeTraining) {
  const std::string path = dir + "/missing/metrics.csv";
  RunResult r = runTrainer(makeModel(), {"--epochs=1", "--data-dir", dir, "--metrics", path});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_EQ(r.err, "error: --metrics " + path + ": cannot write: directory " + dir +
                       "/missing: No such file or directory\n");
  EXPECT_THAT(r.out, Not(HasSubstr("step"))) << "nothing may train first";

  r = runTrainer(makeModel(), {"--epochs=1", "--data-dir", dir, "--metrics", dir + "/a.csv",
                               "--loss-csv", dir + "/a.csv"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_EQ(r.err, "error: --loss-csv and --metrics name the same file " + dir + "/a.csv\n");
}

TEST(ProgressTest, DurationsAndBar) {
  EXPECT_EQ(formatDuration(0), "0:00");
  EXPECT_EQ(formatDuration(59.4), "0:59");
  EXPECT_EQ(formatDuration(61), "1:01");
  EXPECT_EQ(formatDuration(3725), "1:02:05");
  EXPECT_EQ(formatDuration(-1), "?");
  EXPECT_EQ(formatDuration(NAN), "?");
  EXPECT_EQ(formatProgressBar(1, 5, 3, 10, 0.5, 7, 10),
            "epoch 1/5 [###.......] 3/10 loss 0.5000 ETA 0:07");
  EXPECT_EQ(formatProgressBar(2, 5, 10, 10, 0.25, 0, 4), "epoch 2/5 10/10 loss 0.2500 ETA 0:00");
}

std::string displayOutput(bool showBar) {
  std::FILE *f = std::tmpfile();
  using namespace std::chrono_literals;
  const auto t0 = ProgressDisplay::Clock::time_point{} + 1000s;
  {
    ProgressDisplay display(f, showBar, 2, 10);
    display.startEpoch(1, 1, t0);
    display.step(1, 0.9, t0 + 1s);      // Drawn: 1 s a step, 9 to go.
    display.step(2, 0.8, t0 + 1050ms);  // Within 0.1 s of the last: not drawn.
    display.logStep(1, 2, 0.85, 123.4); // Erases the bar.
    display.step(3, 0.7, t0 + 3s);      // Drawn below the line: 7 s to go.
  }                                     // Erased at the end.
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;)
    text += static_cast<char>(c);
  std::fclose(f);
  return text;
}

TEST(ProgressTest, TerminalGetsABarWithTheEpochsEtaThatLinesErase) {
  // Not a terminal: 80 columns leave room for the widest (30) bar.
  const std::string first = formatProgressBar(1, 2, 1, 10, 0.9, 9, 30);
  const std::string third = formatProgressBar(1, 2, 3, 10, 0.7, 7, 30);
  EXPECT_EQ(first, "epoch 1/2 [###...........................] 1/10 loss 0.9000 ETA 0:09");
  const std::string blank(first.size(), ' ');
  EXPECT_EQ(displayOutput(true), "\r" + first + "\r" + blank + "\r" +
                                     "epoch 1/2 step 2/10 loss 0.8500 samples/s 123\n" + "\r" +
                                     third + "\r" + blank + "\r");
}

TEST(ProgressTest, ClearErasesTheBarAndTheNextStepRedrawsIt) {
  // Before an error or a checkpoint message: they must start a line.
  std::FILE *f = std::tmpfile();
  using namespace std::chrono_literals;
  const auto t0 = ProgressDisplay::Clock::time_point{} + 1000s;
  ProgressDisplay display(f, true, 1, 4);
  display.startEpoch(1, 3, t0); // Resumed after step 2: the pace counts steps 3 on.
  display.step(3, 0.5, t0 + 2s);
  display.clear();
  display.step(4, 0.25, t0 + 2010ms); // Within 0.1 s, but the bar is gone: drawn.
  display.clear();
  display.clear(); // Nothing left to erase.
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;)
    text += static_cast<char>(c);
  std::fclose(f);
  const std::string third = formatProgressBar(1, 1, 3, 4, 0.5, 2, 30);
  const std::string fourth = formatProgressBar(1, 1, 4, 4, 0.25, 0, 30);
  EXPECT_EQ(third, "epoch 1/1 [######################........] 3/4 loss 0.5000 ETA 0:02");
  EXPECT_EQ(text, "\r" + third + "\r" + std::string(third.size(), ' ') + "\r\r" + fourth + "\r" +
                      std::string(fourth.size(), ' ') + "\r");
}

TEST(ProgressTest, PipeGetsOnlyTheLoggedLines) {
  EXPECT_EQ(displayOutput(false), "epoch 1/2 step 2/10 loss 0.8500 samples/s 123\n");
}

} // namespace
