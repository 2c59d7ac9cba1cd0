//===- npy_test.cc - Tests for the .npy reader and writer -----------------===//
//
// Round trips for every dtype and both header versions, the exact bytes of a
// written header, files produced by numpy itself (and ours read back by
// numpy) when /usr/bin/python3 has numpy, and one test per malformed input.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/npy.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include <sys/stat.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

class NpyTest : public TempDirTest {
protected:
  /// A hand-built .npy file: preamble for \p major, header dict \p dict
  /// (padded as numpy does), then \p data.
  std::vector<uint8_t> npyBytes(const std::string &dict, const std::vector<uint8_t> &data,
                                int major = 1) {
    std::string h = dict;
    size_t pre = major == 1 ? 10 : 12;
    h.append((64 - (pre + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
    for (size_t i = 0; i < pre - 8; ++i)
      b.push_back(static_cast<uint8_t>(h.size() >> (8 * i)));
    b.insert(b.end(), h.begin(), h.end());
    b.insert(b.end(), data.begin(), data.end());
    return b;
  }
  std::string writeBytes(const std::vector<uint8_t> &bytes, const std::string &name = "a.npy") {
    std::string path = dir + "/" + name;
    writeFile(path, bytes);
    return path;
  }
  void expectError(const std::vector<uint8_t> &bytes, const std::string &suffix) {
    std::string path = writeBytes(bytes);
    EXPECT_FALSE(readNpy(path, arr, error));
    EXPECT_EQ(error, path + ": " + suffix);
  }
  void roundTrip(const NpyArray &a, int version) {
    std::string path = dir + "/rt.npy";
    ASSERT_TRUE(writeNpy(path, a, error, {version})) << error;
    auto bytes = readFile(path);
    ASSERT_GE(bytes.size(), 8u);
    EXPECT_EQ(bytes[6], version == 2 ? 2 : 1);
    EXPECT_EQ((bytes.size() - a.data.size()) % 64, 0u) << "header not 64-byte aligned";
    NpyArray back;
    ASSERT_TRUE(readNpy(path, back, error)) << error;
    EXPECT_EQ(back.dtype, a.dtype);
    EXPECT_EQ(back.shape, a.shape);
    EXPECT_EQ(back.data, a.data);
  }
  NpyArray arr;
  std::string error;
};

std::vector<uint8_t> le32(std::initializer_list<uint32_t> values) {
  std::vector<uint8_t> b;
  for (uint32_t v : values)
    for (int i = 0; i < 4; ++i)
      b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}

TEST_F(NpyTest, RoundTripsEveryDtypeWithBothVersions) {
  const std::vector<NpyArray> arrays = {
      makeNpyArray({2, 3}, std::vector<float>{0.5f, -1, 3.25f, 1e-30f, 7, -0.0f}),
      makeNpyArray({3}, std::vector<double>{0.1, -2.5e300, 4}),
      makeNpyArray({2, 2}, std::vector<int32_t>{1, -2, std::numeric_limits<int32_t>::max(),
                                                std::numeric_limits<int32_t>::min()}),
      makeNpyArray({1, 2, 1}, std::vector<int64_t>{-1, int64_t(1) << 60}),
      makeNpyArray({4}, std::vector<uint8_t>{0, 1, 128, 255}),
      makeNpyArray({2, 2}, std::vector<bool>{true, false, false, true}),
      makeNpyArray({}, std::vector<float>{42}),   // scalar
      makeNpyArray({0, 5}, std::vector<float>{}), // empty
  };
  for (int version : {0, 1, 2})
    for (const NpyArray &a : arrays) {
      SCOPED_TRACE(std::string(npyDescr(a.dtype)) + " v" + std::to_string(version));
      roundTrip(a, version);
    }
}

TEST_F(NpyTest, WritesNumpysExactHeader) {
  std::string path = dir + "/h.npy";
  ASSERT_TRUE(writeNpy(path, makeNpyArray({3}, std::vector<int32_t>{1, 2, 3}), error)) << error;
  // np.save(path, np.array([1, 2, 3], dtype='<i4')) writes exactly this: the
  // dict, 20 spare spaces (21 digits minus len('3')), padding to 128 bytes.
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  header += std::string(128 - 10 - 1 - header.size(), ' ') + "\n";
  std::vector<uint8_t> expected = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
  expected.insert(expected.end(), header.begin(), header.end());
  auto data = le32({1, 2, 3});
  expected.insert(expected.end(), data.begin(), data.end());
  EXPECT_EQ(readFile(path), expected);
}

TEST_F(NpyTest, ReadsValuesAndConverts) {
  std::string path = dir + "/v.npy";
  ASSERT_TRUE(writeNpy(path, makeNpyArray({2, 2}, std::vector<int64_t>{3, -4, 5, 6}), error));
  ASSERT_TRUE(readNpy(path, arr, error)) << error;
  std::vector<float> f;
  npyToFloat(arr, f);
  EXPECT_EQ(f, (std::vector<float>{3, -4, 5, 6}));
  std::vector<int64_t> i;
  ASSERT_TRUE(npyToInt64(arr, i, error));
  EXPECT_EQ(i, (std::vector<int64_t>{3, -4, 5, 6}));
  EXPECT_FALSE(npyToInt64(makeNpyArray({1}, std::vector<double>{1.5}), i, error));
  EXPECT_EQ(error, "expected an integer or bool array, got <f8");
}

TEST_F(NpyTest, AcceptsHeaderVariants) {
  // Key order, double quotes, Python 2 longs, version 3.0, no trailing comma.
  std::string dict = "{\"shape\": (2L, 1L), 'fortran_order': False, \"descr\": '<u4'}";
  expectError(npyBytes(dict, le32({1, 2})), "unsupported dtype '<u4'; supported: <f4 <f8 <i4 "
                                            "<i8 |u1 |b1");
  dict = "{'shape': (2L, 1L), \"fortran_order\": False, 'descr': '<i4'}";
  for (int major : {1, 2, 3}) {
    std::string path = writeBytes(npyBytes(dict, le32({7, 8}), major));
    ASSERT_TRUE(readNpy(path, arr, error)) << error;
    EXPECT_EQ(arr.shape, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(arr.data, le32({7, 8}));
  }
}

TEST_F(NpyTest, VersionTwoHeaderLengthIsFourBytes) {
  // A version 2.0 file whose header length needs more than 16 bits.
  std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }" +
                     std::string(70000, ' ');
  std::string path = writeBytes(npyBytes(dict, {9, 10}, 2));
  ASSERT_TRUE(readNpy(path, arr, error)) << error;
  EXPECT_EQ(arr.data, (std::vector<uint8_t>{9, 10}));
  // Version 1.0 cannot hold it.
  EXPECT_FALSE(writeNpy(dir + "/big.npy", makeNpyArray(std::vector<int64_t>(25000, 1), std::vector<uint8_t>{1}), error, {1}));
  EXPECT_THAT(error, HasSubstr("does not fit format 1.0; use version 2"));
  ASSERT_TRUE(writeNpy(dir + "/big.npy", makeNpyArray(std::vector<int64_t>(25000, 1), std::vector<uint8_t>{1}), error)) << error;
  EXPECT_EQ(readFile(dir + "/big.npy")[6], 2) << "auto version should pick 2.0";
  ASSERT_TRUE(readNpy(dir + "/big.npy", arr, error)) << error;
  EXPECT_EQ(arr.shape.size(), 25000u);
}

TEST_F(NpyTest, FifoIsRefusedWithoutOpening) {
  const std::string fifo = dir + "/x.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(readNpy(fifo, arr, error));
  EXPECT_EQ(error, fifo + ": cannot read: it is a FIFO, not a regular file (data files must be "
                          "regular files)");
}

TEST_F(NpyTest, HeaderTextInErrorsIsEscaped) {
  expectError(npyBytes(std::string("{'descr': '<f4'\0 }", 18), {}),
              "malformed header: expected ',' or '}' after the value of 'descr' at offset 15 in "
              "{'descr': '<f4'\\x00 }");
}

TEST_F(NpyTest, BadMagic) {
  expectError({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0},
              "not a .npy file (bad magic 50 4b 03 04 00 00, expected 93 4e 55 4d 50 59 = "
              "\"\\x93NUMPY\")");
  expectError({1, 2, 3}, "not a .npy file (bad magic; file is 3 bytes)");
  expectError({}, "not a .npy file (bad magic; file is 0 bytes)");
}

TEST_F(NpyTest, UnsupportedVersion) {
  auto b = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", le32({0}));
  b[6] = 4;
  expectError(b, "unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)");
}

TEST_F(NpyTest, Truncated) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  auto full = npyBytes(dict, std::vector<uint8_t>(48, 0));
  auto shortData = std::vector<uint8_t>(full.begin(), full.end() - 28);
  expectError(shortData, "truncated: header promises 48 data bytes (shape (3, 4), <f4), file "
                         "has 20");
  auto inHeader = std::vector<uint8_t>(full.begin(), full.begin() + 30);
  expectError(inHeader, "truncated: header length is 118 bytes, file has 20 after the preamble");
  expectError({0x93, 'N', 'U', 'M', 'P', 'Y', 1}, "truncated: file ends inside the preamble");
  expectError({0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 64, 0},
              "truncated: file ends inside the preamble");
  // A shape whose byte count overflows must not allocate.
  expectError(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': "
                       "(4611686018427387904, 4611686018427387904), }",
                       {}),
              "truncated: shape (4611686018427387904, 4611686018427387904) of <f8 is larger than "
              "the file (0 data bytes)");
}

TEST_F(NpyTest, TrailingBytes) {
  expectError(npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", {1, 2, 3}),
              "1 trailing bytes after the 2 data bytes the header promises");
}

TEST_F(NpyTest, FortranOrderIsRejected) {
  expectError(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                       std::vector<uint8_t>(16, 0)),
              "fortran_order arrays are not supported; save a C-order array "
              "(np.save(path, np.ascontiguousarray(a)))");
}

TEST_F(NpyTest, UnsupportedDtypes) {
  expectError(npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", le32({0})),
              "unsupported dtype '>f4' (big-endian; re-save with "
              "arr.astype(arr.dtype.newbyteorder('<'))); supported: <f4 <f8 <i4 <i8 |u1 |b1");
  expectError(npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                       le32({0})),
              "structured dtypes are not supported (descr is a list or dict)");
}

TEST_F(NpyTest, MalformedHeaders) {
  auto check = [&](const std::string &dict, const std::string &what) {
    std::string path = writeBytes(npyBytes(dict, {}));
    EXPECT_FALSE(readNpy(path, arr, error)) << dict;
    EXPECT_THAT(error, HasSubstr(path + ": malformed header: " + what)) << dict;
  };
  check("{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'");
  check("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), 'x': 1}",
        "unexpected key 'x'");
  check("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (0,)}",
        "expected True or False at offset 34");
  check("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
        "expected a non-negative integer in the shape");
  check("{'descr': '<f4' 'fortran_order': False, 'shape': (0,)}",
        "expected ',' or '}' after the value of 'descr'");
  check("['descr']", "expected '{' opening the header dict at offset 0");
}

TEST_F(NpyTest, WriterReplacesAtomicallyAndValidates) {
  std::string path = dir + "/w.npy";
  ASSERT_TRUE(writeNpy(path, makeNpyArray({1}, std::vector<float>{1}), error));
  ASSERT_TRUE(writeNpy(path, makeNpyArray({2}, std::vector<float>{2, 3}), error));
  ASSERT_TRUE(readNpy(path, arr, error)) << error;
  EXPECT_EQ(arr.shape, (std::vector<int64_t>{2}));
  // No temporary files left behind.
  int files = 0;
  for (auto &e : std::filesystem::directory_iterator(dir))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1);

  NpyArray bad = makeNpyArray({2}, std::vector<float>{2, 3});
  bad.data.pop_back();
  EXPECT_FALSE(writeNpy(path, bad, error));
  EXPECT_EQ(error, path + ": cannot write: shape (2,) of <f4 needs 8 bytes, array has 7");
  EXPECT_FALSE(writeNpy(dir + "/no/such/dir/x.npy", makeNpyArray({1}, std::vector<float>{1}),
                        error));
  EXPECT_THAT(error, HasSubstr("cannot create temporary file"));
  ASSERT_TRUE(readNpy(path, arr, error)) << "failed writes must leave the old file: " << error;
  // makeNpyArray does not check its shape; writing the array does.
  EXPECT_FALSE(writeNpy(path, makeNpyArray({2, 2}, std::vector<float>{1}), error));
  EXPECT_EQ(error, path + ": cannot write: shape (2, 2) of <f4 needs 16 bytes, array has 4");
  EXPECT_FALSE(writeNpy(path, makeNpyArray({-1, 2}, std::vector<float>{1}), error));
  EXPECT_EQ(error, path + ": cannot write: negative extent in shape (-1, 2)");
}

TEST_F(NpyTest, LoadsDatasetFromTwoFiles) {
  ASSERT_TRUE(writeNpy(dir + "/x.npy",
                       makeNpyArray({3, 1, 2}, std::vector<uint8_t>{0, 1, 2, 3, 4, 255}), error));
  ASSERT_TRUE(writeNpy(dir + "/y.npy", makeNpyArray({3}, std::vector<int64_t>{2, 0, 1}), error));
  Dataset ds;
  ASSERT_TRUE(loadNpyDataset(dir + "/x.npy", dir + "/y.npy", ds, error)) << error;
  EXPECT_EQ(ds.size, 3);
  EXPECT_EQ(ds.sample_shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ds.x, (std::vector<float>{0, 1, 2, 3, 4, 255}));
  EXPECT_EQ(ds.y, (std::vector<int32_t>{2, 0, 1}));

  ASSERT_TRUE(writeNpy(dir + "/y.npy", makeNpyArray({2}, std::vector<int64_t>{2, 0}), error));
  EXPECT_FALSE(loadNpyDataset(dir + "/x.npy", dir + "/y.npy", ds, error));
  EXPECT_EQ(error, dir + "/x.npy: sample/label count mismatch: 3 samples but " + dir +
                       "/y.npy has 2 labels");
  ASSERT_TRUE(writeNpy(dir + "/y.npy", makeNpyArray({3}, std::vector<float>{2, 0, 1}), error));
  EXPECT_FALSE(loadNpyDataset(dir + "/x.npy", dir + "/y.npy", ds, error));
  EXPECT_THAT(error, HasSubstr("y.npy: expected an integer or bool array, got <f4"));
  ASSERT_TRUE(writeNpy(dir + "/y.npy", makeNpyArray({3}, std::vector<int32_t>{2, -1, 1}), error));
  EXPECT_FALSE(loadNpyDataset(dir + "/x.npy", dir + "/y.npy", ds, error));
  EXPECT_THAT(error, HasSubstr("y.npy: label 1 is -1, not a class index"));
}

//===-- Interoperability with numpy itself --------------------------------===//

/// Runs a Python snippet with /usr/bin/python3; returns its exit status, or
/// -1 if python3 or numpy is unavailable.
int runPython(const std::string &code) {
  if (!std::filesystem::exists("/usr/bin/python3"))
    return -1;
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    return -1;
  std::string cmd = "/usr/bin/python3 -c \"" + code + "\"";
  int status = std::system(cmd.c_str());
  return status == 0 ? 0 : 1 + (status & 0xff);
}

TEST_F(NpyTest, ReadsFilesWrittenByNumpy) {
  const std::string script =
      "import numpy as np, sys\n"
      "d = sys.argv[1] if len(sys.argv) > 1 else '" + dir + "'\n"
      "np.save(d + '/f4.npy', np.arange(6, dtype='<f4').reshape(2, 3) / 4)\n"
      "np.save(d + '/f8.npy', np.array([[0.1], [-3e200]]))\n"
      "np.save(d + '/i4.npy', np.array([-7, 2**31 - 1], dtype='<i4'))\n"
      "np.save(d + '/i8.npy', np.array([[-1, 2**62]], dtype='<i8'))\n"
      "np.save(d + '/u1.npy', np.arange(250, 256, dtype=np.uint8).reshape(3, 1, 2))\n"
      "np.save(d + '/b1.npy', np.array([True, False, True]))\n"
      "np.save(d + '/scalar.npy', np.float32(2.5))\n"
      "with open(d + '/v2.npy', 'wb') as f:\n"
      "    np.lib.format.write_array(f, np.array([1.5, 2.5], dtype='<f4'), version=(2, 0))\n"
      "np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype='<f4')))\n"
      "np.save(d + '/big.npy', np.ones(2, dtype='>f4'))\n";
  std::string scriptPath = dir + "/gen.py";
  writeFile(scriptPath, std::vector<uint8_t>(script.begin(), script.end()));
  int rc = runPython("exec(open('" + scriptPath + "').read())");
  if (rc < 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  ASSERT_EQ(rc, 0) << "numpy script failed";

  auto read = [&](const std::string &name) {
    NpyArray a;
    EXPECT_TRUE(readNpy(dir + "/" + name, a, error)) << error;
    return a;
  };
  std::vector<float> f;
  NpyArray a = read("f4.npy");
  EXPECT_EQ(a.dtype, NpyDType::Float32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  npyToFloat(a, f);
  EXPECT_EQ(f, (std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1, 1.25f}));

  a = read("f8.npy");
  EXPECT_EQ(a.dtype, NpyDType::Float64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 1}));
  double d[2];
  std::memcpy(d, a.data.data(), 16);
  EXPECT_EQ(d[0], 0.1);
  EXPECT_EQ(d[1], -3e200);

  std::vector<int64_t> i;
  a = read("i4.npy");
  EXPECT_EQ(a.dtype, NpyDType::Int32);
  ASSERT_TRUE(npyToInt64(a, i, error));
  EXPECT_EQ(i, (std::vector<int64_t>{-7, 2147483647}));
  a = read("i8.npy");
  EXPECT_EQ(a.dtype, NpyDType::Int64);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  ASSERT_TRUE(npyToInt64(a, i, error));
  EXPECT_EQ(i, (std::vector<int64_t>{-1, int64_t(1) << 62}));
  a = read("u1.npy");
  EXPECT_EQ(a.dtype, NpyDType::UInt8);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(a.data, (std::vector<uint8_t>{250, 251, 252, 253, 254, 255}));
  a = read("b1.npy");
  EXPECT_EQ(a.dtype, NpyDType::Bool);
  EXPECT_EQ(a.data, (std::vector<uint8_t>{1, 0, 1}));
  a = read("scalar.npy");
  EXPECT_TRUE(a.shape.empty());
  npyToFloat(a, f);
  EXPECT_EQ(f, (std::vector<float>{2.5f}));
  a = read("v2.npy");
  EXPECT_EQ(readFile(dir + "/v2.npy")[6], 2);
  npyToFloat(a, f);
  EXPECT_EQ(f, (std::vector<float>{1.5f, 2.5f}));

  EXPECT_FALSE(readNpy(dir + "/fortran.npy", a, error));
  EXPECT_THAT(error, HasSubstr("fortran_order arrays are not supported"));
  EXPECT_FALSE(readNpy(dir + "/big.npy", a, error));
  EXPECT_THAT(error, HasSubstr("unsupported dtype '>f4' (big-endian"));
}

TEST_F(NpyTest, NumpyReadsFilesWeWrite) {
  ASSERT_TRUE(writeNpy(dir + "/f4.npy", makeNpyArray({2, 2}, std::vector<float>{1, 2.5f, -3, 4}),
                       error));
  ASSERT_TRUE(writeNpy(dir + "/i8.npy", makeNpyArray({3}, std::vector<int64_t>{-1, 0, 1}), error,
                       {2}));
  ASSERT_TRUE(writeNpy(dir + "/b1.npy", makeNpyArray({2}, std::vector<bool>{false, true}), error));
  ASSERT_TRUE(writeNpy(dir + "/u1.npy", makeNpyArray({}, std::vector<uint8_t>{7}), error));
  const std::string script =
      "import numpy as np\n"
      "d = '" + dir + "'\n"
      "a = np.load(d + '/f4.npy')\n"
      "assert a.dtype == np.float32 and a.shape == (2, 2), a\n"
      "assert (a == np.array([[1, 2.5], [-3, 4]])).all(), a\n"
      "b = np.load(d + '/i8.npy')\n"
      "assert b.dtype == np.int64 and list(b) == [-1, 0, 1], b\n"
      "c = np.load(d + '/b1.npy')\n"
      "assert c.dtype == np.bool_ and list(c) == [False, True], c\n"
      "e = np.load(d + '/u1.npy')\n"
      "assert e.dtype == np.uint8 and e.shape == () and e == 7, e\n";
  std::string scriptPath = dir + "/check.py";
  writeFile(scriptPath, std::vector<uint8_t>(script.begin(), script.end()));
  int rc = runPython("exec(open('" + scriptPath + "').read())");
  if (rc < 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  EXPECT_EQ(rc, 0) << "numpy rejected or misread a file written by writeNpy";
}

TEST_F(NpyTest, BytesEqualNumpySave) {
  const std::string script =
      "import numpy as np\n"
      "d = '" + dir + "'\n"
      "np.save(d + '/np_a.npy', np.arange(6, dtype='<f4').reshape(2, 3))\n"
      "np.save(d + '/np_b.npy', np.zeros((0, 28, 28), dtype=np.uint8))\n"
      "np.save(d + '/np_c.npy', np.float64(0.5))\n"
      "np.save(d + '/np_d.npy', np.array([True] * 12345))\n";
  std::string scriptPath = dir + "/gen.py";
  writeFile(scriptPath, std::vector<uint8_t>(script.begin(), script.end()));
  int rc = runPython("exec(open('" + scriptPath + "').read())");
  if (rc < 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
  ASSERT_EQ(rc, 0) << "numpy script failed";
  ASSERT_TRUE(writeNpy(dir + "/a.npy", makeNpyArray({2, 3}, std::vector<float>{0, 1, 2, 3, 4, 5}),
                       error));
  ASSERT_TRUE(writeNpy(dir + "/b.npy", makeNpyArray({0, 28, 28}, std::vector<uint8_t>{}), error));
  ASSERT_TRUE(writeNpy(dir + "/c.npy", makeNpyArray({}, std::vector<double>{0.5}), error));
  ASSERT_TRUE(writeNpy(dir + "/d.npy", makeNpyArray({12345}, std::vector<bool>(12345, true)),
                       error));
  for (std::string n : {"a", "b", "c", "d"})
    EXPECT_EQ(readFile(dir + "/" + n + ".npy"), readFile(dir + "/np_" + n + ".npy")) << n;
}

} // namespace
