/* The generated object + header used from plain C99, with no kiln runtime:
 * a static arena, init, a few training steps on a fixed synthetic batch
 * (the loss must fall) and predict. Proves the header is valid C and the
 * object needs no heap (it links without the runtime; see nm check). */
#include "logreg.h"

#include <math.h>
#include <stdio.h>

static _Alignas(64) unsigned char arena[LOGREG_ARENA_BYTES];
static float x[128 * 28 * 28];
static int32_t y[128];
static float logits[128 * 10];

int main(void) {
  for (int i = 0; i < 128; ++i) {
    y[i] = i % 10;
    for (int p = 0; p < 28 * 28; ++p) /* class-dependent pattern */
      x[i * 784 + p] = (float)((p % 10) == y[i]) * 0.5f + (float)(p % 7) * 0.01f;
  }
  const kiln_model_info *info = logreg_model_info();
  if (info->arena_bytes != LOGREG_ARENA_BYTES || info->batch_size != 128) {
    fprintf(stderr, "model info disagrees with the header\n");
    return 1;
  }
  info->init(arena, 42);
  float first = 0, loss = 0;
  for (int step = 0; step < 20; ++step) {
    info->train_step(arena, x, y, 0.1f, &loss);
    if (step == 0)
      first = loss;
  }
  info->predict(arena, x, logits);
  int correct = 0;
  for (int i = 0; i < 128; ++i) {
    int best = 0;
    for (int c = 1; c < 10; ++c)
      if (logits[i * 10 + c] > logits[i * 10 + best])
        best = c;
    correct += best == y[i];
  }
  printf("loss %.4f -> %.4f, train accuracy %d/128\n", first, loss, correct);
  if (!(isfinite(loss) && loss < 0.5f * first && correct > 120)) {
    fprintf(stderr, "FAIL: the compiled model did not learn the batch\n");
    return 1;
  }
  return 0;
}
