//===- idx.cpp - IDX file reader ------------------------------------------===//
//
// Implements readIdx on top of zlib's gz* API, which reads gzip and plain
// files alike. The data section is read in bounded chunks into a buffer that
// grows only as bytes actually arrive, so a header that promises terabytes
// produces a "truncated" error instead of an out-of-memory abort.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/idx.h"
#include "file_checks.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <zlib.h>

namespace kiln::runtime {

namespace {

/// Closes the gz handle on every return path.
struct GzFile {
  gzFile file = nullptr;
  ~GzFile() {
    if (file)
      gzclose_r(file);
  }
};

/// Headers promising more than this many elements are rejected outright; the
/// limit is far above any dataset this runtime is meant for (2^40 bytes) yet
/// keeps the size arithmetic below clear of overflow.
constexpr uint64_t kMaxElements = uint64_t(1) << 40;

/// Largest single gzread request; gzread takes an unsigned int length.
constexpr size_t kChunkBytes = size_t(1) << 20;

/// Upfront reservation cap: larger payloads grow geometrically as they are
/// read, so a lying header cannot force a huge allocation.
constexpr size_t kMaxReserve = size_t(256) << 20;

/// Reads up to \p len bytes; returns the count read, or -1 on a zlib error.
int64_t readSome(gzFile file, uint8_t *dst, size_t len) {
  size_t total = 0;
  while (total < len) {
    size_t want = std::min(len - total, kChunkBytes);
    int got = gzread(file, dst + total, static_cast<unsigned>(want));
    if (got < 0)
      return -1;
    if (got == 0)
      break;
    total += static_cast<size_t>(got);
  }
  return static_cast<int64_t>(total);
}

/// Describes the error zlib recorded on \p file. zlib prefixes its messages
/// with the path, which the caller adds itself, so that prefix is dropped.
std::string zlibError(gzFile file, const std::string &path) {
  int code = Z_OK;
  const char *raw = gzerror(file, &code);
  if (code == Z_ERRNO)
    return std::string("read error: ") + std::strerror(errno);
  if (code == Z_MEM_ERROR)
    return "out of memory";
  std::string msg = raw && *raw ? raw : "unknown zlib error";
  if (msg.rfind(path + ": ", 0) == 0)
    msg.erase(0, path.size() + 2);
  if (code == Z_BUF_ERROR)
    return "truncated: gzip stream ends early (" + msg + ")";
  return "corrupt gzip stream: " + msg;
}

/// Reverses the bytes of each element in place: IDX is big-endian.
void toHostOrder(std::vector<uint8_t> &data, int elemSize) {
  if (elemSize == 1 || std::endian::native == std::endian::big)
    return;
  for (size_t i = 0; i + elemSize <= data.size(); i += elemSize)
    std::reverse(data.begin() + i, data.begin() + i + elemSize);
}

bool fail(std::string &error, const std::string &path, const std::string &what) {
  error = path + ": " + what;
  return false;
}

} // namespace

int idxElementSize(IdxType type) {
  switch (type) {
  case IdxType::UInt8:
  case IdxType::Int8:
    return 1;
  case IdxType::Int16:
    return 2;
  case IdxType::Int32:
  case IdxType::Float32:
    return 4;
  case IdxType::Float64:
    return 8;
  }
  return 0;
}

int64_t IdxArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

namespace {

bool readIdxFile(const std::string &path, IdxArray &out, std::string &error) {
  // gzopen happily opens a directory and only fails on read with a vague
  // message, and would block on a FIFO: refuse anything but a regular file.
  uint64_t fileBytes = 0;
  if (!checkInputFile(path, UINT64_MAX, fileBytes, error))
    return false;

  GzFile gz;
  errno = 0;
  gz.file = gzopen(path.c_str(), "rb");
  if (!gz.file)
    return fail(error, path,
                std::string("cannot open: ") +
                    (errno ? std::strerror(errno) : "out of memory"));
  gzbuffer(gz.file, 1 << 17);

  uint8_t magic[4];
  int64_t got = readSome(gz.file, magic, sizeof(magic));
  if (got < 0)
    return fail(error, path, zlibError(gz.file, path));
  if (got < 4)
    return fail(error, path,
                "truncated: file ends inside the header (" +
                    std::to_string(got) + " of 4 magic bytes)");
  if (magic[0] != 0 || magic[1] != 0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "not an IDX file (bad magic 0x%02x%02x%02x%02x)",
                  magic[0], magic[1], magic[2], magic[3]);
    return fail(error, path, buf);
  }
  auto type = static_cast<IdxType>(magic[2]);
  int elemSize = idxElementSize(type);
  if (elemSize == 0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "unsupported IDX element type 0x%02x", magic[2]);
    return fail(error, path, buf);
  }
  int rank = magic[3];
  if (rank == 0)
    return fail(error, path, "invalid IDX header: rank 0");

  std::vector<uint8_t> dimBytes(4 * static_cast<size_t>(rank));
  got = readSome(gz.file, dimBytes.data(), dimBytes.size());
  if (got < 0)
    return fail(error, path, zlibError(gz.file, path));
  if (got < static_cast<int64_t>(dimBytes.size()))
    return fail(error, path,
                "truncated: file ends inside the header (" + std::to_string(got) +
                    " of " + std::to_string(dimBytes.size()) + " dimension bytes)");

  uint64_t elements = 1;
  bool overflow = false;
  out.type = type;
  out.dims.resize(rank);
  std::string shape;
  for (int i = 0; i < rank; ++i) {
    const uint8_t *p = &dimBytes[4 * i];
    uint64_t d = (uint64_t(p[0]) << 24) | (uint64_t(p[1]) << 16) |
                 (uint64_t(p[2]) << 8) | uint64_t(p[3]);
    out.dims[i] = static_cast<int64_t>(d);
    shape += (i ? "x" : "") + std::to_string(d);
    overflow = overflow || __builtin_mul_overflow(elements, d, &elements);
  }
  if (overflow || elements > kMaxElements)
    return fail(error, path,
                "invalid IDX header: implausibly large array: shape [" + shape + "] is " +
                    (overflow ? "more than 2^64" : std::to_string(elements)) +
                    " elements (limit 2^40)");

  const uint64_t promised = elements * static_cast<uint64_t>(elemSize);
  out.data.reserve(std::min<uint64_t>(promised, kMaxReserve));
  uint64_t have = 0;
  while (have < promised) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(promised - have, kChunkBytes));
    out.data.resize(have + want);
    got = readSome(gz.file, out.data.data() + have, want);
    if (got < 0)
      return fail(error, path, zlibError(gz.file, path));
    have += static_cast<uint64_t>(got);
    if (static_cast<size_t>(got) < want)
      break;
  }
  if (have < promised) {
    out.data.clear();
    return fail(error, path,
                "truncated: header promises " + std::to_string(promised) +
                    " data bytes, file has " + std::to_string(have));
  }

  // Probe one byte past the data: it detects trailing garbage and, for gzip,
  // makes zlib consume the trailer so a CRC mismatch or a cut-off trailer is
  // reported rather than silently accepted.
  uint8_t extra;
  got = readSome(gz.file, &extra, 1);
  if (got < 0)
    return fail(error, path, zlibError(gz.file, path));
  if (got > 0)
    return fail(error, path,
                "trailing data after the " + std::to_string(promised) +
                    " data bytes the header promises");
  int code = Z_OK;
  gzerror(gz.file, &code);
  if (code != Z_OK)
    return fail(error, path, zlibError(gz.file, path));

  toHostOrder(out.data, elemSize);
  return true;
}

} // namespace

bool readIdx(const std::string &path, IdxArray &out, std::string &error) {
  out = IdxArray{};
  try {
    return readIdxFile(path, out, error);
  } catch (const std::bad_alloc &) {
    out = IdxArray{};
    return fail(error, path, "out of memory reading the data the header promises");
  }
}

} // namespace kiln::runtime
