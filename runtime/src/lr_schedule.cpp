//===- lr_schedule.cpp - learning-rate schedules for the trainer ----------===//
//
// Closed forms of torch.optim.lr_scheduler (1.13), evaluated by the device
// runtime's C definition (runtime/device/src/lr_schedule.c), with the
// argument checks, the text form and a small parser for trainer flags. See
// lr_schedule.h.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/lr_schedule.h"
#include "file_checks.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kiln::runtime {

namespace {
std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}
} // namespace

LrSchedule LrSchedule::constant(double lr) {
  LrSchedule s;
  s.spec_ = kiln_lr_constant(lr);
  return s;
}

LrSchedule LrSchedule::step(double lr, int64_t step_size, double gamma) {
  LrSchedule s;
  s.spec_ = kiln_lr_step(lr, step_size, gamma);
  return s;
}

LrSchedule LrSchedule::multiStep(double lr, std::vector<int64_t> milestones,
                                  double gamma) {
  LrSchedule s;
  s.milestones_ = std::make_shared<const std::vector<int64_t>>(std::move(milestones));
  s.spec_ = kiln_lr_multi_step(lr, s.milestones_->data(),
                               static_cast<int32_t>(s.milestones_->size()), gamma);
  return s;
}

LrSchedule LrSchedule::exponential(double lr, double gamma) {
  LrSchedule s;
  s.spec_ = kiln_lr_exponential(lr, gamma);
  return s;
}

LrSchedule LrSchedule::cosine(double lr, int64_t t_max, double eta_min) {
  LrSchedule s;
  s.spec_ = kiln_lr_cosine(lr, t_max, eta_min);
  return s;
}

LrSchedule LrSchedule::linear(double lr, double start_factor,
                              double end_factor, int64_t total_iters) {
  LrSchedule s;
  s.spec_ = kiln_lr_linear(lr, start_factor, end_factor, total_iters);
  return s;
}

LrSchedule LrSchedule::warmup(int64_t warmup_steps, double start_factor,
                              LrSchedule after) {
  LrSchedule s;
  s.after_ = std::make_shared<const LrSchedule>(std::move(after));
  // The warm-up ramps to after(0), which an invalid `after` cannot give (a
  // zero period divides by zero): then check() reports it instead.
  std::string unused;
  const bool afterValid = s.after_->check(unused);
  s.spec_ = kiln_lr_warmup(warmup_steps, start_factor, afterValid ? &s.after_->spec_ : nullptr);
  s.spec_.after = &s.after_->spec_;
  return s;
}

bool LrSchedule::check(std::string &error) const {
  const char *problem = nullptr;
  switch (spec_.kind) {
  case KILN_LR_STEP:
    if (spec_.n <= 0)
      problem = "step: step_size must be positive";
    break;
  case KILN_LR_MULTI_STEP:
    if (!std::is_sorted(milestones_->begin(), milestones_->end()))
      problem = "multistep: milestones must be sorted";
    break;
  case KILN_LR_COSINE:
    if (spec_.n <= 0)
      problem = "cosine: t_max must be positive";
    break;
  case KILN_LR_LINEAR:
    if (spec_.n <= 0)
      problem = "linear: total_iters must be positive";
    break;
  case KILN_LR_WARMUP:
    // The schedule after the warm-up first, as the text reads.
    if (!after_->check(error))
      return false;
    if (spec_.n <= 0)
      problem = "warmup: the number of steps must be positive";
    break;
  default:
    break;
  }
  if (!problem)
    return true;
  error = problem;
  return false;
}

double LrSchedule::at(int64_t t) const { return kiln_lr_rate(&spec_, t); }

std::string LrSchedule::describe() const {
  const kiln_lr_schedule &s = spec_;
  switch (s.kind) {
  case KILN_LR_CONSTANT:
    return "constant";
  case KILN_LR_STEP:
    return "step:" + std::to_string(s.n) + ":" + number(s.a);
  case KILN_LR_MULTI_STEP: {
    std::string text = "multistep:";
    for (int32_t i = 0; i < s.num_milestones; ++i) {
      if (i)
        text += '/';
      text += std::to_string(s.milestones[i]);
    }
    return text + ":" + number(s.a);
  }
  case KILN_LR_EXPONENTIAL:
    return "exp:" + number(s.a);
  case KILN_LR_COSINE:
    return "cosine:" + std::to_string(s.n) + ":" + number(s.a);
  case KILN_LR_LINEAR:
    return "linear:" + number(s.a) + ":" + number(s.b) + ":" + std::to_string(s.n);
  case KILN_LR_WARMUP:
    return "warmup:" + std::to_string(s.n) + ":" + number(s.a) + "," + after_->describe();
  }
  return "";
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {
std::vector<std::string> split(const std::string &text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t pos; (pos = text.find(separator, start)) != std::string::npos;
       start = pos + 1)
    parts.push_back(text.substr(start, pos - start));
  parts.push_back(text.substr(start));
  return parts;
}

/// Sets \p out to \p text as a finite number, or fails naming \p what.
bool parseDouble(const std::string &text, const std::string &what, double &out,
                 std::string &error) {
  char *end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  if (!text.empty() && !*end && !errno && std::isfinite(out))
    return true;
  error = what + " '" + printableExcerpt(text) + "' is not a number";
  return false;
}

bool parseInt(const std::string &text, const std::string &what, int64_t &out,
              std::string &error) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  out = v;
  if (!text.empty() && !*end && !errno)
    return true;
  error = what + " '" + printableExcerpt(text) + "' is not an integer";
  return false;
}

/// \p parts[index] parsed into \p out if present, else \p out keeps its default.
bool optionalDouble(const std::vector<std::string> &parts, size_t index, const std::string &what,
                    double &out, std::string &error) {
  return parts.size() <= index || parseDouble(parts[index], what, out, error);
}

bool arity(const std::vector<std::string> &parts, size_t min, size_t max,
           const std::string &usage, std::string &error) {
  if (parts.size() - 1 >= min && parts.size() - 1 <= max)
    return true;
  error = "expected " + usage + ", got '" + printableExcerpt(parts[0]) +
          (parts.size() > 1 ? ":..." : "") + "' with " + std::to_string(parts.size() - 1) +
          " value(s)";
  return false;
}

/// One schedule (no warm-up) of the text form, or nullopt with \p error set.
std::optional<LrSchedule> parseMain(const std::string &text, double lr, std::string &error) {
  std::vector<std::string> p = split(text, ':');
  const std::string &name = p[0];
  int64_t n = 0;
  double a = 0, b = 0;
  if (name == "constant") {
    if (!arity(p, 0, 0, "constant", error))
      return std::nullopt;
    return LrSchedule::constant(lr);
  }
  if (name == "step") {
    double gamma = 0.1;
    if (!arity(p, 1, 2, "step:STEP_SIZE[:GAMMA]", error) ||
        !parseInt(p[1], "step size", n, error) || !optionalDouble(p, 2, "gamma", gamma, error))
      return std::nullopt;
    return LrSchedule::step(lr, n, gamma);
  }
  if (name == "multistep") {
    double gamma = 0.1;
    if (!arity(p, 1, 2, "multistep:M1/M2/...[:GAMMA]", error))
      return std::nullopt;
    std::vector<int64_t> milestones;
    for (const std::string &m : split(p[1], '/')) {
      if (!parseInt(m, "milestone", n, error))
        return std::nullopt;
      milestones.push_back(n);
    }
    if (!optionalDouble(p, 2, "gamma", gamma, error))
      return std::nullopt;
    return LrSchedule::multiStep(lr, milestones, gamma);
  }
  if (name == "exp") {
    if (!arity(p, 1, 1, "exp:GAMMA", error) || !parseDouble(p[1], "gamma", a, error))
      return std::nullopt;
    return LrSchedule::exponential(lr, a);
  }
  if (name == "cosine") {
    double etaMin = 0.0;
    if (!arity(p, 1, 2, "cosine:T_MAX[:ETA_MIN]", error) || !parseInt(p[1], "t_max", n, error) ||
        !optionalDouble(p, 2, "eta_min", etaMin, error))
      return std::nullopt;
    return LrSchedule::cosine(lr, n, etaMin);
  }
  if (name == "linear") {
    if (!arity(p, 3, 3, "linear:START_FACTOR:END_FACTOR:TOTAL_ITERS", error) ||
        !parseDouble(p[1], "start factor", a, error) ||
        !parseDouble(p[2], "end factor", b, error) || !parseInt(p[3], "total iters", n, error))
      return std::nullopt;
    return LrSchedule::linear(lr, a, b, n);
  }
  error = "unknown schedule '" + printableExcerpt(name) +
          "' (expected constant, step, multistep, exp, cosine or linear)";
  return std::nullopt;
}

/// The whole text form: an optional warm-up, then one schedule.
std::optional<LrSchedule> parseSpec(const std::string &spec, double lr, std::string &error) {
  size_t comma = spec.find(',');
  if (spec.rfind("warmup", 0) != 0) {
    if (comma == std::string::npos)
      return parseMain(spec, lr, error);
    error = "only a warmup may precede ','";
    return std::nullopt;
  }
  if (comma == std::string::npos) {
    error = "warmup needs a schedule after it: warmup:STEPS[:START_FACTOR],...";
    return std::nullopt;
  }
  std::vector<std::string> w = split(spec.substr(0, comma), ':');
  int64_t steps = 0;
  double startFactor = 1.0 / 3.0;
  if (!arity(w, 1, 2, "warmup:STEPS[:START_FACTOR]", error) ||
      !parseInt(w[1], "warmup steps", steps, error) ||
      !optionalDouble(w, 2, "start factor", startFactor, error))
    return std::nullopt;
  std::optional<LrSchedule> after = parseMain(spec.substr(comma + 1), lr, error);
  if (!after)
    return std::nullopt;
  return LrSchedule::warmup(steps, startFactor, std::move(*after));
}
} // namespace

std::optional<LrSchedule> parseLrSchedule(const std::string &spec,
                                            double lr, std::string &error) {
  std::string problem;
  std::optional<LrSchedule> schedule = parseSpec(spec, lr, problem);
  if (schedule && schedule->check(problem))
    return schedule;
  // The text may come from a checkpoint's metadata: what quotes it is
  // escaped (the messages escape the parts they quote).
  error = "invalid learning-rate schedule '" + printableExcerpt(spec) + "': " + problem;
  return std::nullopt;
}

} // namespace kiln::runtime
