//===- checkpoint.cpp - safetensors checkpoints of model state ------------===//
//
// Implements checkpoint.h on top of safetensors_format.h (the header's JSON
// and layout) and atomic_file.h (reads, atomic replacement): the model's
// state table checked and mapped to tensors, and the save and load of an
// arena.
//
// Loading reads and checks the whole header, then checks every tensor against
// the model's state table, then reads the data into a staging buffer, and only
// then copies into the arena: any error leaves the arena untouched.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/checkpoint.h"

#include "atomic_file.h"
#include "safetensors_format.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian: big-endian hosts need byte swapping here");

namespace kiln::runtime {

namespace {

using safetensors::byteCount;
using safetensors::Header;
using safetensors::HeaderLimits;
using safetensors::shapeString;
using safetensors::TensorInfo;

std::string str(uint64_t v) { return std::to_string(v); }

/// A checked header and where its data starts in the file.
struct FileHeader : Header {
  uint64_t dataStart = 0; ///< 8 + header length.
};

/// Opens \p path and reads and validates its header, data layout and kiln.*
/// metadata (but not against any model). Errors start with the path.
bool readHeader(const std::string &path, Fd &file, FileHeader &h, std::string &error) {
  auto bad = [&](const std::string &what) {
    error = path + ": " + what;
    return false;
  };
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0)
    return bad(std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(file.fd, &st) != 0)
    return bad(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return bad("not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8)
    return bad("truncated: file has " + str(size) +
               " bytes, fewer than the 8-byte header length");
  unsigned char lengthBytes[8];
  std::string ioError;
  if (!readAt(file.fd, lengthBytes, 8, 0, ioError))
    return bad("read error: " + ioError);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(lengthBytes[i]) << (8 * i);
  // Checked before anything is allocated for the header.
  if (n > HeaderLimits::kMaxBytes)
    return bad("bad header length " + str(n) + ": more than the " +
               str(HeaderLimits::kMaxBytes) + " bytes safetensors allows");
  if (n > size - 8)
    return bad("bad header length " + str(n) + ": only " + str(size - 8) +
               " bytes follow it (truncated, or not a safetensors file)");
  if (n < 2)
    return bad("bad header length " + str(n) + ": too short for a JSON object");
  std::string text(n, '\0');
  if (!readAt(file.fd, text.data(), n, 8, ioError))
    return bad("read error: " + ioError);
  if (text[0] != '{')
    return bad("not a safetensors file: the header does not start with '{'");
  if (std::string e = safetensors::parseHeader(text, h); !e.empty())
    return bad(e);
  h.dataStart = 8 + n;
  if (std::string e = safetensors::checkDataLayout(h.tensors, size - h.dataStart); !e.empty())
    return bad(e);
  return validateKilnMetadata(path, h.metadata, error);
}

std::vector<int64_t> entryShape(const kiln_state_entry &e) {
  return e.rank > 0 ? std::vector<int64_t>(e.shape, e.shape + e.rank) : std::vector<int64_t>();
}

/// Checks the model's state table (a malformed generated header must give an
/// error, not an out-of-bounds copy) and returns each entry's byte size.
bool validateStateTable(const kiln_model_info &m, std::vector<uint64_t> &bytes,
                        std::string &error) {
  const std::string model = "model '" + std::string(m.name ? m.name : "<unnamed>") + "'";
  if (m.num_state <= 0 || !m.state) {
    error = model + " describes no state tensors (num_state " + std::to_string(m.num_state) +
            "), so it cannot be checkpointed";
    return false;
  }
  std::set<std::string_view> names;
  error.clear();
  for (int32_t i = 0; i < m.num_state; ++i) {
    const kiln_state_entry &e = m.state[i];
    const std::string where = model + ": state entry " + std::to_string(i);
    uint64_t size = 0;
    if (!e.name || !*e.name || std::string_view(e.name) == "__metadata__")
      error = where + " has an invalid name";
    else if (!names.insert(e.name).second)
      error = where + " repeats the name '" + e.name + "'";
    else if (!dtypeSize(e.dtype))
      error = where + " ('" + e.name + "') has unknown dtype " + std::to_string(e.dtype);
    else if (e.rank < 0 || (e.rank > 0 && !e.shape) ||
             !byteCount(entryShape(e), dtypeSize(e.dtype), size))
      error = where + " ('" + e.name + "') has an invalid shape";
    else if (e.offset > m.arena_bytes || size > m.arena_bytes - e.offset)
      error = where + " ('" + e.name + "') lies outside the arena of " + str(m.arena_bytes) +
              " bytes";
    if (!error.empty())
      return false;
    bytes.push_back(size);
  }
  return true;
}

/// isOptimizerBuffer for every entry: a name extending another entry's name
/// by ".<buffer>". Looks up each prefix ending before a '.', so it is linear in
/// the total name length (times log n).
/// For each name, whether it extends another of \p names by ".<buffer>"
/// ("fc1.weight.momentum_buffer" beside "fc1.weight").
std::vector<bool> optimizerBufferFlags(const std::vector<std::string_view> &names) {
  const std::set<std::string_view> known(names.begin(), names.end());
  std::vector<bool> flags(names.size(), false);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string_view name = names[i];
    for (size_t dot = name.find('.'); dot != std::string_view::npos && !flags[i];
         dot = name.find('.', dot + 1))
      flags[i] = dot + 1 < name.size() && known.count(name.substr(0, dot));
  }
  return flags;
}

bool isObservation(const kiln_state_entry &e) { return e.flags & KILN_STATE_OBSERVATION; }

std::vector<bool> optimizerBufferFlags(const kiln_model_info &m) {
  // Observations are not model state: "h.grad" is no buffer of "h".
  std::vector<std::string_view> names;
  for (int32_t i = 0; i < m.num_state; ++i)
    names.push_back(m.state[i].name && !isObservation(m.state[i]) ? m.state[i].name : "");
  std::vector<bool> flags = optimizerBufferFlags(names);
  for (int32_t i = 0; i < m.num_state; ++i)
    if (names[i].empty())
      flags[i] = false;
  return flags;
}

} // namespace

const char *safetensorsDtypeName(int32_t dtype) {
  switch (dtype) {
  case KILN_F32: return "F32";
  case KILN_F64: return "F64";
  case KILN_I32: return "I32";
  case KILN_I64: return "I64";
  default: return nullptr;
  }
}

int64_t dtypeSize(int32_t dtype) {
  const char *name = safetensorsDtypeName(dtype);
  return name ? safetensors::sizeOfDtypeName(name) : 0;
}

bool isOptimizerBuffer(const kiln_model_info &model, int32_t index) {
  if (!model.state || index < 0 || index >= model.num_state)
    return false;
  return optimizerBufferFlags(model)[index];
}

bool writeSafetensors(const std::string &path, const std::vector<TensorRef> &tensors,
                      const std::map<std::string, std::string> &metadata, std::string &error) {
  auto bad = [&](const std::string &what) {
    error = "cannot write " + path + ": " + what;
    return false;
  };
  for (const auto &[key, value] : metadata)
    if (!safetensors::isValidUtf8(key) || !safetensors::isValidUtf8(value))
      return bad("metadata '" + key + "' is not valid UTF-8");
  std::set<std::string_view> names;
  std::vector<safetensors::TensorEntry> entries;
  std::vector<ByteRange> parts(2); // Header length and header, then the data.
  uint64_t offset = 0;
  for (const TensorRef &t : tensors) {
    uint64_t bytes = 0;
    if (t.name.empty() || t.name == "__metadata__" || !safetensors::isValidUtf8(t.name))
      return bad("invalid tensor name '" + t.name + "'");
    if (!names.insert(t.name).second)
      return bad("duplicate tensor name '" + t.name + "'");
    if (!dtypeSize(t.dtype))
      return bad("tensor '" + t.name + "' has unknown dtype " + std::to_string(t.dtype));
    if (!byteCount(t.shape, dtypeSize(t.dtype), bytes) || offset + bytes < offset)
      return bad("tensor '" + t.name + "' has an invalid shape " + shapeString(t.shape));
    if (bytes && !t.data)
      return bad("tensor '" + t.name + "' has no data");
    entries.push_back({t.name, safetensorsDtypeName(t.dtype), &t.shape, offset, offset + bytes});
    parts.push_back({t.data, bytes});
    offset += bytes;
  }
  const std::string json = safetensors::encodeHeader(entries, metadata);
  unsigned char lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(json.size()) >> (8 * i));
  parts[0] = {lengthBytes, 8};
  parts[1] = {json.data(), json.size()};
  std::string ioError;
  if (!writeFileAtomically(path, parts, ioError))
    return bad(ioError);
  return true;
}

bool saveCheckpoint(const kiln_model_info &model, const void *arena, const std::string &path,
                    const std::map<std::string, std::string> &metadata, std::string &error) {
  std::vector<uint64_t> bytes;
  if (!validateStateTable(model, bytes, error)) {
    error = "cannot write " + path + ": " + error;
    return false;
  }
  std::vector<TensorRef> tensors;
  for (int32_t i = 0; i < model.num_state; ++i) {
    const kiln_state_entry &e = model.state[i];
    if (isObservation(e))
      continue;
    const void *data = static_cast<const char *>(arena) + e.offset;
    tensors.push_back({e.name, e.dtype, entryShape(e), data});
  }
  // Never write what loadCheckpoint would refuse.
  if (!validateKilnMetadata(path, metadata, error)) {
    error = "cannot write " + error;
    return false;
  }
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "pt");
  return writeSafetensors(path, tensors, meta, error);
}

bool loadCheckpoint(const kiln_model_info &model, void *arena, const std::string &path,
                    const LoadOptions &options, LoadResult *result, std::string &error) {
  std::vector<uint64_t> bytes;
  if (!validateStateTable(model, bytes, error)) {
    error = "cannot load " + path + ": " + error;
    return false;
  }
  Fd file;
  FileHeader h;
  if (!readHeader(path, file, h, error))
    return false;
  auto bad = [&](const std::string &what) {
    error = path + ": " + what;
    return false;
  };
  std::map<std::string_view, const TensorInfo *> byName;
  for (const TensorInfo &t : h.tensors)
    byName[t.name] = &t;

  struct Copy {
    const TensorInfo *from;
    const kiln_state_entry *to;
    uint64_t staged;
  };
  std::vector<Copy> copies;
  uint64_t stagingBytes = 0;
  const std::vector<bool> isBuffer = optimizerBufferFlags(model);
  std::vector<std::string> missing, unexpected;
  for (int32_t i = 0; i < model.num_state; ++i) {
    const kiln_state_entry &e = model.state[i];
    if (isObservation(e))
      continue;
    const bool wanted = !options.parameters_only || !isBuffer[i];
    auto it = byName.find(e.name);
    if (it == byName.end()) {
      if (wanted && options.allow_missing_tensors)
        missing.push_back(e.name);
      else if (wanted)
        return bad("missing tensor '" + std::string(e.name) + "'" +
                   (isBuffer[i] ? " (an optimizer buffer; load parameters only to start "
                                  "the optimizer afresh)"
                                : ""));
      continue;
    }
    const TensorInfo &t = *it->second;
    if (t.dtype != safetensorsDtypeName(e.dtype))
      return bad("tensor '" + t.name + "' has dtype " + t.dtype + ", the model expects " +
                 safetensorsDtypeName(e.dtype));
    if (t.shape != entryShape(e))
      return bad("tensor '" + t.name + "' has shape " + shapeString(t.shape) +
                 ", the model expects " + shapeString(entryShape(e)));
    if (wanted) {
      copies.push_back({&t, &e, stagingBytes});
      stagingBytes += bytes[i];
    }
  }
  std::set<std::string_view> known;
  for (int32_t i = 0; i < model.num_state; ++i)
    if (!isObservation(model.state[i]))
      known.insert(model.state[i].name);
  std::vector<std::string_view> fileNames;
  for (const TensorInfo &t : h.tensors)
    fileNames.push_back(t.name);
  // Loading parameters only, the optimizer buffers of the file's parameters
  // are not wanted, whichever parameters the model has.
  const std::vector<bool> fileBuffers = optimizerBufferFlags(fileNames);
  for (size_t i = 0; i < h.tensors.size(); ++i) {
    const TensorInfo &t = h.tensors[i];
    if (known.count(t.name) || (options.parameters_only && fileBuffers[i]))
      continue;
    if (!options.allow_unknown_tensors)
      return bad("unexpected tensor '" + t.name + "': model '" +
                 (model.name ? model.name : "<unnamed>") + "' has no state of that name");
    unexpected.push_back(t.name);
  }

  // Stage everything first so that a read error leaves the arena unchanged.
  std::vector<char> staging(stagingBytes);
  std::string ioError;
  for (const Copy &c : copies)
    if (!readAt(file.fd, staging.data() + c.staged, c.from->end - c.from->begin,
                h.dataStart + c.from->begin, ioError))
      return bad("read error in tensor '" + c.from->name + "': " + ioError);
  for (const Copy &c : copies)
    std::memcpy(static_cast<char *>(arena) + c.to->offset, staging.data() + c.staged,
                c.from->end - c.from->begin);
  if (result) {
    result->metadata = std::move(h.metadata);
    result->missing = std::move(missing);
    result->unexpected = std::move(unexpected);
  }
  return true;
}

bool readCheckpointMetadata(const std::string &path, std::map<std::string, std::string> &metadata,
                            std::string &error) {
  Fd file;
  FileHeader h;
  if (!readHeader(path, file, h, error))
    return false;
  metadata = std::move(h.metadata);
  return true;
}

} // namespace kiln::runtime
