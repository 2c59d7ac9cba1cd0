//===- cuda_runner.h - The trainer's steps on a GPU (private) ---*- C++ -*-===//

#ifndef KILN_RUNTIME_SRC_CUDA_RUNNER_H
#define KILN_RUNTIME_SRC_CUDA_RUNNER_H

#include "kiln/runtime/cuda_trainer.h"
#include "model_runner.h"

#include <memory>
#include <string>

namespace kiln::runtime {

/// A runner that trains \p gpu (the NVPTX build of \p cpu) on CUDA device 0,
/// its state mirrored to and from \p hostArena. Returns null and sets
/// \p error when \p gpu is null (a CPU-only trainer), the two builds
/// disagree, or there is no usable device ("no CUDA device: ...").
std::unique_ptr<ModelRunner> makeCudaRunner(const kiln_model_info *cpu,
                                            const kiln_cuda_model *gpu, void *hostArena,
                                            std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_SRC_CUDA_RUNNER_H
