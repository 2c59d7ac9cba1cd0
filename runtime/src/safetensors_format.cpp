//===- safetensors_format.cpp - safetensors header encoding and checks ----===//
//
// Implements safetensors_format.h. The header is parsed by nlohmann::json's
// SAX parser (RFC 8259, UTF-8 checked) into HeaderBuilder, a small state
// machine that knows where in the header each key or value sits, checks it
// there, and stops the parser at the first error or exceeded limit. Building
// no DOM keeps memory proportional to what is kept (names, shapes, metadata).
//
//===----------------------------------------------------------------------===//

#include "safetensors_format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

namespace kiln::runtime::safetensors {

namespace {

using Json = nlohmann::json;

std::string str(uint64_t v) { return std::to_string(v); }

/// "[begin, end]". (Built by appending: `"[" + str(...)` makes g++ 12 warn
/// falsely, -Wrestrict, GCC bug 105651.)
std::string rangeString(uint64_t begin, uint64_t end) {
  std::string s = "[";
  s += str(begin);
  s += ", ";
  s += str(end);
  s += ']';
  return s;
}

/// Appends \p s as a JSON string literal; false if it is not valid UTF-8.
bool appendJsonString(std::string &out, std::string_view s) {
  try {
    out += Json(s).dump();
    return true;
  } catch (const Json::type_error &) { // 316: invalid UTF-8.
    return false;
  }
}

/// \p s quoted for an error message.
std::string jsonQuoted(std::string_view s) {
  std::string out;
  if (!appendJsonString(out, s))
    out.append(1, '"').append(s).append(1, '"');
  return out;
}

/// Receives nlohmann::json's SAX events for a header and builds Header.
/// Each handler returns false (which stops the parser) after setting error.
class HeaderBuilder {
public:
  explicit HeaderBuilder(Header &header) : header(header) {}

  std::string error;

  // The SAX interface (nlohmann::json_sax).
  bool null() { return value(Kind::Null); }
  bool boolean(bool) { return value(Kind::Bool); }
  bool number_integer(Json::number_integer_t) { return value(Kind::Number); }
  bool number_unsigned(Json::number_unsigned_t v) { return value(Kind::Number, &v); }
  bool number_float(Json::number_float_t, const std::string &) { return value(Kind::Number); }
  bool binary(Json::binary_t &) { return value(Kind::Null); } // Not produced by JSON text.
  bool string(std::string &v) { return value(Kind::String, nullptr, &v); }
  bool start_object(std::size_t) { return value(Kind::Object); }
  bool start_array(std::size_t) { return value(Kind::Array); }
  bool end_object() { return end(); }
  bool end_array() { return end(); }
  bool key(std::string &k);
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &e);

private:
  enum class Kind { Null, Bool, Number, String, Array, Object };
  /// What an open object or array is.
  enum class Context { Root, Metadata, Tensor, Shape, Offsets, Ignored };

  Header &header;
  std::vector<Context> open;
  std::string lastKey;
  uint64_t tokens = 0;
  bool seenMetadata = false;
  bool hasDtype = false, hasShape = false;
  int numOffsets = -1; ///< -1 until "data_offsets" opens.

  static const char *kindName(Kind k) {
    static const char *kNames[] = {"null", "a boolean", "a number", "a string", "an array",
                                   "an object"};
    return kNames[static_cast<int>(k)];
  }
  bool fail(const std::string &what) {
    error = what;
    return false;
  }
  std::string tensorWhere() const { return "tensor '" + header.tensors.back().name + "'"; }
  bool countToken() {
    if (++tokens > HeaderLimits::kMaxTokens)
      return fail("header has more than " + str(HeaderLimits::kMaxTokens) + " keys and values");
    return true;
  }
  bool push(Context c) {
    if (open.size() >= HeaderLimits::kMaxDepth)
      return fail("header nests objects and arrays deeper than " + str(HeaderLimits::kMaxDepth) +
                  " levels");
    open.push_back(c);
    return true;
  }

  bool value(Kind kind, const uint64_t *index = nullptr, std::string *text = nullptr);
  bool tensorField(Kind kind, std::string *text);
  bool end();
  std::string finishTensor();
};

bool HeaderBuilder::key(std::string &k) {
  if (!countToken())
    return false;
  switch (open.back()) {
  case Context::Root:
    // Duplicate tensor names are found once all are read (parseHeader).
    if (k == "__metadata__" && std::exchange(seenMetadata, true))
      return fail("duplicate key \"__metadata__\"");
    break;
  case Context::Metadata:
    if (header.metadata.count(k))
      return fail("duplicate key " + jsonQuoted(k) + " in \"__metadata__\"");
    if (header.metadata.size() >= HeaderLimits::kMaxMetadataEntries)
      return fail("\"__metadata__\" has more than " + str(HeaderLimits::kMaxMetadataEntries) +
                  " entries");
    break;
  case Context::Tensor:
    // As serde in the reference: known fields once, others ignored.
    if ((k == "dtype" && hasDtype) || (k == "shape" && hasShape) ||
        (k == "data_offsets" && numOffsets >= 0))
      return fail(tensorWhere() + " has a duplicate key " + jsonQuoted(k));
    break;
  default:
    break;
  }
  lastKey = std::move(k);
  return true;
}

bool HeaderBuilder::value(Kind kind, const uint64_t *index, std::string *text) {
  if (!countToken())
    return false;
  const bool container = kind == Kind::Object || kind == Kind::Array;
  if (open.empty()) {
    if (kind != Kind::Object)
      return fail("the header must be a JSON object, not " + std::string(kindName(kind)));
    return push(Context::Root);
  }
  switch (open.back()) {
  case Context::Root:
    if (lastKey == "__metadata__") {
      if (kind != Kind::Object)
        return fail("\"__metadata__\" must be an object, not " + std::string(kindName(kind)));
      return push(Context::Metadata);
    }
    if (kind != Kind::Object)
      return fail("tensor '" + lastKey + "' must be an object, not " + kindName(kind));
    if (header.tensors.size() >= HeaderLimits::kMaxTensors)
      return fail("header has more than " + str(HeaderLimits::kMaxTensors) + " tensors");
    header.tensors.emplace_back();
    header.tensors.back().name = lastKey;
    hasDtype = hasShape = false;
    numOffsets = -1;
    return push(Context::Tensor);
  case Context::Metadata:
    if (kind != Kind::String)
      return fail("\"__metadata__\" entry '" + lastKey + "' must be a string, not " +
                  kindName(kind));
    header.metadata.emplace(lastKey, std::move(*text));
    return true;
  case Context::Tensor:
    return tensorField(kind, text);
  case Context::Shape:
    if (!index || *index > static_cast<uint64_t>(INT64_MAX))
      return fail(tensorWhere() + ": \"shape\" must hold non-negative integers");
    header.tensors.back().shape.push_back(static_cast<int64_t>(*index));
    return true;
  case Context::Offsets:
    if (!index || *index > static_cast<uint64_t>(INT64_MAX) || ++numOffsets > 2)
      return fail(tensorWhere() +
                  ": \"data_offsets\" must be [begin, end] with non-negative integers");
    (numOffsets == 1 ? header.tensors.back().begin : header.tensors.back().end) = *index;
    return true;
  case Context::Ignored:
    return container ? push(Context::Ignored) : true;
  }
  return true;
}

/// A value directly in a tensor's object, under lastKey.
bool HeaderBuilder::tensorField(Kind kind, std::string *text) {
  TensorInfo &t = header.tensors.back();
  if (lastKey == "dtype") {
    if (kind != Kind::String)
      return fail(tensorWhere() + ": \"dtype\" must be a string, not " + kindName(kind));
    t.dtype = std::move(*text);
    hasDtype = true;
    return true;
  }
  if (lastKey == "shape") {
    if (kind != Kind::Array)
      return fail(tensorWhere() + ": \"shape\" must be an array, not " + kindName(kind));
    hasShape = true;
    return push(Context::Shape);
  }
  if (lastKey == "data_offsets") {
    if (kind != Kind::Array)
      return fail(tensorWhere() +
                  ": \"data_offsets\" must be [begin, end] with non-negative integers");
    numOffsets = 0;
    return push(Context::Offsets);
  }
  // Other fields are ignored, as by safetensors.
  return kind == Kind::Object || kind == Kind::Array ? push(Context::Ignored) : true;
}

bool HeaderBuilder::end() {
  const Context closed = open.back();
  open.pop_back();
  if (closed == Context::Offsets && numOffsets != 2)
    return fail(tensorWhere() +
                ": \"data_offsets\" must be [begin, end] with non-negative integers");
  if (closed == Context::Tensor) {
    if (std::string e = finishTensor(); !e.empty())
      return fail(e);
  }
  return true;
}

/// Checks the tensor just closed as a whole.
std::string HeaderBuilder::finishTensor() {
  const TensorInfo &t = header.tensors.back();
  const std::string where = tensorWhere();
  if (!hasDtype || !hasShape || numOffsets < 0)
    return where + " has no \"" + (!hasDtype ? "dtype" : !hasShape ? "shape" : "data_offsets") +
           "\"";
  const int64_t elemSize = sizeOfDtypeName(t.dtype);
  if (!elemSize)
    return where + " has unknown dtype '" + t.dtype + "'";
  const std::string range = rangeString(t.begin, t.end);
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

bool HeaderBuilder::parse_error(std::size_t, const std::string &,
                                const nlohmann::detail::exception &e) {
  // what() is "[json.exception.parse_error.101] parse error at line 1,
  // column 7: syntax error ..."; the bracketed id means nothing to a user.
  std::string_view what = e.what();
  if (size_t close = what.find("] "); what.front() == '[' && close != std::string_view::npos)
    what.remove_prefix(close + 2);
  return fail("bad JSON header: " + std::string(what));
}

} // namespace

std::string parseHeader(std::string_view text, Header &header) {
  HeaderBuilder builder(header);
  if (!Json::sax_parse(text.begin(), text.end(), &builder))
    return builder.error.empty() ? "bad JSON header" : builder.error;
  std::vector<const std::string *> names;
  for (const TensorInfo &t : header.tensors)
    names.push_back(&t.name);
  std::sort(names.begin(), names.end(),
            [](const std::string *a, const std::string *b) { return *a < *b; });
  for (size_t i = 1; i < names.size(); ++i)
    if (*names[i] == *names[i - 1])
      return "duplicate key " + jsonQuoted(*names[i]);
  return "";
}

std::string checkDataLayout(const std::vector<TensorInfo> &tensors, uint64_t dataBytes) {
  std::vector<const TensorInfo *> sorted;
  for (const TensorInfo &t : tensors)
    sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(), [](const TensorInfo *a, const TensorInfo *b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  uint64_t expected = 0; // Where the next tensor must begin.
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorInfo &t = *sorted[i];
    const std::string range = rangeString(t.begin, t.end);
    if (t.begin < expected) {
      const TensorInfo &prev = *sorted[i - 1];
      return "tensors '" + prev.name + "' and '" + t.name + "' overlap (data_offsets " +
             rangeString(prev.begin, prev.end) + " and " + range + ")";
    }
    if (t.begin > expected)
      return "gap of " + str(t.begin - expected) + " bytes before tensor '" + t.name +
             "' (data_offsets " + range + ", " +
             (i ? "the previous tensor '" + sorted[i - 1]->name + "' ends at " + str(expected)
                : std::string("the data starts at 0")) +
             "): tensors must fill the data section without gaps";
    expected = t.end;
  }
  if (expected > dataBytes)
    return "truncated: header says " + str(expected) + " bytes of data, file has " +
           str(dataBytes);
  if (expected < dataBytes)
    return str(dataBytes - expected) + " unexpected bytes after the tensor data (header says " +
           str(expected) + " bytes of data, file has " + str(dataBytes) + ")";
  return "";
}

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

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool isValidUtf8(std::string_view s) {
  std::string ignored;
  return appendJsonString(ignored, s);
}

std::string encodeHeader(const std::vector<TensorEntry> &tensors,
                         const std::map<std::string, std::string> &metadata) {
  // Written by hand rather than through an ordered_json object, whose
  // insertion is linear in its size: the keys are known to be distinct.
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (const auto &[key, value] : metadata) {
      appendJsonString(json, key);
      json += ':';
      appendJsonString(json, value);
      json += ',';
    }
    json.back() = '}';
    json += ',';
  }
  for (const TensorEntry &t : tensors) {
    appendJsonString(json, t.name);
    json += std::string(":{\"dtype\":\"") + t.dtype + "\",\"shape\":" + Json(*t.shape).dump() +
            ",\"data_offsets\":[" + str(t.begin) + "," + str(t.end) + "]},";
  }
  if (json.back() == ',')
    json.pop_back();
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  return json;
}

} // namespace kiln::runtime::safetensors
