//===- csv.h - CSV tables as datasets ---------------------------*- C++ -*-===//
//
// Reads a CSV file with a header row into a Dataset: the selected numeric
// columns become the float features of each sample (sample_shape = {number
// of features}), and one column, chosen by name, becomes the label. The label
// may be a class index (int32 y, the default), a class name such as "setosa"
// (mapped to indices in sorted name order, like sklearn's LabelEncoder, so the
// mapping does not depend on row order), or a float regression target
// (CsvData::targets; y is then all zeros). Feeding targets to a DataLoader:
// BatchPipeline::targets.
//
// Format: fields separated by `delimiter`; a field may be double-quoted, with
// "" standing for a quote inside it (quoted newlines are not supported);
// spaces and tabs around a field are ignored; CRLF line ends and a UTF-8 byte
// order mark are accepted; blank lines are skipped. Columns that are neither
// features nor the label are not parsed, so they may hold anything.
//
// Errors name the file, the line and the column, e.g.
//   iris.csv:12: column 'petal_width': 'abc' is not a number
// Values must be finite: NaN, infinities and empty fields are errors, since a
// single NaN silently poisons training.
//
// Thread safety: the functions keep no global state and are reentrant.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CSV_H
#define KILN_RUNTIME_CSV_H

#include "kiln/runtime/dataset.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::runtime {

/// What the label column holds.
enum class CsvLabelKind {
  ClassIndex, ///< Non-negative integers ("2", or "2.0") -> Dataset::y.
  ClassName,  ///< Arbitrary strings -> Dataset::y by sorted name order.
  Regression, ///< Finite floats -> CsvData::targets; Dataset::y is all 0.
};

struct CsvOptions {
  /// Header name of the label column. Empty: the file has no label column;
  /// every sample gets label 0.
  std::string label_column;
  /// Header names of the feature columns, in the order wanted in x. Empty:
  /// every column except the label, in file order.
  std::vector<std::string> feature_columns;
  CsvLabelKind label_kind = CsvLabelKind::ClassIndex;
  char delimiter = ',';
  /// readCsv refuses larger files: the whole text is held in memory while it
  /// is parsed, next to the floats it becomes.
  uint64_t max_file_bytes = uint64_t(2) << 30;
};

/// A parsed CSV dataset.
struct CsvData {
  Dataset dataset;                        ///< x: features, y: class labels.
  std::vector<float> targets;             ///< One per sample (Regression only).
  std::vector<std::string> feature_names; ///< Column names in x order.
  std::vector<std::string> class_names;   ///< ClassName only: y -> name.
  std::vector<int64_t> sample_lines;      ///< 1-based file line of each sample.
};

/// Reads the CSV file at \p path, which must be a regular file (a FIFO or a
/// device is refused before it is opened) of at most options.max_file_bytes.
/// Returns true on success; on failure (running out of memory included)
/// returns false and sets \p error to a message starting with \p path (and
/// the line number where one applies), leaving \p out unspecified but valid.
/// Input text quoted in a message is escaped and shortened
/// ("'a\x00b'", "... (N bytes)").
bool readCsv(const std::string &path, const CsvOptions &options, CsvData &out,
             std::string &error);

/// Parses CSV \p text as readCsv does; \p name stands for the file in errors.
bool parseCsv(std::string_view text, const std::string &name, const CsvOptions &options,
              CsvData &out, std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_CSV_H
