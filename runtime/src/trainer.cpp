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
//
// Exceptions may be thrown below (allocation failure, DataLoader argument
// checks) but are caught in kiln_train_main: nothing crosses the C boundary.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/trainer.h"
#include "kiln/runtime/lr_schedule.h"

#include "kiln/runtime/checkpoint.h"
#include "kiln/runtime/csv.h"
#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/dataset.h"
#include "file_checks.h"
#include "numerics_check.h"
#include "trainer_flags.h"
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
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KILN_DEFAULT_DATA_DIR
#define KILN_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#endif

using namespace kiln::runtime;

// libomp's, present when a host model compiled with parallel loops is linked
// (kiln_add_model links it); weak, so that the runtime itself needs no
// OpenMP and a serial model simply has nothing to configure.
extern "C" void omp_set_num_threads(int) __attribute__((weak));

namespace {

/// The team size of the model's parallel loops: \p threads, or every core
/// for 0 (the --threads default, which also overrides OMP_NUM_THREADS).
void setModelThreads(int64_t threads) {
  if (!omp_set_num_threads)
    return;
  // Idle threads sleep instead of spinning (unless OMP_WAIT_POLICY says
  // otherwise; libomp reads it at its first call, below). On shared cores,
  // such as ctest -j2 on two, a spinning thread holds the core its partner
  // needs: on the busy 2-core build machine a 2-thread fork/join took 1.4 ms
  // spinning and 19 us passive.
  setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0);
  if (threads == 0)
    threads = std::max<unsigned>(1, std::thread::hardware_concurrency());
  omp_set_num_threads(static_cast<int>(threads));
}

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int fail(const std::string &msg) {
  std::fprintf(stderr, "error: %s\n", msg.c_str());
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
    error = "model " + name + ": unknown task " + std::to_string(m->task);
  if (!error.empty())
    return false;
  int64_t product = 1;
  for (int32_t i = 0; i < m->input_rank; ++i)
    product *= m->input_shape[i];
  if (m->input_rank > 0 && product != m->input_elements) {
    error = "model " + name + ": input_shape has " + std::to_string(product) +
            " elements but input_elements is " + std::to_string(m->input_elements);
    return false;
  }
  return true;
}

/// Labels index the logits, so one out of range would make the model read
/// out of bounds; reject the data instead.
bool checkLabels(const Dataset &d, const char *split, int32_t numClasses, std::string &error) {
  for (int64_t i = 0; i < d.size; ++i) {
    if (d.y[i] < 0 || d.y[i] >= numClasses) {
      error = std::string(split) + " label " + std::to_string(d.y[i]) + " at index " +
              std::to_string(i) + " is out of range for " + std::to_string(numClasses) +
              " classes";
      return false;
    }
  }
  return true;
}

/// Fashion-MNIST from --data-dir: class labels only.
bool loadImageData(const kiln_model_info *m, const TrainerFlags &flags, Dataset &train,
                   Dataset &test, std::string &error) {
  if (m->task != KILN_TASK_CLASSIFICATION) {
    error = std::string("model ") + m->name + " has " +
            (m->task == KILN_TASK_REGRESSION ? "regression" : "binary") +
            " targets, which Fashion-MNIST does not provide; pass --train-csv, --test-csv "
            "and --label-column";
    return false;
  }
  return loadFashionMnist(flags.dataDir, true, train, error) &&
         loadFashionMnist(flags.dataDir, false, test, error);
}

/// The --train-csv/--test-csv tables: the label column is the class index or,
/// for regression and binary models, the (single) float target.
bool loadCsvData(const kiln_model_info *m, const TrainerFlags &flags, Dataset &train,
                 std::vector<float> &trainTargets, Dataset &test,
                 std::vector<float> &testTargets, std::string &error) {
  if (m->task != KILN_TASK_CLASSIFICATION && m->num_classes != 1) {
    error = std::string("model ") + m->name + " has " + std::to_string(m->num_classes) +
            " outputs per sample, but a CSV table gives one target (--label-column)";
    return false;
  }
  CsvOptions options;
  options.label_column = flags.labelColumn;
  options.max_file_bytes = flags.maxCsvBytes;
  options.label_kind =
      m->task == KILN_TASK_CLASSIFICATION ? CsvLabelKind::ClassIndex : CsvLabelKind::Regression;
  CsvData trainTable, testTable;
  if (!readCsv(flags.trainCsv, options, trainTable, error) ||
      !readCsv(flags.testCsv, options, testTable, error))
    return false;
  if (trainTable.feature_names != testTable.feature_names) {
    error = flags.testCsv + ": its feature columns differ from those of " + flags.trainCsv;
    return false;
  }
  // The model's targets checked where the user can fix them: file:line.
  const std::string column = "column '" + printableExcerpt(flags.labelColumn, 64) + "': ";
  for (const CsvData *t : {&trainTable, &testTable}) {
    const std::string &file = t == &trainTable ? flags.trainCsv : flags.testCsv;
    auto at = [&](size_t i) { return file + ":" + std::to_string(t->sample_lines[i]) + ": "; };
    if (m->task == KILN_TASK_BINARY) {
      for (size_t i = 0; i < t->targets.size(); ++i)
        if (t->targets[i] != 0.0f && t->targets[i] != 1.0f) {
          error = at(i) + column + "target " + formatDouble("%g", t->targets[i]) +
                  " is not 0 or 1, which a binary model needs";
          return false;
        }
    } else if (m->task == KILN_TASK_CLASSIFICATION) {
      const std::vector<int32_t> &y = t->dataset.y;
      for (size_t i = 0; i < y.size(); ++i)
        if (y[i] >= m->num_classes) {
          error = at(i) + column + "class " + std::to_string(y[i]) + " is out of range for " +
                  std::to_string(m->num_classes) + " classes";
          return false;
        }
    }
  }
  train = std::move(trainTable.dataset);
  test = std::move(testTable.dataset);
  trainTargets = std::move(trainTable.targets);
  testTargets = std::move(testTable.targets);
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

/// Computes the test metric over the valid rows of every batch. If
/// \p allLogits is given, it receives the outputs of every valid row.
bool evaluate(const kiln_model_info *m, void *arena, DataLoader &loader, Batch &batch,
              std::vector<float> &logits, Metric &metric, std::string &error,
              std::vector<float> *allLogits = nullptr) {
  const int32_t k = m->num_classes;
  double sum = 0;
  int64_t count = 0;
  loader.startEpoch(0);
  while (loader.next(batch)) {
    if (int status = m->predict(arena, batch.x.data(), logits.data())) {
      error = "predict failed with status " + std::to_string(status);
      return false;
    }
    if (allLogits)
      allLogits->insert(allLogits->end(), logits.begin(), logits.begin() + batch.valid * k);
    for (int64_t r = 0; r < batch.valid; ++r) {
      const float *row = logits.data() + r * k;
      if (m->task == KILN_TASK_CLASSIFICATION) {
        int32_t best = 0;
        for (int32_t c = 1; c < k; ++c)
          if (row[c] > row[best])
            best = c;
        sum += best == batch.y[r];
        ++count;
        continue;
      }
      const float *target = batch.targets.data() + r * k;
      for (int32_t c = 0; c < k; ++c) {
        const double d = static_cast<double>(row[c]) - target[c];
        sum += m->task == KILN_TASK_REGRESSION ? d * d : (row[c] > 0) == (target[c] > 0.5f);
      }
      count += k;
    }
  }
  metric.value = count ? sum / static_cast<double>(count) : 0.0;
  return true;
}

/// Opens the --loss-csv file for writing without following a symbolic link
/// or blocking on a FIFO someone put there after the check before training.
std::FILE *openLossCsv(const std::string &path, std::string &error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                  0666);
  if (fd < 0) {
    error = "--loss-csv " + path + ": cannot open: " + std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "--loss-csv " + path + ": cannot open: not a regular file";
    ::close(fd);
    return nullptr;
  }
  std::FILE *f = ::fdopen(fd, "w");
  if (!f) {
    error = "--loss-csv " + path + ": cannot open: " + std::strerror(errno);
    ::close(fd);
  }
  return f;
}

/// Writes the test-set logits (valid rows only) and labels for --dump-logits.
bool dumpLogits(const kiln_model_info *m, void *arena, DataLoader &loader, Batch &batch,
                std::vector<float> &logits, const Dataset &test,
                const std::vector<float> &testTargets, const std::string &path,
                std::string &error) {
  if (!checkOutputPath(path, "--dump-logits", error))
    return false;
  std::vector<float> all;
  all.reserve(static_cast<size_t>(test.size) * m->num_classes);
  Metric metric;
  if (!evaluate(m, arena, loader, batch, logits, metric, error, &all))
    return false;
  std::vector<TensorRef> tensors = {{"logits", KILN_F32, {test.size, m->num_classes}, all.data()}};
  if (m->task == KILN_TASK_CLASSIFICATION)
    tensors.push_back({"labels", KILN_I32, {test.size}, test.y.data()});
  else
    tensors.push_back({"targets", KILN_F32, {test.size, m->num_classes}, testTargets.data()});
  return writeSafetensors(path, tensors, {{"kiln.model", m->name ? m->name : ""}}, error);
}

/// Checks every file the run will write before it reads data or trains, so a
/// bad path fails at once instead of after the first epoch; two flags naming
/// the same file would have one output overwrite the other.
bool checkOutputs(const TrainerFlags &flags, std::string &error) {
  const std::pair<const char *, const std::string *> outputs[] = {
      {"--save", &flags.save},
      {"--loss-csv", &flags.lossCsv},
      {"--dump-logits", &flags.dumpLogits},
      {"--dump-observations", &flags.dumpObservations}};
  for (size_t i = 0; i < std::size(outputs); ++i) {
    const auto &[flag, path] = outputs[i];
    if (path->empty())
      continue;
    if (!checkOutputPath(*path, flag, error))
      return false;
    for (size_t j = 0; j < i; ++j)
      if (*outputs[j].second == *path) {
        error = std::string(outputs[j].first) + " and " + flag + " name the same file " + *path;
        return false;
      }
  }
  return true;
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
  error = "--lr-schedule '" + printableExcerpt(flags.lrSchedule) + "' gives learning rate " +
          formatDouble("%g", r) + " at step t=" + std::to_string(step) + " (epoch " +
          std::to_string(step / stepsPerEpoch + 1) + " step " +
          std::to_string(step % stepsPerEpoch + 1) +
          "); a schedule must keep the rate finite and > 0 for every step it runs "
          "(e.g. a cosine ETA_MIN > 0, or a T_MAX of at least the run's steps)";
  return false;
}

int trainMain(const kiln_model_info *m, int argc, char **argv) {
  std::string error;
  if (!validateModel(m, error))
    return fail(error);
  const char *prog = argc > 0 && argv && argv[0] ? argv[0] : "kiln-train";
  const char *name = m->name ? m->name : "<unnamed>";

  TrainerFlags flags;
  flags.dataDir = KILN_DEFAULT_DATA_DIR;
  if (!parseTrainerFlags(argc, argv, flags, error)) {
    std::fprintf(stderr, "%s: error: %s\n", prog, error.c_str());
    return KILN_TRAIN_USAGE_ERROR;
  }
  if (flags.help) {
    printTrainerUsage(stdout, prog, name, m->default_lr, KILN_DEFAULT_DATA_DIR);
    return KILN_TRAIN_OK;
  }
  if (!checkOutputs(flags, error))
    return fail(error);
  setModelThreads(flags.threads);
  Progress start; // Where this process starts: nothing done, or the checkpoint's.
  if (!flags.resume.empty() && !readResumePoint(flags, start, error))
    return fail(error);
  const double baseLr = flags.lrSet ? flags.lr : m->default_lr;
  const float lr = static_cast<float>(baseLr);
  if (!std::isfinite(lr) || lr <= 0)
    return fail("learning rate " + formatDouble("%g", baseLr) + " (" +
                (flags.lrSet ? "from " + (flags.resume.empty() ? "--lr" : flags.resume)
                             : std::string("the model's default")) +
                ") is not a finite float32 number > 0; pass --lr");
  std::optional<LrSchedule> schedule = LrSchedule::constant(lr);
  if (!flags.lrSchedule.empty()) {
    std::string scheduleError;
    schedule = parse_lr_schedule(flags.lrSchedule, lr, scheduleError);
    if (!schedule) {
      std::fprintf(stderr, "%s: error: --lr-schedule: %s\n", prog, scheduleError.c_str());
      return KILN_TRAIN_USAGE_ERROR;
    }
  }

  std::string shape;
  for (int32_t i = 0; i < m->input_rank; ++i) {
    if (i)
      shape += 'x';
    shape += std::to_string(m->input_shape[i]);
  }
  const char *outputs = m->task == KILN_TASK_CLASSIFICATION ? "classes"
                        : m->task == KILN_TASK_REGRESSION   ? "outputs (regression)"
                                                            : "outputs (binary)";
  std::printf("model %s: batch %d, input [%s] (%lld elements), %d %s\n", name, m->batch_size,
              shape.c_str(), static_cast<long long>(m->input_elements), m->num_classes, outputs);
  std::printf("arena: %llu bytes\n", static_cast<unsigned long long>(m->arena_bytes));

  Dataset train, test;
  std::vector<float> trainTargets, testTargets;
  const bool fromCsv = !flags.trainCsv.empty();
  if (!(fromCsv ? loadCsvData(m, flags, train, trainTargets, test, testTargets, error)
                : loadImageData(m, flags, train, test, error)))
    return fail(error);
  const std::string source = fromCsv ? flags.trainCsv + ", " + flags.testCsv : flags.dataDir;
  for (const Dataset *d : {&train, &test})
    if (d->sampleElements() != m->input_elements)
      return fail("model " + std::string(name) + " expects " +
                  std::to_string(m->input_elements) + " input elements per sample, " +
                  (d == &train ? "training" : "test") + " data in " + source + " has " +
                  std::to_string(d->sampleElements()));
  // A metric over no samples would be a made-up 0 (or NaN) reported as a result.
  if (test.size == 0)
    return fail("test set is empty: " + (fromCsv ? flags.testCsv : source) +
                " has 0 samples, so there is nothing to evaluate the model on");
  if (!fromCsv && (!checkLabels(train, "training", m->num_classes, error) ||
                   !checkLabels(test, "test", m->num_classes, error)))
    return fail(error);

  // The next batch is gathered on a worker thread while the step runs; the
  // order and contents are exactly those of the synchronous loader.
  BatchPipeline prefetching, testPipeline;
  prefetching.prefetch = true;
  if (m->task != KILN_TASK_CLASSIFICATION) {
    prefetching.targets = &trainTargets;
    testPipeline.targets = &testTargets;
  }
  DataLoader trainLoader(train, {m->batch_size, /*shuffle=*/true, flags.seed, /*drop_last=*/true},
                         prefetching);
  DataLoader testLoader(test, {m->batch_size, /*shuffle=*/false, 0, /*drop_last=*/false},
                        testPipeline);
  const int64_t batchesPerEpoch = trainLoader.numBatches();
  if (batchesPerEpoch == 0)
    return fail("training set has " + std::to_string(train.size) +
                " samples, fewer than one batch of " + std::to_string(m->batch_size));
  const int64_t steps = flags.maxSteps > 0 && flags.maxSteps < batchesPerEpoch
                            ? flags.maxSteps : batchesPerEpoch;
  if (start.stepInEpoch >= steps)
    return fail(flags.resume + ": the checkpoint was saved after step " +
                std::to_string(start.stepInEpoch) + " of epoch " +
                std::to_string(start.epoch + 1) + ", but an epoch has " +
                std::to_string(steps) +
                " steps here; use the data and --max-steps of the original run");
  int64_t globalStep = static_cast<int64_t>(start.epoch) * steps + start.stepInEpoch;
  if (start.globalStep >= 0 && start.globalStep != globalStep)
    std::fprintf(stderr,
                 "warning: %s was saved at global step %lld, but epoch %d step %lld is global "
                 "step %lld with %lld steps per epoch; --max-steps or the data differ from the "
                 "original run, so its schedule and batches will not continue exactly\n",
                 flags.resume.c_str(), static_cast<long long>(start.globalStep),
                 start.epoch + 1, static_cast<long long>(start.stepInEpoch),
                 static_cast<long long>(globalStep), static_cast<long long>(steps));
  // Every rate this run will use is checked before the first step (up to a
  // bound that keeps this instant); the loop checks the rest as it goes.
  const int64_t lastStep =
      flags.epochs > start.epoch ? static_cast<int64_t>(flags.epochs) * steps : globalStep;
  for (int64_t t = globalStep; t < lastStep && t < globalStep + 1'000'000; ++t) {
    float rate;
    if (!rateAt(*schedule, flags, t, steps, rate, error))
      return fail(error);
  }
  std::printf("data: %s (%lld train, %lld test samples)\n", source.c_str(),
              static_cast<long long>(train.size), static_cast<long long>(test.size));
  std::printf("training: %lld epochs x %lld steps, lr %g, seed %llu\n",
              static_cast<long long>(flags.epochs), static_cast<long long>(steps), lr,
              static_cast<unsigned long long>(flags.seed));
  if (!flags.resume.empty()) {
    if (start.stepInEpoch > 0)
      std::printf("resuming: %s after epoch %d, step %lld of epoch %d\n", flags.resume.c_str(),
                  start.epoch, static_cast<long long>(start.stepInEpoch), start.epoch + 1);
    else
      std::printf("resuming: %s after epoch %d\n", flags.resume.c_str(), start.epoch);
    if (start.epoch >= flags.epochs)
      std::printf("checkpoint is at epoch %d of --epochs %lld: nothing to train; pass a larger "
                  "--epochs (the total, counting the checkpoint's epochs)\n",
                  start.epoch, static_cast<long long>(flags.epochs));
  }
  if (!flags.initFrom.empty())
    std::printf("parameters: %s\n", flags.initFrom.c_str());

  std::unique_ptr<std::FILE, FileCloser> csv;
  if (!flags.lossCsv.empty()) {
    csv.reset(openLossCsv(flags.lossCsv, error));
    if (!csv)
      return fail(error);
    std::fprintf(csv.get(), "step,epoch,loss\n");
  }

  // aligned_alloc requires a size that is a multiple of the alignment.
  if (m->arena_bytes > UINT64_MAX - 64)
    return fail("arena size " + std::to_string(m->arena_bytes) + " is too large");
  const uint64_t arenaBytes = (m->arena_bytes + 63) / 64 * 64;
  std::unique_ptr<void, FreeDeleter> arena(
      std::aligned_alloc(64, static_cast<size_t>(arenaBytes ? arenaBytes : 64)));
  if (!arena)
    return fail("cannot allocate arena of " + std::to_string(arenaBytes) + " bytes");
  // Zeroing makes runs reproducible even if a model reads scratch before
  // writing it.
  std::memset(arena.get(), 0, static_cast<size_t>(arenaBytes));
  if (int status = m->init(arena.get(), flags.seed))
    return fail("model init failed with status " + std::to_string(status));
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
  const char *metricFormat = flags.fullPrecision ? "%.17g" : "%.4f";
  const NumericsCheck numerics(m, std::getenv("KILN_CHECK_NUMERICS"));
  if (numerics.requestedButMissing())
    std::fprintf(stderr, "note: KILN_CHECK_NUMERICS=1, but %s was built without "
                 "--check-numerics: only a NaN/Inf loss stops training, without "
                 "naming the op\n", m->name);

  Batch batch, testBatch;
  std::vector<float> logits(static_cast<size_t>(m->batch_size) * m->num_classes);
  Metric metric = metricOf(m);
  bool trained = false; // Whether this process ran an epoch.
  for (int epoch = start.epoch + 1; epoch <= flags.epochs; ++epoch) {
    const auto epochStart = Clock::now();
    auto windowStart = epochStart;
    // A checkpoint saved inside this epoch: its steps are done, and their
    // batches are drawn and dropped so the rest of the order is unchanged.
    const int64_t firstStep = epoch == start.epoch + 1 ? start.stepInEpoch + 1 : 1;
    double epochLoss = firstStep > 1 ? start.epochLossSum : 0, windowLoss = 0;
    int64_t windowSteps = 0;
    trainLoader.startEpoch(epoch);
    for (int64_t skipped = 1; skipped < firstStep; ++skipped)
      trainLoader.next(batch);
    for (int64_t step = firstStep; step <= steps && trainLoader.next(batch); ++step) {
      float loss = 0;
      // The schedule is a function of the global step, so a resumed run
      // continues it exactly.
      float stepLr;
      if (!rateAt(*schedule, flags, globalStep, steps, stepLr, error))
        return fail(error);
      const std::string where = "at epoch " + std::to_string(epoch) + " step " +
                                std::to_string(step) + " (global step " +
                                std::to_string(globalStep + 1) + ", lr " +
                                formatDouble("%g", stepLr) + ")";
      if (int status = m->train_step(arena.get(), batch.x.data(), targetsOf(m, batch), stepLr, &loss))
        return fail("train_step failed with status " + std::to_string(status) + " " + where);
      if (std::string site = numerics.firstNonFinite(arena.get()); !site.empty())
        return fail("step " + std::to_string(globalStep + 1) + " (epoch " +
                    std::to_string(epoch) + "): first NaN/Inf produced by " + site);
      if (!std::isfinite(loss))
        return fail("loss became " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " " +
                    where + "; training diverged");
      ++globalStep;
      epochLoss += loss;
      windowLoss += loss;
      ++windowSteps;
      if (flags.logEvery > 0 && step % flags.logEvery == 0) {
        // Loss and throughput are averaged over the steps since the last
        // line, which is smoother than a single step's value.
        double meanLoss = windowLoss / windowSteps;
        double rate = windowSteps * m->batch_size / std::max(secondsSince(windowStart), 1e-9);
        std::printf("epoch %d/%lld step %lld/%lld loss %.4f samples/s %.0f\n", epoch,
                    static_cast<long long>(flags.epochs), static_cast<long long>(step),
                    static_cast<long long>(steps), meanLoss, rate);
        std::fflush(stdout);
        if (csv)
          std::fprintf(csv.get(), "%lld,%d,%.6f\n", static_cast<long long>(globalStep), epoch,
                       meanLoss);
        windowLoss = 0;
        windowSteps = 0;
        windowStart = Clock::now();
      }
      // The end of the epoch saves anyway, with its test metric.
      if (flags.saveEvery > 0 && globalStep % flags.saveEvery == 0 && step < steps) {
        const Progress here{epoch - 1, step, epochLoss, globalStep};
        if (!saveTrainerCheckpoint(m, arena.get(), flags, lr, here, nullptr, nullptr, error))
          return fail(error);
      }
    }
    if (!evaluate(m, arena.get(), testLoader, testBatch, logits, metric, error))
      return fail(error);
    const double trainLoss = epochLoss / steps;
    std::printf("epoch %d/%lld done: train loss %s test %s %s (%.1f s)\n", epoch,
                static_cast<long long>(flags.epochs),
                formatDouble(metricFormat, trainLoss).c_str(), metric.name,
                formatDouble(metricFormat, metric.value).c_str(), secondsSince(epochStart));
    std::fflush(stdout);
    trained = true;
    const Progress done{epoch, 0, 0, globalStep};
    if (!flags.save.empty() &&
        !saveTrainerCheckpoint(m, arena.get(), flags, lr, done, &trainLoss, &metric, error))
      return fail(error);
  }
  if (!trained) {
    if (!evaluate(m, arena.get(), testLoader, testBatch, logits, metric, error))
      return fail(error);
    // Nothing trained (--epochs 0, or resumed at or past --epochs): the
    // checkpoint still records the state, e.g. one converted by --init-from.
    Progress unchanged = start;
    unchanged.globalStep = globalStep;
    if (!flags.save.empty() &&
        !saveTrainerCheckpoint(m, arena.get(), flags, lr, unchanged, nullptr, &metric, error))
      return fail(error);
  }
  if (!flags.dumpLogits.empty() && !dumpLogits(m, arena.get(), testLoader, testBatch, logits,
                                               test, testTargets, flags.dumpLogits, error))
    return fail(error);
  if (!flags.dumpObservations.empty() &&
      !dumpObservations(m, arena.get(), flags.dumpObservations, error))
    return fail(error);
  if (csv && std::fflush(csv.get()) != 0)
    return fail("cannot write loss CSV " + flags.lossCsv + ": " + std::strerror(errno));
  std::printf("final test %s: %s\n", metric.name,
              formatDouble(metricFormat, metric.value).c_str());
  std::fflush(stdout);
  return KILN_TRAIN_OK;
}

} // namespace

extern "C" int kiln_train_main(const kiln_model_info *model, int argc, char **argv) {
  try {
    return trainMain(model, argc, argv);
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
