/*===- train.c - Training loop for compiled models on devices -------------===//
 *
 * Implements train.h as the host trainer does it (runtime/src/trainer.cpp:
 * the loop in trainMain, evaluate): the same batches, rates, loss checks and
 * metric, without its flags, files and timing.
 *
 * Workspace layout: the batch inputs, the batch targets, the outputs of a
 * batch (these three are kiln_evaluate's), then the epoch's sample order.
 *
 *===----------------------------------------------------------------------===*/

#include "kiln/device/train.h"
#include "kiln/device/random.h"

#include <math.h>
#include <string.h>

static size_t round_up(size_t n) { return (n + 15) / 16 * 16; }

typedef struct batch_buffers {
  float *x;
  void *y;
  float *outputs;
  int64_t *order;
} batch_buffers;

static size_t target_bytes(const kiln_model_info *m) {
  return m->task == KILN_TASK_CLASSIFICATION ? sizeof(int32_t) : sizeof(float) * m->num_classes;
}

static size_t input_bytes(const kiln_model_info *m) {
  return sizeof(float) * (size_t)m->input_elements;
}

static int check_model(const kiln_model_info *m) {
  if (!m || !m->init || !m->train_step || !m->predict || m->batch_size < 1 ||
      m->num_classes < 1 || m->input_elements < 1)
    return KILN_DEVICE_INVALID_ARGUMENT;
  if (m->task != KILN_TASK_CLASSIFICATION && m->task != KILN_TASK_REGRESSION &&
      m->task != KILN_TASK_BINARY)
    return KILN_DEVICE_INVALID_ARGUMENT;
  return KILN_DEVICE_OK;
}

size_t kiln_evaluate_workspace_bytes(const kiln_model_info *m) {
  size_t b;
  if (check_model(m))
    return 0;
  b = (size_t)m->batch_size;
  return round_up(b * input_bytes(m)) + round_up(b * target_bytes(m)) +
         round_up(b * sizeof(float) * (size_t)m->num_classes);
}

size_t kiln_train_workspace_bytes(const kiln_model_info *m, int64_t train_size) {
  if (check_model(m) || train_size < 0)
    return 0;
  return kiln_evaluate_workspace_bytes(m) + round_up(sizeof(int64_t) * (size_t)train_size);
}

static int split_workspace(const kiln_model_info *m, void *workspace, size_t bytes,
                           size_t needed, batch_buffers *out) {
  char *p = (char *)workspace;
  size_t b = (size_t)m->batch_size;
  if (!workspace || (uintptr_t)workspace % 8)
    return KILN_DEVICE_INVALID_ARGUMENT;
  if (bytes < needed)
    return KILN_DEVICE_BUFFER_TOO_SMALL;
  out->x = (float *)p;
  p += round_up(b * input_bytes(m));
  out->y = p;
  p += round_up(b * target_bytes(m));
  out->outputs = (float *)p;
  p += round_up(b * sizeof(float) * (size_t)m->num_classes);
  out->order = (int64_t *)p;
  return KILN_DEVICE_OK;
}

static int check_dataset(const kiln_dataset *d) {
  if (!d || d->size < 0 || ((!d->x || !d->y) && !d->read))
    return KILN_DEVICE_INVALID_ARGUMENT;
  return KILN_DEVICE_OK;
}

/* Copies sample \p index into row \p row of the batch. */
static int gather(const kiln_model_info *m, const kiln_dataset *d, int64_t index, size_t row,
                  batch_buffers *batch) {
  float *x = batch->x + row * (size_t)m->input_elements;
  char *y = (char *)batch->y + row * target_bytes(m);
  if (d->x && d->y) {
    memcpy(x, d->x + (size_t)index * (size_t)m->input_elements, input_bytes(m));
    memcpy(y, (const char *)d->y + (size_t)index * target_bytes(m), target_bytes(m));
    return KILN_DEVICE_OK;
  }
  return d->read(d->context, index, x, y) ? KILN_DEVICE_READ_FAILED : KILN_DEVICE_OK;
}

/* Sum of the metric over the first \p valid rows of a predicted batch. */
static double score_batch(const kiln_model_info *m, const batch_buffers *batch, size_t valid,
                          int64_t *count) {
  const int32_t k = m->num_classes;
  double sum = 0;
  size_t r;
  int32_t c;
  for (r = 0; r < valid; ++r) {
    const float *row = batch->outputs + r * (size_t)k;
    if (m->task == KILN_TASK_CLASSIFICATION) {
      int32_t best = 0;
      for (c = 1; c < k; ++c)
        if (row[c] > row[best])
          best = c;
      sum += best == ((const int32_t *)batch->y)[r];
      ++*count;
      continue;
    }
    for (c = 0; c < k; ++c) {
      const float target = ((const float *)batch->y)[r * (size_t)k + (size_t)c];
      const double d = (double)row[c] - target;
      sum += m->task == KILN_TASK_REGRESSION ? d * d : (row[c] > 0) == (target > 0.5f);
    }
    *count += k;
  }
  return sum;
}

static int evaluate(const kiln_model_info *m, void *arena, const kiln_dataset *test,
                    batch_buffers *batch, double *out_metric) {
  const size_t b = (size_t)m->batch_size;
  double sum = 0;
  int64_t count = 0, first;
  for (first = 0; first < test->size; first += (int64_t)b) {
    size_t valid = (size_t)(test->size - first) < b ? (size_t)(test->size - first) : b;
    size_t r;
    int status;
    for (r = 0; r < valid; ++r)
      if ((status = gather(m, test, first + (int64_t)r, r, batch)))
        return status;
    /* Pad with zero samples labelled 0, as the host's DataLoader does. */
    memset(batch->x + valid * (size_t)m->input_elements, 0, (b - valid) * input_bytes(m));
    memset((char *)batch->y + valid * target_bytes(m), 0, (b - valid) * target_bytes(m));
    if (m->predict(arena, batch->x, batch->outputs))
      return KILN_DEVICE_MODEL_FAILED;
    sum += score_batch(m, batch, valid, &count);
  }
  *out_metric = count ? sum / (double)count : 0.0;
  return KILN_DEVICE_OK;
}

int kiln_evaluate(const kiln_model_info *m, void *arena, const kiln_dataset *test,
                  void *workspace, size_t workspace_bytes, double *out_metric) {
  batch_buffers batch;
  int status = check_model(m);
  if (!status && (!arena || !out_metric))
    status = KILN_DEVICE_INVALID_ARGUMENT;
  if (!status)
    status = check_dataset(test);
  if (!status)
    status = split_workspace(m, workspace, workspace_bytes, kiln_evaluate_workspace_bytes(m),
                             &batch);
  return status ? status : evaluate(m, arena, test, &batch, out_metric);
}

void kiln_train_options_init(kiln_train_options *o) {
  if (!o)
    return;
  memset(o, 0, sizeof *o);
  o->epochs = 1;
}

int kiln_train(const kiln_model_info *m, void *arena, const kiln_dataset *train,
               const kiln_dataset *test, const kiln_train_options *o, void *workspace,
               size_t workspace_bytes) {
  batch_buffers batch;
  kiln_lr_schedule constant;
  const kiln_lr_schedule *schedule;
  const size_t b = m ? (size_t)m->batch_size : 0;
  int64_t steps, global_step, i;
  int32_t epoch;
  int status = check_model(m);
  if (!status && (!arena || !o || o->epochs < 0 || o->start_epoch < 0 || o->max_steps < 0))
    status = KILN_DEVICE_INVALID_ARGUMENT;
  if (!status)
    status = check_dataset(train);
  if (!status && test)
    status = check_dataset(test);
  if (status)
    return status;
  if (train->size < (int64_t)b)
    return KILN_DEVICE_INVALID_ARGUMENT;
  status = split_workspace(m, workspace, workspace_bytes,
                           kiln_train_workspace_bytes(m, train->size), &batch);
  if (status)
    return status;
  constant = kiln_lr_constant(o->lr > 0 ? o->lr : m->default_lr);
  schedule = o->schedule ? o->schedule : &constant;
  if (kiln_lr_schedule_check(schedule))
    return KILN_DEVICE_INVALID_ARGUMENT;

  steps = train->size / (int64_t)b; /* drop_last */
  if (o->max_steps > 0 && o->max_steps < steps)
    steps = o->max_steps;
  global_step = (int64_t)o->start_epoch * steps;
  for (epoch = o->start_epoch + 1; epoch <= o->epochs; ++epoch) {
    kiln_epoch_report done;
    double epoch_loss = 0;
    int64_t step;
    for (i = 0; i < train->size; ++i)
      batch.order[i] = i;
    kiln_shuffle_for_epoch(o->seed, epoch, batch.order, (size_t)train->size);
    for (step = 1; step <= steps; ++step) {
      kiln_step_report report;
      size_t r;
      for (r = 0; r < b; ++r)
        if ((status = gather(m, train, batch.order[(size_t)(step - 1) * b + r], r, &batch)))
          return status;
      report.epoch = epoch;
      report.step = step;
      report.global_step = global_step;
      report.lr = (float)kiln_lr_rate(schedule, global_step);
      report.loss = 0;
      if (m->train_step(arena, batch.x, batch.y, report.lr, &report.loss))
        return KILN_DEVICE_MODEL_FAILED;
      if (!isfinite(report.loss))
        return KILN_DEVICE_DIVERGED;
      ++global_step;
      epoch_loss += report.loss;
      if (o->on_step && o->on_step(o->context, &report))
        return KILN_DEVICE_STOPPED;
    }
    done.epoch = epoch;
    done.steps = steps;
    done.train_loss = epoch_loss / (double)steps;
    done.has_metric = test != NULL;
    done.metric = 0;
    if (test && (status = evaluate(m, arena, test, &batch, &done.metric)))
      return status;
    if (o->on_epoch && o->on_epoch(o->context, &done))
      return KILN_DEVICE_STOPPED;
  }
  return KILN_DEVICE_OK;
}
