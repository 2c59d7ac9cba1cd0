/*===- cuda_trainer.h - The trainer with --device cuda ------------*- C -*-===//
 *
 * A trainer that can also train on an NVIDIA GPU links the model twice: the
 * CPU build (its kiln_model_info: shapes, state layout, host init) and the
 * NVPTX build of the same source (kilnc --target=nvptx64-nvidia-cuda),
 * whose functions kiln_add_model(... TARGET cuda) renames <model>_cuda_*.
 * Both builds share the arena layout, so the state moves between them as
 * bytes: checkpoints saved on either device resume on the other.
 *
 *   int main(int argc, char **argv) {
 *     static const kiln_cuda_model gpu = {mlp_cuda_init, mlp_cuda_train_step,
 *                                         mlp_cuda_predict, MLP_ARENA_BYTES};
 *     return kiln_train_main_cuda(mlp_model_info(), &gpu, argc, argv);
 *   }
 *
 * (cmake/KilnModel.cmake writes this main for <model>-train-cuda.)
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_RUNTIME_CUDA_TRAINER_H
#define KILN_RUNTIME_CUDA_TRAINER_H

#include "kiln/runtime/model_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The NVPTX build's functions, as the GPU header declares them: every
 *  pointer is a device pointer (the scalars seed and lr included), and each
 *  call only enqueues kernels on kiln's CUDA stream (kiln/runtime/cuda.h). */
typedef struct kiln_cuda_model {
  void (*init)(void *arena, const int64_t *seed);
  /* y: int32_t[batch] or float[batch * num_classes], as the task says */
  void (*train_step)(void *arena, const float *x, const void *y, const float *lr,
                     float *loss);
  void (*predict)(void *arena, const float *x, float *logits);
  uint64_t device_arena_bytes; /* <MODEL>_DEVICE_ARENA_BYTES of the GPU header */
} kiln_cuda_model;

/** kiln_train_main with --device cuda available: \p gpu runs the steps on
 *  the GPU, \p cpu describes the model (and runs it with --device cpu). */
int kiln_train_main_cuda(const kiln_model_info *cpu, const kiln_cuda_model *gpu, int argc,
                         char **argv);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_CUDA_TRAINER_H */
