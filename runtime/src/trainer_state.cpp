//===- trainer_state.cpp - The trainer's checkpoints ----------------------===//
//
// Progress in checkpoint metadata, loading with a finiteness check, saving,
// and the observation dump for kiln_train_main (trainer_state.h).
//
//===----------------------------------------------------------------------===//

#include "trainer_state.h"

#include "file_checks.h"
#include "kiln/runtime/checkpoint.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>

namespace kiln::runtime {

namespace {

/// Reads the non-negative integer metadata entry \p key into \p out (left
/// as it is if the entry is missing).
bool readCount(const std::map<std::string, std::string> &meta, const char *key, int64_t max,
               int64_t &out, std::string &error) {
  auto it = meta.find(key);
  if (it == meta.end())
    return true;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end || errno || v < 0 || v > max) {
    error = std::string("invalid \"") + key + "\" '" + printableExcerpt(it->second) + "'";
    return false;
  }
  out = v;
  return true;
}

} // namespace

/// Where --resume continues: the checkpoint's progress, and its seed,
/// learning rate and schedule where the command line gives none.
bool readResumePoint(TrainerFlags &flags, Progress &progress, std::string &error) {
  std::map<std::string, std::string> meta;
  if (!readCheckpointMetadata(flags.resume, meta, error))
    return false;
  auto bad = [&](const std::string &what) {
    error = flags.resume + ": " + what;
    return false;
  };
  if (!meta.count("kiln.epoch"))
    return bad("no \"kiln.epoch\" in its metadata, so there is no epoch to resume from "
               "(use --init-from to load only the parameters)");
  int64_t epoch = 0;
  std::string what;
  if (!readCount(meta, "kiln.epoch", INT32_MAX, epoch, what) ||
      !readCount(meta, "kiln.step_in_epoch", INT64_MAX, progress.stepInEpoch, what) ||
      !readCount(meta, "kiln.global_step", INT64_MAX, progress.globalStep, what))
    return bad(what);
  progress.epoch = static_cast<int>(epoch);
  char *end = nullptr;
  if (auto sum = meta.find("kiln.epoch_loss_sum"); sum != meta.end()) {
    errno = 0;
    progress.epochLossSum = std::strtod(sum->second.c_str(), &end);
    if (sum->second.empty() || *end || errno || !std::isfinite(progress.epochLossSum))
      return bad("invalid \"kiln.epoch_loss_sum\" '" + printableExcerpt(sum->second) + "'");
  }
  if (auto seed = meta.find("kiln.seed"); seed != meta.end()) {
    errno = 0;
    unsigned long long v = std::strtoull(seed->second.c_str(), &end, 10);
    if (seed->second.empty() || seed->second[0] == '-' || *end || errno)
      return bad("invalid \"kiln.seed\" '" + printableExcerpt(seed->second) + "'");
    if (!flags.seedSet)
      flags.seed = v;
    else if (v != flags.seed)
      fmt::print(stderr,
                 "warning: --seed {} differs from the checkpoint's seed {}; the batch order "
                 "will not continue the original run\n",
                 flags.seed, v);
  }
  if (auto lr = meta.find("kiln.lr"); lr != meta.end() && !flags.lrSet) {
    errno = 0;
    double v = std::strtod(lr->second.c_str(), &end);
    if (lr->second.empty() || *end || errno || !std::isfinite(v) || v <= 0)
      return bad("invalid \"kiln.lr\" '" + printableExcerpt(lr->second) + "'");
    flags.lr = v;
    flags.lrSet = true;
  }
  // The schedule is a function of the global step, so the same text
  // continues the original run's rates.
  if (auto s = meta.find("kiln.lr_schedule"); s != meta.end()) {
    if (flags.lrSchedule.empty())
      flags.lrSchedule = s->second;
    else if (flags.lrSchedule != s->second)
      fmt::print(stderr,
                 "warning: --lr-schedule {} differs from the checkpoint's schedule {}; the "
                 "rates will not continue the original run\n",
                 printableExcerpt(flags.lrSchedule), printableExcerpt(s->second));
  }
  return true;
}

/// loadCheckpoint, adding which model wrote the file if it is another one
/// (the usual cause of a missing tensor or a shape mismatch).
bool loadState(const kiln_model_info *m, void *arena, const std::string &path,
               bool parametersOnly, bool partial, std::string &error) {
  LoadOptions options;
  options.parameters_only = parametersOnly;
  options.allow_missing_tensors = options.allow_unknown_tensors = partial;
  LoadResult result;
  if (loadCheckpoint(*m, arena, path, options, &result, error)) {
    // What strict=False skipped is worth seeing: a typo in a module name
    // would otherwise silently leave a layer at its initialization.
    auto list = [](const std::vector<std::string> &names) {
      return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
    };
    if (partial)
      fmt::print("partial load: kept initialization of {}; ignored {}\n", list(result.missing),
                 list(result.unexpected));
    return true;
  }
  std::map<std::string, std::string> meta;
  std::string ignored;
  if (readCheckpointMetadata(path, meta, ignored) && meta.count("kiln.model") &&
      meta["kiln.model"] != (m->name ? m->name : ""))
    error += " (the file was saved by model '" + meta["kiln.model"] + "')";
  return false;
}

/// Saves the arena with what --resume needs (progress, seed, lr, schedule) and
/// what a reader may want to see (model, last train loss, test accuracy; a
/// checkpoint inside an epoch has no test metric, as no evaluation ran).
bool saveTrainerCheckpoint(const kiln_model_info *m, const void *arena, const TrainerFlags &flags,
                           float lr, const Progress &progress, const double *trainLoss,
                           const Metric *metric, std::string &error) {
  // The path was checked before training; check again, as something else
  // may have put a link or a FIFO there since.
  if (!checkOutputPath(flags.save, "--save", error))
    return false;
  std::map<std::string, std::string> meta = {
      {"format", "pt"},
      {"kiln.model", m->name ? m->name : ""},
      {"kiln.epoch", std::to_string(progress.epoch)},
      {"kiln.global_step", std::to_string(progress.globalStep)},
      {"kiln.seed", std::to_string(flags.seed)},
      {"kiln.lr", fmt::format("{:.9g}", lr)},
  };
  if (progress.stepInEpoch > 0) {
    meta["kiln.step_in_epoch"] = std::to_string(progress.stepInEpoch);
    meta["kiln.epoch_loss_sum"] = fmt::format("{:.17g}", progress.epochLossSum);
  }
  if (metric)
    meta[metric->metadataKey] = fmt::format("{:.17g}", metric->value);
  if (!flags.lrSchedule.empty())
    meta["kiln.lr_schedule"] = flags.lrSchedule;
  if (trainLoss)
    meta["kiln.train_loss"] = fmt::format("{:.17g}", *trainLoss);
  if (!saveCheckpoint(*m, arena, flags.save, meta, error))
    return false;
  if (progress.stepInEpoch > 0)
    fmt::print("checkpoint: saved {} (epoch {}, step {})\n", flags.save, progress.epoch + 1,
               progress.stepInEpoch);
  else
    fmt::print("checkpoint: saved {} (epoch {})\n", flags.save, progress.epoch);
  std::fflush(stdout);
  return true;
}

/// Refuses a state whose floating-point tensors hold NaN or infinity, naming
/// the first such tensor: training from it would only produce NaN losses
/// (or, for an optimizer buffer, NaN parameters a few steps later).
bool checkFiniteState(const kiln_model_info *m, const void *arena, const std::string &path,
                      std::string &error) {
  for (int32_t i = 0; i < m->num_state; ++i) {
    const kiln_state_entry &e = m->state[i];
    if ((e.flags & KILN_STATE_OBSERVATION) || (e.dtype != KILN_F32 && e.dtype != KILN_F64) ||
        e.rank < 0 || (e.rank > 0 && !e.shape))
      continue;
    uint64_t count = 1;
    for (int32_t d = 0; d < e.rank; ++d)
      count *= static_cast<uint64_t>(std::max<int64_t>(e.shape[d], 0));
    const uint64_t size = static_cast<uint64_t>(dtypeSize(e.dtype));
    if (e.offset > m->arena_bytes || count > (m->arena_bytes - e.offset) / size)
      continue; // loadCheckpoint has rejected such a table already.
    const char *base = static_cast<const char *>(arena) + e.offset;
    uint64_t bad = 0, first = 0;
    double firstValue = 0;
    for (uint64_t k = 0; k < count; ++k) {
      double v;
      if (e.dtype == KILN_F32) {
        float f;
        std::memcpy(&f, base + 4 * k, 4);
        v = f;
      } else {
        std::memcpy(&v, base + 8 * k, 8);
      }
      if (!std::isfinite(v) && bad++ == 0) {
        first = k;
        firstValue = v;
      }
    }
    if (bad) {
      error = fmt::format("{}: tensor '{}' holds {} non-finite value{} ({} at flat index {}); "
                          "refusing to train from non-finite weights",
                          path, printableExcerpt(e.name ? e.name : ""), bad,
                          bad == 1 ? "" : "s",
                          std::isnan(firstValue) ? "NaN" : firstValue > 0 ? "inf" : "-inf",
                          first);
      return false;
    }
  }
  return true;
}

/// Writes the observation entries of the state table (the model's observe()
/// calls, as the last training step left them) for --dump-observations.
bool dumpObservations(const kiln_model_info *m, const void *arena, const std::string &path,
                      std::string &error) {
  if (!checkOutputPath(path, "--dump-observations", error))
    return false;
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
      error = fmt::format("--dump-observations: state entry {} is malformed or lies outside "
                          "the arena",
                          i);
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

} // namespace kiln::runtime
