//===- npy.cpp - NumPy .npy arrays ----------------------------------------===//
//
// The reader checks the fixed preamble, parses the header dict with a small
// recursive-descent parser for the few Python literals it may contain
// (strings, True/False, tuples of integers), and only then reads the data,
// after comparing the promised size with the bytes the file actually has.
// The writer formats the header as numpy.lib.format does (same key order,
// growth padding, 64-byte alignment), so its files are byte-identical to
// np.save's.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/npy.h"

#include "atomic_file.h"
#include "file_checks.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <system_error>


namespace kiln::runtime {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

bool fail(std::string &error, const std::string &path, const std::string &what) {
  error = path + ": " + what;
  return false;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// Swaps each element's bytes on big-endian hosts (.npy data here is always
/// little-endian).
void littleToHost(std::vector<uint8_t> &data, int itemSize) {
  if (itemSize == 1 || std::endian::native == std::endian::little)
    return;
  for (size_t i = 0; i + itemSize <= data.size(); i += itemSize)
    std::reverse(data.begin() + i, data.begin() + i + itemSize);
}

/// The fields of a .npy header dict.
struct Header {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
};

/// Parses the header dict literal. Errors say what was expected where.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text(text) {}

  bool parse(Header &h, std::string &what) {
    bool seenDescr = false, seenFortran = false, seenShape = false;
    skipSpace();
    if (!eat('{'))
      return expected("'{' opening the header dict", what);
    for (;;) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (!parseString(key, what))
        return false;
      skipSpace();
      if (!eat(':'))
        return expected("':' after key '" + printableExcerpt(key) + "'", what);
      skipSpace();
      if (key == "descr") {
        if (peek() == '[' || peek() == '{') {
          what = "structured dtypes are not supported (descr is a list or dict)";
          return false;
        }
        if (!parseString(h.descr, what))
          return false;
        seenDescr = true;
      } else if (key == "fortran_order") {
        if (!parseBool(h.fortran, what))
          return false;
        seenFortran = true;
      } else if (key == "shape") {
        if (!parseShape(h.shape, what))
          return false;
        seenShape = true;
      } else {
        what = "malformed header: unexpected key '" + printableExcerpt(key) + "'";
        return false;
      }
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat('}'))
        break;
      return expected("',' or '}' after the value of '" + printableExcerpt(key) + "'", what);
    }
    skipSpace();
    if (pos != text.size())
      return expected("nothing after the header dict", what);
    if (!seenDescr || !seenFortran || !seenShape) {
      what = std::string("malformed header: missing key '") +
             (!seenDescr ? "descr" : !seenFortran ? "fortran_order" : "shape") + "'";
      return false;
    }
    return true;
  }

private:
  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  bool eat(char c) {
    if (peek() != c)
      return false;
    ++pos;
    return true;
  }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' ||
                                 text[pos] == '\r'))
      ++pos;
  }
  bool expected(const std::string &thing, std::string &what) {
    std::string_view shown = text;
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n'))
      shown.remove_suffix(1);
    what = "malformed header: expected " + thing + " at offset " + std::to_string(pos) +
           " in " + printableExcerpt(shown);
    return false;
  }
  bool parseString(std::string &out, std::string &what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"')
      return expected("a quoted string", what);
    ++pos;
    size_t end = text.find(quote, pos);
    if (end == std::string_view::npos)
      return expected("a closing quote", what);
    out.assign(text.substr(pos, end - pos));
    pos = end + 1;
    return true;
  }
  bool parseBool(bool &out, std::string &what) {
    if (text.substr(pos, 4) == "True") {
      pos += 4;
      out = true;
      return true;
    }
    if (text.substr(pos, 5) == "False") {
      pos += 5;
      out = false;
      return true;
    }
    return expected("True or False", what);
  }
  bool parseShape(std::vector<int64_t> &shape, std::string &what) {
    shape.clear();
    if (!eat('('))
      return expected("'(' opening the shape tuple", what);
    for (;;) {
      skipSpace();
      if (eat(')'))
        return true;
      int64_t d = 0;
      const char *begin = text.data() + pos, *end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(begin, end, d);
      if (ec == std::errc::result_out_of_range) {
        what = "malformed header: shape dimension too large";
        return false;
      }
      if (ec != std::errc() || d < 0)
        return expected("a non-negative integer in the shape", what);
      pos += static_cast<size_t>(ptr - begin);
      eat('L'); // Python 2 longs: (3L, 4L)
      shape.push_back(d);
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat(')'))
        return true;
      return expected("',' or ')' in the shape", what);
    }
  }

  std::string_view text;
  size_t pos = 0;
};

/// Maps a descr string to a dtype, or explains why it is unsupported.
bool parseDescr(const std::string &descr, NpyDType &dtype, std::string &what) {
  static const struct {
    const char *names[3];
    NpyDType dtype;
  } table[] = {
      {{"<f4"}, NpyDType::Float32},           {{"<f8"}, NpyDType::Float64},
      {{"<i4"}, NpyDType::Int32},             {{"<i8"}, NpyDType::Int64},
      {{"|u1", "<u1", ">u1"}, NpyDType::UInt8}, {{"|b1", "<b1", ">b1"}, NpyDType::Bool},
  };
  for (const auto &row : table)
    for (const char *name : row.names)
      if (name && descr == name) {
        dtype = row.dtype;
        return true;
      }
  what = "unsupported dtype '" + printableExcerpt(descr) + "'";
  if (!descr.empty() && descr[0] == '>')
    what += " (big-endian; re-save with arr.astype(arr.dtype.newbyteorder('<')))";
  what += "; supported: <f4 <f8 <i4 <i8 |u1 |b1";
  return false;
}

/// Reads exactly \p n bytes; false on a short read.
bool readExact(std::ifstream &f, void *dst, size_t n) {
  f.read(static_cast<char *>(dst), static_cast<std::streamsize>(n));
  return static_cast<size_t>(f.gcount()) == n;
}

template <typename T>
NpyArray fromValues(NpyDType dtype, std::vector<int64_t> shape, const T *values, size_t count) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(count * sizeof(T));
  if (count)
    std::memcpy(a.data.data(), values, count * sizeof(T));
  return a;
}

template <typename T> T load(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

} // namespace

int npyItemSize(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::Float64:
  case NpyDType::Int64:
    return 8;
  case NpyDType::Float32:
  case NpyDType::Int32:
    return 4;
  case NpyDType::UInt8:
  case NpyDType::Bool:
    return 1;
  }
  return 0;
}

const char *npyDescr(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::Float32:
    return "<f4";
  case NpyDType::Float64:
    return "<f8";
  case NpyDType::Int32:
    return "<i4";
  case NpyDType::Int64:
    return "<i8";
  case NpyDType::UInt8:
    return "|u1";
  case NpyDType::Bool:
    return "|b1";
  }
  return "?";
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<float> &v) {
  return fromValues(NpyDType::Float32, std::move(shape), v.data(), v.size());
}
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<double> &v) {
  return fromValues(NpyDType::Float64, std::move(shape), v.data(), v.size());
}
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<int32_t> &v) {
  return fromValues(NpyDType::Int32, std::move(shape), v.data(), v.size());
}
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<int64_t> &v) {
  return fromValues(NpyDType::Int64, std::move(shape), v.data(), v.size());
}
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<uint8_t> &v) {
  return fromValues(NpyDType::UInt8, std::move(shape), v.data(), v.size());
}
NpyArray makeNpyArray(std::vector<int64_t> shape, const std::vector<bool> &v) {
  std::vector<uint8_t> bytes(v.begin(), v.end());
  return fromValues(NpyDType::Bool, std::move(shape), bytes.data(), bytes.size());
}

namespace {

bool readNpyFile(const std::string &path, NpyArray &out, std::string &error) {
  // A FIFO or a device has no size to check the header against, and opening
  // a FIFO blocks: only regular files are read.
  uint64_t fileSize = 0;
  if (!checkInputFile(path, UINT64_MAX, fileSize, error))
    return false;
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return fail(error, path, std::string("cannot open: ") + std::strerror(errno));

  // Preamble: magic, version, header length.
  uint8_t pre[8];
  if (!readExact(f, pre, sizeof(pre))) {
    if (f.gcount() >= static_cast<std::streamsize>(kMagicLen) &&
        std::memcmp(pre, kMagic, kMagicLen) == 0)
      return fail(error, path, "truncated: file ends inside the preamble");
    return fail(error, path, "not a .npy file (bad magic; file is " +
                                 std::to_string(fileSize) + " bytes)");
  }
  if (std::memcmp(pre, kMagic, kMagicLen) != 0) {
    char buf[96];
    std::snprintf(buf, sizeof(buf),
                  "not a .npy file (bad magic %02x %02x %02x %02x %02x %02x, expected "
                  "93 4e 55 4d 50 59 = \"\\x93NUMPY\")",
                  pre[0], pre[1], pre[2], pre[3], pre[4], pre[5]);
    return fail(error, path, buf);
  }
  const int major = pre[6], minor = pre[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return fail(error, path, "unsupported .npy format version " + std::to_string(major) + "." +
                                 std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  uint64_t headerLen = 0;
  uint64_t preambleLen = 0;
  uint8_t len[4] = {0, 0, 0, 0};
  const size_t lenBytes = major == 1 ? 2 : 4;
  if (!readExact(f, len, lenBytes))
    return fail(error, path, "truncated: file ends inside the preamble");
  headerLen = uint64_t(len[0]) | uint64_t(len[1]) << 8 | uint64_t(len[2]) << 16 |
              uint64_t(len[3]) << 24;
  preambleLen = 8 + lenBytes;
  if (headerLen > fileSize - preambleLen)
    return fail(error, path, "truncated: header length is " + std::to_string(headerLen) +
                                 " bytes, file has " +
                                 std::to_string(fileSize - preambleLen) + " after the preamble");

  std::string text(static_cast<size_t>(headerLen), '\0');
  if (!readExact(f, text.data(), text.size()))
    return fail(error, path, "read error in the header");
  Header h;
  std::string what;
  if (!HeaderParser(text).parse(h, what))
    return fail(error, path, what);
  if (!parseDescr(h.descr, out.dtype, what))
    return fail(error, path, what);
  if (h.fortran)
    return fail(error, path,
                "fortran_order arrays are not supported; save a C-order array "
                "(np.save(path, np.ascontiguousarray(a)))");
  out.shape = h.shape;

  // Size check before allocating: the product is bounded by the file size.
  const uint64_t itemSize = static_cast<uint64_t>(npyItemSize(out.dtype));
  const uint64_t available = fileSize - preambleLen - headerLen;
  uint64_t elements = 1;
  bool huge = false;
  for (int64_t d : out.shape) {
    if (d == 0) {
      elements = 0;
      huge = false;
      break;
    }
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements))
      huge = true;
  }
  uint64_t promised = 0;
  if (huge || __builtin_mul_overflow(elements, itemSize, &promised))
    return fail(error, path, "truncated: shape " + shapeString(out.shape) + " of " + printableExcerpt(h.descr) +
                                 " is larger than the file (" + std::to_string(available) +
                                 " data bytes)");
  if (promised > available)
    return fail(error, path, "truncated: header promises " + std::to_string(promised) +
                                 " data bytes (shape " + shapeString(out.shape) + ", " +
                                 printableExcerpt(h.descr) + "), file has " + std::to_string(available));
  if (promised < available)
    return fail(error, path, std::to_string(available - promised) +
                                 " trailing bytes after the " + std::to_string(promised) +
                                 " data bytes the header promises");
  out.data.resize(static_cast<size_t>(promised));
  if (promised && !readExact(f, out.data.data(), out.data.size()))
    return fail(error, path, "read error in the data");
  littleToHost(out.data, static_cast<int>(itemSize));
  return true;
}

} // namespace

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  out = NpyArray{};
  try {
    return readNpyFile(path, out, error);
  } catch (const std::bad_alloc &) {
    out = NpyArray{};
    return fail(error, path, "out of memory reading the array");
  }
}

bool writeNpy(const std::string &path, const NpyArray &array, std::string &error,
              const NpyWriteOptions &options) {
  const int itemSize = npyItemSize(array.dtype);
  for (int64_t d : array.shape)
    if (d < 0)
      return fail(error, path, "cannot write: negative extent in shape " +
                                   shapeString(array.shape));
  const uint64_t need = static_cast<uint64_t>(array.numElements()) * itemSize;
  if (array.data.size() != need)
    return fail(error, path, "cannot write: shape " + shapeString(array.shape) + " of " +
                                 npyDescr(array.dtype) + " needs " + std::to_string(need) +
                                 " bytes, array has " + std::to_string(array.data.size()));
  if (options.version < 0 || options.version > 2)
    return fail(error, path, "cannot write: unsupported version " +
                                 std::to_string(options.version) + " (use 0, 1 or 2)");

  // numpy.lib.format's layout, so the bytes equal np.save's: the dict, spare
  // spaces for the first extent to grow to 21 digits (GROWTH_AXIS_MAX_DIGITS),
  // then padding and '\n' so the data starts on a 64-byte boundary. Like
  // numpy, a header that is already aligned still gets 64 spaces.
  std::string dict = std::string("{'descr': '") + npyDescr(array.dtype) +
                     "', 'fortran_order': False, 'shape': " + shapeString(array.shape) + ", }";
  if (!array.shape.empty())
    dict.append(21 - std::min<size_t>(21, std::to_string(array.shape[0]).size()), ' ');
  auto headerFor = [&](int version) {
    const size_t preamble = version == 1 ? 10 : 12;
    std::string h = dict;
    const size_t pad = 64 - (preamble + h.size() + 1) % 64;
    h.append(pad, ' ');
    h += '\n';
    return h;
  };
  int version = options.version;
  std::string header = headerFor(version == 2 ? 2 : 1);
  if (version == 0)
    version = header.size() <= 0xffff ? 1 : 2;
  if (version == 2)
    header = headerFor(2);
  else if (header.size() > 0xffff)
    return fail(error, path, "cannot write: header of " + std::to_string(header.size()) +
                                 " bytes does not fit format 1.0; use version 2");

  std::string bytes(kMagic, kMagicLen);
  bytes += static_cast<char>(version);
  bytes += '\0';
  const uint64_t hl = header.size();
  for (int i = 0; i < (version == 1 ? 2 : 4); ++i)
    bytes += static_cast<char>((hl >> (8 * i)) & 0xff);
  bytes += header;

  // Replaced atomically (atomic_file.h): a failed write leaves the old file.
  std::vector<uint8_t> swapped;
  const std::vector<uint8_t> *data = &array.data;
  if (std::endian::native != std::endian::little) {
    swapped = array.data; // big-endian host: swap to little
    littleToHost(swapped, itemSize);
    data = &swapped;
  }
  std::string ioError;
  if (!writeFileAtomically(path, {{bytes.data(), bytes.size()}, {data->data(), data->size()}},
                           ioError))
    return fail(error, path, ioError);
  return true;
}

void npyToFloat(const NpyArray &a, std::vector<float> &out) {
  const size_t n = static_cast<size_t>(a.numElements());
  out.resize(n);
  const uint8_t *p = a.data.data();
  for (size_t i = 0; i < n; ++i) {
    switch (a.dtype) {
    case NpyDType::Float32:
      out[i] = load<float>(p + 4 * i);
      break;
    case NpyDType::Float64:
      out[i] = static_cast<float>(load<double>(p + 8 * i));
      break;
    case NpyDType::Int32:
      out[i] = static_cast<float>(load<int32_t>(p + 4 * i));
      break;
    case NpyDType::Int64:
      out[i] = static_cast<float>(load<int64_t>(p + 8 * i));
      break;
    case NpyDType::UInt8:
      out[i] = static_cast<float>(p[i]);
      break;
    case NpyDType::Bool:
      out[i] = p[i] ? 1.0f : 0.0f;
      break;
    }
  }
}

bool npyToInt64(const NpyArray &a, std::vector<int64_t> &out, std::string &error) {
  const size_t n = static_cast<size_t>(a.numElements());
  const uint8_t *p = a.data.data();
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    switch (a.dtype) {
    case NpyDType::Int32:
      out[i] = load<int32_t>(p + 4 * i);
      break;
    case NpyDType::Int64:
      out[i] = load<int64_t>(p + 8 * i);
      break;
    case NpyDType::UInt8:
      out[i] = p[i];
      break;
    case NpyDType::Bool:
      out[i] = p[i] ? 1 : 0;
      break;
    case NpyDType::Float32:
    case NpyDType::Float64:
      out.clear();
      error = std::string("expected an integer or bool array, got ") + npyDescr(a.dtype);
      return false;
    }
  }
  return true;
}

bool loadNpyDataset(const std::string &xPath, const std::string &yPath, Dataset &out,
                    std::string &error) {
  out = Dataset{};
  NpyArray x, y;
  if (!readNpy(xPath, x, error) || !readNpy(yPath, y, error))
    return false;
  if (x.shape.empty())
    return fail(error, xPath, "expected samples of shape [N, ...], got a scalar");
  if (y.shape.size() != 1)
    return fail(error, yPath, "expected labels of shape [N], got shape " + shapeString(y.shape));
  if (y.shape[0] != x.shape[0])
    return fail(error, xPath, "sample/label count mismatch: " + std::to_string(x.shape[0]) +
                                  " samples but " + yPath + " has " +
                                  std::to_string(y.shape[0]) + " labels");
  std::vector<int64_t> labels;
  std::string what;
  if (!npyToInt64(y, labels, what))
    return fail(error, yPath,
                what + " (labels must be class indices; for regression targets use "
                       "readNpy + npyToFloat)");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] > std::numeric_limits<int32_t>::max())
      return fail(error, yPath, "label " + std::to_string(i) + " is " +
                                    std::to_string(labels[i]) +
                                    ", not a class index in [0, 2^31)");
  out.size = x.shape[0];
  out.sample_shape.assign(x.shape.begin() + 1, x.shape.end());
  npyToFloat(x, out.x);
  out.y.assign(labels.begin(), labels.end());
  return true;
}

} // namespace kiln::runtime
