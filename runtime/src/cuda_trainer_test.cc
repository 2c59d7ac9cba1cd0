//===- cuda_trainer_test.cc - kiln_train_main_cuda without a GPU ----------===//
//
// What can be checked on a machine without a GPU: --device is parsed, a
// CPU-only trainer refuses --device cuda, a CUDA trainer without a driver
// fails with the runtime's "no CUDA device" message and a non-zero status
// (never reaching the GPU functions), the two builds must agree on the
// arena, and --device cpu of a CUDA trainer is the CPU trainer, line for
// line. The GPU path itself runs in scripts/gpu-check.sh.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda_trainer.h"
#include "toy_trainer.h"

#include <gmock/gmock.h>

#include <cstdlib>

using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

// Stand-ins for a GPU build's entry points: without a device none may run.
void neverInit(void *, const int64_t *) { std::abort(); }
void neverStep(void *, const float *, const void *, const float *, float *) { std::abort(); }
void neverPredict(void *, const float *, float *) { std::abort(); }

kiln_cuda_model toyGpuBuild(const kiln_model_info &cpu) {
  return {neverInit, neverStep, neverPredict, cpu.arena_bytes};
}

TEST_F(TrainerTest, CpuOnlyTrainerRefusesDeviceCuda) {
  RunResult r = runTrainer(makeModel(), {"--device", "cuda", "--data-dir", dir});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("error: toy-train was not built for CUDA: --device cuda needs "
                               "the trainer of kiln_add_model(NAME toy_softmax TARGET cuda), "
                               "toy_softmax-train-cuda"));
  EXPECT_EQ(r.out, "");
}

TEST_F(TrainerTest, DeviceFlagTakesCpuOrCuda) {
  RunResult r = runTrainer(makeModel(), {"--device=gpu", "--data-dir", dir});
  EXPECT_EQ(r.status, KILN_TRAIN_USAGE_ERROR);
  EXPECT_THAT(r.err, HasSubstr("--device"));
  EXPECT_THAT(r.err, HasSubstr("cpu or cuda"));
  EXPECT_THAT(runTrainer(makeModel(), {"--help"}).out, HasSubstr("--device D"));
}

/// Trains with --device cuda where libcuda.so.1 cannot be found; exits 0
/// if the trainer failed (stderr is the death test's to match, so it is
/// not captured here).
[[noreturn]] void trainWithoutDriver(const std::string &dir) {
  setenv("KILN_CUDA_LIBRARY", "/nonexistent/libcuda.so.1", 1);
  const kiln_model_info model = makeModel();
  const kiln_cuda_model gpu = toyGpuBuild(model);
  std::string args[] = {"toy-train-cuda", "--device", "cuda", "--data-dir", dir};
  char *argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(),
                  args[4].data(), nullptr};
  std::exit(kiln_train_main_cuda(&model, &gpu, 5, argv) == KILN_TRAIN_FAILED ? 0 : 1);
}

// The CUDA runtime's state is process-wide (an earlier test may have
// initialized it), so this runs in a freshly executed child.
TEST_F(TrainerTest, CudaTrainerWithoutDriverSaysNoCudaDevice) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(trainWithoutDriver(dir), testing::ExitedWithCode(0),
              "error: --device cuda: no CUDA device: /nonexistent/libcuda.so.1 not found");
}

TEST_F(TrainerTest, CudaTrainerChecksBothBuildsShareTheArena) {
  const kiln_model_info model = makeModel();
  kiln_cuda_model gpu = toyGpuBuild(model);
  gpu.device_arena_bytes += 64;
  RunResult r = runTrainer(model, {"--device", "cuda", "--data-dir", dir}, &gpu);
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("model toy_softmax: the GPU build's arena (336 bytes) differs "
                               "from the CPU build's (272)"));
}

TEST_F(TrainerTest, CudaTrainerOnTheCpuIsTheCpuTrainer) {
  const kiln_model_info model = makeModel();
  const std::vector<std::string> args = {"--epochs=2", "--data-dir", dir, "--log-every=3",
                                         "--full-precision"};
  RunResult cpu = runTrainer(model, args);
  std::vector<std::string> onCpu = args;
  onCpu.push_back("--device=cpu");
  const kiln_cuda_model gpu = toyGpuBuild(model);
  RunResult cuda = runTrainer(model, onCpu, &gpu);
  ASSERT_EQ(cpu.status, KILN_TRAIN_OK) << cpu.err;
  ASSERT_EQ(cuda.status, KILN_TRAIN_OK) << cuda.err;
  // Only the timing fields may differ.
  auto withoutTimes = [](const std::string &text) {
    std::string result;
    for (const std::string &line : lines(text))
      result += line.substr(0, line.find(" samples/s")).substr(0, line.find(" (")) + "\n";
    return result;
  };
  EXPECT_EQ(withoutTimes(cuda.out), withoutTimes(cpu.out));
  EXPECT_THAT(cuda.out, HasSubstr("final test accuracy: "));
}

} // namespace
