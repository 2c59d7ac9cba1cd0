//===- file_checks_test.cc - Tests for the file and message checks --------===//
//
// printableExcerpt's escaping and shortening, and which paths checkInputFile
// and checkOutputPath accept, on files, links and FIFOs made in a temporary
// directory.
//
//===----------------------------------------------------------------------===//

#include "file_checks.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <filesystem>

#include <sys/stat.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

TEST(PrintableExcerpt, EscapesAndShortens) {
  EXPECT_EQ(printableExcerpt("plain text"), "plain text");
  EXPECT_EQ(printableExcerpt(std::string("a\0b\n\\\xff", 6)), "a\\x00b\\x0a\\\\\\xff");
  EXPECT_EQ(printableExcerpt(std::string(250, 'z')), std::string(200, 'z') + "... (250 bytes)");
  EXPECT_EQ(printableExcerpt("abcdef", 3), "abc... (6 bytes)");
  EXPECT_EQ(printableExcerpt(std::string(1 << 20, '\0')).find('\0'), std::string::npos);
}

class FileChecksTest : public TempDirTest {
protected:
  std::string error;
  uint64_t size = 0;
};

TEST_F(FileChecksTest, InputMustBeARegularFileWithinTheLimit) {
  const std::string file = dir + "/data", link = dir + "/link";
  writeFile(file, {1, 2, 3});
  std::filesystem::create_symlink(file, link);
  EXPECT_TRUE(checkInputFile(file, 3, size, error)) << error;
  EXPECT_EQ(size, 3u);
  EXPECT_TRUE(checkInputFile(link, 3, size, error)) << "a link to a file is read through";
  EXPECT_FALSE(checkInputFile(file, 2, size, error));
  EXPECT_EQ(error, file + ": file of 3 bytes exceeds the limit of 2 bytes");
  EXPECT_FALSE(checkInputFile(dir, 100, size, error));
  EXPECT_EQ(error, dir + ": cannot open: is a directory");
  EXPECT_FALSE(checkInputFile(dir + "/none", 100, size, error));
  EXPECT_EQ(error, dir + "/none: cannot open: No such file or directory");
}

TEST_F(FileChecksTest, OutputMustBeARegularFileOrANewPath) {
  const std::string file = dir + "/out", link = dir + "/link", fifo = dir + "/fifo";
  writeFile(file, {1});
  std::filesystem::create_symlink(file, link);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(checkOutputPath(file, "--save", error)) << error;
  EXPECT_TRUE(checkOutputPath(dir + "/new", "--save", error)) << error;
  EXPECT_FALSE(checkOutputPath(link, "--save", error));
  EXPECT_EQ(error, "--save " + link +
                       ": refusing to replace a symbolic link; give a regular file or a new path");
  EXPECT_FALSE(checkOutputPath(fifo, "--save", error));
  EXPECT_EQ(error, "--save " + fifo +
                       ": refusing to replace a FIFO; give a regular file or a new path");
  EXPECT_FALSE(checkOutputPath(file + "/below", "--save", error));
  EXPECT_EQ(error, "--save " + file + "/below: cannot write: " + file + " is not a directory");
  // A dangling link is a link too: writing would create its target.
  std::filesystem::create_symlink(dir + "/nowhere", dir + "/dangling");
  EXPECT_FALSE(checkOutputPath(dir + "/dangling", "--save", error));
}

} // namespace
