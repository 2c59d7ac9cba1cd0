//===- csv_test.cc - Tests for the CSV reader -----------------------------===//
//
// Small files written to a temporary directory: values, labels of each kind,
// column selection, format details (quotes, CRLF, BOM, blank lines), and one
// test per error with the exact file:line: column prefix users will see.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/csv.h"
#include "test_util.h"

#include <gmock/gmock.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;
using testing::HasSubstr;

namespace {

class CsvTest : public TempDirTest {
protected:
  /// Writes \p text to <dir>/<name> and returns the path.
  std::string write(const std::string &text, const std::string &name = "iris.csv") {
    std::string path = dir + "/" + name;
    std::ofstream f(path, std::ios::binary);
    f << text;
    return path;
  }
  /// Expects readCsv to fail on \p text with exactly "<path><suffix>".
  void expectError(const std::string &text, const CsvOptions &opts, const std::string &suffix) {
    std::string path = write(text);
    EXPECT_FALSE(readCsv(path, opts, data, error)) << "accepted:\n" << text;
    EXPECT_EQ(error, path + suffix);
  }
  CsvOptions labelled(std::string label, CsvLabelKind kind = CsvLabelKind::ClassIndex) {
    CsvOptions o;
    o.label_column = std::move(label);
    o.label_kind = kind;
    return o;
  }
  CsvData data;
  std::string error;
};

const char *kIris = "sepal_length,sepal_width,petal_length,petal_width,species\n"
                    "5.1,3.5,1.4,0.2,0\n"
                    "7.0,3.2,4.7,1.4,1\n"
                    "6.3,3.3,6.0,2.5,2\n";

TEST_F(CsvTest, ReadsFeaturesAndClassIndexLabels) {
  ASSERT_TRUE(readCsv(write(kIris), labelled("species"), data, error)) << error;
  const Dataset &ds = data.dataset;
  EXPECT_EQ(ds.size, 3);
  EXPECT_EQ(ds.sample_shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(ds.x, (std::vector<float>{5.1f, 3.5f, 1.4f, 0.2f, 7.0f, 3.2f, 4.7f, 1.4f, 6.3f, 3.3f,
                                      6.0f, 2.5f}));
  EXPECT_EQ(ds.y, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(data.feature_names,
            (std::vector<std::string>{"sepal_length", "sepal_width", "petal_length", "petal_width"}));
  EXPECT_TRUE(data.targets.empty());
  EXPECT_TRUE(data.class_names.empty());
}

TEST_F(CsvTest, LabelColumnMayBeAnywhereAndFeaturesAreSelectable) {
  CsvOptions o = labelled("y");
  o.feature_columns = {"c", "a"}; // order of the option, not of the file
  ASSERT_TRUE(readCsv(write("a,y,b,c,note\n1,3,2,4,hello world\n-5,0,6,+7e1,x\n"), o, data, error))
      << error;
  EXPECT_EQ(data.dataset.sample_shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(data.dataset.x, (std::vector<float>{4, 1, 70, -5}));
  EXPECT_EQ(data.dataset.y, (std::vector<int32_t>{3, 0}));
  EXPECT_EQ(data.feature_names, (std::vector<std::string>{"c", "a"}));
}

TEST_F(CsvTest, ClassNamesMapInSortedOrder) {
  const char *text = "f,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n";
  ASSERT_TRUE(readCsv(write(text), labelled("species", CsvLabelKind::ClassName), data, error))
      << error;
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(data.dataset.y, (std::vector<int32_t>{2, 0, 1, 0}));
}

TEST_F(CsvTest, RegressionTargetsAreFloats) {
  ASSERT_TRUE(readCsv(write("x1,x2,price\n1,2,3.25\n4,5,-0.5\n"),
                      labelled("price", CsvLabelKind::Regression), data, error))
      << error;
  EXPECT_EQ(data.targets, (std::vector<float>{3.25f, -0.5f}));
  EXPECT_EQ(data.dataset.y, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(data.dataset.x, (std::vector<float>{1, 2, 4, 5}));
}

TEST_F(CsvTest, NoLabelColumnGivesLabelZero) {
  ASSERT_TRUE(readCsv(write("a,b\n1,2\n3,4\n"), CsvOptions{}, data, error)) << error;
  EXPECT_EQ(data.dataset.sample_shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(data.dataset.y, (std::vector<int32_t>{0, 0}));
}

TEST_F(CsvTest, FormatDetails) {
  // BOM, CRLF, quoted header and values with an escaped quote, spaces around
  // fields, blank lines, an integral class index written as "2.0", a
  // semicolon delimiter, and no final newline.
  const std::string text = "\xEF\xBB\xBF\"a\" ; \"odd \"\"name\"\"\";label\r\n"
                           "\r\n"
                           " 1.5 ; \"2\" ; 2.0\r\n"
                           "   \r\n"
                           "3;4;1";
  CsvOptions o = labelled("label");
  o.delimiter = ';';
  ASSERT_TRUE(readCsv(write(text), o, data, error)) << error;
  EXPECT_EQ(data.feature_names, (std::vector<std::string>{"a", "odd \"name\""}));
  EXPECT_EQ(data.dataset.x, (std::vector<float>{1.5f, 2, 3, 4}));
  EXPECT_EQ(data.dataset.y, (std::vector<int32_t>{2, 1}));
}

TEST_F(CsvTest, ParseCsvUsesTheGivenName) {
  EXPECT_FALSE(parseCsv("a,b\n1,x\n", "mem.csv", labelled("a"), data, error));
  EXPECT_EQ(error, "mem.csv:2: column 'b': 'x' is not a number");
}

TEST_F(CsvTest, NotANumberNamesLineAndColumn) {
  std::string text = kIris;
  for (int i = 0; i < 7; ++i)
    text += "5.0,3.0,1.0,0.5,1\n"; // lines 5..11
  text += "5.0,3.0,1.0,abc,1\n";   // line 12
  expectError(text, labelled("species"), ":12: column 'petal_width': 'abc' is not a number");
}

TEST_F(CsvTest, LineNumbersCountBlankLines) {
  expectError("a,y\n\n1,0\n\n1x,0\n", labelled("y"), ":5: column 'a': '1x' is not a number");
}

TEST_F(CsvTest, WrongColumnCount) {
  expectError("a,b,y\n1,2,0\n1,2\n", labelled("y"), ":3: expected 3 columns, found 2");
  expectError("a,b,y\n1,2,0,9\n", labelled("y"), ":2: expected 3 columns, found 4");
}

TEST_F(CsvTest, MissingLabelColumn) {
  expectError("a,b,kind\n1,2,0\n", labelled("species"),
              ":1: no label column 'species' (columns: a, b, kind)");
}

TEST_F(CsvTest, MissingFeatureColumnAndLabelAsFeature) {
  CsvOptions o = labelled("y");
  o.feature_columns = {"a", "z"};
  expectError("a,y\n1,0\n", o, ":1: no feature column 'z' (columns: a, y)");
  o.feature_columns = {"a", "y"};
  expectError("a,y\n1,0\n", o, ":1: label column 'y' cannot also be a feature");
}

TEST_F(CsvTest, DuplicateHeader) {
  expectError("a,b,a\n1,2,3\n", CsvOptions{}, ":1: duplicate column name 'a'");
}

TEST_F(CsvTest, EmptyFileAndHeaderOnly) {
  expectError("", CsvOptions{}, ": empty file (expected a header row)");
  expectError("\n  \n", CsvOptions{}, ": empty file (expected a header row)");
  expectError("a,b\n\n", CsvOptions{}, ": no data rows after the header (line 1)");
}

TEST_F(CsvTest, BadLabels) {
  expectError("f,y\n1,setosa\n", labelled("y"),
              ":2: column 'y': 'setosa' is not a class index (a non-negative integer); use "
              "CsvLabelKind::ClassName for named classes");
  expectError("f,y\n1,1\n1,-1\n", labelled("y"),
              ":3: column 'y': '-1' is not a class index (a non-negative integer); use "
              "CsvLabelKind::ClassName for named classes");
  expectError("f,y\n1,1.5\n", labelled("y"),
              ":2: column 'y': '1.5' is not a class index (a non-negative integer); use "
              "CsvLabelKind::ClassName for named classes");
  expectError("f,y\n1,\n", labelled("y", CsvLabelKind::ClassName), ":2: column 'y': missing value");
  expectError("f,y\n1,x\n", labelled("y", CsvLabelKind::Regression),
              ":2: column 'y': 'x' is not a number");
}

TEST_F(CsvTest, MissingAndNonFiniteValues) {
  expectError("a,y\n,0\n", labelled("y"), ":2: column 'a': missing value");
  expectError("a,y\nnan,0\n", labelled("y"), ":2: column 'a': 'nan' is not a finite number");
  expectError("a,y\n-inf,0\n", labelled("y"), ":2: column 'a': '-inf' is not a finite number");
  expectError("a,y\n1e39,0\n", labelled("y"), ":2: column 'a': '1e39' is out of range for float32");
}

TEST_F(CsvTest, QuotingErrors) {
  expectError("a,y\n\"1,0\n", labelled("y"),
              ":2: unterminated quoted field (quoted line breaks are not supported)");
  expectError("a,y\n\"1\"x,0\n", labelled("y"), ":2: unexpected 'x' after a quoted field");
}

TEST_F(CsvTest, CannotOpen) {
  EXPECT_FALSE(readCsv(dir + "/absent.csv", CsvOptions{}, data, error));
  EXPECT_EQ(error, dir + "/absent.csv: cannot open: No such file or directory");
  EXPECT_FALSE(readCsv(dir, CsvOptions{}, data, error));
  EXPECT_EQ(error, dir + ": cannot open: is a directory");
}

TEST_F(CsvTest, SamplesRecordTheirLines) {
  ASSERT_TRUE(readCsv(write("a,y\n\n1,0\n2,1\n\n3,0\n"), labelled("y"), data, error)) << error;
  EXPECT_EQ(data.sample_lines, (std::vector<int64_t>{3, 4, 6}));
}

TEST_F(CsvTest, QuotedInputIsEscapedAndShortened) {
  // A NUL byte in a field must not end up raw in the message.
  expectError(std::string("a,y\n1\0x,0\n", 10), labelled("y"),
              ":2: column 'a': '1\\x00x' is not a number");
  expectError(std::string("a,y\n\"1\"\0,0\n", 11), labelled("y"),
              ":2: unexpected '\\x00' after a quoted field");
  const std::string longField = "x" + std::string(5000, '7');
  expectError("a,y\n" + longField + ",0\n", labelled("y"),
              ":2: column 'a': 'x" + std::string(199, '7') + "... (5001 bytes)' is not a number");
}

TEST_F(CsvTest, HugeHeaderGivesAShortMessage) {
  std::string header;
  for (int i = 0; i < 1000000; ++i)
    header += (i ? ",c" : "c") + std::to_string(i);
  std::string path = write(header + "\n");
  EXPECT_FALSE(readCsv(path, labelled("label"), data, error));
  EXPECT_LT(error.size(), 1000u);
  EXPECT_EQ(error, path + ":1: no label column 'label' (columns: c0, c1, c2, c3, c4, c5, c6, c7, "
                          "c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, ... "
                          "(1000000 columns))");
}

TEST_F(CsvTest, OnlyRegularFilesWithinTheSizeLimitAreRead) {
  const std::string fifo = dir + "/fifo.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(readCsv(fifo, labelled("species"), data, error));
  EXPECT_EQ(error, fifo + ": cannot read: it is a FIFO, not a regular file (data files must be "
                          "regular files)");
  // Only stat()ed, never opened: reading /dev/zero would never end.
  EXPECT_FALSE(readCsv("/dev/zero", labelled("species"), data, error));
  EXPECT_EQ(error, "/dev/zero: cannot read: it is a character device, not a regular file (data "
                   "files must be regular files)");

  CsvOptions small = labelled("species");
  small.max_file_bytes = 20;
  std::string path = write(kIris);
  EXPECT_FALSE(readCsv(path, small, data, error));
  EXPECT_EQ(error, path + ": file of " + std::to_string(std::string(kIris).size()) +
                       " bytes exceeds the limit of 20 bytes (CsvOptions::max_file_bytes; the "
                       "trainer's --max-csv-bytes)");
}

/// In a death-test child: caps the address space at \p headroom bytes above
/// what the process uses, reads \p path, prints the error and exits with 3 if
/// the read failed.
[[noreturn]] void readUnderMemoryCap(const std::string &path, uint64_t headroom) {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  statm >> pages;
  const rlim_t cap = pages * ::sysconf(_SC_PAGESIZE) + headroom;
  struct rlimit limit = {cap, cap};
  ::setrlimit(RLIMIT_AS, &limit);
  CsvData big;
  std::string message;
  const bool ok = readCsv(path, CsvOptions{}, big, message);
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(ok ? 0 : 3);
}

TEST_F(CsvTest, OutOfMemoryNamesTheFile) {
  // A sparse 256 MiB file costs no disk; with the address space capped
  // below that, holding its text fails, which must become an error naming
  // the file rather than an uncaught std::bad_alloc.
  const std::string path = dir + "/big.csv";
  const uint64_t size = uint64_t(256) << 20;
  ASSERT_EQ(::truncate(write("", "big.csv").c_str(), static_cast<off_t>(size)), 0);
  EXPECT_EXIT(readUnderMemoryCap(path, 64 << 20), testing::ExitedWithCode(3),
      "big.csv: out of memory reading a CSV file of 268435456 bytes");
}

} // namespace
