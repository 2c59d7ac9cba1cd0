//===- test_util.h - Helpers shared by the runtime unit tests ---*- C++ -*-===//
//
// Writes IDX files (plain or gzip, via zlib) into per-test temporary
// directories, so the reader, dataset and trainer tests run on files built
// byte by byte rather than on the real dataset. Test-only; header-only so the
// *_test.cc glob stays the single list of test sources.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_TEST_UTIL_H
#define KILN_RUNTIME_SRC_TEST_UTIL_H

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace kiln::runtime::testutil {

/// A fresh, empty directory unique to the running test (ctest runs tests in
/// parallel processes, so a shared directory would race).
inline std::string freshTempDir() {
  const auto *info = testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::path(testing::TempDir()) /
                              ("kiln_rt_" + std::string(info->test_suite_name()) + "_" +
                               info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

/// Fixture giving each test a fresh `dir`, removed afterwards unless the test
/// failed (so the files are there to inspect).
class TempDirTest : public testing::Test {
protected:
  void SetUp() override { dir = freshTempDir(); }
  void TearDown() override {
    if (!HasFailure()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
  std::string dir;
};

/// IDX header bytes: 0x00 0x00 type rank, then big-endian uint32 dims.
inline std::vector<uint8_t> idxHeader(uint8_t type, const std::vector<uint32_t> &dims) {
  std::vector<uint8_t> h = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      h.push_back(static_cast<uint8_t>(d >> shift));
  return h;
}

inline std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline void writeFile(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  ASSERT_TRUE(f.good()) << "cannot write " << path;
}

inline std::vector<uint8_t> readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline void writeGzFile(const std::string &path, const std::vector<uint8_t> &bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  ASSERT_NE(f, nullptr) << "cannot open " << path;
  int written = bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
  ASSERT_EQ(written, static_cast<int>(bytes.size()));
}

/// Writes a uint8 IDX file, gzip-compressed if \p gz.
inline void writeIdxU8(const std::string &path, const std::vector<uint32_t> &dims,
                       const std::vector<uint8_t> &data, bool gz) {
  auto bytes = concat(idxHeader(0x08, dims), data);
  if (gz)
    writeGzFile(path, bytes);
  else
    writeFile(path, bytes);
}

/// Deterministic pseudo-random bytes (a small LCG; quality is irrelevant,
/// it only has to defeat gzip compression).
inline std::vector<uint8_t> noiseBytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (auto &b : v) {
    seed = seed * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(seed >> 24);
  }
  return v;
}

/// Writes a Fashion-MNIST-named split (gz) with \p images of shape
/// [n, h, w] and \p labels of shape [numLabels].
inline void writeSplit(const std::string &dir, bool train, uint32_t n, uint32_t h, uint32_t w,
                       const std::vector<uint8_t> &images, const std::vector<uint8_t> &labels) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  writeIdxU8(prefix + "-images-idx3-ubyte.gz", {n, h, w}, images, true);
  writeIdxU8(prefix + "-labels-idx1-ubyte.gz", {static_cast<uint32_t>(labels.size())}, labels,
             true);
}

/// The names of the files in \p dir, sorted (e.g. to check that no
/// temporary file is left behind).
inline std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace kiln::runtime::testutil

#endif // KILN_RUNTIME_SRC_TEST_UTIL_H
