//===- npy.h - NumPy .npy arrays --------------------------------*- C++ -*-===//
//
// Reads and writes the NumPy .npy format (numpy.lib.format): the magic
// "\x93NUMPY", a version byte pair, a little-endian header length (2 bytes in
// version 1.0, 4 in 2.0 and 3.0), a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }
// padded with spaces to a 64-byte boundary, then the raw elements.
//
// Supported: little-endian <f4 <f8 <i4 <i8, one-byte |u1 and |b1 (bool), C
// order, any rank (shape () is a scalar). Fortran-order arrays, big-endian,
// structured and object dtypes are rejected with a message saying how to
// re-save the array. Like the IDX reader, the reader treats its input as
// untrusted: a malformed file yields an error naming the file and the
// problem, never a crash or an allocation sized by a bogus header.
//
// The writer writes to a temporary file in the destination directory and
// renames it over the destination, so readers never see a partial file.
//
// Thread safety: the functions keep no global state and are reentrant.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_NPY_H
#define KILN_RUNTIME_NPY_H

#include "kiln/runtime/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// Element types; the comment is the descr numpy writes.
enum class NpyDType : uint8_t {
  Float32, ///< '<f4'
  Float64, ///< '<f8'
  Int32,   ///< '<i4'
  Int64,   ///< '<i8'
  UInt8,   ///< '|u1'
  Bool,    ///< '|b1' (one byte, 0 or 1)
};

/// Bytes per element of \p dtype.
int npyItemSize(NpyDType dtype);
/// The descr string numpy writes for \p dtype, e.g. "<f4".
const char *npyDescr(NpyDType dtype);

/// An array in C order. `data` holds numElements() * npyItemSize(dtype)
/// bytes in host byte order; read elements with memcpy (or npyToFloat).
struct NpyArray {
  NpyDType dtype = NpyDType::Float32;
  std::vector<int64_t> shape; ///< Empty for a scalar.
  std::vector<uint8_t> data;

  /// Product of shape (1 for a scalar).
  int64_t numElements() const;
};

/// Builds an array from values. It does not check that \p shape holds
/// values.size() elements: writeNpy does, naming the file, as it does for an
/// array filled by hand.
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<float> &values);
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<double> &values);
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<int32_t> &values);
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<int64_t> &values);
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<uint8_t> &values);
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<bool> &values);

/// Reads the .npy file at \p path into \p out. On failure returns false and
/// sets \p error to a message starting with \p path, e.g.
/// "<path>: truncated: header promises 48 data bytes, file has 20".
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

struct NpyWriteOptions {
  /// Format major version: 1 or 2, or 0 for 1 when the header fits its
  /// 16-bit length (always, in practice) and 2 otherwise, as numpy does.
  int version = 0;
};

/// Writes \p array to \p path (temporary file + rename). On failure returns
/// false, sets \p error, and leaves any existing file at \p path untouched.
bool writeNpy(const std::string &path, const NpyArray &array, std::string &error,
              const NpyWriteOptions &options = {});

/// Converts any dtype to float32 (float64 and large integers round; bool is
/// 0 or 1).
void npyToFloat(const NpyArray &array, std::vector<float> &out);

/// Converts an integer or bool array to int64; returns false and sets
/// \p error for a floating-point dtype.
bool npyToInt64(const NpyArray &array, std::vector<int64_t> &out, std::string &error);

/// Loads a classification dataset from two .npy files: samples \p xPath of
/// shape [N, ...] (any dtype, converted to float32 without scaling; multiply
/// or use the Normalize transform for uint8 images) and labels \p yPath of
/// shape [N] (integer or bool dtype, values in [0, 2^31)). For regression
/// targets read the file with readNpy and npyToFloat instead.
bool loadNpyDataset(const std::string &xPath, const std::string &yPath, Dataset &out,
                    std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_NPY_H
