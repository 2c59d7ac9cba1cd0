//===- cuda_runner.h - The trainer's steps on a GPU (private) ---*- C++ -*-===//

#ifndef KILN_RUNTIME_SRC_CUDA_RUNNER_H
#define KILN_RUNTIME_SRC_CUDA_RUNNER_H

#include "kiln/runtime/cuda_trainer.h"
#include "model_runner.h"

#include <memory>
#include <string>

namespace kiln::runtime {

/// Checks that \p gpu is the NVPTX build of \p cpu (same arena) and
/// initializes CUDA device 0; false with the reason in \p error, for a
/// missing device the runtime's "no CUDA device: ..." after "--device cuda: ".
bool openCudaDevice(const kiln_model_info *cpu, const kiln_cuda_model *gpu,
                    std::string &error);

/// A runner that trains \p gpu (the NVPTX build of \p cpu) on CUDA device 0,
/// its state mirrored to and from \p hostArena; with \p graphs, each step
/// after the first replays a CUDA graph of the step's launches. Returns null and sets
/// \p error when \p gpu is null (a CPU-only trainer), the two builds
/// disagree, or there is no usable device ("no CUDA device: ...").
std::unique_ptr<ModelRunner> makeCudaRunner(const kiln_model_info *cpu,
                                            const kiln_cuda_model *gpu, void *hostArena,
                                            bool graphs, std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_CUDA_RUNNER_H
