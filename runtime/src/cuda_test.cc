// kiln's CUDA runtime: on a machine without a driver it must fail with a
// clear message, never crash; where a device exists, a real PTX kernel runs.

#include "kiln/runtime/cuda.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// The first call decides the process-wide state, so each case that needs
// a particular outcome runs in a child process of its own (death-test
// machinery, exiting 0 on success).
TEST(CudaRuntimeDeathTest, MissingDriverIsAClearErrorNotACrash) {
  EXPECT_EXIT(
      {
        setenv("KILN_CUDA_LIBRARY", "/nonexistent/libcuda.so.1", 1);
        int status = kiln_cuda_init(0);
        std::string message = kiln_cuda_last_error();
        bool clear =
            status == KILN_CUDA_NO_DRIVER &&
            message.rfind("no CUDA device: /nonexistent/libcuda.so.1 not "
                          "found",
                          0) == 0;
        // Everything after a failed init reports the same error.
        kiln_cuda_ptr ptr = 0;
        uint64_t param = 0;
        clear = clear && kiln_cuda_malloc(&ptr, 16) != KILN_CUDA_OK &&
                kiln_cuda_launch("", "k", 1, 1, &param, 1) != KILN_CUDA_OK &&
                kiln_cuda_synchronize() != KILN_CUDA_OK &&
                message == kiln_cuda_last_error();
        std::exit(clear ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

TEST(CudaRuntimeDeathTest, LaunchWithoutInitIsAnError) {
  EXPECT_EXIT(
      {
        uint64_t param = 0;
        int status = kiln_cuda_launch("", "k", 1, 1, &param, 1);
        std::string message = kiln_cuda_last_error();
        std::exit(status == KILN_CUDA_NO_DEVICE &&
                          message.find("not initialized") != std::string::npos
                      ? 0
                      : 1);
      },
      testing::ExitedWithCode(0), "");
}

TEST(CudaRuntimeDeathTest, GraphsWithoutInitAreErrors) {
  EXPECT_EXIT(
      {
        kiln_cuda_graph graph = reinterpret_cast<kiln_cuda_graph>(1);
        bool clear = kiln_cuda_capture_begin() == KILN_CUDA_NO_DEVICE;
        std::string message = kiln_cuda_last_error();
        clear = clear &&
                message.rfind("kiln_cuda_capture_begin: the CUDA runtime is "
                              "not initialized",
                              0) == 0 &&
                kiln_cuda_capture_end(&graph) == KILN_CUDA_NO_DEVICE &&
                graph == nullptr &&
                kiln_cuda_graph_launch(nullptr) == KILN_CUDA_NO_DEVICE &&
                kiln_cuda_graph_destroy(nullptr) == KILN_CUDA_OK &&
                kiln_cuda_copy_on_device(0, 0, 4) == KILN_CUDA_NO_DEVICE;
        std::exit(clear ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

TEST(CudaRuntimeDeathTest, CopiesBesideKernelsWithoutInitAreErrors) {
  EXPECT_EXIT(
      {
        float x = 1.0f;
        bool clear =
            kiln_cuda_copy_to_device_beside(0, &x, 4, nullptr, nullptr) ==
            KILN_CUDA_NO_DEVICE;
        std::string message = kiln_cuda_last_error();
        clear = clear &&
                message.rfind("kiln_cuda_copy_to_device_beside: the CUDA "
                              "runtime is not initialized",
                              0) == 0 &&
                kiln_cuda_stream_wait(nullptr) == KILN_CUDA_NO_DEVICE;
        std::exit(clear ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

// y[i] = 2 * x[i] + 1 for i < n, in PTX 7.8 for sm_80.
const char kScaleKernel[] = R"(
.version 7.8
.target sm_80
.address_size 64
.visible .entry scale(.param .u64 x, .param .u64 y, .param .u32 n) {
  .reg .pred %p;
  .reg .b32 %r<5>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [x];
  ld.param.u64 %rd2, [y];
  ld.param.u32 %r1, [n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r2, %r2, %r3, %r4;
  setp.ge.u32 %p, %r2, %r1;
  @%p ret;
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mul.wide.u32 %rd3, %r2, 4;
  add.s64 %rd4, %rd1, %rd3;
  add.s64 %rd5, %rd2, %rd3;
  ld.global.f32 %f1, [%rd4];
  fma.rn.f32 %f2, %f1, 0f40000000, 0f3F800000;
  st.global.f32 [%rd5], %f2;
  ret;
}
)";

TEST(CudaRuntimeGpuTest, RunsAPtxKernel) {
  if (kiln_cuda_init(0) != KILN_CUDA_OK)
    GTEST_SKIP() << "[SKIP] " << kiln_cuda_last_error();
  const uint32_t n = 1000;
  std::vector<float> x(n), y(n, -1.0f);
  for (uint32_t i = 0; i < n; ++i)
    x[i] = float(i) * 0.5f;
  kiln_cuda_ptr dx = 0, dy = 0;
  ASSERT_EQ(kiln_cuda_malloc(&dx, n * 4), 0) << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_malloc(&dy, n * 4), 0) << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_copy_to_device(dx, x.data(), n * 4), 0);
  // The third parameter is a u32 in a 64-bit slot: little-endian, so the
  // driver reads the low half.
  uint64_t params[] = {dx, dy, n};
  for (int repeat = 0; repeat < 2; ++repeat) // the second hits the cache
    ASSERT_EQ(kiln_cuda_launch(kScaleKernel, "scale", (n + 127) / 128, 128,
                               params, 3),
              0)
        << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_copy_to_host(y.data(), dy, n * 4), 0);
  ASSERT_EQ(kiln_cuda_synchronize(), 0) << kiln_cuda_last_error();
  for (uint32_t i = 0; i < n; ++i)
    ASSERT_EQ(y[i], 2.0f * x[i] + 1.0f) << "at " << i;
  kiln_cuda_free(dx);
  kiln_cuda_free(dy);
}

// A recorded launch replays on the buffers it was recorded with: new
// contents of x give new results, and nothing runs while recording.
TEST(CudaRuntimeGpuTest, ReplaysARecordedGraph) {
  if (kiln_cuda_init(0) != KILN_CUDA_OK)
    GTEST_SKIP() << "[SKIP] " << kiln_cuda_last_error();
  const uint32_t n = 300;
  std::vector<float> x(n, 1.0f), y(n, -1.0f);
  kiln_cuda_ptr dx = 0, dy = 0, dz = 0;
  ASSERT_EQ(kiln_cuda_malloc(&dx, n * 4), 0) << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_malloc(&dy, n * 4), 0) << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_malloc(&dz, n * 4), 0) << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_copy_to_device(dx, x.data(), n * 4), 0);
  ASSERT_EQ(kiln_cuda_copy_to_device(dy, y.data(), n * 4), 0);
  uint64_t params[] = {dx, dy, n};
  ASSERT_EQ(kiln_cuda_launch(kScaleKernel, "scale", 3, 128, params, 3), 0)
      << kiln_cuda_last_error(); // loads the module outside the recording
  ASSERT_EQ(kiln_cuda_copy_to_device(dy, y.data(), n * 4), 0);
  ASSERT_EQ(kiln_cuda_synchronize(), 0) << kiln_cuda_last_error();
  kiln_cuda_graph graph = nullptr;
  ASSERT_EQ(kiln_cuda_capture_begin(), 0) << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_launch(kScaleKernel, "scale", 3, 128, params, 3), 0);
  ASSERT_EQ(kiln_cuda_copy_on_device(dz, dy, n * 4), 0);
  ASSERT_EQ(kiln_cuda_capture_end(&graph), 0) << kiln_cuda_last_error();
  ASSERT_NE(graph, nullptr);
  std::vector<float> out(n);
  ASSERT_EQ(kiln_cuda_copy_to_host(out.data(), dy, n * 4), 0);
  ASSERT_EQ(kiln_cuda_synchronize(), 0);
  EXPECT_EQ(out[0], -1.0f) << "the recorded launch ran while recording";
  for (float value : {0.5f, 3.0f}) {
    std::fill(x.begin(), x.end(), value);
    ASSERT_EQ(kiln_cuda_copy_to_device(dx, x.data(), n * 4), 0);
    ASSERT_EQ(kiln_cuda_graph_launch(graph), 0) << kiln_cuda_last_error();
    ASSERT_EQ(kiln_cuda_copy_to_host(out.data(), dz, n * 4), 0);
    ASSERT_EQ(kiln_cuda_synchronize(), 0) << kiln_cuda_last_error();
    for (uint32_t i = 0; i < n; ++i)
      ASSERT_EQ(out[i], 2.0f * value + 1.0f) << "at " << i;
  }
  EXPECT_EQ(kiln_cuda_graph_destroy(graph), 0);
  kiln_cuda_free(dx);
  kiln_cuda_free(dy);
  kiln_cuda_free(dz);
}

// Copies on the copy stream, ordered by events as the trainer orders its
// batches: each launch waits for its input's copy, each refill of the
// device buffer waits for the launch that read it; every result is the
// one of its own input.
TEST(CudaRuntimeGpuTest, CopiesBesideKernelsAreOrderedByEvents) {
  if (kiln_cuda_init(0) != KILN_CUDA_OK)
    GTEST_SKIP() << "[SKIP] " << kiln_cuda_last_error();
  const uint32_t n = 4096;
  const int rounds = 8;
  float *pinned = nullptr;
  ASSERT_EQ(kiln_cuda_malloc_host(reinterpret_cast<void **>(&pinned), n * 4), 0);
  kiln_cuda_ptr dx = 0, dy = 0;
  ASSERT_EQ(kiln_cuda_malloc(&dx, n * 4), 0) << kiln_cuda_last_error();
  ASSERT_EQ(kiln_cuda_malloc(&dy, size_t(n) * 4 * rounds), 0);
  kiln_cuda_event copied = nullptr, consumed = nullptr;
  ASSERT_EQ(kiln_cuda_event_create(&copied), 0);
  ASSERT_EQ(kiln_cuda_event_create(&consumed), 0);
  for (int round = 0; round < rounds; ++round) {
    if (round > 0)
      ASSERT_EQ(kiln_cuda_event_wait(copied), 0) << kiln_cuda_last_error();
    std::fill(pinned, pinned + n, float(round));
    ASSERT_EQ(kiln_cuda_copy_to_device_beside(dx, pinned, n * 4,
                                              round > 0 ? consumed : nullptr,
                                              copied),
              0)
        << kiln_cuda_last_error();
    ASSERT_EQ(kiln_cuda_stream_wait(copied), 0) << kiln_cuda_last_error();
    uint64_t params[] = {dx, dy + uint64_t(round) * n * 4, n};
    ASSERT_EQ(kiln_cuda_launch(kScaleKernel, "scale", n / 128, 128, params, 3), 0)
        << kiln_cuda_last_error();
    ASSERT_EQ(kiln_cuda_event_record(consumed), 0);
  }
  std::vector<float> y(size_t(n) * rounds);
  ASSERT_EQ(kiln_cuda_copy_to_host(y.data(), dy, y.size() * 4), 0);
  ASSERT_EQ(kiln_cuda_synchronize(), 0) << kiln_cuda_last_error();
  for (int round = 0; round < rounds; ++round)
    for (uint32_t i = 0; i < n; ++i)
      ASSERT_EQ(y[size_t(round) * n + i], 2.0f * round + 1.0f)
          << "round " << round << " at " << i;
  kiln_cuda_event_destroy(copied);
  kiln_cuda_event_destroy(consumed);
  kiln_cuda_free(dx);
  kiln_cuda_free(dy);
  kiln_cuda_free_host(pinned);
}

} // namespace
