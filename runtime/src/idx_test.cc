//===- idx_test.cc - Tests for the IDX reader -----------------------------===//
//
// Round trips through hand-built files, plus one test per class of malformed
// input: each must fail with a message naming the file and the problem.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/idx.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <cstring>
#include <numeric>

#include <sys/stat.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

std::vector<uint8_t> iota(size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), uint8_t(0));
  return v;
}

class IdxTest : public TempDirTest {
protected:
  IdxArray arr;
  std::string error;
};

TEST_F(IdxTest, ReadsPlainUInt8) {
  std::string path = dir + "/a-idx3-ubyte";
  writeIdxU8(path, {2, 3, 4}, iota(24), /*gz=*/false);
  ASSERT_TRUE(readIdx(path, arr, error)) << error;
  EXPECT_EQ(arr.type, IdxType::UInt8);
  EXPECT_EQ(arr.dims, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(arr.numElements(), 24);
  EXPECT_EQ(arr.data, iota(24));
}

TEST_F(IdxTest, ReadsGzipUInt8) {
  std::string path = dir + "/a-idx1-ubyte.gz";
  auto data = noiseBytes(70000, 1); // More than one 64 KiB zlib window.
  writeIdxU8(path, {70000}, data, /*gz=*/true);
  ASSERT_TRUE(readIdx(path, arr, error)) << error;
  EXPECT_EQ(arr.dims, (std::vector<int64_t>{70000}));
  EXPECT_EQ(arr.data, data);
}

TEST_F(IdxTest, ConvertsMultiByteTypesFromBigEndian) {
  std::string path = dir + "/i32.gz";
  // int32 0x01020304 and -2, big-endian.
  writeGzFile(path, concat(idxHeader(0x0C, {2}), {1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe}));
  ASSERT_TRUE(readIdx(path, arr, error)) << error;
  ASSERT_EQ(arr.data.size(), 8u);
  int32_t v[2];
  std::memcpy(v, arr.data.data(), sizeof(v));
  EXPECT_EQ(v[0], 0x01020304);
  EXPECT_EQ(v[1], -2);
}

TEST_F(IdxTest, TruncatedGzipNamesFileAndSaysTruncated) {
  std::string path = dir + "/t10k-images-idx3-ubyte.gz";
  writeIdxU8(path, {10, 28, 28}, noiseBytes(7840, 2), /*gz=*/true);
  auto bytes = readFile(path);
  bytes.resize(bytes.size() / 2);
  writeFile(path, bytes);
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_THAT(error, HasSubstr(path));
  EXPECT_THAT(error, HasSubstr("truncated: header promises 7840 data bytes, file has "));
}

TEST_F(IdxTest, GzipMissingTrailerIsTruncated) {
  // All data bytes present, but the CRC/length trailer is cut off.
  std::string path = dir + "/x.gz";
  writeIdxU8(path, {100}, noiseBytes(100, 3), /*gz=*/true);
  auto bytes = readFile(path);
  bytes.resize(bytes.size() - 8);
  writeFile(path, bytes);
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_EQ(error, path + ": truncated: gzip stream ends early (unexpected end of file)");
}

TEST_F(IdxTest, GzipBadCrcIsAnError) {
  std::string path = dir + "/x.gz";
  writeIdxU8(path, {100}, noiseBytes(100, 4), /*gz=*/true);
  auto bytes = readFile(path);
  bytes[bytes.size() - 8] ^= 0xff; // First CRC32 byte of the trailer.
  writeFile(path, bytes);
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_EQ(error, path + ": corrupt gzip stream: incorrect data check");
}

TEST_F(IdxTest, TruncatedPlainReportsByteCounts) {
  std::string path = dir + "/short-idx1-ubyte";
  writeFile(path, concat(idxHeader(0x08, {24}), iota(10)));
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_EQ(error, path + ": truncated: header promises 24 data bytes, file has 10");
}

TEST_F(IdxTest, TruncatedHeader) {
  std::string path = dir + "/tiny";
  writeFile(path, {0, 0});
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_THAT(error, HasSubstr(path + ": truncated"));

  writeFile(path, {0, 0, 8, 3, 0, 0, 0, 2}); // Rank 3 but only one dim.
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_THAT(error, HasSubstr("truncated: file ends inside the header"));
}

TEST_F(IdxTest, BadMagic) {
  std::string path = dir + "/bad";
  writeFile(path, concat({0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1}, {7}));
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_EQ(error, path + ": not an IDX file (bad magic 0x12340801)");
}

TEST_F(IdxTest, DoublyCompressedFileShowsGzipMagic) {
  // A .gz of a .gz decompresses once to bytes starting with the gzip magic.
  std::string inner = dir + "/inner.gz", outer = dir + "/outer.gz";
  writeIdxU8(inner, {4}, iota(4), /*gz=*/true);
  writeGzFile(outer, readFile(inner));
  EXPECT_FALSE(readIdx(outer, arr, error));
  EXPECT_THAT(error, HasSubstr(outer + ": not an IDX file (bad magic 0x1f8b08"));
}

TEST_F(IdxTest, UnsupportedTypeAndRankZero) {
  std::string path = dir + "/t";
  writeFile(path, {0, 0, 0x07, 1, 0, 0, 0, 1, 5});
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_THAT(error, HasSubstr("unsupported IDX element type 0x07"));

  writeFile(path, {0, 0, 0x08, 0});
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_THAT(error, HasSubstr("rank 0"));
}

TEST_F(IdxTest, HugeHeaderFailsWithoutHugeAllocation) {
  std::string path = dir + "/huge";
  writeFile(path, concat(idxHeader(0x08, {0xffffffffu, 0xffffffffu, 4}), {1, 2, 3}));
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_EQ(error, path + ": invalid IDX header: implausibly large array: shape "
                          "[4294967295x4294967295x4] is more than 2^64 elements (limit 2^40)");

  // The count is what is too large; the message must say so, with the shape.
  writeFile(path, concat(idxHeader(0x08, {0x80000000u, 28, 28}), {1, 2, 3}));
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_EQ(error, path + ": invalid IDX header: implausibly large array: shape "
                          "[2147483648x28x28] is 1683627180032 elements (limit 2^40)");

  // 4 GiB promised, 3 bytes present: must be a plain truncation error.
  writeFile(path, concat(idxHeader(0x08, {0xffffffffu}), {1, 2, 3}));
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_THAT(error, HasSubstr("header promises 4294967295 data bytes, file has 3"));
}

TEST_F(IdxTest, TrailingDataIsAnError) {
  std::string path = dir + "/long";
  writeFile(path, concat(idxHeader(0x08, {2}), {1, 2, 3}));
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_THAT(error, HasSubstr(path + ": trailing data"));
}

TEST_F(IdxTest, MissingFileAndDirectory) {
  std::string path = dir + "/does-not-exist.gz";
  EXPECT_FALSE(readIdx(path, arr, error));
  EXPECT_EQ(error, path + ": cannot open: No such file or directory");

  EXPECT_FALSE(readIdx(dir, arr, error));
  EXPECT_THAT(error, HasSubstr(dir + ": cannot open"));
}

TEST_F(IdxTest, FifoAndDevicesAreRefusedWithoutOpening) {
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(readIdx(fifo, arr, error));
  EXPECT_EQ(error, fifo + ": cannot read: it is a FIFO, not a regular file (data files must be "
                          "regular files)");
  EXPECT_FALSE(readIdx("/dev/zero", arr, error));
  EXPECT_THAT(error, HasSubstr("/dev/zero: cannot read: it is a character device"));
}

} // namespace
