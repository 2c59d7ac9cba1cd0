//===- safetensors_format_test.cc - Tests for header parsing and limits ---===//
//
// The safetensors header on its own (safetensors_format.h): data layout as
// the reference implementation validates it (gaps, overlaps), size
// arithmetic overflow, and the limits that bound a hostile header's memory and
// work, each with the error that names it. Every test builds its input in
// memory and runs in milliseconds; the biggest header is about 5 MB.
//
//===----------------------------------------------------------------------===//

#include "safetensors_format.h"

#include "atomic_file.h"
#include "kiln/runtime/checkpoint.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <chrono>

#include <fcntl.h>
#include <unistd.h>

using namespace kiln::runtime;
using namespace kiln::runtime::safetensors;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

std::string entry(const std::string &name, const std::string &dtype, const std::string &shape,
                  uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

/// parseHeader's error for \p json ("" if it parses).
std::string parseError(const std::string &json) {
  Header header;
  return parseHeader(json, header);
}

/// checkDataLayout's error for the header \p json over \p dataBytes.
std::string layoutError(const std::string &json, uint64_t dataBytes) {
  Header header;
  std::string error = parseHeader(json, header);
  EXPECT_EQ(error, "") << json;
  return checkDataLayout(header.tensors, dataBytes);
}

TEST(SafetensorsLayout, TensorsMustTileTheData) {
  const std::string a = entry("a", "F32", "[2]", 0, 8), b = entry("b", "F32", "[4]", 8, 24);
  EXPECT_EQ(layoutError("{" + b + "," + a + "}", 24), "");
  // Empty tensors sit anywhere on the tiling, e.g. between two others.
  EXPECT_EQ(layoutError("{" + a + "," + entry("e", "F32", "[0]", 8, 8) + "," + b + "}", 24), "");
  EXPECT_EQ(layoutError("{}", 0), "");
  // A gap (the reference implementation's InvalidOffset).
  EXPECT_EQ(layoutError("{" + a + "," + entry("b", "F32", "[4]", 12, 28) + "}", 28),
            "gap of 4 bytes before tensor 'b' (data_offsets [12, 28], the previous tensor 'a' "
            "ends at 8): tensors must fill the data section without gaps");
  EXPECT_EQ(layoutError("{" + entry("a", "F32", "[2]", 16, 24) + "}", 24),
            "gap of 16 bytes before tensor 'a' (data_offsets [16, 24], the data starts at 0): "
            "tensors must fill the data section without gaps");
  // An empty tensor outside the tiling, as the reference implementation.
  EXPECT_THAT(layoutError("{" + a + "," + entry("e", "F32", "[0]", 16, 16) + "}", 8),
              HasSubstr("gap of 8 bytes before tensor 'e'"));
  // Overlaps: partial, identical ranges, an empty tensor inside another.
  EXPECT_EQ(layoutError("{" + entry("a", "F32", "[4]", 0, 16) + "," +
                            entry("b", "F32", "[2]", 8, 16) + "}",
                        16),
            "tensors 'a' and 'b' overlap (data_offsets [0, 16] and [8, 16])");
  EXPECT_EQ(layoutError("{" + a + "," + entry("c", "I32", "[2]", 0, 8) + "}", 8),
            "tensors 'a' and 'c' overlap (data_offsets [0, 8] and [0, 8])");
  EXPECT_THAT(layoutError("{" + a + "," + entry("e", "F32", "[0]", 4, 4) + "}", 8),
              HasSubstr("tensors 'a' and 'e' overlap"));
  // The last tensor must end at the end of the data.
  EXPECT_EQ(layoutError("{" + a + "}", 6), "truncated: header says 8 bytes of data, file has 6");
  EXPECT_EQ(layoutError("{" + a + "}", 9),
            "1 unexpected bytes after the tensor data (header says 8 bytes of data, file has 9)");
}

TEST(SafetensorsHeader, ShapeArithmeticDoesNotOverflow) {
  struct Case {
    const char *dtype, *shape;
    uint64_t end;
    std::string error;
  };
  const std::string tooLarge = " is too large";
  const std::string notIndex = "\"shape\" must hold non-negative integers";
  const Case cases[] = {
      // Each product wraps to a small number in 64-bit arithmetic: 2^32 * 2^32
      // = 2^64 -> 0, 2^62 * 4 * 4 = 2^66 -> 0, 3 * 6148914691236517206 = 2^64 + 2.
      {"U8", "[4294967296,4294967296]", 0, "shape [4294967296, 4294967296]" + tooLarge},
      {"F32", "[4611686018427387904,4]", 0, "shape [4611686018427387904, 4]" + tooLarge},
      {"I8", "[3,6148914691236517206]", 2, "shape [3, 6148914691236517206]" + tooLarge},
      // Past int64 (but not uint64) is too large as well.
      {"I16", "[4611686018427387904]", 0, "shape [4611686018427387904]" + tooLarge},
      {"U8", "[9223372036854775808]", 0, notIndex},
      {"U8", "[18446744073709551616]", 0, notIndex},
      {"U8", "[1]", 9223372036854775808ull,
       "\"data_offsets\" must be [begin, end] with non-negative integers"},
  };
  for (const Case &c : cases)
    EXPECT_EQ(parseError("{" + entry("x", c.dtype, c.shape, 0, c.end) + "}"),
              "tensor 'x': " + c.error)
        << c.shape;
  // The largest representable size is fine as far as the header goes.
  EXPECT_EQ(parseError("{" + entry("x", "U8", "[9223372036854775807]", 0,
                                   9223372036854775807ull) +
                       "}"),
            "");
}

TEST(SafetensorsHeader, NestingIsLimited) {
  auto nested = [](int depth) {
    return "{\"x\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"extra\":" +
           std::string(depth - 2, '[') + std::string(depth - 2, ']') + "}}";
  };
  EXPECT_EQ(parseError(nested(64)), "");
  EXPECT_EQ(parseError(nested(65)), "header nests objects and arrays deeper than 64 levels");
  // A million levels stop at the 65th (and do not overflow a stack).
  EXPECT_EQ(parseError("{\"x\":{\"extra\":" + std::string(1'000'000, '[')),
            "header nests objects and arrays deeper than 64 levels");
}

TEST(SafetensorsHeader, MetadataEntriesAreLimited) {
  auto metadata = [](uint64_t n) {
    std::string json = "{\"__metadata__\":{";
    for (uint64_t i = 0; i < n; ++i)
      json += (i ? ",\"" : "\"") + std::to_string(i) + "\":\"\"";
    return json + "}}";
  };
  Header header;
  EXPECT_EQ(parseHeader(metadata(HeaderLimits::kMaxMetadataEntries), header), "");
  EXPECT_EQ(header.metadata.size(), HeaderLimits::kMaxMetadataEntries);
  EXPECT_EQ(parseError(metadata(HeaderLimits::kMaxMetadataEntries + 1)),
            "\"__metadata__\" has more than 10000 entries");
}

TEST(SafetensorsHeader, TensorsAreLimited) {
  auto tensors = [](uint64_t n) {
    std::string json = "{";
    for (uint64_t i = 0; i < n; ++i) {
      json += i ? "," : "";
      json += entry(std::to_string(i), "U8", "[0]", 0, 0);
    }
    return json + "}";
  };
  const auto start = std::chrono::steady_clock::now();
  Header header;
  EXPECT_EQ(parseHeader(tensors(HeaderLimits::kMaxTensors), header), "");
  EXPECT_EQ(header.tensors.size(), HeaderLimits::kMaxTensors);
  EXPECT_EQ(parseError(tensors(HeaderLimits::kMaxTensors + 1)),
            "header has more than 100000 tensors");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SafetensorsHeader, TotalWorkIsLimited) {
  // The "100 MB of 0,0,0..." header, in an ignored field: the parser stops
  // at the limit instead of building 50 million values.
  std::string zeros;
  for (uint64_t i = 0; i < HeaderLimits::kMaxTokens; ++i)
    zeros += "0,";
  const std::string json = "{\"x\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],"
                           "\"extra\":[" +
                           zeros + "0]}}";
  EXPECT_EQ(parseError(json), "header has more than 2000000 keys and values");
}

TEST(SafetensorsHeader, DuplicateKeysAreRejected) {
  const std::string a = entry("a", "U8", "[1]", 0, 1);
  EXPECT_EQ(parseError("{" + a + "," + a + "}"), "duplicate key \"a\"");
  EXPECT_EQ(parseError("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"),
            "duplicate key \"k\" in \"__metadata__\"");
  EXPECT_EQ(parseError("{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],"
                       "\"data_offsets\":[0,1]}}"),
            "tensor 'a' has a duplicate key \"dtype\"");
}

TEST(SafetensorsHeader, WriterOutputParsesBack) {
  const std::vector<int64_t> shape = {2, 3}, scalar = {};
  const std::string json =
      encodeHeader({{"w", "F32", &shape, 0, 24}, {"s\"\n", "I64", &scalar, 24, 32}},
                   {{"k", "tab\t"}});
  EXPECT_EQ(json.size() % 8, 0u);
  EXPECT_EQ(json.substr(0, json.find_last_not_of(' ') + 1),
            "{\"__metadata__\":{\"k\":\"tab\\t\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],"
            "\"data_offsets\":[0,24]},\"s\\\"\\n\":{\"dtype\":\"I64\",\"shape\":[],"
            "\"data_offsets\":[24,32]}}");
  Header header;
  ASSERT_EQ(parseHeader(json, header), "");
  ASSERT_EQ(header.tensors.size(), 2u);
  EXPECT_EQ(header.tensors[1].name, "s\"\n");
  EXPECT_EQ(header.metadata.at("k"), "tab\t");
  EXPECT_EQ(checkDataLayout(header.tensors, 32), "");
}

class SafetensorsFileTest : public TempDirTest {};

TEST_F(SafetensorsFileTest, HugeHeaderLengthIsRejectedBeforeReading) {
  // A sparse file whose length field claims one byte over the limit, and that
  // really has that many bytes after it: the limit is the error, not memory.
  const std::string path = dir + "/huge.safetensors";
  const uint64_t n = HeaderLimits::kMaxBytes + 1;
  {
    Fd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ASSERT_GE(file.fd, 0);
    unsigned char length[8];
    for (int i = 0; i < 8; ++i)
      length[i] = static_cast<unsigned char>(n >> (8 * i));
    ASSERT_EQ(::write(file.fd, length, 8), 8);
    ASSERT_EQ(::write(file.fd, "{", 1), 1);
    ASSERT_EQ(::ftruncate(file.fd, static_cast<off_t>(8 + n)), 0);
  }
  std::map<std::string, std::string> metadata;
  std::string error;
  EXPECT_FALSE(readCheckpointMetadata(path, metadata, error));
  EXPECT_EQ(error, path + ": bad header length 100000001: more than the 100000000 bytes "
                          "safetensors allows");
  // The same in a 9-byte file, and for the largest length field.
  writeFile(path, {1, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{'});
  EXPECT_FALSE(readCheckpointMetadata(path, metadata, error));
  EXPECT_THAT(error, HasSubstr("bad header length 100000001: more than"));
  writeFile(path, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{'});
  EXPECT_FALSE(readCheckpointMetadata(path, metadata, error));
  EXPECT_THAT(error, HasSubstr("bad header length 18446744073709551615: more than"));
}

} // namespace
