//===- trainer.cpp - Command-line trainer for compiled models -------------===//
//
// Implements kiln_train_main: flags -> data -> arena (initialized, or loaded
// from a checkpoint) -> epochs of train_step over shuffled drop_last batches,
// each followed by predict over the padded test set and, with --save, a
// checkpoint. Each epoch's batch order depends only on (seed, epoch), so a run
// resumed from the checkpoint of epoch k repeats the uninterrupted run's
// epochs k+1.. bit for bit. All
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
#include "numerics_check.h"
#include "trainer_flags.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

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
  if (m->task == KILN_TASK_BINARY)
    for (const CsvData *t : {&trainTable, &testTable})
      for (size_t i = 0; i < t->targets.size(); ++i)
        if (t->targets[i] != 0.0f && t->targets[i] != 1.0f) {
          error = (t == &trainTable ? flags.trainCsv : flags.testCsv) + ": column '" +
                  flags.labelColumn + "' of sample " + std::to_string(i) + " is " +
                  std::to_string(t->targets[i]) + "; a binary model needs 0 or 1";
          return false;
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

/// The test metric of a model's task: accuracy (classification: argmax
/// equals the label; binary: output > 0 equals target > 0.5, per output) or,
/// for regression, the mean squared error over all outputs.
struct Metric {
  const char *name = "accuracy";
  const char *metadataKey = "kiln.test_accuracy";
  double value = 0;
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

/// Where --resume continues: the checkpoint's epoch counter, and its seed,
/// learning rate and schedule where the command line gives none.
bool readResumePoint(TrainerFlags &flags, int &epoch, std::string &error) {
  std::map<std::string, std::string> meta;
  if (!readCheckpointMetadata(flags.resume, meta, error))
    return false;
  auto bad = [&](const std::string &what) {
    error = flags.resume + ": " + what;
    return false;
  };
  auto it = meta.find("kiln.epoch");
  if (it == meta.end())
    return bad("no \"kiln.epoch\" in its metadata, so there is no epoch to resume from "
               "(use --init-from to load only the parameters)");
  char *end = nullptr;
  errno = 0;
  long long e = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end || errno || e < 0 || e > INT32_MAX)
    return bad("invalid \"kiln.epoch\" '" + it->second + "'");
  epoch = static_cast<int>(e);
  if (auto seed = meta.find("kiln.seed"); seed != meta.end()) {
    errno = 0;
    unsigned long long v = std::strtoull(seed->second.c_str(), &end, 10);
    if (seed->second.empty() || seed->second[0] == '-' || *end || errno)
      return bad("invalid \"kiln.seed\" '" + seed->second + "'");
    if (!flags.seedSet)
      flags.seed = v;
    else if (v != flags.seed)
      std::fprintf(stderr,
                   "warning: --seed %llu differs from the checkpoint's seed %llu; the batch "
                   "order will not continue the original run\n",
                   static_cast<unsigned long long>(flags.seed), v);
  }
  if (auto lr = meta.find("kiln.lr"); lr != meta.end() && !flags.lrSet) {
    errno = 0;
    double v = std::strtod(lr->second.c_str(), &end);
    if (lr->second.empty() || *end || errno || !std::isfinite(v) || v <= 0)
      return bad("invalid \"kiln.lr\" '" + lr->second + "'");
    flags.lr = v;
    flags.lrSet = true;
  }
  // The schedule is a function of the global step, so the same text
  // continues the original run's rates.
  if (auto s = meta.find("kiln.lr_schedule"); s != meta.end()) {
    if (flags.lrSchedule.empty())
      flags.lrSchedule = s->second;
    else if (flags.lrSchedule != s->second)
      std::fprintf(stderr,
                   "warning: --lr-schedule %s differs from the checkpoint's schedule %s; the "
                   "rates will not continue the original run\n",
                   flags.lrSchedule.c_str(), s->second.c_str());
  }
  return true;
}

/// loadCheckpoint, adding which model wrote the file if it is another one
/// (the usual cause of a missing tensor or a shape mismatch).
bool loadState(const kiln_model_info *m, void *arena, const std::string &path,
               bool parametersOnly, bool partial, std::string &error) {
  LoadOptions options;
  options.parametersOnly = parametersOnly;
  options.allowMissingTensors = options.allowUnknownTensors = partial;
  LoadResult result;
  if (loadCheckpoint(*m, arena, path, options, &result, error)) {
    // What strict=False skipped is worth seeing: a typo in a module name
    // would otherwise silently leave a layer at its initialization.
    auto list = [](const std::vector<std::string> &names) {
      std::string text;
      for (const std::string &n : names)
        text += (text.empty() ? "" : ", ") + n;
      return text.empty() ? std::string("none") : text;
    };
    if (partial)
      std::printf("partial load: kept initialization of %s; ignored %s\n",
                  list(result.missing).c_str(), list(result.unexpected).c_str());
    return true;
  }
  std::map<std::string, std::string> meta;
  std::string ignored;
  if (readCheckpointMetadata(path, meta, ignored) && meta.count("kiln.model") &&
      meta["kiln.model"] != (m->name ? m->name : ""))
    error += " (the file was saved by model '" + meta["kiln.model"] + "')";
  return false;
}

std::string formatDouble(const char *format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

/// Saves the arena with what --resume needs (epoch, seed, lr, schedule) and what a
/// reader may want to see (model, last train loss, test accuracy).
bool saveTrainerCheckpoint(const kiln_model_info *m, const void *arena, const TrainerFlags &flags,
                           float lr, int epoch, const double *trainLoss, const Metric &metric,
                           std::string &error) {
  std::map<std::string, std::string> meta = {
      {"format", "pt"},
      {"kiln.model", m->name ? m->name : ""},
      {"kiln.epoch", std::to_string(epoch)},
      {"kiln.seed", std::to_string(flags.seed)},
      {"kiln.lr", formatDouble("%.9g", lr)},
      {metric.metadataKey, formatDouble("%.17g", metric.value)},
  };
  if (!flags.lrSchedule.empty())
    meta["kiln.lr_schedule"] = flags.lrSchedule;
  if (trainLoss)
    meta["kiln.train_loss"] = formatDouble("%.17g", *trainLoss);
  if (!saveCheckpoint(*m, arena, flags.save, meta, error))
    return false;
  std::printf("checkpoint: saved %s (epoch %d)\n", flags.save.c_str(), epoch);
  std::fflush(stdout);
  return true;
}

/// Writes the test-set logits (valid rows only) and labels for --dump-logits.
bool dumpLogits(const kiln_model_info *m, void *arena, DataLoader &loader, Batch &batch,
                std::vector<float> &logits, const Dataset &test,
                const std::vector<float> &testTargets, const std::string &path,
                std::string &error) {
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

/// Writes the observation entries of the state table (the model's observe()
/// calls, as the last training step left them) for --dump-observations.
bool dumpObservations(const kiln_model_info *m, const void *arena, const std::string &path,
                      std::string &error) {
  std::vector<TensorRef> tensors;
  for (int32_t i = 0; i < m->num_state; ++i) {
    const kiln_state_entry &e = m->state[i];
    if (!(e.flags & KILN_STATE_OBSERVATION))
      continue;
    uint64_t bytes = static_cast<uint64_t>(dtypeSize(e.dtype));
    for (int32_t d = 0; d < e.rank && e.shape; ++d)
      bytes *= static_cast<uint64_t>(e.shape[d]);
    if (!e.name || bytes == 0 || e.rank < 0 || (e.rank > 0 && !e.shape) ||
        e.offset > m->arena_bytes || bytes > m->arena_bytes - e.offset) {
      error = "--dump-observations: state entry " + std::to_string(i) +
              " is malformed or lies outside the arena";
      return false;
    }
    tensors.push_back({e.name, e.dtype, std::vector<int64_t>(e.shape, e.shape + e.rank),
                       static_cast<const char *>(arena) + e.offset});
  }
  if (tensors.empty()) {
    error = "--dump-observations: model " + std::string(m->name ? m->name : "<unnamed>") +
            " observes nothing (see observe() in kiln/dsl/hooks.h)";
    return false;
  }
  return writeSafetensors(path, tensors, {{"kiln.model", m->name ? m->name : ""}}, error);
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
  int startEpoch = 0; // Epochs completed before this process started.
  if (!flags.resume.empty() && !readResumePoint(flags, startEpoch, error))
    return fail(error);
  const float lr = static_cast<float>(flags.lrSet ? flags.lr : m->default_lr);
  if (!std::isfinite(lr) || lr <= 0)
    return fail("learning rate must be a finite number > 0 (got " + std::to_string(lr) +
                "); pass --lr");
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
  if (m->task == KILN_TASK_CLASSIFICATION &&
      (!checkLabels(train, "training", m->num_classes, error) ||
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
  std::printf("data: %s (%lld train, %lld test samples)\n", source.c_str(),
              static_cast<long long>(train.size), static_cast<long long>(test.size));
  std::printf("training: %lld epochs x %lld steps, lr %g, seed %llu\n",
              static_cast<long long>(flags.epochs), static_cast<long long>(steps), lr,
              static_cast<unsigned long long>(flags.seed));
  if (!flags.resume.empty())
    std::printf("resuming: %s after epoch %d\n", flags.resume.c_str(), startEpoch);
  if (!flags.initFrom.empty())
    std::printf("parameters: %s\n", flags.initFrom.c_str());

  std::unique_ptr<std::FILE, FileCloser> csv;
  if (!flags.lossCsv.empty()) {
    csv.reset(std::fopen(flags.lossCsv.c_str(), "w"));
    if (!csv)
      return fail("cannot open loss CSV " + flags.lossCsv + ": " + std::strerror(errno));
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
      !loadState(m, arena.get(), flags.resume, /*parametersOnly=*/false, /*partial=*/false, error))
    return fail(error);
  if (!flags.initFrom.empty() &&
      !loadState(m, arena.get(), flags.initFrom, /*parametersOnly=*/true, flags.partial, error))
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
  int64_t globalStep = static_cast<int64_t>(startEpoch) * steps;
  bool trained = false; // Whether this process ran an epoch.
  for (int epoch = startEpoch + 1; epoch <= flags.epochs; ++epoch) {
    const auto epochStart = Clock::now();
    auto windowStart = epochStart;
    double epochLoss = 0, windowLoss = 0;
    int64_t windowSteps = 0;
    trainLoader.startEpoch(epoch);
    for (int64_t step = 1; step <= steps && trainLoader.next(batch); ++step) {
      float loss = 0;
      // The schedule is a function of the global step, so a resumed run
      // continues it exactly.
      const float stepLr = static_cast<float>(schedule->at(globalStep));
      if (int status = m->train_step(arena.get(), batch.x.data(), targetsOf(m, batch), stepLr, &loss))
        return fail("train_step failed with status " + std::to_string(status) + " at epoch " +
                    std::to_string(epoch) + " step " + std::to_string(step));
      if (std::string site = numerics.firstNonFinite(arena.get()); !site.empty())
        return fail("step " + std::to_string(globalStep + 1) + " (epoch " +
                    std::to_string(epoch) + "): first NaN/Inf produced by " + site);
      if (!std::isfinite(loss))
        return fail("loss became " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                    " at epoch " + std::to_string(epoch) + " step " + std::to_string(step) +
                    " (lr " + std::to_string(lr) + "); training diverged");
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
    if (!flags.save.empty() && !saveTrainerCheckpoint(m, arena.get(), flags, lr, epoch,
                                                      &trainLoss, metric, error))
      return fail(error);
  }
  if (!trained) {
    if (!evaluate(m, arena.get(), testLoader, testBatch, logits, metric, error))
      return fail(error);
    // Nothing trained (--epochs 0, or resumed at or past --epochs): the
    // checkpoint still records the state, e.g. one converted by --init-from.
    if (!flags.save.empty() &&
        !saveTrainerCheckpoint(m, arena.get(), flags, lr, startEpoch, nullptr,
                               metric, error))
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
  } catch (const std::exception &e) {
    // Plain fprintf: building a std::string here could throw again.
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  return KILN_TRAIN_FAILED;
}
