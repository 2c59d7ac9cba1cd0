/* kiln generated-model ABI.
 *
 * A compiled model (kilnc --emit=obj) comes with a header that fills this
 * struct, so one trainer (runtime/src/trainer.cpp) drives any model. All
 * state (parameters, optimizer buffers, scratch) lives in one caller-provided
 * arena of `arena_bytes` bytes; the functions never allocate.
 * Thread safety: functions are reentrant for distinct arenas.
 */
#ifndef KILN_RUNTIME_MODEL_ABI_H
#define KILN_RUNTIME_MODEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KILN_MODEL_INFO_DEFINED
#define KILN_MODEL_INFO_DEFINED
/** Element types of state tensors. */
enum { KILN_F32 = 0, KILN_F64 = 1, KILN_I32 = 2, KILN_I64 = 3 };

/** One named tensor of model state (a parameter or an optimizer buffer, or
 *  an observation: see flags),
 *  stored row-major at `offset` bytes into the arena. Names follow PyTorch's
 *  state_dict (`fc1.weight`); optimizer buffers are `<param>.<buffer>`. */
typedef struct kiln_state_entry {
  const char* name;
  uint64_t offset;
  int32_t dtype;               /* KILN_F32, ... */
  int32_t rank;
  const int64_t* shape;        /* rank entries */
  int32_t flags;               /* KILN_STATE_* bits; 0 for model state */
} kiln_state_entry;

/** kiln_state_entry::flags: an observation (the DSL's observe()): a value and
 *  its gradient that each training step stores for the caller to read; not
 *  model state, so checkpoints leave it out. */
enum { KILN_STATE_OBSERVATION = 1 };

/** What a model's targets are (kiln_model_info::task). */
enum {
  KILN_TASK_CLASSIFICATION = 0, /* int32 class indices [batch]; argmax accuracy */
  KILN_TASK_REGRESSION = 1,     /* float32 values [batch, num_classes]; MSE */
  KILN_TASK_BINARY = 2          /* float32 0/1 labels [batch, num_classes];
                                   accuracy of output > 0 (a logit) */
};

/** Describes a compiled supervised model: inputs are float32
 *  [batch, input_shape...], outputs (logits or predictions) float32
 *  [batch, num_classes], targets as `task` says. Every function returns 0 on
 *  success. */
typedef struct kiln_model_info {
  const char* name;
  uint64_t arena_bytes;        /* bytes the caller must provide, 64-byte aligned */
  int32_t batch_size;          /* static batch size the model was compiled for */
  int32_t input_rank;          /* rank of one sample */
  const int64_t* input_shape;  /* shape of one sample (input_rank entries) */
  int64_t input_elements;      /* product of input_shape */
  int32_t num_classes;         /* outputs per sample (classes, for classification) */
  float default_lr;
  int (*init)(void* arena, uint64_t seed);
  /* y: int32_t[batch] or float[batch * num_classes], as `task` says */
  int (*train_step)(void* arena, const float* x, const void* y, float lr, float* loss);
  int (*predict)(void* arena, const float* x, float* logits);
  int32_t num_state;           /* entries in `state`, parameters first */
  const kiln_state_entry* state;
  int32_t task;                /* KILN_TASK_* */
  /* Built with --check-numerics: each train_step stores in the state entry
   * "kiln.numerics.first_nonfinite" (int32) 0, or the id of the first op (in
   * program order) whose result had a NaN or Inf; numerics_sites[id - 1]
   * says "file:line:col op (forward|backward|update of P, parameter)".
   * 0 and NULL in normal builds. */
  int32_t num_numerics_sites;
  const char* const* numerics_sites;
} kiln_model_info;
#endif

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_MODEL_ABI_H */
