/*===- lr_schedule.h - Learning-rate schedules shared by host and device -*- C -*-===//
 *
 * The one definition of kiln's learning-rate schedules: closed forms of
 * torch.optim.lr_scheduler (1.13), each a pure function of the global step t,
 * so resuming at step t needs no scheduler state. The host's LrSchedule
 * (runtime/src/lr_schedule.cpp: factories, checks, text form) evaluates its
 * rates with kiln_lr_rate, and so does the device training loop (train.h).
 *
 *   CONSTANT      lr
 *   STEP          lr * a^floor(t / n)                      (StepLR, a = gamma)
 *   MULTI_STEP    lr * a^(number of milestones <= t)       (MultiStepLR)
 *   EXPONENTIAL   lr * a^t                                 (ExponentialLR)
 *   COSINE        a + (lr - a) (1 + cos(pi t / n)) / 2, then a  (CosineAnnealingLR,
 *                 a = eta_min, held after n = T_max)
 *   LINEAR        lr * (a + (b - a) min(t, n) / n)         (LinearLR, a/b = start/end)
 *   WARMUP        lr * (a + (1 - a) t / n) for t < n, then `after` at t - n
 *                 (SequentialLR([LinearLR(a, 1, n), after], [n]); lr = after's rate at 0)
 *
 * Rates are computed in double with the C library's pow and cos, as the host
 * always did; the library is compiled with -ffp-contract=off so no target
 * fuses the multiply-adds differently.
 *
 * A schedule is a plain struct (no allocation): fill it with the kiln_lr_*
 * initializers. Milestones and `after` are borrowed pointers that must outlive
 * the schedule. Thread safety: kiln_lr_rate is reentrant.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_DEVICE_LR_SCHEDULE_H
#define KILN_DEVICE_LR_SCHEDULE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  KILN_LR_CONSTANT = 0,
  KILN_LR_STEP = 1,
  KILN_LR_MULTI_STEP = 2,
  KILN_LR_EXPONENTIAL = 3,
  KILN_LR_COSINE = 4,
  KILN_LR_LINEAR = 5,
  KILN_LR_WARMUP = 6
};

typedef struct kiln_lr_schedule {
  int32_t kind;       /**< KILN_LR_* */
  double lr;          /**< base rate; WARMUP: the rate warmed up to */
  double a, b;        /**< gamma | eta_min | start and end factors | warm-up start factor */
  int64_t n;          /**< step_size | T_max | total_iters | warm-up steps */
  const int64_t *milestones; /**< MULTI_STEP: sorted, borrowed */
  int32_t num_milestones;
  const struct kiln_lr_schedule *after; /**< WARMUP: the schedule that follows, borrowed */
} kiln_lr_schedule;

kiln_lr_schedule kiln_lr_constant(double lr);
kiln_lr_schedule kiln_lr_step(double lr, int64_t step_size, double gamma);
kiln_lr_schedule kiln_lr_multi_step(double lr, const int64_t *milestones,
                                    int32_t num_milestones, double gamma);
kiln_lr_schedule kiln_lr_exponential(double lr, double gamma);
kiln_lr_schedule kiln_lr_cosine(double lr, int64_t t_max, double eta_min);
kiln_lr_schedule kiln_lr_linear(double lr, double start_factor, double end_factor,
                                int64_t total_iters);
/** Warm-up over \p warmup_steps to after's rate at step 0, then \p after. */
kiln_lr_schedule kiln_lr_warmup(int64_t warmup_steps, double start_factor,
                                const kiln_lr_schedule *after);

/** KILN_DEVICE_OK, or KILN_DEVICE_INVALID_ARGUMENT for an unknown kind, a
 *  non-positive period (n), unsorted or missing milestones, or a warm-up
 *  without a valid `after` (checked recursively). */
int kiln_lr_schedule_check(const kiln_lr_schedule *schedule);

/** The learning rate of step \p t (negative t is read as 0). The schedule
 *  must pass kiln_lr_schedule_check. */
double kiln_lr_rate(const kiln_lr_schedule *schedule, int64_t t);

#ifdef __cplusplus
}
#endif

#endif /* KILN_DEVICE_LR_SCHEDULE_H */
