/* Calls the compiled model through its generated header only: sets the
 * parameters to W = [2, -3], b = 0.5, predicts a batch, takes one training
 * step and prints the numbers, which tests/install/out_of_tree_test.py
 * checks against the ones it computes itself. */
#include "line.h"

#include <stdio.h>
#include <string.h>

static _Alignas(64) unsigned char arena[LINE_ARENA_BYTES];

static float *state(const kiln_model_info *info, const char *name) {
  for (int i = 0; i < info->num_state; ++i)
    if (strcmp(info->state[i].name, name) == 0)
      return (float *)(arena + info->state[i].offset);
  return NULL;
}

int main(void) {
  static const float x[4][2] = {{1, 2}, {0, 1}, {-1, 0.5f}, {3, -1}};
  static const float y[4] = {-3, -2, -3, 9};
  const kiln_model_info *info = line_model_info();
  float predictions[4], loss = 0;
  if (info->init(arena, 0) != 0)
    return 1;
  float *weight = state(info, "fc.weight"), *bias = state(info, "fc.bias");
  if (!weight || !bias) {
    fprintf(stderr, "the model has no fc.weight or fc.bias\n");
    return 1;
  }
  weight[0] = 2;
  weight[1] = -3;
  bias[0] = 0.5f;
  if (info->predict(arena, &x[0][0], predictions) != 0 ||
      info->train_step(arena, &x[0][0], y, 0.1f, &loss) != 0)
    return 1;
  printf("predictions: %.6f %.6f %.6f %.6f\n", predictions[0], predictions[1],
         predictions[2], predictions[3]);
  printf("loss: %.6f\n", loss);
  printf("after one step: weight %.6f %.6f bias %.6f\n", weight[0], weight[1], bias[0]);
  return 0;
}
