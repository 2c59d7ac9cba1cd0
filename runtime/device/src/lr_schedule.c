/*===- lr_schedule.c - Learning-rate schedules shared by host and device ---===//
 *
 * See lr_schedule.h. The expressions keep the host's original evaluation
 * order, which its golden sequences (runtime/src/lr_schedule_test.cc, from
 * PyTorch) pin.
 *
 *===----------------------------------------------------------------------===*/

#include "kiln/device/lr_schedule.h"
#include "kiln/device/status.h"

#include <math.h>
#include <stddef.h>

static const double kPi = 3.14159265358979323846;

static kiln_lr_schedule make(int32_t kind, double lr, double a, double b, int64_t n) {
  kiln_lr_schedule s;
  s.kind = kind;
  s.lr = lr;
  s.a = a;
  s.b = b;
  s.n = n;
  s.milestones = NULL;
  s.num_milestones = 0;
  s.after = NULL;
  return s;
}

kiln_lr_schedule kiln_lr_constant(double lr) { return make(KILN_LR_CONSTANT, lr, 0, 0, 0); }

kiln_lr_schedule kiln_lr_step(double lr, int64_t step_size, double gamma) {
  return make(KILN_LR_STEP, lr, gamma, 0, step_size);
}

kiln_lr_schedule kiln_lr_multi_step(double lr, const int64_t *milestones,
                                    int32_t num_milestones, double gamma) {
  kiln_lr_schedule s = make(KILN_LR_MULTI_STEP, lr, gamma, 0, 0);
  s.milestones = milestones;
  s.num_milestones = num_milestones;
  return s;
}

kiln_lr_schedule kiln_lr_exponential(double lr, double gamma) {
  return make(KILN_LR_EXPONENTIAL, lr, gamma, 0, 0);
}

kiln_lr_schedule kiln_lr_cosine(double lr, int64_t t_max, double eta_min) {
  return make(KILN_LR_COSINE, lr, eta_min, 0, t_max);
}

kiln_lr_schedule kiln_lr_linear(double lr, double start_factor, double end_factor,
                                int64_t total_iters) {
  return make(KILN_LR_LINEAR, lr, start_factor, end_factor, total_iters);
}

kiln_lr_schedule kiln_lr_warmup(int64_t warmup_steps, double start_factor,
                                const kiln_lr_schedule *after) {
  kiln_lr_schedule s =
      make(KILN_LR_WARMUP, after ? kiln_lr_rate(after, 0) : 0.0, start_factor, 0, warmup_steps);
  s.after = after;
  return s;
}

int kiln_lr_schedule_check(const kiln_lr_schedule *s) {
  int32_t i;
  if (!s)
    return KILN_DEVICE_INVALID_ARGUMENT;
  switch (s->kind) {
  case KILN_LR_CONSTANT:
  case KILN_LR_EXPONENTIAL:
    return KILN_DEVICE_OK;
  case KILN_LR_STEP:
  case KILN_LR_COSINE:
  case KILN_LR_LINEAR:
    return s->n > 0 ? KILN_DEVICE_OK : KILN_DEVICE_INVALID_ARGUMENT;
  case KILN_LR_MULTI_STEP:
    if (s->num_milestones < 0 || (s->num_milestones > 0 && !s->milestones))
      return KILN_DEVICE_INVALID_ARGUMENT;
    for (i = 1; i < s->num_milestones; ++i)
      if (s->milestones[i] < s->milestones[i - 1])
        return KILN_DEVICE_INVALID_ARGUMENT;
    return KILN_DEVICE_OK;
  case KILN_LR_WARMUP:
    if (s->n <= 0 || !s->after || s->after == s)
      return KILN_DEVICE_INVALID_ARGUMENT;
    return kiln_lr_schedule_check(s->after);
  default:
    return KILN_DEVICE_INVALID_ARGUMENT;
  }
}

double kiln_lr_rate(const kiln_lr_schedule *s, int64_t t) {
  int32_t passed = 0;
  if (t < 0)
    t = 0;
  switch (s->kind) {
  case KILN_LR_CONSTANT:
    return s->lr;
  case KILN_LR_STEP:
    return s->lr * pow(s->a, (double)(t / s->n));
  case KILN_LR_MULTI_STEP:
    while (passed < s->num_milestones && s->milestones[passed] <= t)
      ++passed;
    return s->lr * pow(s->a, (double)passed);
  case KILN_LR_EXPONENTIAL:
    return s->lr * pow(s->a, (double)t);
  case KILN_LR_COSINE:
    if (t >= s->n)
      return s->a;
    return s->a + (s->lr - s->a) * (1.0 + cos(kPi * (double)t / (double)s->n)) / 2.0;
  case KILN_LR_LINEAR:
    return s->lr * (s->a + (s->b - s->a) * ((double)(t < s->n ? t : s->n) / (double)s->n));
  case KILN_LR_WARMUP:
    if (t < s->n)
      return s->lr * (s->a + (1.0 - s->a) * (double)t / (double)s->n);
    return kiln_lr_rate(s->after, t - s->n);
  }
  return s->lr;
}
