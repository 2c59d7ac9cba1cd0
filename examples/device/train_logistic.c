/*===- train_logistic.c - Logistic regression trained on a device ---------===//
 *
 * The same program for every target (the host, aarch64 and riscv64 Linux
 * under qemu-user, a Cortex-M4 under qemu-system-arm): trains the compiled
 * logistic_regression model (examples/tabular) with the device runtime on
 * 160 samples embedded as const arrays (flash on a microcontroller), for 4
 * epochs of 5 steps with a warm-up + cosine schedule, evaluating after each
 * epoch; then checkpoints the state to a memory buffer, reloads it into a
 * second arena and checks both predict the same. It prints every step's rate
 * and loss as float bits, so runs on different targets can be compared
 * exactly (compare_runs.py), and writes the checkpoint to
 * logistic_regression-<target>.safetensors (through semihosting on the M4).
 *
 * No heap: the arena, workspace and checkpoint buffer are static. Integers
 * are printed through long: newlib's printf has no PRId64 formats.
 *
 *===----------------------------------------------------------------------===*/

#include "logistic_regression.h"
#include "logistic_table.h"

#include "kiln/device/checkpoint.h"
#include "kiln/device/train.h"

#include "float_bits.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef KILN_DEVICE_TARGET
#define KILN_DEVICE_TARGET "host"
#endif

enum { kSeed = 0, kEpochs = 4, kWorkspaceBytes = 4096, kCheckpointBytes = 1024, kMaxOutputs = 64 };

/* Zero-initialized (.bss), as the host trainer zeroes its arena. */
static unsigned char arena[LOGISTIC_REGRESSION_ARENA_BYTES] __attribute__((aligned(64)));
static unsigned char reloaded[LOGISTIC_REGRESSION_ARENA_BYTES] __attribute__((aligned(64)));
static uint64_t workspace[kWorkspaceBytes / 8];
static unsigned char checkpoint[kCheckpointBytes];

static int print_step(void *context, const kiln_step_report *r) {
  (void)context;
  printf("step %ld lr %08lx loss %08lx\n", (long)(r->global_step + 1),
         float_bits(r->lr), float_bits(r->loss));
  return 0;
}

static int print_epoch(void *context, const kiln_epoch_report *r) {
  (void)context;
  printf("epoch %ld train_loss %08lx accuracy %08lx\n", (long)r->epoch,
         float_bits((float)r->train_loss), float_bits((float)r->metric));
  return 0;
}

static int failed(const char *what, int status) {
  printf("error: %s: %s\n", what, kiln_device_status_text(status));
  return 1;
}

int main(void) {
  const kiln_model_info *model = logistic_regression_model_info();
  const kiln_dataset train = {TRAIN_SAMPLES, train_x, train_y, NULL, NULL};
  const kiln_dataset test = {TEST_SAMPLES, test_x, test_y, NULL, NULL};
  /* The host trainer's --lr-schedule warmup:5:0.1,cosine:15 */
  const kiln_lr_schedule cosine = kiln_lr_cosine(model->default_lr, 15, 0.0);
  const kiln_lr_schedule schedule = kiln_lr_warmup(5, 0.1, &cosine);
  const kiln_metadata_entry metadata[] = {
      {"kiln.model", "logistic_regression"}, {"kiln.epoch", "4"}, {"kiln.seed", "0"},
      {"kiln.lr_schedule", "warmup:5:0.1,cosine:15"}, {"kiln.target", KILN_DEVICE_TARGET}};
  const int32_t num_metadata = (int32_t)(sizeof metadata / sizeof metadata[0]);
  kiln_train_options options;
  size_t saved = 0;
  float outputs[2][kMaxOutputs];
  FILE *file;
  int status;

  printf("kiln device run: %s on %s, arena %u bytes, workspace %u of %u bytes\n", model->name,
         KILN_DEVICE_TARGET, (unsigned)model->arena_bytes,
         (unsigned)kiln_train_workspace_bytes(model, TRAIN_SAMPLES), (unsigned)sizeof workspace);
  if (model->batch_size * model->num_classes > kMaxOutputs || TEST_SAMPLES < model->batch_size)
    return failed("the model's batch does not fit this program", KILN_DEVICE_INVALID_ARGUMENT);
  model->init(arena, kSeed);
  kiln_train_options_init(&options);
  options.seed = kSeed;
  options.epochs = kEpochs;
  options.schedule = &schedule;
  options.on_step = print_step;
  options.on_epoch = print_epoch;
  status = kiln_train(model, arena, &train, &test, &options, workspace, sizeof workspace);
  if (status)
    return failed("training", status);

  status = kiln_checkpoint_save(model, arena, metadata, num_metadata, checkpoint,
                                sizeof checkpoint, &saved);
  if (status)
    return failed("checkpoint", status);
  model->init(reloaded, kSeed + 1);
  status = kiln_checkpoint_load(model, reloaded, checkpoint, saved);
  if (status)
    return failed("reloading the checkpoint", status);
  model->predict(arena, test_x, outputs[0]);
  model->predict(reloaded, test_x, outputs[1]);
  if (memcmp(outputs[0], outputs[1], sizeof(float) * (size_t)model->batch_size) != 0)
    return failed("reloaded state predicts differently", KILN_DEVICE_BAD_CHECKPOINT);
  printf("checkpoint %u bytes, reloaded: same predictions\n", (unsigned)saved);

  file = fopen("logistic_regression-" KILN_DEVICE_TARGET ".safetensors", "wb");
  if (!file || fwrite(checkpoint, 1, saved, file) != saved || fclose(file) != 0) {
    printf("error: cannot write the checkpoint file\n");
    return 1;
  }
  return 0;
}
