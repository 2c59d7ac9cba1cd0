//===- checkpoint.h - safetensors checkpoints of model state ----*- C++ -*-===//
//
// Saves and loads the named state of a compiled model (its parameters and
// optimizer buffers, described by kiln_model_info::state) as a safetensors
// file, the format PyTorch users load with a few lines of Python:
//
//   [8 bytes]  N, the header length, little-endian uint64
//   [N bytes]  JSON: {"__metadata__": {"kiln.epoch": "3", ...},
//                     "fc1.weight": {"dtype": "F32", "shape": [512, 784],
//                                    "data_offsets": [0, 1605632]}, ...}
//              padded with spaces so the data starts 8-byte aligned
//   [rest]     raw little-endian tensor data; offsets are relative to here
//
// Tensors are named as in PyTorch's state_dict ("fc1.weight"); an optimizer
// buffer is "<param>.<buffer>" ("fc1.weight.momentum_buffer"). See
// docs/checkpoints.md.
//
// Saving is atomic: the file is written under a temporary name in the target's
// directory, fsync'ed and renamed over the target, so a crash or an I/O error
// never leaves a truncated checkpoint and never loses an existing one.
// A save also removes temporary files that earlier saves to the same path
// left when their process was killed (but never one a live process writes).
// Loading validates the whole file (header, JSON, every tensor's dtype, shape
// and data range, the data layout as the reference implementation does, and
// the kiln.* metadata) against the model before it writes a byte of the
// arena, so a failed load leaves the arena unchanged. The header's size and
// the work spent on it are bounded (at most 100,000,000 bytes as in
// safetensors, 100,000 tensors, 10,000 metadata entries, nesting 64 deep).
//
// Thread safety: the functions keep no global state and are reentrant; two
// concurrent saves to the same path leave one of the two complete files.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CHECKPOINT_H
#define KILN_RUNTIME_CHECKPOINT_H

#include "kiln/runtime/model_abi.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::runtime {

/// The safetensors name of a KILN_* dtype ("F32", "F64", "I32", "I64"), or
/// nullptr for an unknown dtype.
const char *safetensorsDtypeName(int32_t dtype);

/// Bytes per element of a KILN_* dtype, or 0 for an unknown dtype.
int64_t dtypeSize(int32_t dtype);

/// True if state entry \p index of \p model is an optimizer buffer, i.e. its
/// name extends another entry's name by ".<buffer>"
/// ("fc1.weight.momentum_buffer"); false for a parameter.
bool isOptimizerBuffer(const kiln_model_info &model, int32_t index);

/// One tensor to write: row-major data of \p dtype (a KILN_* value) and
/// \p shape, in host (little-endian) byte order.
struct TensorRef {
  std::string name;
  int32_t dtype = KILN_F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
};

/// Writes \p tensors (in this order) and \p metadata to \p path as a
/// safetensors file, atomically (temporary file, fsync, rename). Returns false
/// and sets \p error, naming the file, on an invalid tensor (empty, duplicate
/// or reserved name, unknown dtype, negative dimension) or an I/O error; an
/// existing \p path is then left as it was.
bool writeSafetensors(const std::string &path, const std::vector<TensorRef> &tensors,
                      const std::map<std::string, std::string> &metadata, std::string &error);

/// Saves every state tensor of \p model (parameters, then optimizer buffers,
/// in state-table order) from \p arena to \p path, with \p metadata in
/// "__metadata__". Adds "format": "pt" (what PyTorch tooling expects) unless
/// \p metadata has a "format" entry. Refuses kiln.* metadata that
/// validateKilnMetadata rejects. Atomic as writeSafetensors.
bool saveCheckpoint(const kiln_model_info &model, const void *arena, const std::string &path,
                    const std::map<std::string, std::string> &metadata, std::string &error);

/// What loadCheckpoint accepts beyond an exact match of the model's state.
struct LoadOptions {
  /// Load parameters only (fine-tuning, or a state_dict saved from PyTorch):
  /// the file need not contain optimizer buffers, any it has are validated
  /// but not loaded, and the arena's buffers keep their current values.
  bool parameters_only = false;
  /// Ignore tensors the model does not have instead of failing.
  bool allow_unknown_tensors = false;
  /// Keep the arena's values of wanted tensors the file lacks instead of
  /// failing (with allow_unknown_tensors: PyTorch's load_state_dict(strict=False),
  /// e.g. fine-tuning into a model with a new head). Shapes and dtypes of the
  /// tensors both sides have must still match.
  bool allow_missing_tensors = false;
};

/// What a successful loadCheckpoint read, and what it skipped.
struct LoadResult {
  std::map<std::string, std::string> metadata; ///< The file's "__metadata__".
  /// Wanted model tensors the file lacks (allow_missing_tensors), in state order.
  std::vector<std::string> missing;
  /// File tensors the model lacks (allow_unknown_tensors), in file order.
  std::vector<std::string> unexpected;
};

/// Loads \p path into \p arena, the arena of \p model. Every tensor of the
/// model's state (only the parameters with options.parameters_only) must be in
/// the file with the same dtype and shape, unless options allow otherwise. On
/// success fills \p result (if not null) and returns true. On any error
/// returns false, sets \p error to a message starting with the path
/// ("mlp.safetensors: missing tensor 'fc2.bias'") and leaves the arena
/// unchanged.
bool loadCheckpoint(const kiln_model_info &model, void *arena, const std::string &path,
                    const LoadOptions &options, LoadResult *result, std::string &error);

/// Reads only the "__metadata__" of the safetensors file \p path (validating
/// its header and kiln.* metadata as loadCheckpoint does, but no tensor
/// against any model).
bool readCheckpointMetadata(const std::string &path, std::map<std::string, std::string> &metadata,
                            std::string &error);

/// The largest "kiln.epoch" a checkpoint may record: a resumed run continues
/// with epoch + 1, which must still be an int.
constexpr int32_t kMaxCheckpointEpoch = INT32_MAX - 1;

/// Checks the metadata entries kiln reads back, where present: "kiln.epoch"
/// (a decimal integer from 0 to kMaxCheckpointEpoch), "kiln.seed" (a decimal
/// uint64), "kiln.lr" (a finite number > 0) and "kiln.lr_schedule" (as
/// parseLrSchedule reads it). Integers are canonical: no sign, space,
/// leading zero or trailing text. On error returns false and sets \p error
/// to "<path>: metadata \"kiln.epoch\" is ...". loadCheckpoint and
/// readCheckpointMetadata call it on every file they read.
bool validateKilnMetadata(const std::string &path,
                          const std::map<std::string, std::string> &metadata, std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_CHECKPOINT_H
