//===- openblas_trainer.c - hand-written MLP trainer over OpenBLAS --------===//
//
// The practical speed limit for kiln's MLP benchmarks: the same training step
// as examples/fashion_mnist/{logreg,mlp,mlp_wide}.cpp written by hand, every
// matrix product a cblas_sgemm, the rest plain loops, nothing allocated in the
// step. A kiln step cannot do less work than this, so kiln's time over this
// one says how far its generated code is from a tuned BLAS.
//
// The step, for layers l = 0..L-1 (weight [out, in] as in torch.nn.Linear):
//   forward   z = a W^T + b, a' = relu(z) (not after the last layer)
//   loss      mean softmax cross-entropy; dlogits = (softmax - onehot) / N
//   backward  dW = dz^T a, db = colsum(dz), da = dz W, dz' = da * (a > 0)
//   update    torch.optim.SGD: buf = momentum * buf + g; p -= lr * buf
//             (p -= lr * g without momentum), as kiln's optim::SGD.
//
// Modes:
//   openblas_trainer [--threads N] [--steps N] [--models logreg,mlp,mlp_wide]
//     times each model on a synthetic batch (as build/bench/kiln_step_bench
//     does) and prints JSON: median ms per step and samples/s.
//   openblas_trainer --check IN OUT --model NAME --steps K
//     reads the initial parameters (fc1.weight, fc1.bias, ... as float32),
//     then one batch (float32 images, int32 labels) from IN, runs K steps and
//     writes the K losses and the final parameters (float32) to OUT;
//     bench/check_openblas_trainer.py compares them with PyTorch.
//
//===----------------------------------------------------------------------===//

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kMaxLayers = 3, kMaxWarmupSteps = 20 };

typedef struct {
  const char *name;
  int batch;
  int num_layers;
  int widths[kMaxLayers + 1]; // widths[0] inputs ... widths[num_layers] classes
  float lr, momentum;
} ModelSpec;

// As docs/benchmarks (../shared/benchmarks.md) and examples/fashion_mnist
// define them.
static const ModelSpec kModels[] = {
    {"logreg", 128, 1, {784, 10}, 0.1f, 0.0f},
    {"mlp", 128, 3, {784, 512, 512, 10}, 0.05f, 0.9f},
    {"mlp_wide", 1024, 3, {784, 4096, 4096, 10}, 0.05f, 0.9f},
};
enum { kNumModels = sizeof(kModels) / sizeof(kModels[0]) };

typedef struct {
  const ModelSpec *spec;
  float *weight[kMaxLayers], *bias[kMaxLayers];
  float *weight_grad[kMaxLayers], *bias_grad[kMaxLayers];
  float *weight_momentum[kMaxLayers], *bias_momentum[kMaxLayers];
  // activation[l] is layer l's input [batch, widths[l]]; activation[0] is the
  // caller's images, activation[num_layers] the logits.
  float *activation[kMaxLayers + 1];
  // delta[l]: gradient of the loss w.r.t. layer l's output before ReLU.
  float *delta[kMaxLayers];
} Trainer;

static float *allocFloats(size_t count) {
  // 64-byte alignment as kiln's arena; sizes rounded up for aligned_alloc.
  size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  float *p = aligned_alloc(64, bytes);
  if (!p) {
    fprintf(stderr, "openblas_trainer: out of memory (%zu bytes)\n", bytes);
    exit(1);
  }
  memset(p, 0, bytes);
  return p;
}

static size_t weightElements(const ModelSpec *spec, int layer) {
  return (size_t)spec->widths[layer] * spec->widths[layer + 1];
}

static void trainerCreate(Trainer *t, const ModelSpec *spec) {
  memset(t, 0, sizeof(*t));
  t->spec = spec;
  for (int l = 0; l < spec->num_layers; ++l) {
    size_t outs = spec->widths[l + 1];
    t->weight[l] = allocFloats(weightElements(spec, l));
    t->bias[l] = allocFloats(outs);
    t->weight_grad[l] = allocFloats(weightElements(spec, l));
    t->bias_grad[l] = allocFloats(outs);
    if (spec->momentum != 0.0f) {
      t->weight_momentum[l] = allocFloats(weightElements(spec, l));
      t->bias_momentum[l] = allocFloats(outs);
    }
    t->activation[l + 1] = allocFloats((size_t)spec->batch * outs);
    t->delta[l] = allocFloats((size_t)spec->batch * outs);
  }
}

static void trainerDestroy(Trainer *t) {
  for (int l = 0; l < t->spec->num_layers; ++l) {
    free(t->weight[l]);
    free(t->bias[l]);
    free(t->weight_grad[l]);
    free(t->bias_grad[l]);
    free(t->weight_momentum[l]);
    free(t->bias_momentum[l]);
    free(t->activation[l + 1]);
    free(t->delta[l]);
  }
}

// torch.nn.Linear's default bounds, U(-1/sqrt(in), 1/sqrt(in)), from a fixed
// LCG: step time does not depend on the values, only reproducibility matters.
static void trainerInitUniform(Trainer *t) {
  uint32_t state = 12345u;
  for (int l = 0; l < t->spec->num_layers; ++l) {
    float bound = 1.0f / sqrtf((float)t->spec->widths[l]);
    float *params[2] = {t->weight[l], t->bias[l]};
    size_t counts[2] = {weightElements(t->spec, l), (size_t)t->spec->widths[l + 1]};
    for (int p = 0; p < 2; ++p)
      for (size_t i = 0; i < counts[p]; ++i) {
        state = state * 1664525u + 1013904223u;
        params[p][i] = bound * ((float)(state >> 8) / 8388608.0f - 1.0f);
      }
  }
}

// Softmax cross-entropy of the logits against `labels`, averaged over the
// batch; writes d(loss)/d(logits) to `grad`.
static float softmaxCrossEntropy(const float *logits, const int32_t *labels,
                                 int batch, int classes, float *grad) {
  float loss = 0.0f;
  float inv_batch = 1.0f / (float)batch;
  for (int r = 0; r < batch; ++r) {
    const float *z = logits + (size_t)r * classes;
    float *g = grad + (size_t)r * classes;
    float max = z[0];
    for (int c = 1; c < classes; ++c)
      max = z[c] > max ? z[c] : max;
    float sum = 0.0f;
    for (int c = 0; c < classes; ++c) {
      g[c] = expf(z[c] - max);
      sum += g[c];
    }
    loss += logf(sum) + max - z[labels[r]];
    for (int c = 0; c < classes; ++c)
      g[c] = g[c] / sum * inv_batch;
    g[labels[r]] -= inv_batch;
  }
  return loss * inv_batch;
}

static void sgdUpdate(float *param, const float *grad, float *momentum_buffer,
                      size_t count, float lr, float momentum) {
  if (!momentum_buffer) {
    for (size_t i = 0; i < count; ++i)
      param[i] -= lr * grad[i];
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    momentum_buffer[i] = momentum * momentum_buffer[i] + grad[i];
    param[i] -= lr * momentum_buffer[i];
  }
}

// One training step on `images` [batch, widths[0]]; returns the loss.
static float trainStep(Trainer *t, const float *images, const int32_t *labels,
                       float lr) {
  const ModelSpec *spec = t->spec;
  const int batch = spec->batch, last = spec->num_layers - 1;
  t->activation[0] = (float *)images;

  for (int l = 0; l <= last; ++l) {
    const int ins = spec->widths[l], outs = spec->widths[l + 1];
    float *z = t->activation[l + 1];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, outs, ins, 1.0f,
                t->activation[l], ins, t->weight[l], ins, 0.0f, z, outs);
    const float *b = t->bias[l];
    for (int r = 0; r < batch; ++r) {
      float *row = z + (size_t)r * outs;
      if (l == last)
        for (int c = 0; c < outs; ++c)
          row[c] += b[c];
      else
        for (int c = 0; c < outs; ++c) {
          float v = row[c] + b[c];
          row[c] = v > 0.0f ? v : 0.0f;
        }
    }
  }

  float loss = softmaxCrossEntropy(t->activation[last + 1], labels, batch,
                                   spec->widths[last + 1], t->delta[last]);

  for (int l = last; l >= 0; --l) {
    const int ins = spec->widths[l], outs = spec->widths[l + 1];
    const float *dz = t->delta[l];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, outs, ins, batch, 1.0f,
                dz, outs, t->activation[l], ins, 0.0f, t->weight_grad[l], ins);
    float *db = t->bias_grad[l];
    memset(db, 0, sizeof(float) * outs);
    for (int r = 0; r < batch; ++r)
      for (int c = 0; c < outs; ++c)
        db[c] += dz[(size_t)r * outs + c];
    if (l == 0)
      break;
    // The input of layer l is relu(z) of layer l-1: its gradient passes
    // where that output is positive.
    float *da = t->delta[l - 1];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, ins, outs,
                1.0f, dz, outs, t->weight[l], ins, 0.0f, da, ins);
    const float *a = t->activation[l];
    for (size_t i = 0; i < (size_t)batch * ins; ++i)
      da[i] = a[i] > 0.0f ? da[i] : 0.0f;
  }

  for (int l = 0; l <= last; ++l) {
    sgdUpdate(t->weight[l], t->weight_grad[l], t->weight_momentum[l],
              weightElements(spec, l), lr, spec->momentum);
    sgdUpdate(t->bias[l], t->bias_grad[l], t->bias_momentum[l],
              spec->widths[l + 1], lr, spec->momentum);
  }
  return loss;
}

static const ModelSpec *findModel(const char *name, size_t length) {
  for (int m = 0; m < kNumModels; ++m)
    if (strlen(kModels[m].name) == length &&
        strncmp(kModels[m].name, name, length) == 0)
      return &kModels[m];
  return NULL;
}

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int compareDoubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// Median ms per step over `steps` steps on a synthetic batch, after a tenth
// as many warm-up steps (at most 20), as kiln_step_bench measures.
static double medianStepMs(const ModelSpec *spec, int steps) {
  Trainer t;
  trainerCreate(&t, spec);
  trainerInitUniform(&t);
  size_t pixels = (size_t)spec->batch * spec->widths[0];
  float *images = allocFloats(pixels);
  int32_t *labels = malloc(sizeof(int32_t) * spec->batch);
  const int classes = spec->widths[spec->num_layers];
  for (size_t i = 0; i < pixels; ++i)
    images[i] = (float)(i % 255) / 255.0f;
  for (int i = 0; i < spec->batch; ++i)
    labels[i] = i % classes;
  int warmup = steps / 10 < 1 ? 1 : steps / 10;
  warmup = warmup > kMaxWarmupSteps ? kMaxWarmupSteps : warmup;
  for (int i = 0; i < warmup; ++i)
    trainStep(&t, images, labels, spec->lr);
  double *times = malloc(sizeof(double) * steps);
  for (int i = 0; i < steps; ++i) {
    double start = nowMs();
    trainStep(&t, images, labels, spec->lr);
    times[i] = nowMs() - start;
  }
  qsort(times, steps, sizeof(double), compareDoubles);
  double median = times[steps / 2];
  free(times);
  free(labels);
  free(images);
  trainerDestroy(&t);
  return median;
}

static int readExactly(FILE *f, void *dst, size_t bytes, const char *what) {
  if (fread(dst, 1, bytes, f) == bytes)
    return 1;
  fprintf(stderr, "openblas_trainer: --check input ends before %s\n", what);
  return 0;
}

static int runCheck(const char *in_path, const char *out_path,
                    const ModelSpec *spec, int steps) {
  FILE *in = fopen(in_path, "rb");
  if (!in) {
    perror(in_path);
    return 1;
  }
  Trainer t;
  trainerCreate(&t, spec);
  size_t pixels = (size_t)spec->batch * spec->widths[0];
  float *images = allocFloats(pixels);
  int32_t *labels = malloc(sizeof(int32_t) * spec->batch);
  int ok = 1;
  for (int l = 0; ok && l < spec->num_layers; ++l)
    ok = readExactly(in, t.weight[l], sizeof(float) * weightElements(spec, l),
                     "a weight") &&
         readExactly(in, t.bias[l], sizeof(float) * spec->widths[l + 1], "a bias");
  ok = ok && readExactly(in, images, sizeof(float) * pixels, "the images") &&
       readExactly(in, labels, sizeof(int32_t) * spec->batch, "the labels");
  fclose(in);
  FILE *out = ok ? fopen(out_path, "wb") : NULL;
  if (ok && !out)
    perror(out_path);
  if (out) {
    for (int i = 0; i < steps; ++i) {
      float loss = trainStep(&t, images, labels, spec->lr);
      fwrite(&loss, sizeof(float), 1, out);
    }
    for (int l = 0; l < spec->num_layers; ++l) {
      fwrite(t.weight[l], sizeof(float), weightElements(spec, l), out);
      fwrite(t.bias[l], sizeof(float), spec->widths[l + 1], out);
    }
    ok = fclose(out) == 0;
  }
  free(labels);
  free(images);
  trainerDestroy(&t);
  return ok && out ? 0 : 1;
}

static int usage(void) {
  fprintf(stderr,
          "usage: openblas_trainer [--threads N] [--steps N] [--models "
          "logreg,mlp,mlp_wide]\n"
          "       openblas_trainer --check IN OUT --model NAME --steps K\n");
  return 2;
}

int main(int argc, char **argv) {
  int threads = 1, steps = 200;
  const char *models = "logreg,mlp,mlp_wide";
  const char *check_in = NULL, *check_out = NULL;
  for (int i = 1; i < argc; ++i) {
    int has_value = i + 1 < argc;
    if (!strcmp(argv[i], "--threads") && has_value)
      threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--steps") && has_value)
      steps = atoi(argv[++i]);
    else if ((!strcmp(argv[i], "--models") || !strcmp(argv[i], "--model")) &&
             has_value)
      models = argv[++i];
    else if (!strcmp(argv[i], "--check") && i + 2 < argc) {
      check_in = argv[++i];
      check_out = argv[++i];
    } else
      return usage();
  }
  if (threads < 1 || steps < 1)
    return usage();
  openblas_set_num_threads(threads);

  if (check_in) {
    const ModelSpec *spec = findModel(models, strlen(models));
    if (!spec) {
      fprintf(stderr, "openblas_trainer: no model named '%s'\n", models);
      return 2;
    }
    return runCheck(check_in, check_out, spec, steps);
  }

  printf("{");
  int printed = 0;
  for (const char *name = models; *name;) {
    size_t length = strcspn(name, ",");
    const ModelSpec *spec = findModel(name, length);
    if (!spec) {
      fprintf(stderr, "openblas_trainer: no model named '%.*s'\n", (int)length,
              name);
      return 2;
    }
    double ms = medianStepMs(spec, steps);
    printf("%s\n  \"%s\": {\"median_ms\": %.4f, \"samples_per_s\": %.1f, "
           "\"threads\": %d}",
           printed++ ? "," : "", spec->name, ms, spec->batch * 1000.0 / ms,
           threads);
    fflush(stdout);
    name += length + (name[length] == ',');
  }
  printf("\n}\n");
  return 0;
}
