//===- trainer.cpp - Command-line trainer for compiled models -------------===//
//
// Implements kiln_train_main: flags -> output paths checked -> data -> arena
// (initialized, or loaded from a checkpoint) -> epochs of train_step over
// shuffled drop_last batches, each followed by predict over the padded test
// set and, with --save, a checkpoint (with --save-every also every N steps).
// Each epoch's batch order depends only on (seed, epoch), so a run resumed
// from a checkpoint of epoch k (or of step s inside epoch k+1, whose first s
// batches it draws and drops) repeats the uninterrupted run bit for bit. All
// buffers (arena, batches, logits) are allocated before the first step, so the
// steady-state loop performs no allocation and its timing reflects the model.
// TrainingRun takes those steps one member function each (parseFlags,
// loadData, planEpochs, openLossLog, prepareModel, runEpochs, finish);
// trainer_data.cpp reads the data, trainer_outputs.cpp checks and writes
// the output files.
//
// Every error is a false (or null) return with a message (errors.h), so each
// failure inside an epoch goes through failTraining, which ends the progress
// line and writes the metrics gathered so far. Only std::bad_alloc may be
// thrown below; kiln_train_main catches it: nothing crosses the C boundary.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/trainer.h"
#include "kiln/runtime/cuda_trainer.h"
#include "kiln/runtime/lr_schedule.h"
#include "kiln/runtime/threads.h"

#include "kiln/runtime/checkpoint.h"
#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/dataset.h"
#include "cuda_runner.h"
#include "file_checks.h"
#include "model_runner.h"
#include "metrics.h"
#include "numerics_check.h"
#include "progress.h"
#include "trainer_data.h"
#include "trainer_flags.h"
#include "trainer_outputs.h"
#include "trainer_state.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>

#ifndef KILN_DEFAULT_DATA_DIR
#define KILN_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#endif

using namespace kiln::runtime;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int fail(const std::string &msg) {
  fmt::print(stderr, "error: {}\n", msg);
  return KILN_TRAIN_FAILED;
}

/// Checks the fields the trainer relies on, so a malformed generated header
/// gives an error instead of a null call or an out-of-bounds copy.
bool validateModel(const kiln_model_info *m, std::string &error) {
  if (!m) {
    error = "no model (null kiln_model_info)";
    return false;
  }
  const std::string name = m->name ? m->name : "<unnamed>";
  if (!m->init || !m->train_step || !m->predict)
    error = "model " + name + ": missing init/train_step/predict function";
  else if (m->batch_size < 1 || m->num_classes < 1 || m->input_elements < 1)
    error = "model " + name + ": batch_size, num_classes and input_elements must be >= 1";
  else if (m->input_rank < 0 || (m->input_rank > 0 && !m->input_shape))
    error = "model " + name + ": invalid input_rank/input_shape";
  else if (m->task != KILN_TASK_CLASSIFICATION && m->task != KILN_TASK_REGRESSION &&
           m->task != KILN_TASK_BINARY)
    error = fmt::format("model {}: unknown task {}", name, m->task);
  if (!error.empty())
    return false;
  int64_t product = 1;
  for (int32_t i = 0; i < m->input_rank; ++i)
    product *= m->input_shape[i];
  if (m->input_rank > 0 && product != m->input_elements) {
    error = fmt::format("model {}: input_shape has {} elements but input_elements is {}", name,
                        product, m->input_elements);
    return false;
  }
  return true;
}

struct FreeDeleter {
  void operator()(void *p) const { std::free(p); }
};
struct FileCloser {
  void operator()(std::FILE *f) const { std::fclose(f); }
};

Metric metricOf(const kiln_model_info *m) {
  if (m->task == KILN_TASK_REGRESSION)
    return {"mse", "kiln.test_mse"};
  return {};
}

/// The targets a batch feeds to train_step: labels or float targets.
const void *targetsOf(const kiln_model_info *m, const Batch &batch) {
  if (m->task == KILN_TASK_CLASSIFICATION)
    return batch.y.data();
  return batch.targets.data();
}

/// The learning rate of global step \p step, or an error naming the step if
/// the schedule gives a rate the step cannot use (zero, negative, infinite,
/// or a float32 underflow).
bool rateAt(const LrSchedule &schedule, const TrainerFlags &flags, int64_t step,
            int64_t stepsPerEpoch, float &rate, std::string &error) {
  const double r = schedule.at(step);
  rate = static_cast<float>(r);
  if (std::isfinite(rate) && rate > 0)
    return true;
  error = fmt::format("--lr-schedule '{}' gives learning rate {:g} at step t={} (epoch {} step "
                      "{}); a schedule must keep the rate finite and > 0 for every step it "
                      "runs (e.g. a cosine ETA_MIN > 0, or a T_MAX of at least the run's steps)",
                      printableExcerpt(flags.lrSchedule), r, step, step / stepsPerEpoch + 1,
                      step % stepsPerEpoch + 1);
  return false;
}

/// One run of the trainer, in the order kiln_train_main takes its steps:
/// flags, data, loaders and the resume point, the arena, the epochs, then
/// what is written after them. Each step returns false when the run ends
/// early (an error, or --help) with `status` set to the exit status.
class TrainingRun {
public:
  TrainingRun(const kiln_model_info *m, const kiln_cuda_model *gpu) : m(m), gpu(gpu) {}

  int run(int argc, char **argv) {
    if (parseFlags(argc, argv) && loadData() && planEpochs() && openLossLog() &&
        prepareModel() && runEpochs() && finish())
      return KILN_TRAIN_OK;
    return status;
  }

private:
  /// Prints \p msg as the run's error; the step then returns false.
  bool fail(const std::string &msg) {
    status = ::fail(msg);
    return false;
  }

  /// An error inside an epoch gets a line of its own, not the end of the
  /// bar's, and the metrics of the steps before it (a diverging run's curve
  /// is the one worth plotting) are written out.
  bool failTraining(const std::string &msg) {
    progress->clear();
    std::string ignored; // The training error is the one to report.
    metricsLog->write(ignored);
    return fail(msg);
  }

  std::string formatMetric(double v) const {
    return flags.fullPrecision ? fmt::format("{:.17g}", v) : fmt::format("{:.4f}", v);
  }

  bool parseFlags(int argc, char **argv);
  bool loadData();
  bool planEpochs();
  bool openLossLog();
  bool prepareModel();
  bool runEpochs();
  bool runEpoch(int epoch);
  bool finish();

  const kiln_model_info *m;
  const kiln_cuda_model *gpu;
  int status = KILN_TRAIN_FAILED;
  std::string error;
  const char *prog = "kiln-train";
  const char *name = "<unnamed>";

  // parseFlags
  TrainerFlags flags;
  Progress start; // Where this process starts: nothing done, or the checkpoint's.
  float lr = 0;
  std::optional<LrSchedule> schedule;

  // loadData
  Dataset train, test;
  std::vector<float> trainTargets, testTargets;
  std::string source; // The data's files, as messages name them.

  // planEpochs
  std::unique_ptr<DataLoader> trainLoader, testLoader;
  int64_t steps = 0;      // Steps per epoch.
  int64_t globalStep = 0; // Steps done, the checkpoint's included.

  // openLossCsv, prepareModel
  std::unique_ptr<std::FILE, FileCloser> csv;
  std::unique_ptr<void, FreeDeleter> arena;
  std::unique_ptr<ModelRunner> runner;
  std::optional<NumericsCheck> numerics;

  // runEpochs, finish
  Batch batch, testBatch;
  std::vector<float> logits;
  Metric metric;
  double testLoss = 0;
  std::optional<MetricsLog> metricsLog;
  std::optional<ProgressDisplay> progress;
  bool trained = false;            // Whether this process ran an epoch.
  std::vector<std::string> issued; // Where each step whose loss is unread ran.
  std::vector<float> losses;
};

/// Flags, the device, the output paths, the resume point and the learning
/// rate and its schedule: everything checked before any data is read.
bool TrainingRun::parseFlags(int argc, char **argv) {
  if (!validateModel(m, error))
    return fail(error);
  if (argc > 0 && argv && argv[0])
    prog = argv[0];
  if (m->name)
    name = m->name;

  flags.dataDir = KILN_DEFAULT_DATA_DIR;
  if (!parseTrainerFlags(argc, argv, flags, error)) {
    fmt::print(stderr, "{}: error: {}\n", prog, error);
    status = KILN_TRAIN_USAGE_ERROR;
    return false;
  }
  if (flags.help) {
    printTrainerUsage(stdout, prog, name, m->default_lr, KILN_DEFAULT_DATA_DIR);
    status = KILN_TRAIN_OK;
    return false;
  }
  if (flags.device == "cuda" && !gpu)
    return fail(std::string(prog) + " was not built for CUDA: --device cuda needs the trainer of "
                "kiln_add_model(NAME " + name + " TARGET cuda), " + name + "-train-cuda");
  // Before the data is read: a machine without a GPU fails at once.
  if (flags.device == "cuda" && !openCudaDevice(m, gpu, error))
    return fail(error);
  if (!checkOutputs(flags, error))
    return fail(error);
  kiln_set_model_threads(flags.threads);
  if (!flags.resume.empty() && !readResumePoint(flags, start, error))
    return fail(error);
  const double baseLr = flags.lrSet ? flags.lr : m->default_lr;
  lr = static_cast<float>(baseLr);
  if (!std::isfinite(lr) || lr <= 0)
    return fail(fmt::format("learning rate {:g} ({}) is not a finite float32 number > 0; pass --lr",
                            baseLr,
                            flags.lrSet ? "from " + (flags.resume.empty() ? "--lr" : flags.resume)
                                        : std::string("the model's default")));
  schedule = LrSchedule::constant(lr);
  if (!flags.lrSchedule.empty()) {
    std::string scheduleError;
    schedule = parseLrSchedule(flags.lrSchedule, lr, scheduleError);
    if (!schedule) {
      fmt::print(stderr, "{}: error: --lr-schedule: {}\n", prog, scheduleError);
      status = KILN_TRAIN_USAGE_ERROR;
      return false;
    }
  }
  return true;
}

/// Prints the model line, then reads the training and test data and checks
/// them against the model.
bool TrainingRun::loadData() {
  const char *outputs = m->task == KILN_TASK_CLASSIFICATION ? "classes"
                        : m->task == KILN_TASK_REGRESSION   ? "outputs (regression)"
                                                            : "outputs (binary)";
  fmt::print("model {}: batch {}, input [{}] ({} elements), {} {}\n", name, m->batch_size,
             fmt::join(m->input_shape, m->input_shape + m->input_rank, "x"), m->input_elements,
             m->num_classes, outputs);
  fmt::print("arena: {} bytes\n", m->arena_bytes);

  const bool fromCsv = !flags.trainCsv.empty();
  if (!(fromCsv ? loadCsvData(m, flags, train, trainTargets, test, testTargets, error)
                : loadImageData(m, flags, train, test, error)))
    return fail(error);
  source = fromCsv ? flags.trainCsv + ", " + flags.testCsv : flags.dataDir;
  for (const Dataset *d : {&train, &test})
    if (d->sampleElements() != m->input_elements)
      return fail(fmt::format("model {} expects {} input elements per sample, {} data in {} "
                              "has {}",
                              name, m->input_elements, d == &train ? "training" : "test",
                              source, d->sampleElements()));
  // A metric over no samples would be a made-up 0 (or NaN) reported as a result.
  if (test.size == 0)
    return fail("test set is empty: " + (fromCsv ? flags.testCsv : source) +
                " has 0 samples, so there is nothing to evaluate the model on");
  if (!fromCsv && (!checkLabels(train, "training", m->num_classes, error) ||
                   !checkLabels(test, "test", m->num_classes, error)))
    return fail(error);
  return true;
}

/// The loaders, the steps per epoch and where the resume point falls in
/// them; checks every rate the run will use, then prints the plan.
bool TrainingRun::planEpochs() {
  // The next batch is gathered on a worker thread while the step runs; the
  // order and contents are exactly those of the synchronous loader.
  BatchPipeline prefetching, testPipeline;
  prefetching.prefetch = true;
  if (m->task != KILN_TASK_CLASSIFICATION) {
    prefetching.targets = &trainTargets;
    testPipeline.targets = &testTargets;
  }
  trainLoader = DataLoader::create(
      train, {m->batch_size, /*shuffle=*/true, flags.seed, /*drop_last=*/true}, prefetching,
      error);
  if (!trainLoader)
    return fail(error);
  testLoader = DataLoader::create(
      test, {m->batch_size, /*shuffle=*/false, 0, /*drop_last=*/false}, testPipeline, error);
  if (!testLoader)
    return fail(error);
  const int64_t batchesPerEpoch = trainLoader->numBatches();
  if (batchesPerEpoch == 0)
    return fail(fmt::format("training set has {} samples, fewer than one batch of {}",
                            train.size, m->batch_size));
  steps = flags.maxSteps > 0 && flags.maxSteps < batchesPerEpoch ? flags.maxSteps
                                                                 : batchesPerEpoch;
  if (start.stepInEpoch >= steps)
    return fail(fmt::format("{}: the checkpoint was saved after step {} of epoch {}, but an "
                            "epoch has {} steps here; use the data and --max-steps of the "
                            "original run",
                            flags.resume, start.stepInEpoch, start.epoch + 1, steps));
  globalStep = static_cast<int64_t>(start.epoch) * steps + start.stepInEpoch;
  if (start.globalStep >= 0 && start.globalStep != globalStep)
    fmt::print(stderr,
               "warning: {} was saved at global step {}, but epoch {} step {} is global step {} "
               "with {} steps per epoch; --max-steps or the data differ from the original run, "
               "so its schedule and batches will not continue exactly\n",
               flags.resume, start.globalStep, start.epoch + 1, start.stepInEpoch, globalStep,
               steps);
  // Every rate this run will use is checked before the first step (up to a
  // bound that keeps this instant); the loop checks the rest as it goes.
  const int64_t lastStep =
      flags.epochs > start.epoch ? static_cast<int64_t>(flags.epochs) * steps : globalStep;
  for (int64_t t = globalStep; t < lastStep && t < globalStep + 1'000'000; ++t) {
    float rate;
    if (!rateAt(*schedule, flags, t, steps, rate, error))
      return fail(error);
  }
  fmt::print("data: {} ({} train, {} test samples)\n", source, train.size, test.size);
  fmt::print("training: {} epochs x {} steps, lr {:g}, seed {}\n", flags.epochs, steps, lr,
             flags.seed);
  if (!flags.resume.empty()) {
    if (start.stepInEpoch > 0)
      fmt::print("resuming: {} after epoch {}, step {} of epoch {}\n", flags.resume, start.epoch,
                 start.stepInEpoch, start.epoch + 1);
    else
      fmt::print("resuming: {} after epoch {}\n", flags.resume, start.epoch);
    if (start.epoch >= flags.epochs)
      fmt::print("checkpoint is at epoch {} of --epochs {}: nothing to train; pass a larger "
                 "--epochs (the total, counting the checkpoint's epochs)\n",
                 start.epoch, flags.epochs);
  }
  if (!flags.initFrom.empty())
    fmt::print("parameters: {}\n", flags.initFrom);
  return true;
}

bool TrainingRun::openLossLog() {
  if (flags.lossCsv.empty())
    return true;
  csv.reset(openLossCsv(flags.lossCsv, error));
  if (!csv)
    return fail(error);
  fmt::print(csv.get(), "step,epoch,loss\n");
  return true;
}

/// The arena, initialized and then restored from --resume or --init-from,
/// and the runner that steps it on the chosen device.
bool TrainingRun::prepareModel() {
  // aligned_alloc requires a size that is a multiple of the alignment.
  if (m->arena_bytes > UINT64_MAX - 64)
    return fail(fmt::format("arena size {} is too large", m->arena_bytes));
  const uint64_t arenaBytes = (m->arena_bytes + 63) / 64 * 64;
  arena.reset(std::aligned_alloc(64, static_cast<size_t>(arenaBytes ? arenaBytes : 64)));
  if (!arena)
    return fail(fmt::format("cannot allocate arena of {} bytes", arenaBytes));
  // Zeroing makes runs reproducible even if a model reads scratch before
  // writing it.
  std::memset(arena.get(), 0, static_cast<size_t>(arenaBytes));
  if (int initStatus = m->init(arena.get(), flags.seed))
    return fail(fmt::format("model init failed with status {}", initStatus));
  if (!flags.resume.empty() &&
      (!loadState(m, arena.get(), flags.resume, /*parametersOnly=*/false, /*partial=*/false,
                  error) ||
       !checkFiniteState(m, arena.get(), flags.resume, error)))
    return fail(error);
  if (!flags.initFrom.empty() &&
      (!loadState(m, arena.get(), flags.initFrom, /*parametersOnly=*/true, flags.partial,
                  error) ||
       !checkFiniteState(m, arena.get(), flags.initFrom, error)))
    return fail(error);
  if (flags.device == "cuda")
    runner = makeCudaRunner(m, gpu, arena.get(), flags.cudaGraph, error);
  else
    runner = std::make_unique<HostRunner>(m, arena.get());
  if (!runner || !runner->upload(error))
    return fail(error);
  numerics.emplace(m, std::getenv("KILN_CHECK_NUMERICS"));
  if (numerics->requestedButMissing())
    fmt::print(stderr, "note: KILN_CHECK_NUMERICS=1, but {} was built without "
               "--check-numerics: only a NaN/Inf loss stops training, without naming the op\n",
               m->name);
  return true;
}

bool TrainingRun::runEpochs() {
  logits.resize(static_cast<size_t>(m->batch_size) * m->num_classes);
  metric = metricOf(m);
  metricsLog.emplace(flags.metrics);
  progress.emplace(stdout, ProgressDisplay::isTerminal(stdout), flags.epochs, steps);
  for (int epoch = start.epoch + 1; epoch <= flags.epochs; ++epoch)
    if (!runEpoch(epoch))
      return false;
  return true;
}

/// The steps of \p epoch (the rest of it, when resuming inside it), the test
/// metric and, with --save, the epoch's checkpoint.
bool TrainingRun::runEpoch(int epoch) {
  const auto epochStart = Clock::now();
  auto windowStart = epochStart;
  // A checkpoint saved inside this epoch: its steps are done, and their
  // batches are drawn and dropped so the rest of the order is unchanged.
  const int64_t firstStep = epoch == start.epoch + 1 ? start.stepInEpoch + 1 : 1;
  double epochLoss = firstStep > 1 ? start.epochLossSum : 0, windowLoss = 0;
  int64_t windowSteps = 0;
  float stepLr = lr;
  progress->startEpoch(epoch, firstStep, epochStart);
  if (!trainLoader->startEpoch(epoch, error))
    return failTraining(error);
  for (int64_t skipped = 1; skipped < firstStep; ++skipped)
    trainLoader->next(batch);
  for (int64_t step = firstStep; step <= steps && trainLoader->next(batch); ++step) {
    float loss = 0;
    // The schedule is a function of the global step, so a resumed run
    // continues it exactly.
    if (!rateAt(*schedule, flags, globalStep, steps, stepLr, error))
      return failTraining(error);
    const std::string where = fmt::format("at epoch {} step {} (global step {}, lr {:g})", epoch,
                                          step, globalStep + 1, stepLr);
    if (!runner->step(batch.x.data(), targetsOf(m, batch), stepLr, error))
      return failTraining(fmt::format("{} {}", error, where));
    if (std::string site = numerics->firstNonFinite(arena.get()); !site.empty())
      return failTraining(fmt::format("step {} (epoch {}): first NaN/Inf produced by {}",
                                      globalStep + 1, epoch, site));
    ++globalStep;
    issued.push_back(where);
    // A GPU's losses are read back only every few steps (each read waits
    // for the device); they are accounted here in step order.
    const bool logNow = flags.logEvery > 0 && step % flags.logEvery == 0;
    const bool saveNow = flags.saveEvery > 0 && globalStep % flags.saveEvery == 0;
    if (!runner->lossesDue() && !logNow && !saveNow && step < steps)
      continue;
    losses.clear();
    if (!runner->takeLosses(losses, error))
      return failTraining(error);
    for (size_t i = 0; i < losses.size(); ++i) {
      loss = losses[i];
      if (!std::isfinite(loss))
        return failTraining(fmt::format("loss became {} {}; training diverged",
                                        std::isnan(loss) ? "NaN" : "infinite", issued[i]));
      epochLoss += loss;
      windowLoss += loss;
      ++windowSteps;
    }
    issued.clear();
    progress->step(step, epochLoss / static_cast<double>(step), Clock::now());
    if (logNow) {
      // Loss and throughput are averaged over the steps since the last
      // line, which is smoother than a single step's value.
      double meanLoss = windowLoss / windowSteps;
      double rate = windowSteps * m->batch_size / std::max(secondsSince(windowStart), 1e-9);
      progress->logStep(epoch, step, meanLoss, rate);
      if (csv)
        fmt::print(csv.get(), "{},{},{:.6f}\n", globalStep, epoch, meanLoss);
      metricsLog->addStep(globalStep, epoch, meanLoss, stepLr, rate);
      windowLoss = 0;
      windowSteps = 0;
      windowStart = Clock::now();
    }
    // The end of the epoch saves anyway, with its test metric.
    if (flags.saveEvery > 0 && globalStep % flags.saveEvery == 0 && step < steps) {
      const Progress here{epoch - 1, step, epochLoss, globalStep};
      progress->clear(); // The checkpoint message starts a line.
      if (!runner->download(error) ||
          !saveTrainerCheckpoint(m, arena.get(), flags, lr, here, nullptr, nullptr, error))
        return failTraining(error);
    }
  }
  const double trainSeconds = secondsSince(epochStart);
  if (!evaluate(m, *runner, *testLoader, testBatch, logits, metric, testLoss, error))
    return failTraining(error);
  const double trainLoss = epochLoss / steps;
  progress->line(fmt::format("epoch {}/{} done: train loss {} test {} {} ({:.1f} s)", epoch,
                             flags.epochs, formatMetric(trainLoss), metric.name,
                             formatMetric(metric.value), secondsSince(epochStart)));
  metricsLog->addEpoch(globalStep, epoch, trainLoss, stepLr,
                       static_cast<double>((steps - firstStep + 1) * m->batch_size) /
                           std::max(trainSeconds, 1e-9),
                       testLoss,
                       m->task == KILN_TASK_REGRESSION ? std::nullopt
                                                       : std::optional<double>(metric.value));
  if (!metricsLog->write(error))
    return fail(error);
  trained = true;
  const Progress done{epoch, 0, 0, globalStep};
  if (!flags.save.empty() &&
      (!runner->download(error) ||
       !saveTrainerCheckpoint(m, arena.get(), flags, lr, done, &trainLoss, &metric, error)))
    return fail(error);
  return true;
}

/// Without a trained epoch, the test metric and checkpoint of the state as
/// loaded; then --dump-logits, --dump-observations, the loss CSV's flush and
/// the final metric line.
bool TrainingRun::finish() {
  if (!trained) {
    if (!evaluate(m, *runner, *testLoader, testBatch, logits, metric, testLoss, error))
      return fail(error);
    // Nothing trained (--epochs 0, or resumed at or past --epochs): the
    // checkpoint still records the state, e.g. one converted by --init-from.
    if (!metricsLog->write(error)) // The header alone: no step ran.
      return fail(error);
    Progress unchanged = start;
    unchanged.globalStep = globalStep;
    if (!flags.save.empty() &&
        (!runner->download(error) ||
         !saveTrainerCheckpoint(m, arena.get(), flags, lr, unchanged, nullptr, &metric, error)))
      return fail(error);
  }
  if (!flags.dumpLogits.empty() && !dumpLogits(m, *runner, *testLoader, testBatch, logits, test,
                                               testTargets, flags.dumpLogits, error))
    return fail(error);
  if (!flags.dumpObservations.empty() &&
      (!runner->download(error) ||
       !dumpObservations(m, arena.get(), flags.dumpObservations, error)))
    return fail(error);
  if (csv && std::fflush(csv.get()) != 0)
    return fail("cannot write loss CSV " + flags.lossCsv + ": " + std::strerror(errno));
  fmt::print("final test {}: {}\n", metric.name, formatMetric(metric.value));
  std::fflush(stdout);
  return true;
}

} // namespace

extern "C" int kiln_train_main(const kiln_model_info *model, int argc, char **argv) {
  return kiln_train_main_cuda(model, nullptr, argc, argv);
}

extern "C" int kiln_train_main_cuda(const kiln_model_info *model, const kiln_cuda_model *gpu,
                                    int argc, char **argv) {
  try {
    return TrainingRun(model, gpu).run(argc, argv);
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "error: out of memory (std::bad_alloc)\n");
  } catch (const std::exception &e) {
    // Plain fprintf: building a std::string here could throw again.
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  return KILN_TRAIN_FAILED;
}
