// The same logreg source compiled for the CPU and for NVPTX: with the same
// seed and batches, the GPU's losses and parameters after a few SGD steps
// match the CPU's. Built everywhere (the GPU object must link against
// kiln_runtime); skipped, visibly, where no CUDA device is found.

#include "kiln/runtime/cuda.h"
#include "logreg.h" // the CPU build: logreg_init, logreg_train_step, ...

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

// The NVPTX build of the same model, its symbols renamed logreg_gpu_* at
// build time (tests/nvptx/CMakeLists.txt). Every pointer is a device pointer.
extern "C" {
void logreg_gpu_init(void *arena, const int64_t *seed);
void logreg_gpu_train_step(void *arena, const float *x, const int32_t *y,
                           const float *lr, float *loss);
}

namespace {

void *device(kiln_cuda_ptr ptr) { return reinterpret_cast<void *>(ptr); }

TEST(NVPTXLogregTest, TrainsLikeTheCPU) {
  if (kiln_cuda_init(0) != KILN_CUDA_OK)
    GTEST_SKIP() << "[SKIP] " << kiln_cuda_last_error();
  constexpr int64_t batch = 128, pixels = 28 * 28, steps = 20;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::uniform_int_distribution<int32_t> label(0, 9);
  std::vector<float> x(batch * pixels);
  std::vector<int32_t> y(batch);

  std::vector<uint8_t> cpuArena(LOGREG_ARENA_BYTES + 64);
  void *arena = cpuArena.data() + (64 - uintptr_t(cpuArena.data()) % 64) % 64;
  int64_t seed = 42;
  float lr = 0.05f;
  logreg_init(arena, &seed);

  kiln_cuda_ptr gpuArena, dx, dy, dlr, dloss, dseed;
  ASSERT_EQ(kiln_cuda_malloc(&gpuArena, LOGREG_DEVICE_ARENA_BYTES), 0)
      << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_malloc(&dx, x.size() * 4), 0);
  ASSERT_EQ(kiln_cuda_malloc(&dy, y.size() * 4), 0);
  ASSERT_EQ(kiln_cuda_malloc(&dlr, 4), 0);
  ASSERT_EQ(kiln_cuda_malloc(&dloss, 4), 0);
  ASSERT_EQ(kiln_cuda_malloc(&dseed, 8), 0);
  ASSERT_EQ(kiln_cuda_copy_to_device(dseed, &seed, 8), 0);
  ASSERT_EQ(kiln_cuda_copy_to_device(dlr, &lr, 4), 0);
  logreg_gpu_init(device(gpuArena), (const int64_t *)device(dseed));

  for (int64_t step = 0; step < steps; ++step) {
    for (float &v : x)
      v = pixel(rng);
    for (int32_t &v : y)
      v = label(rng);
    float cpuLoss = 0, gpuLoss = -1;
    logreg_train_step(arena, x.data(), y.data(), &lr, &cpuLoss);
    ASSERT_EQ(kiln_cuda_copy_to_device(dx, x.data(), x.size() * 4), 0);
    ASSERT_EQ(kiln_cuda_copy_to_device(dy, y.data(), y.size() * 4), 0);
    logreg_gpu_train_step(device(gpuArena), (const float *)device(dx),
                          (const int32_t *)device(dy),
                          (const float *)device(dlr), (float *)device(dloss));
    ASSERT_EQ(kiln_cuda_copy_to_host(&gpuLoss, dloss, 4), 0);
    ASSERT_EQ(kiln_cuda_synchronize(), 0) << kiln_cuda_last_error();
    EXPECT_NEAR(gpuLoss, cpuLoss, 1e-4 * std::fabs(cpuLoss) + 1e-5)
        << "step " << step;
  }
  std::vector<float> gpuState(LOGREG_STATE_BYTES / 4);
  ASSERT_EQ(
      kiln_cuda_copy_to_host(gpuState.data(), gpuArena, LOGREG_STATE_BYTES), 0);
  ASSERT_EQ(kiln_cuda_synchronize(), 0) << kiln_cuda_last_error();
  const float *cpuState = static_cast<const float *>(arena);
  for (size_t i = 0; i < gpuState.size(); ++i)
    ASSERT_NEAR(gpuState[i], cpuState[i],
                1e-4f + 1e-4f * std::fabs(cpuState[i]))
        << "state float " << i;
  for (kiln_cuda_ptr p : {gpuArena, dx, dy, dlr, dloss, dseed})
    kiln_cuda_free(p);
}

} // namespace
