/*===- train_fashion_mnist.c - An MLP trained on the device itself --------===//
 *
 * Trains tiny_mlp (tiny_mlp.cpp, compiled with kilnc --deterministic) on 512
 * Fashion-MNIST images of 14x14 uint8 pixels embedded as const arrays (flash
 * on a microcontroller), 3 epochs of 32 steps, and measures the accuracy on
 * 192 test images after each epoch. After epoch 2 and after epoch 3 it
 * writes the state as a safetensors checkpoint (through semihosting file I/O
 * on the Cortex-M4): tiny_mlp-<target>-epoch2.safetensors, which the host
 * trainer resumes (`tiny_mlp-train --resume`) to reproduce the device's
 * epoch 3 bit for bit, and tiny_mlp-<target>.safetensors, the final state.
 *
 * The same source builds for the host, aarch64, riscv64 and the Cortex-M4;
 * every step's loss is printed as float bits so that runs on different
 * targets can be compared exactly (compare_fashion_mnist.py). On the M4 it
 * runs within 256 KiB of RAM and flash (mps2-an386-256k.ld makes the link
 * fail otherwise) and reports its stack high-water mark: it paints the
 * reserved stack region at the start and finds the deepest word written.
 *
 * No heap: the arena, workspace and checkpoint buffer are static. Integers
 * are printed through long: newlib's printf has no PRId64 formats.
 *
 *===----------------------------------------------------------------------===*/

#include "fashion_mnist_slice.h"
#include "tiny_mlp.h"

#include "kiln/device/checkpoint.h"
#include "kiln/device/train.h"

#include "float_bits.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef KILN_DEVICE_TARGET
#define KILN_DEVICE_TARGET "host"
#endif

#if defined(__arm__) && !defined(__linux__)
#define KILN_BARE_METAL 1
#endif

enum { kSeed = 0, kEpochs = 3, kCheckpointEpoch = 2, kPixels = FMNIST_SIDE * FMNIST_SIDE };
/* The batch (16 x 196 floats), its labels, the sample order and the
 * evaluation batch: 17344 bytes (kiln_train_workspace_bytes). */
enum { kWorkspaceBytes = 18 * 1024 };
/* The state and a header of well under 1 KiB (kiln_checkpoint_size). */
enum { kCheckpointBytes = TINY_MLP_STATE_BYTES + 1024 };

static unsigned char arena[TINY_MLP_ARENA_BYTES] __attribute__((aligned(64)));
static uint64_t workspace[kWorkspaceBytes / 8];
static unsigned char checkpoint[kCheckpointBytes] __attribute__((aligned(8)));

typedef struct {
  const unsigned char *pixels, *labels;
} slice;

/* The input of pixel p is p / 255.0f, as in the CSV the host trainer reads
 * (embed_fashion_mnist.cpp). */
static int read_sample(void *context, int64_t index, float *x, void *y) {
  const slice *s = (const slice *)context;
  const unsigned char *image = s->pixels + index * kPixels;
  int32_t label = s->labels[index];
  int i;
  for (i = 0; i < kPixels; ++i)
    x[i] = image[i] / 255.0f;
  memcpy(y, &label, sizeof label);
  return 0;
}

static int print_step(void *context, const kiln_step_report *r) {
  (void)context;
  printf("step %ld loss %08lx\n", (long)(r->global_step + 1), float_bits(r->loss));
  return 0;
}

static int print_epoch(void *context, const kiln_epoch_report *r) {
  (void)context;
  /* Accuracy in hundredths of a percent: newlib's printf needs no floats. */
  printf("epoch %ld train_loss %08lx accuracy %08lx (%ld.%02ld%%)\n", (long)r->epoch,
         float_bits((float)r->train_loss), float_bits((float)r->metric),
         (long)(r->metric * 10000 + 0.5) / 100, (long)(r->metric * 10000 + 0.5) % 100);
  return 0;
}

static int failed(const char *what, int status) {
  printf("error: %s: %s\n", what, kiln_device_status_text(status));
  return 1;
}

/* The state after `epoch` epochs as a checkpoint the host trainer resumes. */
static int write_checkpoint(const kiln_model_info *model, int epoch, const char *path) {
  char epoch_text[8], step_text[16];
  const kiln_metadata_entry metadata[] = {
      {"kiln.model", "tiny_mlp"},       {"kiln.epoch", epoch_text},
      {"kiln.global_step", step_text},  {"kiln.seed", "0"},
      {"kiln.target", KILN_DEVICE_TARGET}};
  size_t saved = 0;
  FILE *file;
  int status;
  sprintf(epoch_text, "%d", epoch);
  sprintf(step_text, "%ld", (long)epoch * (TRAIN_SAMPLES / model->batch_size));
  status = kiln_checkpoint_save(model, arena, metadata,
                                (int32_t)(sizeof metadata / sizeof metadata[0]), checkpoint,
                                sizeof checkpoint, &saved);
  if (status)
    return failed("checkpoint", status);
  file = fopen(path, "wb");
  if (!file || fwrite(checkpoint, 1, saved, file) != saved || fclose(file) != 0) {
    printf("error: cannot write %s\n", path);
    return 1;
  }
  printf("checkpoint after epoch %d: %s, %u bytes\n", epoch, path, (unsigned)saved);
  return 0;
}

#ifdef KILN_BARE_METAL
/* The stack region the linker script reserves (mps2-an386-sections.ld). */
extern uint32_t __stack_limit__[], __stack_top__[];
enum { kPaint = 0x5AC3A55Cu };

/* Paints the unused part of the stack; main's own frame stays above it. */
static void paint_stack(void) {
  uint32_t here, *word;
  for (word = __stack_limit__; word < &here - 64; ++word)
    *word = kPaint;
}

static unsigned long stack_high_water(void) {
  const uint32_t *word = __stack_limit__;
  while (word < __stack_top__ && *word == kPaint)
    ++word;
  return (unsigned long)((uintptr_t)__stack_top__ - (uintptr_t)word);
}
#endif

int main(void) {
  const kiln_model_info *model = tiny_mlp_model_info();
  const slice train_slice = {train_pixels, train_labels};
  const slice test_slice = {test_pixels, test_labels};
  const kiln_dataset train = {TRAIN_SAMPLES, NULL, NULL, read_sample, (void *)&train_slice};
  const kiln_dataset test = {TEST_SAMPLES, NULL, NULL, read_sample, (void *)&test_slice};
  kiln_train_options options;
  int status;

#ifdef KILN_BARE_METAL
  paint_stack();
#endif
  printf("kiln device run: %s on %s, arena %u bytes, state %u bytes, workspace %u of %u "
         "bytes, %d train and %d test images\n",
         model->name, KILN_DEVICE_TARGET, (unsigned)model->arena_bytes,
         (unsigned)TINY_MLP_STATE_BYTES, (unsigned)kiln_train_workspace_bytes(model, TRAIN_SAMPLES),
         (unsigned)sizeof workspace, TRAIN_SAMPLES, TEST_SAMPLES);
  model->init(arena, kSeed);
  kiln_train_options_init(&options);
  options.seed = kSeed;
  options.on_step = print_step;
  options.on_epoch = print_epoch;
  /* Epochs 1-2, a checkpoint, then epoch 3 as a resumed run would. */
  options.epochs = kCheckpointEpoch;
  status = kiln_train(model, arena, &train, &test, &options, workspace, sizeof workspace);
  if (status)
    return failed("training", status);
  if (write_checkpoint(model, kCheckpointEpoch,
                       "tiny_mlp-" KILN_DEVICE_TARGET "-epoch2.safetensors"))
    return 1;
  options.start_epoch = kCheckpointEpoch;
  options.epochs = kEpochs;
  status = kiln_train(model, arena, &train, &test, &options, workspace, sizeof workspace);
  if (status)
    return failed("training", status);
  if (write_checkpoint(model, kEpochs, "tiny_mlp-" KILN_DEVICE_TARGET ".safetensors"))
    return 1;
#ifdef KILN_BARE_METAL
  printf("stack high-water mark: %lu bytes\n", stack_high_water());
#endif
  return 0;
}
