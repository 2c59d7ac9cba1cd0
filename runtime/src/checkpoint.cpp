//===- checkpoint.cpp - safetensors checkpoints of model state ------------===//
//
// Implements checkpoint.h: a small strict JSON parser for the safetensors
// header (objects, arrays, strings with all escapes, numbers, literals; depth
// limited, duplicate keys rejected), the matching writer, and the model-level
// save/load built on them. Files are accessed with POSIX calls (pread,
// fsync, rename) because atomic replacement needs them anyway.
//
// Loading reads and checks the whole header, then checks every tensor against
// the model's state table, then reads the data into a staging buffer, and only
// then copies into the arena: any error leaves the arena untouched.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/checkpoint.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian: big-endian hosts need byte swapping here");

namespace kiln::runtime {

namespace {

/// The safetensors reference implementation refuses larger headers; so do we,
/// so that a corrupt length cannot make us allocate gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

std::string str(uint64_t v) { return std::to_string(v); }

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Element size of any safetensors dtype name (0 if unknown), so that the
/// header of a file with tensors the model does not use can still be checked.
int64_t sizeOfDtypeName(std::string_view name) {
  static const std::pair<std::string_view, int64_t> kSizes[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
  for (const auto &[n, size] : kSizes)
    if (n == name)
      return size;
  return 0;
}

/// numel(shape) * elemSize, or false on overflow past int64.
bool byteCount(const std::vector<int64_t> &shape, int64_t elemSize, uint64_t &bytes) {
  uint64_t n = static_cast<uint64_t>(elemSize);
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 && n > static_cast<uint64_t>(INT64_MAX) / static_cast<uint64_t>(d))
      return false;
    n *= static_cast<uint64_t>(d);
  }
  bytes = n;
  return true;
}

/// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
/// which is what JSON readers such as Python's json module require.
bool validUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= s.size())
      return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

//===--- JSON --------------------------------------------------------------===//

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Null;
  std::string text; ///< String: the decoded value. Number: the literal.
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members; ///< In file order.
};

const char *kindName(Json::Kind k) {
  static const char *kNames[] = {"null", "a boolean", "a number", "a string", "an array",
                                 "an object"};
  return kNames[k];
}

/// A non-negative integer literal that fits in int64 (the only numbers a
/// safetensors header has).
bool toIndex(const Json &v, uint64_t &out) {
  if (v.kind != Json::Number || v.text.empty() || v.text.size() > 19 ||
      v.text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoull(v.text);
  return out <= static_cast<uint64_t>(INT64_MAX);
}

void appendQuoted(std::string &out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

/// Recursive-descent parser for RFC 8259 JSON. Errors give the byte offset.
class JsonParser {
public:
  explicit JsonParser(std::string_view text) : s(text) {}

  /// Parses one value followed by nothing but whitespace (the padding).
  bool parse(Json &out, std::string &error) {
    skipSpace();
    bool ok = value(out, 0);
    if (ok) {
      skipSpace();
      if (pos != s.size())
        ok = fail("unexpected text after the header object");
    }
    if (!ok)
      error = err;
    return ok;
  }

private:
  static constexpr int kMaxDepth = 64;
  std::string_view s;
  size_t pos = 0;
  std::string err;

  bool fail(const std::string &what) {
    err = what + " at byte " + std::to_string(pos);
    return false;
  }
  bool more() const { return pos < s.size(); }
  bool digit() const { return more() && s[pos] >= '0' && s[pos] <= '9'; }
  void skipSpace() {
    while (more() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
      ++pos;
  }
  bool literal(std::string_view word) {
    if (s.substr(pos, word.size()) != word)
      return false;
    pos += word.size();
    return true;
  }

  bool value(Json &out, int depth) {
    if (depth > kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth));
    if (!more())
      return fail("unexpected end of JSON");
    char c = s[pos];
    if (c == '{')
      return object(out, depth);
    if (c == '[')
      return array(out, depth);
    if (c == '"') {
      out.kind = Json::String;
      return string(out.text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      out.kind = Json::Number;
      return number(out.text);
    }
    if (literal("true") || literal("false")) {
      out.kind = Json::Bool;
      return true;
    }
    if (literal("null"))
      return true;
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return fail("unexpected byte " + std::to_string(static_cast<unsigned char>(c)));
    return fail(std::string("unexpected character '") + c + "'");
  }

  bool object(Json &out, int depth) {
    out.kind = Json::Object;
    ++pos; // '{'
    skipSpace();
    if (more() && s[pos] == '}') {
      ++pos;
      return true;
    }
    std::set<std::string> seen;
    for (;;) {
      skipSpace();
      if (!more() || s[pos] != '"')
        return fail("expected '\"' to start a key");
      size_t keyPos = pos;
      std::string key;
      if (!string(key))
        return false;
      if (!seen.insert(key).second) {
        pos = keyPos;
        std::string quoted;
        appendQuoted(quoted, key);
        return fail("duplicate key " + quoted);
      }
      skipSpace();
      if (!more() || s[pos] != ':')
        return fail("expected ':'");
      ++pos;
      skipSpace();
      Json v;
      if (!value(v, depth + 1))
        return false;
      out.members.emplace_back(std::move(key), std::move(v));
      skipSpace();
      if (more() && s[pos] == ',') {
        ++pos;
        continue;
      }
      if (more() && s[pos] == '}') {
        ++pos;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(Json &out, int depth) {
    out.kind = Json::Array;
    ++pos; // '['
    skipSpace();
    if (more() && s[pos] == ']') {
      ++pos;
      return true;
    }
    for (;;) {
      skipSpace();
      out.items.emplace_back();
      if (!value(out.items.back(), depth + 1))
        return false;
      skipSpace();
      if (more() && s[pos] == ',') {
        ++pos;
        continue;
      }
      if (more() && s[pos] == ']') {
        ++pos;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t &out) {
    out = 0;
    for (int i = 0; i < 4; ++i, ++pos) {
      if (!more())
        return fail("unterminated \\u escape");
      char c = s[pos];
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (v < 0)
        return fail("invalid hex digit in \\u escape");
      out = out * 16 + static_cast<uint32_t>(v);
    }
    return true;
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool string(std::string &out) {
    ++pos; // opening '"'
    for (;;) {
      if (!more())
        return fail("unterminated string");
      unsigned char c = s[pos];
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20)
        return fail("control character in string");
      ++pos;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (!more())
        return fail("unterminated string");
      switch (s[pos++]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = 0, low = 0;
        if (!hex4(cp))
          return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail("unpaired low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (!literal("\\u"))
            return fail("unpaired high surrogate in \\u escape");
          if (!hex4(low))
            return false;
          if (low < 0xDC00 || low > 0xDFFF)
            return fail("unpaired high surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        return fail("invalid escape '\\" + std::string(1, s[pos]) + "'");
      }
    }
  }

  bool number(std::string &out) {
    size_t start = pos;
    if (s[pos] == '-')
      ++pos;
    if (more() && s[pos] == '0') {
      ++pos;
    } else if (digit()) {
      while (digit())
        ++pos;
    } else {
      return fail("invalid number");
    }
    if (more() && s[pos] == '.') {
      ++pos;
      if (!digit())
        return fail("invalid number");
      while (digit())
        ++pos;
    }
    if (more() && (s[pos] == 'e' || s[pos] == 'E')) {
      ++pos;
      if (more() && (s[pos] == '+' || s[pos] == '-'))
        ++pos;
      if (!digit())
        return fail("invalid number");
      while (digit())
        ++pos;
    }
    out.assign(s.substr(start, pos - start));
    return true;
  }
};

//===--- Files -------------------------------------------------------------===//

struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Reads exactly n bytes at offset; on failure sets error (errno text or EOF).
bool readAt(int fd, void *buf, uint64_t n, uint64_t offset, std::string &error) {
  auto *p = static_cast<char *>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, std::min<uint64_t>(n, 1u << 30), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      error = got < 0 ? std::strerror(errno) : "unexpected end of file";
      return false;
    }
    p += got;
    n -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

bool writeAll(int fd, const void *buf, uint64_t n) {
  const auto *p = static_cast<const char *>(buf);
  while (n > 0) {
    ssize_t put = ::write(fd, p, std::min<uint64_t>(n, 1u << 30));
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0) {
      if (put == 0)
        errno = EIO;
      return false;
    }
    p += put;
    n -= static_cast<uint64_t>(put);
  }
  return true;
}

//===--- Header ------------------------------------------------------------===//

struct TensorInfo {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; ///< Relative to the start of the data.
};

struct Header {
  std::vector<TensorInfo> tensors; ///< In file order.
  std::map<std::string, std::string> metadata;
  uint64_t dataStart = 0; ///< 8 + header length.
};

/// Parses one tensor entry of the header; returns an error text or "".
std::string parseTensor(const std::string &name, const Json &v, TensorInfo &t) {
  const std::string where = "tensor '" + name + "'";
  if (v.kind != Json::Object)
    return where + " must be an object, not " + kindName(v.kind);
  const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (const auto &[key, field] : v.members) { // Others are ignored, as by safetensors.
    if (key == "dtype")
      dtype = &field;
    else if (key == "shape")
      shape = &field;
    else if (key == "data_offsets")
      offsets = &field;
  }
  if (!dtype || !shape || !offsets)
    return where + " has no \"" + (!dtype ? "dtype" : !shape ? "shape" : "data_offsets") + "\"";
  if (dtype->kind != Json::String)
    return where + ": \"dtype\" must be a string, not " + kindName(dtype->kind);
  t.name = name;
  t.dtype = dtype->text;
  const int64_t elemSize = sizeOfDtypeName(t.dtype);
  if (!elemSize)
    return where + " has unknown dtype '" + t.dtype + "'";
  if (shape->kind != Json::Array)
    return where + ": \"shape\" must be an array, not " + kindName(shape->kind);
  for (const Json &d : shape->items) {
    uint64_t dim = 0;
    if (!toIndex(d, dim))
      return where + ": \"shape\" must hold non-negative integers";
    t.shape.push_back(static_cast<int64_t>(dim));
  }
  if (offsets->kind != Json::Array || offsets->items.size() != 2 ||
      !toIndex(offsets->items[0], t.begin) || !toIndex(offsets->items[1], t.end))
    return where + ": \"data_offsets\" must be [begin, end] with non-negative integers";
  const std::string range = "[" + str(t.begin) + ", " + str(t.end) + "]";
  if (t.begin > t.end)
    return where + ": data_offsets " + range + " end before they begin";
  uint64_t bytes = 0;
  if (!byteCount(t.shape, elemSize, bytes))
    return where + ": shape " + shapeString(t.shape) + " is too large";
  if (t.end - t.begin != bytes)
    return where + ": shape " + shapeString(t.shape) + " of " + t.dtype + " needs " + str(bytes) +
           " bytes, data_offsets " + range + " hold " + str(t.end - t.begin);
  return "";
}

/// Opens \p path and reads and validates its header and data layout (but not
/// against any model). Errors start with the path.
bool readHeader(const std::string &path, Fd &file, Header &h, std::string &error) {
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
  if (n > size - 8)
    return bad("bad header length " + str(n) + ": only " + str(size - 8) +
               " bytes follow it (truncated, or not a safetensors file)");
  if (n > kMaxHeaderBytes)
    return bad("bad header length " + str(n) + ": more than the " + str(kMaxHeaderBytes) +
               " bytes safetensors allows");
  if (n < 2)
    return bad("bad header length " + str(n) + ": too short for a JSON object");
  std::string text(n, '\0');
  if (!readAt(file.fd, text.data(), n, 8, ioError))
    return bad("read error: " + ioError);
  if (text[0] != '{')
    return bad("not a safetensors file: the header does not start with '{'");
  Json root;
  std::string jsonError;
  if (!JsonParser(text).parse(root, jsonError))
    return bad("bad JSON header: " + jsonError);
  for (const auto &[key, v] : root.members) {
    if (key == "__metadata__") {
      if (v.kind != Json::Object)
        return bad("\"__metadata__\" must be an object, not " + std::string(kindName(v.kind)));
      for (const auto &[mk, mv] : v.members) {
        if (mv.kind != Json::String)
          return bad("\"__metadata__\" entry '" + mk + "' must be a string, not " +
                     kindName(mv.kind));
        h.metadata[mk] = mv.text;
      }
      continue;
    }
    h.tensors.emplace_back();
    if (std::string e = parseTensor(key, v, h.tensors.back()); !e.empty())
      return bad(e);
  }

  h.dataStart = 8 + n;
  const uint64_t dataBytes = size - h.dataStart;
  uint64_t dataEnd = 0;
  for (const TensorInfo &t : h.tensors)
    dataEnd = std::max(dataEnd, t.end);
  if (dataEnd > dataBytes)
    return bad("truncated: header says " + str(dataEnd) + " bytes of data, file has " +
               str(dataBytes));
  if (dataEnd < dataBytes)
    return bad(str(dataBytes - dataEnd) + " unexpected bytes after the tensor data (header says " +
               str(dataEnd) + " bytes of data, file has " + str(dataBytes) + ")");
  std::vector<const TensorInfo *> sorted;
  for (const TensorInfo &t : h.tensors)
    if (t.end > t.begin)
      sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const TensorInfo *a, const TensorInfo *b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->begin < sorted[i - 1]->end)
      return bad("tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name +
                 "' overlap (data_offsets [" + str(sorted[i - 1]->begin) + ", " +
                 str(sorted[i - 1]->end) + "] and [" + str(sorted[i]->begin) + ", " +
                 str(sorted[i]->end) + "])");
  return true;
}

//===--- Model state -------------------------------------------------------===//

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
  return name ? sizeOfDtypeName(name) : 0;
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
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (const auto &[key, value] : metadata) {
      if (!validUtf8(key) || !validUtf8(value))
        return bad("metadata '" + key + "' is not valid UTF-8");
      appendQuoted(json, key);
      json += ':';
      appendQuoted(json, value);
      json += ',';
    }
    json.back() = '}';
    json += ',';
  }
  std::set<std::string_view> names;
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const TensorRef &t : tensors) {
    uint64_t bytes = 0;
    if (t.name.empty() || t.name == "__metadata__" || !validUtf8(t.name))
      return bad("invalid tensor name '" + t.name + "'");
    if (!names.insert(t.name).second)
      return bad("duplicate tensor name '" + t.name + "'");
    if (!dtypeSize(t.dtype))
      return bad("tensor '" + t.name + "' has unknown dtype " + std::to_string(t.dtype));
    if (!byteCount(t.shape, dtypeSize(t.dtype), bytes) || offset + bytes < offset)
      return bad("tensor '" + t.name + "' has an invalid shape " + shapeString(t.shape));
    if (bytes && !t.data)
      return bad("tensor '" + t.name + "' has no data");
    appendQuoted(json, t.name);
    json += std::string(":{\"dtype\":\"") + safetensorsDtypeName(t.dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      json += (i ? "," : "") + std::to_string(t.shape[i]);
    json += "],\"data_offsets\":[" + str(offset) + "," + str(offset + bytes) + "]},";
    sizes.push_back(bytes);
    offset += bytes;
  }
  if (json.back() == ',')
    json.pop_back();
  json += '}';
  // Pad with spaces so the data starts 8-byte aligned, as safetensors does.
  json.append((8 - json.size() % 8) % 8, ' ');
  unsigned char lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(json.size()) >> (8 * i));

  // A unique temporary name in the target's directory, so that rename() is
  // atomic (same file system); O_EXCL guards against collisions.
  std::string tmp;
  int fd = -1;
  const uint64_t salt = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count() ^
      std::hash<std::thread::id>()(std::this_thread::get_id()));
  for (uint64_t attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + str((salt + attempt) % 1000000007);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      break;
  }
  if (fd < 0)
    return bad("cannot create temporary file " + tmp + ": " + std::strerror(errno));
  const char *failed = nullptr; // The step that failed, if any.
  if (!writeAll(fd, lengthBytes, 8) || !writeAll(fd, json.data(), json.size()))
    failed = "write";
  for (size_t i = 0; !failed && i < tensors.size(); ++i)
    if (!writeAll(fd, tensors[i].data, sizes[i]))
      failed = "write";
  if (!failed && ::fsync(fd) != 0)
    failed = "fsync";
  int savedErrno = errno;
  if (::close(fd) != 0 && !failed)
    failed = "close", savedErrno = errno;
  if (!failed && ::rename(tmp.c_str(), path.c_str()) != 0)
    failed = "rename", savedErrno = errno;
  if (failed) {
    ::unlink(tmp.c_str());
    return bad(std::string(failed) + " failed: " + std::strerror(savedErrno));
  }
  // Persist the rename itself. The new file is complete either way, so a
  // failure here (some file systems refuse fsync on directories) is ignored.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int dirFd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    (void)::fsync(dirFd);
    ::close(dirFd);
  }
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
  Header h;
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
    const bool wanted = !options.parametersOnly || !isBuffer[i];
    auto it = byName.find(e.name);
    if (it == byName.end()) {
      if (wanted && options.allowMissingTensors)
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
    if (known.count(t.name) || (options.parametersOnly && fileBuffers[i]))
      continue;
    if (!options.allowUnknownTensors)
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
  Header h;
  if (!readHeader(path, file, h, error))
    return false;
  metadata = std::move(h.metadata);
  return true;
}

} // namespace kiln::runtime
