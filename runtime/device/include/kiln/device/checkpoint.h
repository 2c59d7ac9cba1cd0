/*===- checkpoint.h - safetensors checkpoints in a memory buffer ---*- C -*-===//
 *
 * Serialises a compiled model's state (kiln_model_info::state: parameters
 * and optimizer buffers, observations left out) to and from a caller-provided
 * memory buffer in the safetensors layout the host writes
 * (runtime/include/kiln/runtime/checkpoint.h, docs/checkpoints.md):
 *
 *   [8 bytes]  N, the header length, little-endian uint64
 *   [N bytes]  JSON {"__metadata__":{...},"fc.weight":{"dtype":"F32",
 *              "shape":[1,4],"data_offsets":[0,16]},...}, space-padded to 8
 *   [rest]     the tensors' bytes in state-table order
 *
 * Metadata keys are written in sorted order with "format":"pt" added, as the
 * host's saveCheckpoint does, so the same state and metadata give the same
 * bytes on both sides; a host trainer (--resume, --init-from) or PyTorch's
 * safetensors reads what a device wrote, and the device reads what the host
 * wrote. The buffer can then go to flash, a UART or a file.
 *
 * Loading is strict (every state tensor exactly once with the model's dtype
 * and shape, no unknown tensors, data ranges inside the buffer) and checks
 * the whole buffer before it writes a byte of the arena, so a failed load
 * leaves the arena unchanged. No heap, no stdio; the JSON reader recurses at
 * most 8 levels deep.
 *
 * Data is copied as stored in memory: the targets kiln supports are
 * little-endian, as safetensors is.
 *
 * Thread safety: reentrant; no global state.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_DEVICE_CHECKPOINT_H
#define KILN_DEVICE_CHECKPOINT_H

#include "kiln/runtime/model_abi.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One "__metadata__" entry (both strings are copied, JSON-escaped). */
typedef struct kiln_metadata_entry {
  const char *key;
  const char *value;
} kiln_metadata_entry;

/** Sets \p out_bytes to the size of the checkpoint kiln_checkpoint_save
 *  would write for \p model with \p metadata (\p num_metadata entries, which
 *  may be 0 with metadata NULL). */
int kiln_checkpoint_size(const kiln_model_info *model, const kiln_metadata_entry *metadata,
                         int32_t num_metadata, size_t *out_bytes);

/** Writes the state of \p model in \p arena to \p buffer (\p capacity bytes)
 *  and sets \p out_bytes to the bytes written. KILN_DEVICE_BUFFER_TOO_SMALL
 *  (with out_bytes set to the size needed) if it does not fit;
 *  KILN_DEVICE_INVALID_ARGUMENT for a malformed state table or duplicate
 *  metadata keys. */
int kiln_checkpoint_save(const kiln_model_info *model, const void *arena,
                         const kiln_metadata_entry *metadata, int32_t num_metadata,
                         void *buffer, size_t capacity, size_t *out_bytes);

/** Loads the checkpoint in \p buffer (\p bytes long) into \p arena.
 *  KILN_DEVICE_BAD_CHECKPOINT, with the arena unchanged, if the buffer is not
 *  a well-formed safetensors file holding exactly this model's state. */
int kiln_checkpoint_load(const kiln_model_info *model, void *arena, const void *buffer,
                         size_t bytes);

/** Finds metadata \p key in the checkpoint in \p buffer and copies its value,
 *  unescaped and NUL-terminated, to \p value (\p capacity bytes).
 *  KILN_DEVICE_INVALID_ARGUMENT if the key is absent,
 *  KILN_DEVICE_BUFFER_TOO_SMALL if the value does not fit. */
int kiln_checkpoint_metadata(const void *buffer, size_t bytes, const char *key, char *value,
                             size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* KILN_DEVICE_CHECKPOINT_H */
