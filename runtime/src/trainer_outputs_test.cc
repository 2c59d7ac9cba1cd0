//===- trainer_outputs_test.cc - What the trainer writes, and resuming ----===//
//
// The files kiln_train_main writes: every output path is checked before the
// first step (a symbolic link, a FIFO or a directory is refused and left as it
// was), --save-every checkpoints inside an epoch and --resume continues from
// such a checkpoint exactly, --epochs counts the checkpoint's epochs, and a
// checkpoint with non-finite weights is refused.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/checkpoint.h"
#include "toy_trainer.h"

#include <gmock/gmock.h>

#include <filesystem>
#include <map>

#include <sys/stat.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;
using testing::Not;

namespace {

/// Training steps run since the test reset it; the step fails (as a crash
/// would end a run) once it reaches crashAtStep, if that is set.
int stepsRun = 0;
int crashAtStep = -1;
int countingStep(void *arena, const float *x, const void *y, float lr, float *loss) {
  if (++stepsRun == crashAtStep)
    return 99;
  return trainModel(arena, x, y, lr, loss);
}

kiln_model_info countingModel() {
  kiln_model_info m = makeModel();
  m.train_step = countingStep;
  return m;
}

std::string fileText(const std::string &path) {
  std::vector<uint8_t> bytes = readFile(path);
  return std::string(bytes.begin(), bytes.end());
}

class TrainerOutputsTest : public TrainerTest {
protected:
  void SetUp() override {
    TrainerTest::SetUp();
    stepsRun = 0;
    crashAtStep = -1;
  }
  RunResult train(std::vector<std::string> args) {
    // Defaults first: a flag given again later wins.
    args.insert(args.begin(), {"--data-dir", dir, "--seed", "3", "--log-every", "0"});
    return runTrainer(countingModel(), args);
  }
  std::map<std::string, std::string> metadata(const std::string &path) {
    std::map<std::string, std::string> meta;
    std::string error;
    EXPECT_TRUE(readCheckpointMetadata(path, meta, error)) << error;
    return meta;
  }
};

TEST_F(TrainerOutputsTest, SymlinkOutputsAreRefusedAndLeftAlone) {
  const std::string victim = dir + "/victim", link = dir + "/link";
  writeFile(victim, {'k', 'e', 'e', 'p'});
  std::filesystem::create_symlink(victim, link);
  for (const char *flag :
       {"--save", "--loss-csv", "--metrics", "--dump-logits", "--dump-observations"}) {
    RunResult r = train({"--epochs", "1", flag, link});
    EXPECT_EQ(r.status, KILN_TRAIN_FAILED) << flag;
    EXPECT_EQ(r.err, "error: " + std::string(flag) + " " + link +
                         ": refusing to replace a symbolic link; give a regular file or a "
                         "new path\n");
    EXPECT_EQ(stepsRun, 0) << flag << ": refused only after training";
    EXPECT_TRUE(std::filesystem::is_symlink(link)) << flag;
    EXPECT_EQ(fileText(victim), "keep") << flag;
  }
}

TEST_F(TrainerOutputsTest, FifoAndDirectoryOutputsAreRefused) {
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO for writing would block until a reader appears: the
  // check must refuse it without opening it.
  RunResult r = train({"--epochs", "1", "--loss-csv", fifo});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("--loss-csv " + fifo + ": refusing to replace a FIFO"));
  r = train({"--epochs", "1", "--save", fifo});
  EXPECT_THAT(r.err, HasSubstr("--save " + fifo + ": refusing to replace a FIFO"));
  struct stat st;
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO must still be there";

  r = train({"--epochs", "1", "--dump-logits", dir});
  EXPECT_THAT(r.err, HasSubstr("--dump-logits " + dir + ": refusing to replace a directory"));
  EXPECT_EQ(stepsRun, 0);
}

TEST_F(TrainerOutputsTest, BadOutputPathFailsBeforeAnyStep) {
  const std::string path = dir + "/missing/ck.safetensors";
  RunResult r = train({"--epochs", "3", "--save", path});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_EQ(r.err, "error: --save " + path + ": cannot write: directory " + dir +
                       "/missing: No such file or directory\n");
  EXPECT_EQ(stepsRun, 0);
  EXPECT_EQ(r.out, "") << "nothing, not even the data, is loaded first";

  r = train({"--save", dir + "/a", "--loss-csv", dir + "/a"});
  EXPECT_EQ(r.err, "error: --save and --loss-csv name the same file " + dir + "/a\n");
}

TEST_F(TrainerOutputsTest, RegularFilesAndNewPathsAreWritten) {
  const std::string existing = dir + "/old.csv";
  writeFile(existing, {'x'});
  RunResult r = train({"--epochs", "1", "--loss-csv", existing, "--log-every", "4", "--save",
                       dir + "/new.safetensors"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines(fileText(existing)).size(), 3u) << "header and two logged steps";
  EXPECT_EQ(metadata(dir + "/new.safetensors")["kiln.epoch"], "1");
}

TEST_F(TrainerOutputsTest, SaveEveryResumesInsideAnEpochExactly) {
  const std::string straight = dir + "/straight.safetensors", part = dir + "/part.safetensors";
  RunResult a = train({"--epochs", "2", "--full-precision", "--save", straight});
  ASSERT_EQ(a.status, 0) << a.err;

  // 8 steps an epoch; saves at global steps 3, 6 and 9 (epoch 2 step 1), then
  // the step after the tenth fails like a crash.
  stepsRun = 0;
  crashAtStep = 11;
  RunResult b = train({"--epochs", "2", "--full-precision", "--save", part, "--save-every", "3"});
  ASSERT_EQ(b.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(b.out, HasSubstr("checkpoint: saved " + part + " (epoch 1, step 3)\n"));
  EXPECT_THAT(b.out, HasSubstr("checkpoint: saved " + part + " (epoch 1, step 6)\n"));
  EXPECT_THAT(b.out, HasSubstr("checkpoint: saved " + part + " (epoch 1)\n"));
  EXPECT_THAT(b.out, HasSubstr("checkpoint: saved " + part + " (epoch 2, step 1)\n"));
  auto meta = metadata(part);
  EXPECT_EQ(meta["kiln.epoch"], "1");
  EXPECT_EQ(meta["kiln.step_in_epoch"], "1");
  EXPECT_EQ(meta["kiln.global_step"], "9");
  EXPECT_EQ(meta.count("kiln.epoch_loss_sum"), 1u);
  EXPECT_EQ(meta.count("kiln.test_accuracy"), 0u) << "no evaluation ran inside the epoch";

  stepsRun = 0;
  crashAtStep = -1;
  RunResult c = train({"--epochs", "2", "--full-precision", "--resume", part, "--save", part});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("resuming: " + part + " after epoch 1, step 1 of epoch 2\n"));
  EXPECT_EQ(stepsRun, 7) << "the rest of epoch 2 only";
  auto doneLine = [](const std::string &out) {
    for (const std::string &line : lines(out))
      if (line.rfind("epoch 2/2 done: ", 0) == 0)
        return line.substr(0, line.rfind(" ("));
    return std::string("(no epoch 2 line)");
  };
  EXPECT_EQ(doneLine(c.out), doneLine(a.out)) << "same mean loss and accuracy";
  EXPECT_EQ(readFile(part), readFile(straight)) << "same state and metadata, byte for byte";
}

TEST_F(TrainerOutputsTest, ResumeStepBeyondAShorterEpochFails) {
  const std::string part = dir + "/part.safetensors";
  crashAtStep = 7;
  ASSERT_EQ(train({"--epochs", "1", "--save", part, "--save-every", "5"}).status,
            KILN_TRAIN_FAILED);
  RunResult r = train({"--epochs", "1", "--resume", part, "--max-steps", "4"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr(part + ": the checkpoint was saved after step 5 of epoch 1, but "
                                      "an epoch has 4 steps here"));
}

TEST_F(TrainerOutputsTest, EpochsCountsTheCheckpointsEpochs) {
  const std::string ck = dir + "/ck.safetensors";
  ASSERT_EQ(train({"--epochs", "2", "--save", ck}).status, 0);
  stepsRun = 0;
  RunResult done = train({"--epochs", "2", "--resume", ck});
  EXPECT_EQ(done.status, 0) << done.err;
  EXPECT_THAT(done.out, HasSubstr("checkpoint is at epoch 2 of --epochs 2: nothing to train; "
                                  "pass a larger --epochs"));
  EXPECT_EQ(stepsRun, 0);

  RunResult more = train({"--epochs", "3", "--resume", ck});
  ASSERT_EQ(more.status, 0) << more.err;
  EXPECT_THAT(more.out, HasSubstr("epoch 3/3 done"));
  EXPECT_THAT(more.out, Not(HasSubstr("nothing to train")));
  EXPECT_EQ(stepsRun, 8) << "one more epoch, not three";
}

TEST_F(TrainerOutputsTest, NonFiniteWeightsAreRefused) {
  std::vector<float> w(kElems * kClasses, 0.01f), b(kClasses, 0.0f);
  w[5] = NAN;
  b[2] = INFINITY;
  const std::string path = dir + "/nan.safetensors";
  std::string error;
  ASSERT_TRUE(writeSafetensors(path,
                               {{"fc.weight", KILN_F32, {kElems, kClasses}, w.data()},
                                {"fc.bias", KILN_F32, {kClasses}, b.data()}},
                               {}, error))
      << error;
  RunResult r = train({"--epochs", "1", "--init-from", path});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr(path + ": tensor 'fc.weight' holds 1 non-finite value (NaN at "
                                      "flat index 5); refusing to train from non-finite "
                                      "weights"));
  EXPECT_EQ(stepsRun, 0);

  w[5] = 0.01f;
  ASSERT_TRUE(writeSafetensors(path,
                               {{"fc.weight", KILN_F32, {kElems, kClasses}, w.data()},
                                {"fc.bias", KILN_F32, {kClasses}, b.data()}},
                               {}, error));
  r = train({"--epochs", "1", "--init-from", path});
  EXPECT_THAT(r.err, HasSubstr("tensor 'fc.bias' holds 1 non-finite value (inf at flat index 2)"));
}

} // namespace
