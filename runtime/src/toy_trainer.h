//===- toy_trainer.h - A toy model and driver for the trainer tests -*- C++ -*-===//
//
// A hand-written softmax-regression model behind the kiln_model_info ABI (a
// stand-in for a compiled model, with a state table so it can be saved and
// resumed), a tiny synthetic, linearly separable Fashion-MNIST-named dataset,
// and runTrainer, which calls kiln_train_main and captures what it prints.
// Shared by the trainer test files; test-only, header-only.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_TOY_TRAINER_H
#define KILN_RUNTIME_SRC_TOY_TRAINER_H

#include "kiln/runtime/cuda_trainer.h"
#include "kiln/runtime/trainer.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::runtime::testutil {

constexpr int kBatch = 8, kClasses = 4, kSide = 4, kElems = kSide * kSide;
const int64_t kShape[] = {kSide, kSide};

// Arena layout: weights [kElems][kClasses], then biases [kClasses].
inline float *weights(void *arena) { return static_cast<float *>(arena); }
inline float *biases(void *arena) { return weights(arena) + kElems * kClasses; }

inline int initModel(void *arena, uint64_t seed) {
  for (int i = 0; i < kElems * kClasses; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    weights(arena)[i] = (static_cast<float>(seed >> 40) / (1 << 24) - 0.5f) * 0.02f;
  }
  for (int c = 0; c < kClasses; ++c)
    biases(arena)[c] = 0;
  return 0;
}

inline void logitsOf(void *arena, const float *x, float *out) {
  for (int c = 0; c < kClasses; ++c) {
    out[c] = biases(arena)[c];
    for (int e = 0; e < kElems; ++e)
      out[c] += x[e] * weights(arena)[e * kClasses + c];
  }
}

inline int predictModel(void *arena, const float *x, float *logits) {
  for (int r = 0; r < kBatch; ++r)
    logitsOf(arena, x + r * kElems, logits + r * kClasses);
  return 0;
}

/// One SGD step on mean softmax cross-entropy; d loss / d logit = p - onehot.
inline int trainModel(void *arena, const float *x, const void *labels, float lr, float *loss) {
  const int32_t *y = static_cast<const int32_t *>(labels);
  float grad[kBatch][kClasses];
  double total = 0;
  for (int r = 0; r < kBatch; ++r) {
    float z[kClasses];
    logitsOf(arena, x + r * kElems, z);
    float mx = *std::max_element(z, z + kClasses), sum = 0;
    for (float &v : z)
      sum += (v = std::exp(v - mx));
    for (int c = 0; c < kClasses; ++c)
      grad[r][c] = (z[c] / sum - (c == y[r])) / kBatch;
    total -= std::log(z[y[r]] / sum);
  }
  for (int r = 0; r < kBatch; ++r)
    for (int c = 0; c < kClasses; ++c) {
      biases(arena)[c] -= lr * grad[r][c];
      for (int e = 0; e < kElems; ++e)
        weights(arena)[e * kClasses + c] -= lr * grad[r][c] * x[r * kElems + e];
    }
  *loss = static_cast<float>(total / kBatch);
  return 0;
}


const int64_t kWeightShape[] = {kElems, kClasses};
const int64_t kBiasShape[] = {kClasses};
const kiln_state_entry kToyState[] = {
    {"fc.weight", 0, KILN_F32, 2, kWeightShape, 0},
    {"fc.bias", kElems * kClasses * sizeof(float), KILN_F32, 1, kBiasShape, 0}};

inline kiln_model_info makeModel() {
  return {"toy_softmax", (kElems + 1) * kClasses * sizeof(float), kBatch, 2, kShape, kElems,
          kClasses, 0.5f, initModel, trainModel, predictModel, 2, kToyState,
          KILN_TASK_CLASSIFICATION};
}

/// Class c lights up quadrant c of a 4x4 image, with some deterministic noise.
inline void writeToySplit(const std::string &dir, bool train, uint32_t n) {
  std::vector<uint8_t> images, labels;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t c = (i * 5 + (train ? 0 : 1)) % kClasses;
    labels.push_back(static_cast<uint8_t>(c));
    for (int row = 0; row < kSide; ++row)
      for (int col = 0; col < kSide; ++col) {
        bool hot = static_cast<uint32_t>((row / 2) * 2 + col / 2) == c;
        images.push_back(static_cast<uint8_t>(hot ? 180 + (i * 7 + col) % 70 : (i * 13 + row) % 60));
      }
  }
  writeSplit(dir, train, n, kSide, kSide, images, labels);
}

struct RunResult {
  int status;
  std::string out, err;
};

/// Runs kiln_train_main, or kiln_train_main_cuda when \p gpu is given.
inline RunResult runTrainer(const kiln_model_info &model, std::vector<std::string> args,
                            const kiln_cuda_model *gpu = nullptr) {
  args.insert(args.begin(), gpu ? "toy-train-cuda" : "toy-train");
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  int status = gpu ? kiln_train_main_cuda(&model, gpu, static_cast<int>(args.size()), argv.data())
                   : kiln_train_main(&model, static_cast<int>(args.size()), argv.data());
  std::string out = testing::internal::GetCapturedStdout();
  std::string err = testing::internal::GetCapturedStderr();
  return {status, out, err};
}

inline std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

class TrainerTest : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    writeToySplit(dir, /*train=*/true, 64); // 8 batches of 8.
    writeToySplit(dir, /*train=*/false, 30); // Last eval batch padded (6 of 8).
  }
};

} // namespace kiln::runtime::testutil

#endif // KILN_RUNTIME_SRC_TOY_TRAINER_H
