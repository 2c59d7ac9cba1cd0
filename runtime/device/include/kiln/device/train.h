/*===- train.h - Training loop for compiled models on devices -----*- C -*-===//
 *
 * The host trainer's loop (runtime/src/trainer.cpp) for targets without an
 * operating system: no heap, no threads, no stdio, no exceptions. Epochs of
 * train_step over shuffled, static-size batches (drop_last), the learning
 * rate of each step from a schedule of the global step, and the test metric
 * after every epoch. The data is in memory (const arrays, which a linker puts
 * in flash) or comes one sample at a time from a read callback (an SD card,
 * a sensor log).
 *
 * Same semantics as the host: epoch e (1-based) visits the samples in the
 * order kiln_shuffle_for_epoch(seed, e) gives (random.h, which the host
 * DataLoader calls too), step t of the run uses kiln_lr_rate(schedule, t)
 * (lr_schedule.h, which the host's LrSchedule calls too), and with the same
 * model object, seed and data a device run computes what the host's
 * `<model>-train --seed S --max-steps N` computes.
 *
 * The caller owns all memory: the model's arena (kiln_model_info::arena_bytes,
 * 64-byte aligned, initialized by model->init or loaded from a checkpoint,
 * checkpoint.h) and a workspace for the batch and the sample order
 * (kiln_train_workspace_bytes, 8-byte aligned).
 *
 * Thread safety: reentrant for distinct arenas and workspaces.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_DEVICE_TRAIN_H
#define KILN_DEVICE_TRAIN_H

#include "kiln/device/lr_schedule.h"
#include "kiln/device/status.h"
#include "kiln/runtime/model_abi.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Samples for a model: inputs float32 [size][input_elements]; targets as
 *  the model's task says: int32_t labels [size] (classification) or float
 *  [size][num_classes] (regression, binary). */
typedef struct kiln_dataset {
  int64_t size;
  const float *x; /**< all inputs, row-major; NULL to use `read` */
  const void *y;  /**< all targets; NULL to use `read` */
  /** Used when x or y is NULL: copies sample \p index into \p x_row
   *  (input_elements floats) and \p y_row (one int32_t label or num_classes
   *  floats); returns 0 on success. */
  int (*read)(void *context, int64_t index, float *x_row, void *y_row);
  void *context;
} kiln_dataset;

/** What a step callback sees. */
typedef struct kiln_step_report {
  int32_t epoch;       /**< 1-based */
  int64_t step;        /**< 1-based within the epoch */
  int64_t global_step; /**< 0-based over the run: the schedule's t */
  float lr;
  float loss;
} kiln_step_report;

/** What an epoch callback sees. */
typedef struct kiln_epoch_report {
  int32_t epoch;
  int64_t steps;
  double train_loss; /**< mean loss of the epoch's steps */
  int32_t has_metric; /**< 1 if a test set was given */
  double metric;      /**< kiln_evaluate's value on the test set */
} kiln_epoch_report;

typedef struct kiln_train_options {
  uint64_t seed;       /**< the shuffle's seed (the host's --seed) */
  int32_t epochs;      /**< train until this epoch (the host's --epochs) */
  int32_t start_epoch; /**< epochs already done, e.g. by a resumed checkpoint */
  int64_t max_steps;   /**< steps per epoch; 0: every full batch (--max-steps) */
  float lr;            /**< the constant rate when schedule is NULL; 0: default_lr */
  const kiln_lr_schedule *schedule; /**< rates per global step, or NULL */
  /** Called after every step; a non-zero return stops with KILN_DEVICE_STOPPED. */
  int (*on_step)(void *context, const kiln_step_report *report);
  /** Called after every epoch (and its evaluation); non-zero stops. */
  int (*on_epoch)(void *context, const kiln_epoch_report *report);
  void *context;
} kiln_train_options;

/** Sets the defaults: seed 0, 1 epoch, every batch, the model's default lr. */
void kiln_train_options_init(kiln_train_options *options);

/** Workspace bytes kiln_train needs for \p model and \p train_size samples. */
size_t kiln_train_workspace_bytes(const kiln_model_info *model, int64_t train_size);

/** Workspace bytes kiln_evaluate needs (a prefix of kiln_train's). */
size_t kiln_evaluate_workspace_bytes(const kiln_model_info *model);

/** Trains \p model in \p arena on \p train, evaluating on \p test (may be
 *  NULL) after every epoch. Returns KILN_DEVICE_OK or the first error:
 *  KILN_DEVICE_DIVERGED on a non-finite loss, KILN_DEVICE_MODEL_FAILED,
 *  KILN_DEVICE_READ_FAILED, KILN_DEVICE_BUFFER_TOO_SMALL (workspace),
 *  KILN_DEVICE_INVALID_ARGUMENT (model, dataset, schedule, fewer samples
 *  than one batch), KILN_DEVICE_STOPPED. */
int kiln_train(const kiln_model_info *model, void *arena, const kiln_dataset *train,
               const kiln_dataset *test, const kiln_train_options *options, void *workspace,
               size_t workspace_bytes);

/** The host trainer's test metric over every sample of \p test, in order,
 *  the last batch padded with zero samples that are not counted:
 *  classification accuracy (argmax, first on ties), binary accuracy
 *  (output > 0 against target > 0.5, per output) or regression MSE. */
int kiln_evaluate(const kiln_model_info *model, void *arena, const kiln_dataset *test,
                  void *workspace, size_t workspace_bytes, double *out_metric);

#ifdef __cplusplus
}
#endif

#endif /* KILN_DEVICE_TRAIN_H */
