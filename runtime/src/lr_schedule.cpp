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
#include <stdexcept>

namespace kiln::runtime {

namespace {
void require(bool ok, const char *message) {
  if (!ok)
    throw std::invalid_argument(message);
}

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
  require(step_size > 0, "step: step_size must be positive");
  LrSchedule s;
  s.spec_ = kiln_lr_step(lr, step_size, gamma);
  return s;
}

LrSchedule LrSchedule::multi_step(double lr, std::vector<int64_t> milestones,
                                  double gamma) {
  require(std::is_sorted(milestones.begin(), milestones.end()),
          "multistep: milestones must be sorted");
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
  require(t_max > 0, "cosine: t_max must be positive");
  LrSchedule s;
  s.spec_ = kiln_lr_cosine(lr, t_max, eta_min);
  return s;
}

LrSchedule LrSchedule::linear(double lr, double start_factor,
                              double end_factor, int64_t total_iters) {
  require(total_iters > 0, "linear: total_iters must be positive");
  LrSchedule s;
  s.spec_ = kiln_lr_linear(lr, start_factor, end_factor, total_iters);
  return s;
}

LrSchedule LrSchedule::warmup(int64_t warmup_steps, double start_factor,
                              LrSchedule after) {
  require(warmup_steps > 0, "warmup: the number of steps must be positive");
  LrSchedule s;
  s.after_ = std::make_shared<const LrSchedule>(std::move(after));
  s.spec_ = kiln_lr_warmup(warmup_steps, start_factor, &s.after_->spec_);
  return s;
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

/// Throws std::invalid_argument naming `what` unless `text` is a finite
/// number.
double parseDouble(const std::string &text, const std::string &what) {
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || errno || !std::isfinite(v))
    throw std::invalid_argument(what + " '" + printableExcerpt(text) + "' is not a number");
  return v;
}

int64_t parseInt(const std::string &text, const std::string &what) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end || errno)
    throw std::invalid_argument(what + " '" + printableExcerpt(text) + "' is not an integer");
  return v;
}

void arity(const std::vector<std::string> &parts, size_t min, size_t max,
           const std::string &usage) {
  if (parts.size() - 1 < min || parts.size() - 1 > max)
    throw std::invalid_argument("expected " + usage + ", got '" +
                                printableExcerpt(parts[0]) + (parts.size() > 1 ? ":..." : "") +
                                "' with " + std::to_string(parts.size() - 1) +
                                " value(s)");
}

LrSchedule parseMain(const std::string &text, double lr) {
  std::vector<std::string> p = split(text, ':');
  const std::string &name = p[0];
  if (name == "constant") {
    arity(p, 0, 0, "constant");
    return LrSchedule::constant(lr);
  }
  if (name == "step") {
    arity(p, 1, 2, "step:STEP_SIZE[:GAMMA]");
    return LrSchedule::step(lr, parseInt(p[1], "step size"),
                            p.size() > 2 ? parseDouble(p[2], "gamma") : 0.1);
  }
  if (name == "multistep") {
    arity(p, 1, 2, "multistep:M1/M2/...[:GAMMA]");
    std::vector<int64_t> milestones;
    for (const std::string &m : split(p[1], '/'))
      milestones.push_back(parseInt(m, "milestone"));
    return LrSchedule::multi_step(
        lr, milestones, p.size() > 2 ? parseDouble(p[2], "gamma") : 0.1);
  }
  if (name == "exp") {
    arity(p, 1, 1, "exp:GAMMA");
    return LrSchedule::exponential(lr, parseDouble(p[1], "gamma"));
  }
  if (name == "cosine") {
    arity(p, 1, 2, "cosine:T_MAX[:ETA_MIN]");
    return LrSchedule::cosine(lr, parseInt(p[1], "t_max"),
                              p.size() > 2 ? parseDouble(p[2], "eta_min")
                                           : 0.0);
  }
  if (name == "linear") {
    arity(p, 3, 3, "linear:START_FACTOR:END_FACTOR:TOTAL_ITERS");
    return LrSchedule::linear(lr, parseDouble(p[1], "start factor"),
                              parseDouble(p[2], "end factor"),
                              parseInt(p[3], "total iters"));
  }
  throw std::invalid_argument(
      "unknown schedule '" + printableExcerpt(name) +
      "' (expected constant, step, multistep, exp, cosine or linear)");
}
} // namespace

std::optional<LrSchedule> parse_lr_schedule(const std::string &spec,
                                            double lr, std::string &error) {
  try {
    size_t comma = spec.find(',');
    if (spec.rfind("warmup", 0) != 0) {
      if (comma != std::string::npos)
        throw std::invalid_argument("only a warmup may precede ','");
      return parseMain(spec, lr);
    }
    if (comma == std::string::npos)
      throw std::invalid_argument(
          "warmup needs a schedule after it: warmup:STEPS[:START_FACTOR],...");
    std::vector<std::string> w = split(spec.substr(0, comma), ':');
    arity(w, 1, 2, "warmup:STEPS[:START_FACTOR]");
    return LrSchedule::warmup(
        parseInt(w[1], "warmup steps"),
        w.size() > 2 ? parseDouble(w[2], "start factor") : 1.0 / 3.0,
        parseMain(spec.substr(comma + 1), lr));
  } catch (const std::invalid_argument &e) {
    // The text may come from a checkpoint's metadata: what quotes it is
    // escaped (the exceptions escape the parts they quote).
    error = "invalid learning-rate schedule '" + printableExcerpt(spec) + "': " + e.what();
    return std::nullopt;
  }
}

} // namespace kiln::runtime
