//===- lr_schedule.h - learning-rate schedules for the trainer --*- C++ -*-===//
//
// A compiled train step takes its learning rate as a runtime input, so a
// schedule is host code: the trainer asks for the rate of step (or epoch) t
// and passes it to train_step. Each schedule is a pure function of t, as
// PyTorch's closed forms are (torch.optim.lr_scheduler, 1.13): resuming at
// step t needs no scheduler state.
//
//   StepLR(step_size, gamma)       lr * gamma^floor(t / step_size)
//   MultiStepLR(milestones, gamma) lr * gamma^(milestones <= t)
//   ExponentialLR(gamma)           lr * gamma^t
//   CosineAnnealingLR(T_max, eta_min)
//       eta_min + (lr - eta_min) (1 + cos(pi t / T_max)) / 2, held at eta_min
//       after T_max (PyTorch's closed form would rise again)
//   LinearLR(start, end, total)    lr * (start + (end - start) min(t, total) / total)
//   warm-up + any of these         SequentialLR([LinearLR(f, 1, w), after],
//                                  milestones=[w]): LinearLR for t < w, then
//                                  `after` at t - w
//
// The formulas themselves are C (kiln/device/lr_schedule.h), shared with the
// device training loop, so a device run uses the host's rates bit for bit.
//
// The same schedules parse from a flag-friendly text (parseLrSchedule),
// e.g. "cosine:10000:1e-5", "warmup:500:0.01,step:30:0.1".
//
// The factories only store their arguments; check() reports invalid ones (a
// non-positive period, unsorted milestones) as an error message, as the
// samplers' and transforms' check() do (errors.h). parseLrSchedule checks
// what it parses.
//
// Thread safety: an LrSchedule is immutable; share it freely.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LR_SCHEDULE_H
#define KILN_RUNTIME_LR_SCHEDULE_H

#include "kiln/device/lr_schedule.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::runtime {

class LrSchedule {
public:
  /// The same rate at every step.
  static LrSchedule constant(double lr);
  /// torch StepLR: multiplied by gamma every step_size steps (> 0).
  static LrSchedule step(double lr, int64_t step_size, double gamma = 0.1);
  /// torch MultiStepLR: multiplied by gamma at each milestone (sorted).
  static LrSchedule multiStep(double lr, std::vector<int64_t> milestones,
                               double gamma = 0.1);
  /// torch ExponentialLR.
  static LrSchedule exponential(double lr, double gamma);
  /// torch CosineAnnealingLR over t_max (> 0) steps, then eta_min.
  static LrSchedule cosine(double lr, int64_t t_max, double eta_min = 0.0);
  /// torch LinearLR: factor from start_factor to end_factor over
  /// total_iters (> 0) steps, then end_factor.
  static LrSchedule linear(double lr, double start_factor, double end_factor,
                           int64_t total_iters);
  /// Linear warm-up from start_factor * after(0) to after(0) over
  /// warmup_steps (> 0), then `after` started afresh (its t - warmup_steps).
  static LrSchedule warmup(int64_t warmup_steps, double start_factor,
                           LrSchedule after);

  /// Returns false, with \p error set ("cosine: t_max must be positive"),
  /// if an argument is invalid; at() may be used only after a true.
  bool check(std::string &error) const;

  /// The learning rate of step t >= 0 (negative t is read as 0).
  double at(int64_t t) const;
  double operator()(int64_t t) const { return at(t); }

  /// The schedule's text form (as parseLrSchedule reads it).
  std::string describe() const;

private:
  LrSchedule() = default;

  /// The C description the rates come from (kiln/device/lr_schedule.h, which
  /// the device training loop evaluates too). Its milestones and `after`
  /// point into the shared, immutable objects below, so copies stay valid.
  kiln_lr_schedule spec_ = kiln_lr_constant(0.0);
  std::shared_ptr<const std::vector<int64_t>> milestones_; ///< MultiStep's
  std::shared_ptr<const LrSchedule> after_;                 ///< Warmup's second schedule
};

/// Parses `spec` for a base rate `lr`: an optional warm-up, a comma, then
/// one schedule; numbers are separated by ':'.
///   constant
///   step:STEP_SIZE[:GAMMA=0.1]
///   multistep:M1/M2/...[:GAMMA=0.1]
///   exp:GAMMA
///   cosine:T_MAX[:ETA_MIN=0]
///   linear:START_FACTOR:END_FACTOR:TOTAL_ITERS
///   warmup:STEPS[:START_FACTOR=1/3],<one of the above>
/// (1/3 is torch LinearLR's default start factor.) Returns nullopt with
/// `error` set, naming the offending part, on bad input.
std::optional<LrSchedule> parseLrSchedule(const std::string &spec, double lr,
                                            std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_LR_SCHEDULE_H
