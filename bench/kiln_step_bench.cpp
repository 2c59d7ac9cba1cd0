//===- kiln_step_bench.cpp - time compiled training steps -----------------===//
//
// Times the compiled train_step of each example model on a synthetic batch
// (step time does not depend on pixel values): warm-up steps (a tenth of N, at
// most 20), then the median of N. Prints JSON like bench/torch_anchor.py and
// bench/openblas_trainer.c so bench/run.py can put them in one table.
//
// usage: kiln_step_bench [--threads N] [STEPS [MODELS]]. bench/run.py reads
// `--help` to see that it takes --threads.
//
//===----------------------------------------------------------------------===//

#include "convnet.h"
#include "lenet.h"
#include "logreg.h"
#include "mlp.h"
#include "mlp_wide.h"

#include "kiln/runtime/threads.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
double medianStepMs(const kiln_model_info *model, int steps) {
  size_t bytes = (model->arena_bytes + 63) / 64 * 64;
  void *arena = std::aligned_alloc(64, bytes);
  std::memset(arena, 0, bytes);
  model->init(arena, 0);
  std::vector<float> x(model->batch_size * model->input_elements);
  std::vector<int32_t> y(model->batch_size);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(i % 255) / 255.0f;
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = static_cast<int32_t>(i % model->num_classes);
  float loss = 0;
  int warmup = std::clamp(steps / 10, 1, 20);
  for (int i = 0; i < warmup; ++i)
    model->train_step(arena, x.data(), y.data(), model->default_lr, &loss);
  std::vector<double> times;
  for (int i = 0; i < steps; ++i) {
    auto start = std::chrono::steady_clock::now();
    model->train_step(arena, x.data(), y.data(), model->default_lr, &loss);
    auto end = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::free(arena);
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}
} // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::strcmp(argv[1], "--help") == 0) {
    std::printf("usage: kiln_step_bench [--threads N] [STEPS [MODELS]]\n"
                "  --threads N  threads of the models' parallel loops "
                "(default: all cores, as the trainers)\n"
                "  STEPS   timed steps per model (default 200)\n"
                "  MODELS  comma-separated subset of "
                "logreg,mlp,mlp_wide,lenet,convnet (default: all)\n");
    return 0;
  }
  int threads = 0; // Every core, as the trainers' --threads default.
  if (argc > 2 && std::strcmp(argv[1], "--threads") == 0) {
    threads = std::atoi(argv[2]);
    argv += 2;
    argc -= 2;
    if (threads < 1) {
      std::fprintf(stderr, "kiln_step_bench: --threads must be positive\n");
      return 1;
    }
  }
  // The trainers' own setting (threads.h); 1 if the models are all serial.
  threads = kiln_set_model_threads(threads);
  int steps = argc > 1 ? std::atoi(argv[1]) : 200;
  if (steps < 1) {
    std::fprintf(stderr, "kiln_step_bench: STEPS must be positive\n");
    return 1;
  }
  // Optional second argument: comma-separated model names (default: all).
  std::string only = argc > 2 ? std::string(",") + argv[2] + "," : "";
  const kiln_model_info *all[] = {logreg_model_info(), mlp_model_info(),
                                  mlp_wide_model_info(), lenet_model_info(),
                                  convnet_model_info()};
  std::vector<const kiln_model_info *> models;
  for (const kiln_model_info *model : all)
    if (only.empty() || only.find(std::string(",") + model->name + ",") !=
                            std::string::npos)
      models.push_back(model);
  if (models.empty()) {
    std::fprintf(stderr, "kiln_step_bench: no model named in '%s'\n", argv[2]);
    return 1;
  }
  std::printf("{");
  for (size_t m = 0; m < models.size(); ++m) {
    double ms = medianStepMs(models[m], steps);
    std::printf("%s\n  \"%s\": {\"median_ms\": %.4f, \"samples_per_s\": %.1f, "
                "\"arena_bytes\": %llu, \"threads\": %d}",
                m ? "," : "", models[m]->name, ms,
                models[m]->batch_size * 1000.0 / ms,
                static_cast<unsigned long long>(models[m]->arena_bytes), threads);
    std::fflush(stdout);
  }
  std::printf("\n}\n");
  return 0;
}
