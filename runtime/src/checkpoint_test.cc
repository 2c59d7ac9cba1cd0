//===- checkpoint_test.cc - Tests for safetensors checkpoints -------------===//
//
// Format tests run on a hand-made state table over a byte array (it is the
// checkpoint code under test, not a model): the exact bytes written, round
// trips, every load error on hand-written files, and atomic saves. Trainer
// tests drive --save/--resume/--init-from/--dump-logits through
// kiln_train_main with a hand-written softmax regression trained by SGD with
// momentum (so optimizer buffers matter) on a tiny synthetic dataset.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/checkpoint.h"
#include "kiln/runtime/trainer.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

//===--- A fake state table ------------------------------------------------===//

const int64_t kWeightShape[] = {2, 3};
const int64_t kBiasShape[] = {3};
const kiln_state_entry kState[] = {
    {"fc.weight", 0, KILN_F32, 2, kWeightShape},
    {"fc.bias", 32, KILN_F32, 1, kBiasShape},
    {"steps", 48, KILN_I64, 0, nullptr},
    {"fc.weight.momentum_buffer", 64, KILN_F32, 2, kWeightShape},
    {"fc.bias.momentum_buffer", 96, KILN_F32, 1, kBiasShape},
};
constexpr size_t kArenaBytes = 128;

kiln_model_info fakeModel() {
  kiln_model_info m{};
  m.name = "fake";
  m.arena_bytes = kArenaBytes;
  m.num_state = 5;
  m.state = kState;
  return m;
}

using Arena = std::vector<uint8_t>;

/// An arena whose every byte differs, scratch included, offset by \p salt.
Arena patternArena(uint8_t salt) {
  Arena a(kArenaBytes);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<uint8_t>(i * 7 + salt);
  return a;
}

std::vector<uint8_t> slice(const Arena &a, size_t offset, size_t n) {
  return {a.begin() + offset, a.begin() + offset + n};
}

std::vector<uint8_t> floatBytes(std::vector<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::vector<uint8_t> int64Bytes(int64_t v) {
  std::vector<uint8_t> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}

/// A safetensors file: header length (json.size() unless overridden), JSON,
/// data.
std::vector<uint8_t> stFile(const std::string &json, const std::vector<uint8_t> &data,
                            uint64_t headerLength = UINT64_MAX) {
  uint64_t n = headerLength == UINT64_MAX ? json.size() : headerLength;
  std::vector<uint8_t> f;
  for (int i = 0; i < 8; ++i)
    f.push_back(static_cast<uint8_t>(n >> (8 * i)));
  f.insert(f.end(), json.begin(), json.end());
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

std::string entry(const std::string &name, const std::string &dtype, const std::string &shape,
                  int begin, int end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

/// The five tensors of the fake model, laid out in state-table order.
std::string allEntries() {
  return entry("fc.weight", "F32", "[2,3]", 0, 24) + "," + entry("fc.bias", "F32", "[3]", 24, 36) +
         "," + entry("steps", "I64", "[]", 36, 44) + "," +
         entry("fc.weight.momentum_buffer", "F32", "[2,3]", 44, 68) + "," +
         entry("fc.bias.momentum_buffer", "F32", "[3]", 68, 80);
}

const std::vector<uint8_t> kData = noiseBytes(80, 3);

class CheckpointTest : public TempDirTest {
protected:
  /// Writes \p bytes to a file and loads it into a pattern arena; on failure
  /// checks that the arena is unchanged and returns the error.
  std::string loadError(const std::vector<uint8_t> &bytes, LoadOptions options = {}) {
    std::string path = dir + "/bad.safetensors";
    writeFile(path, bytes);
    return loadErrorFrom(path, options);
  }
  std::string loadErrorFrom(const std::string &path, LoadOptions options = {}) {
    Arena arena = patternArena(1), before = arena;
    std::string error;
    bool ok = loadCheckpoint(fakeModel(), arena.data(), path, options, nullptr, error);
    EXPECT_FALSE(ok) << "loaded " << path;
    EXPECT_EQ(arena, before) << "a failed load must not touch the arena";
    EXPECT_THAT(error, testing::StartsWith(path + ": "));
    return error;
  }
};

TEST(CheckpointNames, ParametersAndOptimizerBuffers) {
  kiln_model_info m = fakeModel();
  EXPECT_FALSE(isOptimizerBuffer(m, 0));
  EXPECT_FALSE(isOptimizerBuffer(m, 1));
  EXPECT_FALSE(isOptimizerBuffer(m, 2));
  EXPECT_TRUE(isOptimizerBuffer(m, 3));
  EXPECT_TRUE(isOptimizerBuffer(m, 4));
  EXPECT_FALSE(isOptimizerBuffer(m, 5));
  EXPECT_STREQ(safetensorsDtypeName(KILN_F64), "F64");
  EXPECT_EQ(safetensorsDtypeName(17), nullptr);
  EXPECT_EQ(dtypeSize(KILN_I64), 8);
}

TEST_F(CheckpointTest, WritesExactBytes) {
  Arena arena = patternArena(0);
  std::string path = dir + "/m.safetensors", error;
  ASSERT_TRUE(saveCheckpoint(fakeModel(), arena.data(), path, {{"kiln.epoch", "3"}}, error))
      << error;
  std::vector<uint8_t> file = readFile(path);
  ASSERT_GE(file.size(), 8u);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(file[i]) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u) << "data must start 8-byte aligned";
  ASSERT_EQ(file.size(), 8 + n + 80);
  std::string json(file.begin() + 8, file.begin() + 8 + n);
  const std::string expected =
      "{\"__metadata__\":{\"format\":\"pt\",\"kiln.epoch\":\"3\"}," + allEntries() + "}";
  EXPECT_EQ(json.substr(0, expected.size()), expected);
  EXPECT_EQ(json.substr(expected.size()), std::string(n - expected.size(), ' '));
  EXPECT_LT(n - expected.size(), 8u);
  std::vector<uint8_t> data(file.begin() + 8 + n, file.end());
  auto expectedData = concat(concat(concat(concat(slice(arena, 0, 24), slice(arena, 32, 12)),
                                           slice(arena, 48, 8)),
                                    slice(arena, 64, 24)),
                             slice(arena, 96, 12));
  EXPECT_EQ(data, expectedData);
}

TEST_F(CheckpointTest, RoundTripRestoresStateOnly) {
  Arena saved = patternArena(0);
  std::string path = dir + "/m.safetensors", error;
  std::map<std::string, std::string> meta = {{"kiln.model", "fake"},
                                             {"note", "quote \" backslash \\ tab \t é"}};
  ASSERT_TRUE(saveCheckpoint(fakeModel(), saved.data(), path, meta, error)) << error;
  Arena loaded = patternArena(100);
  const Arena untouched = loaded;
  LoadResult got;
  ASSERT_TRUE(loadCheckpoint(fakeModel(), loaded.data(), path, {}, &got, error)) << error;
  EXPECT_TRUE(got.missing.empty());
  EXPECT_TRUE(got.unexpected.empty());
  for (const kiln_state_entry &e : kState) {
    size_t bytes = std::string_view(e.name) == "steps" ? 8 : e.rank == 2 ? 24 : 12;
    EXPECT_EQ(slice(loaded, e.offset, bytes), slice(saved, e.offset, bytes)) << e.name;
  }
  // Padding and scratch bytes are not state.
  EXPECT_EQ(slice(loaded, 24, 8), slice(untouched, 24, 8));
  EXPECT_EQ(slice(loaded, 108, 20), slice(untouched, 108, 20));
  meta["format"] = "pt";
  EXPECT_EQ(got.metadata, meta);
  std::map<std::string, std::string> only;
  ASSERT_TRUE(readCheckpointMetadata(path, only, error)) << error;
  EXPECT_EQ(only, meta);
}

TEST_F(CheckpointTest, ObservationsAreNeitherSavedNorRequired) {
  // An observation "h" and its gradient "h.grad" (the DSL's observe()) in
  // the scratch bytes after the state: not model state.
  std::vector<kiln_state_entry> state(std::begin(kState), std::end(kState));
  state.push_back({"h", 108, KILN_F32, 1, kBiasShape, KILN_STATE_OBSERVATION});
  state.push_back({"h.grad", 120, KILN_F32, 0, nullptr, KILN_STATE_OBSERVATION});
  kiln_model_info m = fakeModel();
  m.num_state = static_cast<int32_t>(state.size());
  m.state = state.data();
  EXPECT_FALSE(isOptimizerBuffer(m, 6)) << "h.grad extends h, but is no buffer";
  Arena saved = patternArena(0);
  std::string path = dir + "/observed.safetensors", error;
  ASSERT_TRUE(saveCheckpoint(m, saved.data(), path, {}, error)) << error;
  std::vector<uint8_t> bytes = readFile(path);
  const std::string file(bytes.begin(), bytes.end());
  EXPECT_EQ(file.find("\"h\""), std::string::npos);
  EXPECT_EQ(file.find("h.grad"), std::string::npos);
  // The file loads into the model and leaves the observations' bytes alone.
  Arena loaded = patternArena(100);
  const Arena before = loaded;
  ASSERT_TRUE(loadCheckpoint(m, loaded.data(), path, {}, nullptr, error)) << error;
  EXPECT_EQ(slice(loaded, 0, 24), slice(saved, 0, 24));
  EXPECT_EQ(slice(loaded, 108, 16), slice(before, 108, 16));
}

TEST_F(CheckpointTest, LoadsAnyKeyOrderWhitespaceAndEscapes) {
  // Tensors in reverse order with data laid out differently, metadata last,
  // an extra field, \u escapes, pretty-printed JSON and no padding.
  std::string json = "{\n  " + entry("fc.bias.momentum_buffer", "F32", "[3]", 0, 12) + ",\n  " +
                     entry("fc.weight.momentum_buffer", "F32", "[ 2 , 3 ]", 12, 36) + ",\n  " +
                     "\"st\\u0065ps\": {\"shape\": [], \"extra\": [1, {\"a\": null}], "
                     "\"data_offsets\": [36, 44], \"dtype\": \"I64\"},\n  " +
                     entry("fc.bias", "F32", "[3]", 44, 56) + ",\n  " +
                     entry("fc.weight", "F32", "[2,3]", 56, 80) +
                     ",\n  \"__metadata__\": {\"k\\u00e9y\": \"v\\ud83d\\ude00\\n\"}\n}";
  auto mb = floatBytes({7, 8, 9}), mw = floatBytes({1, 2, 3, 4, 5, 6});
  auto b = floatBytes({-1, -2, -3}), w = floatBytes({0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f});
  auto steps = int64Bytes(123456789012345);
  std::string path = dir + "/any.safetensors", error;
  writeFile(path, stFile(json, concat(concat(concat(concat(mb, mw), steps), b), w)));
  Arena arena = patternArena(0);
  LoadResult loaded;
  ASSERT_TRUE(loadCheckpoint(fakeModel(), arena.data(), path, {}, &loaded, error)) << error;
  EXPECT_EQ(slice(arena, 0, 24), w);
  EXPECT_EQ(slice(arena, 32, 12), b);
  EXPECT_EQ(slice(arena, 48, 8), steps);
  EXPECT_EQ(slice(arena, 64, 24), mw);
  EXPECT_EQ(slice(arena, 96, 12), mb);
  EXPECT_EQ(loaded.metadata,
            (std::map<std::string, std::string>{{"k\xc3\xa9y", "v\xf0\x9f\x98\x80\n"}}));
}

TEST_F(CheckpointTest, ParametersOnlyLeavesBuffers) {
  // A PyTorch state_dict: parameters only, no metadata.
  std::string json = "{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "," +
                     entry("fc.bias", "F32", "[3]", 24, 36) + "," +
                     entry("steps", "I64", "[]", 36, 44) + "}";
  std::string path = dir + "/params.safetensors", error;
  writeFile(path, stFile(json, slice(kData, 0, 44)));
  EXPECT_EQ(loadErrorFrom(path), path + ": missing tensor 'fc.weight.momentum_buffer' (an "
                                        "optimizer buffer; load parameters only to start the "
                                        "optimizer afresh)");
  LoadOptions paramsOnly;
  paramsOnly.parameters_only = true;
  Arena arena = patternArena(0), before = arena;
  ASSERT_TRUE(loadCheckpoint(fakeModel(), arena.data(), path, paramsOnly, nullptr, error))
      << error;
  EXPECT_EQ(slice(arena, 0, 24), slice(kData, 0, 24));
  EXPECT_EQ(slice(arena, 32, 12), slice(kData, 24, 12));
  EXPECT_EQ(slice(arena, 48, 8), slice(kData, 36, 8));
  EXPECT_EQ(slice(arena, 64, 64), slice(before, 64, 64));

  // Buffers in the file are checked but not loaded.
  std::string full = dir + "/full.safetensors";
  writeFile(full, stFile("{" + allEntries() + "}", kData));
  arena = before;
  ASSERT_TRUE(loadCheckpoint(fakeModel(), arena.data(), full, paramsOnly, nullptr, error))
      << error;
  EXPECT_EQ(slice(arena, 0, 24), slice(kData, 0, 24));
  EXPECT_EQ(slice(arena, 64, 64), slice(before, 64, 64));
  // Parameters are never optional.
  writeFile(path, stFile("{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "}",
                         slice(kData, 0, 24)));
  EXPECT_EQ(loadErrorFrom(path, paramsOnly), path + ": missing tensor 'fc.bias'");
}

TEST_F(CheckpointTest, FileLevelErrors) {
  const std::string p = dir + "/bad.safetensors";
  EXPECT_THAT(loadErrorFrom(dir + "/none.safetensors"), HasSubstr("cannot open: No such file"));
  EXPECT_EQ(loadError({1, 0, 0}), p + ": truncated: file has 3 bytes, fewer than the 8-byte "
                                      "header length");
  const std::string json = "{" + allEntries() + "}";
  EXPECT_EQ(loadError(stFile(json, kData, 1u << 20)),
            p + ": bad header length 1048576: only " + std::to_string(json.size() + 80) +
                " bytes follow it (truncated, or not a safetensors file)");
  EXPECT_THAT(loadError(stFile(json, kData, ~uint64_t(0) - 1)), HasSubstr("bad header length"));
  EXPECT_THAT(loadError(stFile("", {}, 0)), HasSubstr("bad header length 0: too short"));
  EXPECT_EQ(loadError(stFile("PK\x03\x04 not json", kData)),
            p + ": not a safetensors file: the header does not start with '{'");
  EXPECT_EQ(loadError(stFile(json, slice(kData, 0, 50))),
            p + ": truncated: header says 80 bytes of data, file has 50");
  EXPECT_EQ(loadError(stFile(json, concat(kData, {0, 0, 0}))),
            p + ": 3 unexpected bytes after the tensor data (header says 80 bytes of data, file "
                "has 83)");
}

TEST_F(CheckpointTest, BadJsonIsRejectedWithPosition) {
  // Syntax errors (nlohmann::json's messages, up to "; last read") give the
  // column; the bad text sits where the header may hold any JSON (metadata
  // values, unknown tensor fields) so that it is the syntax that fails.
  const std::string p = dir + "/bad.safetensors";
  const std::string e = entry("fc.weight", "F32", "[2,3]", 0, 24);
  const std::string syntax = "bad JSON header: parse error at line 1, column ";
  const std::pair<std::string, std::string> cases[] = {
      {"{" + e, "65: syntax error while parsing object - unexpected end of input; expected '}'"},
      {"{" + e + ",}", "66: syntax error while parsing object key - unexpected '}'; expected "
                       "string literal"},
      {"{\"a\" 1}", "6: syntax error while parsing object separator - unexpected number literal; "
                    "expected ':'"},
      {"{\"__metadata__\":{\"k\":\"v\"]}",
       "25: syntax error while parsing object - unexpected ']'; expected '}'"},
      {"{\"x\":{\"e\":[1,2}}}", "15: syntax error while parsing array - unexpected '}'; expected "
                                "']'"},
      {"{\"x\":{\"e\":tru}}", "14: syntax error while parsing value - invalid literal"},
      {"{\"__metadata__\":{\"k\":\"x\\q\"}}",
       "25: syntax error while parsing value - invalid string: forbidden character after "
       "backslash"},
      {"{\"__metadata__\":{\"k\":\"\\ud800\"}}",
       "29: syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF must be "
       "followed by U+DC00..U+DFFF"},
      {"{\"__metadata__\":{\"k\":\"tab\there\"}}",
       "26: syntax error while parsing value - invalid string: control character U+0009 (HT) "
       "must be escaped to \\u0009 or \\t"},
      {"{\"__metadata__\":{\"k\":\"\xff\"}}",
       "23: syntax error while parsing value - invalid string: ill-formed UTF-8 byte"},
      {"{\"x\":{\"e\":01}}", "12: syntax error while parsing object - unexpected number literal; "
                             "expected '}'"},
      {"{\"x\":{\"e\":-}}", "12: syntax error while parsing value - invalid number; expected digit "
                            "after '-'"},
      {"{} {}", "4: syntax error while parsing value - unexpected '{'; expected end of input"},
      {"{\"a\":\"unterminated}", "20: syntax error while parsing value - invalid string: missing "
                                 "closing quote"},
  };
  for (const auto &[json, message] : cases) {
    const std::string error = loadError(stFile(json, {}));
    EXPECT_EQ(error.substr(0, error.find("; last read")), p + ": " + syntax + message) << json;
  }
  EXPECT_EQ(loadError(stFile("{\"x\":{\"e\":1e999}}", {})),
            p + ": bad JSON header: number overflow parsing '1e999'");
  EXPECT_EQ(loadError(stFile("{\"a\":1,\"a\":2}", {})),
            p + ": tensor 'a' must be an object, not a number");
  EXPECT_EQ(loadError(stFile("{\"__metadata__\":{},\"__metadata__\":{}}", {})),
            p + ": duplicate key \"__metadata__\"");
  EXPECT_EQ(loadError(stFile("{\"x\":{\"e\":" + std::string(100, '[') + std::string(100, ']') +
                                 "}}",
                             {})),
            p + ": header nests objects and arrays deeper than 64 levels");
}

TEST_F(CheckpointTest, BadHeaderEntriesAreRejected) {
  const std::string p = dir + "/bad.safetensors";
  const std::pair<std::string, std::string> cases[] = {
      {"{\"__metadata__\":[]}", "\"__metadata__\" must be an object, not an array"},
      {"{\"__metadata__\":{\"kiln.epoch\":3}}",
       "\"__metadata__\" entry 'kiln.epoch' must be a string, not a number"},
      {"{\"x\":1}", "tensor 'x' must be an object, not a number"},
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[]}}", "tensor 'x' has no \"data_offsets\""},
      {"{\"x\":{\"dtype\":\"Q7\",\"shape\":[],\"data_offsets\":[0,0]}}",
       "tensor 'x' has unknown dtype 'Q7'"},
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}",
       "tensor 'x': \"shape\" must hold non-negative integers"},
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}",
       "tensor 'x': \"shape\" must hold non-negative integers"},
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}",
       "tensor 'x': \"data_offsets\" must be [begin, end] with non-negative integers"},
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
       "tensor 'x': data_offsets [8, 0] end before they begin"},
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
       "tensor 'x': shape [2] of F32 needs 8 bytes, data_offsets [0, 4] hold 4"},
      {"{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}",
       "tensor 'x': shape [4611686018427387904, 4] is too large"},
      {"{" + entry("a", "F32", "[4]", 0, 16) + "," + entry("b", "F32", "[2]", 8, 16) + "}",
       "tensors 'a' and 'b' overlap (data_offsets [0, 16] and [8, 16])"},
  };
  for (const auto &[json, message] : cases)
    EXPECT_EQ(loadError(stFile(json, std::vector<uint8_t>(16))), p + ": " + message) << json;
}

TEST_F(CheckpointTest, TensorsMustMatchTheModel) {
  const std::string p = dir + "/bad.safetensors";
  auto with = [&](const std::string &replaced, const std::string &by) {
    std::string json = "{" + allEntries() + "}";
    size_t at = json.find(replaced);
    EXPECT_NE(at, std::string::npos) << replaced;
    return stFile(json.replace(at, replaced.size(), by), kData);
  };
  EXPECT_EQ(loadError(with(entry("fc.weight", "F32", "[2,3]", 0, 24),
                           entry("fc.weight", "F32", "[3,2]", 0, 24))),
            p + ": tensor 'fc.weight' has shape [3, 2], the model expects [2, 3]");
  EXPECT_EQ(loadError(with(entry("fc.weight", "F32", "[2,3]", 0, 24),
                           entry("fc.weight", "F32", "[6]", 0, 24))),
            p + ": tensor 'fc.weight' has shape [6], the model expects [2, 3]");
  EXPECT_EQ(loadError(with(entry("fc.bias", "F32", "[3]", 24, 36),
                           entry("fc.bias", "I32", "[3]", 24, 36))),
            p + ": tensor 'fc.bias' has dtype I32, the model expects F32");
  EXPECT_EQ(loadError(with(entry("steps", "I64", "[]", 36, 44),
                           entry("steps", "F64", "[]", 36, 44))),
            p + ": tensor 'steps' has dtype F64, the model expects I64");
  EXPECT_EQ(loadError(with(entry("fc.bias", "F32", "[3]", 24, 36),
                           entry("fc.bias2", "F32", "[3]", 24, 36))),
            p + ": missing tensor 'fc.bias'");

  // An unknown tensor is an error unless allowed.
  std::string json = "{" + allEntries() + "," + entry("fc.extra", "F32", "[1]", 80, 84) + "}";
  auto file = stFile(json, concat(kData, {1, 2, 3, 4}));
  EXPECT_EQ(loadError(file),
            p + ": unexpected tensor 'fc.extra': model 'fake' has no state of that name");
  LoadOptions allow;
  allow.allow_unknown_tensors = true;
  Arena arena = patternArena(0);
  std::string error;
  LoadResult result;
  ASSERT_TRUE(loadCheckpoint(fakeModel(), arena.data(), p, allow, &result, error)) << error;
  EXPECT_EQ(slice(arena, 96, 12), slice(kData, 68, 12));
  EXPECT_EQ(result.unexpected, std::vector<std::string>{"fc.extra"});
}

TEST_F(CheckpointTest, NonStrictLoadKeepsMissingAndReportsBoth) {
  // PyTorch's load_state_dict(strict=False): a backbone checkpoint loaded into
  // a model with a new head. fc.bias is absent (kept as initialized), "old.w"
  // belongs to the head the new model replaced.
  std::string json = "{" + entry("fc.weight", "F32", "[2,3]", 0, 24) + "," +
                     entry("old.w", "F32", "[1]", 24, 28) + "," +
                     entry("steps", "I64", "[]", 28, 36) + "}";
  std::string path = dir + "/backbone.safetensors", error;
  auto steps = int64Bytes(42);
  writeFile(path, stFile(json, concat(concat(slice(kData, 0, 24), floatBytes({9})), steps)));
  LoadOptions partial;
  partial.parameters_only = true;
  EXPECT_EQ(loadErrorFrom(path, partial), path + ": missing tensor 'fc.bias'");
  partial.allow_missing_tensors = true;
  partial.allow_unknown_tensors = true;
  Arena arena = patternArena(0), before = arena;
  LoadResult result;
  ASSERT_TRUE(loadCheckpoint(fakeModel(), arena.data(), path, partial, &result, error)) << error;
  EXPECT_EQ(slice(arena, 0, 24), slice(kData, 0, 24));
  EXPECT_EQ(slice(arena, 32, 12), slice(before, 32, 12)); // fc.bias as initialized
  EXPECT_EQ(slice(arena, 48, 8), steps);
  EXPECT_EQ(result.missing, std::vector<std::string>{"fc.bias"});
  EXPECT_EQ(result.unexpected, std::vector<std::string>{"old.w"});

  // Non-strict loading still refuses a tensor of the wrong shape, and then
  // writes nothing.
  std::string wrong = "{" + entry("fc.weight", "F32", "[6]", 0, 24) + "}";
  writeFile(path, stFile(wrong, slice(kData, 0, 24)));
  Arena untouched = patternArena(0);
  EXPECT_FALSE(loadCheckpoint(fakeModel(), untouched.data(), path, partial, nullptr, error));
  EXPECT_EQ(error, path + ": tensor 'fc.weight' has shape [6], the model expects [2, 3]");
  EXPECT_EQ(untouched, patternArena(0));
}

TEST_F(CheckpointTest, InvalidStateTablesAreRejected) {
  Arena arena = patternArena(0);
  std::string error;
  kiln_model_info none = fakeModel();
  none.num_state = 0;
  EXPECT_FALSE(saveCheckpoint(none, arena.data(), dir + "/x", {}, error));
  EXPECT_THAT(error, HasSubstr("model 'fake' describes no state tensors"));
  const int64_t big[] = {100};
  const kiln_state_entry outside[] = {{"w", 64, KILN_F32, 1, big}};
  kiln_model_info m = fakeModel();
  m.num_state = 1;
  m.state = outside;
  EXPECT_FALSE(loadCheckpoint(m, arena.data(), dir + "/x", {}, nullptr, error));
  EXPECT_THAT(error, HasSubstr("('w') lies outside the arena of 128 bytes"));
  const kiln_state_entry twice[] = {{"w", 0, KILN_F32, 0, nullptr}, {"w", 4, KILN_F32, 0, nullptr}};
  m.num_state = 2;
  m.state = twice;
  EXPECT_FALSE(saveCheckpoint(m, arena.data(), dir + "/x", {}, error));
  EXPECT_THAT(error, HasSubstr("repeats the name 'w'"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/x"));
}

TEST_F(CheckpointTest, WriterRejectsBadTensors) {
  float x = 1;
  std::string error;
  EXPECT_FALSE(writeSafetensors(dir + "/t", {{"a", KILN_F32, {}, &x}, {"a", KILN_F32, {}, &x}},
                                {}, error));
  EXPECT_THAT(error, HasSubstr("duplicate tensor name 'a'"));
  EXPECT_FALSE(writeSafetensors(dir + "/t", {{"__metadata__", KILN_F32, {}, &x}}, {}, error));
  EXPECT_FALSE(writeSafetensors(dir + "/t", {{"a", 9, {}, &x}}, {}, error));
  EXPECT_FALSE(writeSafetensors(dir + "/t", {{"a", KILN_F32, {-1}, &x}}, {}, error));
  EXPECT_FALSE(writeSafetensors(dir + "/t", {{"a\xff", KILN_F32, {}, &x}}, {}, error));
  EXPECT_FALSE(std::filesystem::exists(dir + "/t"));
  // No tensors and no metadata is still a valid file.
  ASSERT_TRUE(writeSafetensors(dir + "/t", {}, {}, error)) << error;
  EXPECT_EQ(readFile(dir + "/t"), stFile("{}      ", {}));
}

TEST_F(CheckpointTest, FailedSaveKeepsExistingFile) {
  Arena arena = patternArena(0);
  std::string path = dir + "/m.safetensors", error;
  ASSERT_TRUE(saveCheckpoint(fakeModel(), arena.data(), path, {{"kiln.epoch", "1"}}, error));
  const std::vector<uint8_t> old = readFile(path);

  // The write fails half-way: a file size limit (works even for root).
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 100;
  auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Arena changed = patternArena(9);
  bool ok = saveCheckpoint(fakeModel(), changed.data(), path, {{"kiln.epoch", "2"}}, error);
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, oldHandler);
  EXPECT_FALSE(ok);
  EXPECT_THAT(error, HasSubstr("cannot write " + path + ": write failed: File too large"));
  EXPECT_EQ(readFile(path), old);
  EXPECT_EQ(listDir(dir), std::vector<std::string>{"m.safetensors"});

  // A directory that does not exist.
  EXPECT_FALSE(saveCheckpoint(fakeModel(), arena.data(), dir + "/no/m.safetensors", {}, error));
  EXPECT_THAT(error, HasSubstr("cannot create temporary file " + dir + "/no/m.safetensors.tmp."));

  // A successful save replaces the file.
  ASSERT_TRUE(saveCheckpoint(fakeModel(), changed.data(), path, {}, error)) << error;
  EXPECT_NE(readFile(path), old);
  EXPECT_EQ(listDir(dir), std::vector<std::string>{"m.safetensors"});
}

TEST_F(CheckpointTest, UnwritableDirectoryKeepsExistingFile) {
  if (geteuid() == 0)
    GTEST_SKIP() << "root ignores directory permissions";
  Arena arena = patternArena(0);
  std::string sub = dir + "/ro", path = sub + "/m.safetensors", error;
  std::filesystem::create_directory(sub);
  ASSERT_TRUE(saveCheckpoint(fakeModel(), arena.data(), path, {}, error)) << error;
  const std::vector<uint8_t> old = readFile(path);
  ASSERT_EQ(chmod(sub.c_str(), 0555), 0);
  Arena changed = patternArena(9);
  bool ok = saveCheckpoint(fakeModel(), changed.data(), path, {}, error);
  chmod(sub.c_str(), 0755);
  EXPECT_FALSE(ok);
  EXPECT_THAT(error, HasSubstr("Permission denied"));
  EXPECT_EQ(readFile(path), old);
}

//===--- Trainer flags -----------------------------------------------------===//

constexpr int kBatch = 8, kClasses = 4, kSide = 4, kElems = kSide * kSide;
constexpr float kMomentum = 0.9f;
const int64_t kInputShape[] = {kSide, kSide};
const int64_t kW[] = {kClasses, kElems}, kB[] = {kClasses};
// PyTorch layout: weight [out, in]; momentum buffers after the parameters.
const kiln_state_entry kToyState[] = {
    {"fc.weight", 0, KILN_F32, 2, kW},
    {"fc.bias", 256, KILN_F32, 1, kB},
    {"fc.weight.momentum_buffer", 320, KILN_F32, 2, kW},
    {"fc.bias.momentum_buffer", 576, KILN_F32, 1, kB},
};
float *at(void *arena, size_t offset) {
  return reinterpret_cast<float *>(static_cast<char *>(arena) + offset);
}

int toyInit(void *arena, uint64_t seed) {
  for (int i = 0; i < kClasses * kElems; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    at(arena, 0)[i] = (static_cast<float>(seed >> 40) / (1 << 24) - 0.5f) * 0.1f;
  }
  std::memset(at(arena, 256), 0, 16);
  std::memset(at(arena, 320), 0, 272);
  return 0;
}

void toyLogits(void *arena, const float *x, float *out) {
  for (int c = 0; c < kClasses; ++c) {
    out[c] = at(arena, 256)[c];
    for (int e = 0; e < kElems; ++e)
      out[c] += x[e] * at(arena, 0)[c * kElems + e];
  }
}

int toyPredict(void *arena, const float *x, float *logits) {
  for (int r = 0; r < kBatch; ++r)
    toyLogits(arena, x + r * kElems, logits + r * kClasses);
  return 0;
}

/// Mean softmax cross-entropy, then PyTorch's SGD with momentum:
/// buf = momentum * buf + grad; param -= lr * buf.
int toyTrain(void *arena, const float *x, const void *labels, float lr, float *loss) {
  const int32_t *y = static_cast<const int32_t *>(labels);
  float gw[kClasses * kElems] = {}, gb[kClasses] = {};
  double total = 0;
  for (int r = 0; r < kBatch; ++r) {
    float z[kClasses], sum = 0;
    toyLogits(arena, x + r * kElems, z);
    float mx = *std::max_element(z, z + kClasses);
    for (float &v : z)
      sum += (v = std::exp(v - mx));
    total -= std::log(z[y[r]] / sum);
    for (int c = 0; c < kClasses; ++c) {
      float g = (z[c] / sum - (c == y[r])) / kBatch;
      gb[c] += g;
      for (int e = 0; e < kElems; ++e)
        gw[c * kElems + e] += g * x[r * kElems + e];
    }
  }
  auto step = [&](float *p, float *buf, const float *g, int n) {
    for (int i = 0; i < n; ++i) {
      buf[i] = kMomentum * buf[i] + g[i];
      p[i] -= lr * buf[i];
    }
  };
  step(at(arena, 0), at(arena, 320), gw, kClasses * kElems);
  step(at(arena, 256), at(arena, 576), gb, kClasses);
  *loss = static_cast<float>(total / kBatch);
  return 0;
}

kiln_model_info toyModel() {
  return {"toy", 640, kBatch, 2, kInputShape, kElems, kClasses, 0.2f,
          toyInit, toyTrain, toyPredict, 4, kToyState};
}

/// Class c lights up quadrant c of a 4x4 image, with deterministic noise.
void writeToySplit(const std::string &dir, bool train, uint32_t n) {
  std::vector<uint8_t> images, labels;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t c = (i * 5 + (train ? 0 : 1)) % kClasses;
    labels.push_back(static_cast<uint8_t>(c));
    for (int row = 0; row < kSide; ++row)
      for (int col = 0; col < kSide; ++col) {
        bool hot = static_cast<uint32_t>((row / 2) * 2 + col / 2) == c;
        int value = hot ? 120 + (i * 7 + col) % 90 : (i * 13 + row) % 110;
        images.push_back(static_cast<uint8_t>(value));
      }
  }
  writeSplit(dir, train, n, kSide, kSide, images, labels);
}

struct RunResult {
  int status;
  std::string out, err;
};

RunResult runTrainer(std::vector<std::string> args) {
  args.insert(args.begin(), "toy-train");
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  kiln_model_info model = toyModel();
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  int status = kiln_train_main(&model, static_cast<int>(args.size()), argv.data());
  std::string out = testing::internal::GetCapturedStdout();
  std::string err = testing::internal::GetCapturedStderr();
  return {status, out, err};
}

/// Lines of \p out matching \p pattern, with "(N.N s)" timings removed.
std::vector<std::string> grep(const std::string &out, const std::string &pattern) {
  std::vector<std::string> result;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, std::regex(pattern)))
      result.push_back(std::regex_replace(line, std::regex(R"( \(\d+\.\d s\))"), ""));
  return result;
}

class TrainerCheckpointTest : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    writeToySplit(dir, /*train=*/true, 64); // 8 batches of 8.
    writeToySplit(dir, /*train=*/false, 30);
  }
  RunResult run(std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", dir, "--log-every", "0", "--full-precision"});
    return runTrainer(args);
  }
};

TEST_F(TrainerCheckpointTest, ResumeContinuesBitIdentically) {
  const std::string full = dir + "/full.st", part = dir + "/part.st";
  RunResult a = run({"--epochs", "4", "--seed", "7", "--lr", "0.3", "--save", full});
  ASSERT_EQ(a.status, 0) << a.err;
  RunResult b = run({"--epochs", "2", "--seed", "7", "--lr", "0.3", "--save", part});
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_THAT(b.out, HasSubstr("checkpoint: saved " + part + " (epoch 2)\n"));
  std::map<std::string, std::string> meta;
  std::string error;
  ASSERT_TRUE(readCheckpointMetadata(part, meta, error)) << error;
  EXPECT_EQ(meta["kiln.epoch"], "2");
  EXPECT_EQ(meta["kiln.seed"], "7");
  EXPECT_EQ(meta["kiln.lr"], "0.300000012");
  EXPECT_EQ(meta["kiln.model"], "toy");
  // Seed and lr come from the checkpoint.
  RunResult c = run({"--epochs", "4", "--resume", part, "--save", part});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_THAT(c.out, HasSubstr("training: 4 epochs x 8 steps, lr 0.3, seed 7\n"
                               "resuming: " + part + " after epoch 2\n"));
  EXPECT_EQ(grep(c.out, "^epoch 1/|^epoch 2/"), std::vector<std::string>{});
  EXPECT_EQ(grep(c.out, "^epoch 3/|^epoch 4/|^final"), grep(a.out, "^epoch 3/|^epoch 4/|^final"));
  EXPECT_EQ(readFile(part), readFile(full)) << "the final states must be bit-identical";

  // Resuming at or past --epochs evaluates and stops.
  RunResult d = run({"--epochs", "4", "--resume", full});
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(grep(d.out, "^epoch"), std::vector<std::string>{});
  EXPECT_EQ(grep(d.out, "^final"), grep(a.out, "^final"));
}

TEST_F(TrainerCheckpointTest, ResumeContinuesTheLearningRateSchedule) {
  // A decaying schedule: resuming without --lr-schedule must not fall back
  // to the constant rate.
  const std::string full = dir + "/full.st", part = dir + "/part.st";
  const std::vector<std::string> common = {"--seed", "3", "--lr", "0.5", "--lr-schedule",
                                           "cosine:32:0.01"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), common.begin(), common.end());
    return args;
  };
  RunResult a = run(with({"--epochs", "3", "--save", full}));
  ASSERT_EQ(a.status, 0) << a.err;
  RunResult b = run(with({"--epochs", "1", "--save", part}));
  ASSERT_EQ(b.status, 0) << b.err;
  std::map<std::string, std::string> meta;
  std::string error;
  ASSERT_TRUE(readCheckpointMetadata(part, meta, error)) << error;
  EXPECT_EQ(meta["kiln.lr_schedule"], "cosine:32:0.01");
  RunResult c = run({"--epochs", "3", "--resume", part, "--save", part});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_EQ(grep(c.out, "^epoch 2/|^epoch 3/|^final"), grep(a.out, "^epoch 2/|^epoch 3/|^final"));
  EXPECT_EQ(readFile(part), readFile(full)) << "the final states must be bit-identical";
  // A different schedule on the command line wins, with a warning.
  RunResult d = run({"--epochs", "2", "--resume", full, "--lr-schedule", "step:8:0.5",
                     "--save", part});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_THAT(d.err, HasSubstr("warning: --lr-schedule step:8:0.5 differs from the "
                               "checkpoint's schedule cosine:32:0.01"));
}

TEST_F(TrainerCheckpointTest, ResumeRejectsAnEpochThatWouldWrap) {
  // The state of a real run, with its epoch counter replaced: resuming after
  // epoch 2147483647 used to continue at epoch -2147483648 and train for 2^31
  // epochs.
  const std::string ck = dir + "/ck.st";
  ASSERT_EQ(run({"--epochs", "1", "--save", ck}).status, 0);
  Arena arena(640);
  LoadResult loaded;
  std::string error;
  ASSERT_TRUE(loadCheckpoint(toyModel(), arena.data(), ck, {}, &loaded, error)) << error;
  std::vector<TensorRef> tensors;
  for (const kiln_state_entry &e : kToyState)
    tensors.push_back({e.name, e.dtype, std::vector<int64_t>(e.shape, e.shape + e.rank),
                       arena.data() + e.offset});
  for (const char *epoch : {"2147483647", "-1", "1 "}) {
    loaded.metadata["kiln.epoch"] = epoch;
    ASSERT_TRUE(writeSafetensors(ck, tensors, loaded.metadata, error)) << error;
    RunResult r = run({"--epochs", "3", "--resume", ck, "--save", ck});
    EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
    EXPECT_THAT(r.err, HasSubstr(ck + ": metadata \"kiln.epoch\" is \"" + epoch +
                                 "\", not an epoch count from 0 to 2147483646"));
    EXPECT_EQ(grep(r.out, "^epoch"), std::vector<std::string>{});
  }
}

TEST_F(TrainerCheckpointTest, ResumeNeedsTheWholeState) {
  const std::string ck = dir + "/ck.st";
  ASSERT_EQ(run({"--epochs", "1", "--save", ck}).status, 0);
  RunResult warn = run({"--epochs", "2", "--resume", ck, "--seed", "5"});
  EXPECT_EQ(warn.status, 0) << warn.err;
  EXPECT_THAT(warn.err, HasSubstr("warning: --seed 5 differs from the checkpoint's seed 0"));

  // A parameters-only file (e.g. from PyTorch) can initialize but not resume.
  std::vector<float> w(kClasses * kElems, 0.01f), b = {1, 2, 3, 4};
  const std::string params = dir + "/params.st";
  std::string error;
  ASSERT_TRUE(writeSafetensors(params, {{"fc.weight", KILN_F32, {kClasses, kElems}, w.data()},
                                        {"fc.bias", KILN_F32, {kClasses}, b.data()}},
                               {}, error))
      << error;
  RunResult r = run({"--epochs", "1", "--resume", params});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr(params + ": no \"kiln.epoch\" in its metadata"));
  ASSERT_TRUE(writeSafetensors(params, {{"fc.weight", KILN_F32, {kClasses, kElems}, w.data()},
                                        {"fc.bias", KILN_F32, {kClasses}, b.data()}},
                               {{"kiln.epoch", "1"}}, error));
  r = run({"--epochs", "2", "--resume", params});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr(params + ": missing tensor 'fc.weight.momentum_buffer'"));

  r = run({"--resume", ck, "--init-from", ck});
  EXPECT_EQ(r.status, KILN_TRAIN_USAGE_ERROR);
  EXPECT_THAT(r.err, HasSubstr("--resume and --init-from exclude each other"));
  r = run({"--save="});
  EXPECT_EQ(r.status, KILN_TRAIN_USAGE_ERROR);
  r = run({"--epochs", "1", "--resume", dir + "/missing.st"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr(dir + "/missing.st: cannot open"));
  r = run({"--epochs", "1", "--save", dir + "/no/such/dir/ck.st"});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr("--save " + dir + "/no/such/dir/ck.st: cannot write"));
}

TEST_F(TrainerCheckpointTest, InitFromLoadsParametersAndDumpsLogits) {
  // Parameters that classify by quadrant: logit c sums quadrant c.
  std::vector<float> w(kClasses * kElems, 0.0f), b(kClasses, 0.0f);
  for (int e = 0; e < kElems; ++e)
    w[(((e / kSide) / 2) * 2 + (e % kSide) / 2) * kElems + e] = 1.0f;
  const std::string params = dir + "/params.st", logits = dir + "/logits.st",
                    saved = dir + "/saved.st";
  std::string error;
  ASSERT_TRUE(writeSafetensors(params, {{"fc.bias", KILN_F32, {kClasses}, b.data()},
                                        {"fc.weight", KILN_F32, {kClasses, kElems}, w.data()}},
                               {{"format", "pt"}}, error))
      << error;
  RunResult r = run({"--epochs", "0", "--init-from", params, "--dump-logits", logits, "--save",
                     saved});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("parameters: " + params + "\n"));
  EXPECT_THAT(r.out, HasSubstr("final test accuracy: 1\n"));

  // The dump holds 30 rows of logits (no padding rows) and the labels.
  std::vector<uint8_t> file = readFile(logits);
  ASSERT_GT(file.size(), 8u);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(file[i]) << (8 * i);
  std::string json(file.begin() + 8, file.begin() + 8 + n);
  EXPECT_THAT(json, HasSubstr("\"logits\":{\"dtype\":\"F32\",\"shape\":[30,4],"
                              "\"data_offsets\":[0,480]},\"labels\":{\"dtype\":\"I32\","
                              "\"shape\":[30],\"data_offsets\":[480,600]}"));
  ASSERT_EQ(file.size(), 8 + n + 600);

  // --save after --epochs 0 records the loaded parameters and fresh buffers.
  Arena arena(640, 0xAB);
  ASSERT_TRUE(loadCheckpoint(toyModel(), arena.data(), saved, {}, nullptr, error)) << error;
  EXPECT_EQ(std::memcmp(arena.data(), w.data(), 256), 0);
  EXPECT_EQ(std::memcmp(arena.data() + 256, b.data(), 16), 0);
  EXPECT_EQ(Arena(arena.begin() + 320, arena.begin() + 592), Arena(272, 0));

  // Fine-tuning from the parameters trains from them with fresh buffers.
  r = run({"--epochs", "1", "--init-from", params});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("epoch 1/1 done"));
  // A shape mismatch names the file and the tensor.
  std::vector<float> small(kElems, 0.0f);
  ASSERT_TRUE(writeSafetensors(params, {{"fc.bias", KILN_F32, {kClasses}, b.data()},
                                        {"fc.weight", KILN_F32, {1, kElems}, small.data()}},
                               {{"kiln.model", "other"}}, error));
  r = run({"--epochs", "0", "--init-from", params});
  EXPECT_EQ(r.status, KILN_TRAIN_FAILED);
  EXPECT_THAT(r.err, HasSubstr(params + ": tensor 'fc.weight' has shape [1, 16], the model "
                                        "expects [4, 16] (the file was saved by model 'other')"));
}

} // namespace
