//===- safetensors_format.h - safetensors headers ---------------*- C++ -*-===//
//
// The in-memory side of the safetensors format (checkpoint.h describes the
// layout): parsing and validating a header's JSON text, checking that the
// tensors tile the data section, and encoding a header for the writer. No file
// I/O here (atomic_file.h), no model (checkpoint.cpp).
//
// Reading is bounded in memory and work whatever the input: the JSON goes
// through nlohmann::json's SAX interface straight into TensorInfo records (no
// DOM), and the parser stops at the first exceeded limit (HeaderLimits), with
// an error naming it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_SAFETENSORS_FORMAT_H
#define KILN_RUNTIME_SRC_SAFETENSORS_FORMAT_H

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::runtime::safetensors {

/// What a header may hold. The byte limit is the reference implementation's
/// (safetensors' MAX_HEADER_SIZE); the others are far above any real
/// checkpoint (a shard of a large language model has a few thousand tensors
/// and a dozen metadata entries) and keep a hostile header from costing more
/// than a fraction of a second and a few tens of MB.
struct HeaderLimits {
  static constexpr uint64_t kMaxBytes = 100'000'000;
  static constexpr uint64_t kMaxTensors = 100'000;
  static constexpr uint64_t kMaxMetadataEntries = 10'000;
  /// Open objects and arrays; a safetensors header needs 3 (root, tensor,
  /// shape), the rest is room for fields readers ignore.
  static constexpr uint64_t kMaxDepth = 64;
  /// Keys and values of the whole header, counted as they are parsed.
  static constexpr uint64_t kMaxTokens = 2'000'000;
};

struct TensorInfo {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; ///< data_offsets, relative to the data section.
};

struct Header {
  std::vector<TensorInfo> tensors; ///< In file order.
  std::map<std::string, std::string> metadata;
};

/// Parses and checks the header JSON \p text: one object of tensors (each
/// with a known dtype, a shape of non-negative integers and data_offsets whose
/// length matches shape and dtype, without overflow) and an optional
/// "__metadata__" object of strings; duplicate keys are rejected, unknown
/// fields of a tensor ignored. Returns "" or the error.
std::string parseHeader(std::string_view text, Header &header);

/// Checks that the tensors' data tiles [0, dataBytes) exactly, as the
/// reference implementation does: sorted by offset, the first begins at 0,
/// each begins where the previous ended, the last ends at dataBytes. Returns
/// "" or the error (gap, overlap, truncated data, trailing bytes).
std::string checkDataLayout(const std::vector<TensorInfo> &tensors, uint64_t dataBytes);

/// Element size of a safetensors dtype name ("F32" -> 4), or 0 if unknown.
int64_t sizeOfDtypeName(std::string_view name);

/// numel(shape) * elemSize into \p bytes; false if a dimension is negative or
/// the product does not fit in int64.
bool byteCount(const std::vector<int64_t> &shape, int64_t elemSize, uint64_t &bytes);

/// "[2, 3]".
std::string shapeString(const std::vector<int64_t> &shape);

/// True if \p s is valid UTF-8 (what every JSON reader requires of strings).
bool isValidUtf8(std::string_view s);

/// One tensor of a header to write.
struct TensorEntry {
  std::string_view name;
  const char *dtype; ///< Safetensors dtype name.
  const std::vector<int64_t> *shape;
  uint64_t begin, end;
};

/// The header JSON for \p tensors (in this order) and \p metadata (none if
/// empty), compact, padded with spaces to a multiple of 8 bytes so that the
/// data starts 8-byte aligned, as the reference writer does. Names and values
/// must be valid UTF-8.
std::string encodeHeader(const std::vector<TensorEntry> &tensors,
                         const std::map<std::string, std::string> &metadata);

} // namespace kiln::runtime::safetensors

#endif // KILN_RUNTIME_SRC_SAFETENSORS_FORMAT_H
