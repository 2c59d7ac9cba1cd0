//===- idx.h - IDX file reader ----------------------------------*- C++ -*-===//
//
// Reads arrays in the IDX format used by MNIST and Fashion-MNIST: a 4-byte
// magic (0x00 0x00 <type> <rank>), <rank> big-endian uint32 dimensions, then
// the elements in row-major order, big-endian. Files may be gzip-compressed or
// plain; zlib reads both transparently, so the caller never has to say which.
//
// The reader treats its input as untrusted: every malformed file (bad magic,
// unknown type, truncated header or data, trailing bytes, corrupt gzip stream)
// yields an error message naming the file and the problem, never a crash or an
// allocation sized by a bogus header.
//
// Thread safety: the functions keep no global state and are reentrant.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IDX_H
#define KILN_RUNTIME_IDX_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// IDX element types (the third magic byte).
enum class IdxType : uint8_t {
  UInt8 = 0x08,
  Int8 = 0x09,
  Int16 = 0x0B,
  Int32 = 0x0C,
  Float32 = 0x0D,
  Float64 = 0x0E,
};

/// Size in bytes of one element of \p type, or 0 if \p type is not a valid
/// IDX type.
int idxElementSize(IdxType type);

/// An array read from an IDX file. `data` holds the elements in row-major
/// order, already converted to host byte order (for multi-byte types, read it
/// with memcpy or reinterpret it as the matching C type).
struct IdxArray {
  IdxType type = IdxType::UInt8;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;

  /// Number of elements (product of dims; 1 for rank 0, which never occurs in
  /// a file this reader accepts).
  int64_t numElements() const;
};

/// Reads the IDX file at \p path (gzip-compressed or plain) into \p out.
/// Returns true on success. On failure returns false, leaves \p out in an
/// unspecified but valid state, and sets \p error to a message that starts
/// with \p path, e.g. "<path>: truncated: header promises 7840000 data bytes,
/// file has 1234".
bool readIdx(const std::string &path, IdxArray &out, std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_IDX_H
