//===- csv.cpp - CSV tables as datasets -----------------------------------===//
//
// A line-at-a-time parser: split a physical line into fields (honouring
// quotes), check the count against the header, convert only the columns that
// are used. Numbers go through std::from_chars, which is locale-independent
// and exact (a decimal string maps to the nearest float, as numpy does).
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/csv.h"
#include "file_checks.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <new>
#include <optional>

namespace kiln::runtime {

namespace {

/// Splits \p line into \p fields. Returns false and sets \p what on a quoting
/// error.
bool splitFields(std::string_view line, char delim, std::vector<std::string> &fields,
                 std::string &what) {
  fields.clear();
  auto isSpace = [&](char c) { return (c == ' ' || c == '\t') && c != delim; };
  size_t i = 0;
  for (;;) {
    while (i < line.size() && isSpace(line[i]))
      ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c != '"') {
          field += c;
        } else if (i < line.size() && line[i] == '"') {
          field += '"';
          ++i;
        } else {
          closed = true;
          break;
        }
      }
      if (!closed) {
        what = "unterminated quoted field (quoted line breaks are not supported)";
        return false;
      }
      while (i < line.size() && isSpace(line[i]))
        ++i;
      if (i < line.size() && line[i] != delim) {
        what = "unexpected '" + printableExcerpt(line.substr(i, 1)) + "' after a quoted field";
        return false;
      }
    } else {
      size_t end = line.find(delim, i);
      if (end == std::string_view::npos)
        end = line.size();
      size_t last = end;
      while (last > i && isSpace(line[last - 1]))
        --last;
      field.assign(line.substr(i, last - i));
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size())
      return true;
    ++i; // the delimiter
  }
}

/// Parses a whole field as a finite float. On failure returns nullopt and
/// sets \p what to the reason, quoting the field.
std::optional<double> parseNumber(const std::string &field, bool asFloat, std::string &what) {
  if (field.empty()) {
    what = "missing value";
    return std::nullopt;
  }
  const char *begin = field.data(), *end = field.data() + field.size();
  if (*begin == '+')
    ++begin; // from_chars rejects a leading '+', CSV writers emit it.
  double d = 0;
  float f = 0;
  auto [ptr, ec] = asFloat ? std::from_chars(begin, end, f) : std::from_chars(begin, end, d);
  if (ec == std::errc::result_out_of_range) {
    what = "'" + printableExcerpt(field) + "' is out of range for " + (asFloat ? "float32" : "float64");
    return std::nullopt;
  }
  if (ec != std::errc() || ptr != end) {
    what = "'" + printableExcerpt(field) + "' is not a number";
    return std::nullopt;
  }
  double v = asFloat ? f : d;
  if (!std::isfinite(v)) {
    what = "'" + printableExcerpt(field) + "' is not a finite number";
    return std::nullopt;
  }
  return v;
}

/// The column names for an error message: the first few, each shortened,
/// so a header of a million columns does not make a megabyte-long message.
std::string joinNames(const std::vector<std::string> &names) {
  constexpr size_t kShown = 20;
  std::string s;
  for (size_t i = 0; i < names.size() && i < kShown; ++i)
    s += (i ? ", " : "") + printableExcerpt(names[i], 64);
  if (names.size() > kShown)
    s += ", ... (" + std::to_string(names.size()) + " columns)";
  return s;
}

/// A column name quoted for an error message.
std::string quoted(const std::string &name) { return "'" + printableExcerpt(name, 64) + "'"; }

/// Iterates over the physical lines of a text, numbering them from 1 and
/// dropping a trailing '\r'.
struct LineReader {
  std::string_view text;
  size_t pos = 0;
  int64_t number = 0;

  bool next(std::string_view &line) {
    if (pos >= text.size())
      return false;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    pos = end + 1;
    ++number;
    return true;
  }
};

bool isBlank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

} // namespace

bool parseCsv(std::string_view text, const std::string &name, const CsvOptions &options,
              CsvData &out, std::string &error) {
  out = CsvData{};
  auto fail = [&](int64_t line, const std::string &what) {
    error = name;
    if (line > 0) {
      error += ':';
      error += std::to_string(line);
    }
    error += ": ";
    error += what;
    return false;
  };
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0)
    text.remove_prefix(3);

  LineReader lines{text};
  std::string_view line;
  bool haveHeader = false;
  while (lines.next(line))
    if (!isBlank(line)) {
      haveHeader = true;
      break;
    }
  if (!haveHeader)
    return fail(0, "empty file (expected a header row)");

  // Header: resolve the label and feature columns to field positions.
  const int64_t headerLine = lines.number;
  std::vector<std::string> header, fields;
  std::string what;
  if (!splitFields(line, options.delimiter, header, what))
    return fail(headerLine, what);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i)
    if (!column.emplace(header[i], i).second)
      return fail(headerLine, "duplicate column name " + quoted(header[i]));

  const bool hasLabel = !options.label_column.empty();
  size_t labelCol = 0;
  if (hasLabel) {
    auto it = column.find(options.label_column);
    if (it == column.end())
      return fail(headerLine, "no label column " + quoted(options.label_column) + " (columns: " +
                                  joinNames(header) + ")");
    labelCol = it->second;
  }
  std::vector<size_t> featureCols;
  if (options.feature_columns.empty()) {
    for (size_t i = 0; i < header.size(); ++i)
      if (!hasLabel || i != labelCol) {
        featureCols.push_back(i);
        out.feature_names.push_back(header[i]);
      }
  } else {
    for (const std::string &f : options.feature_columns) {
      auto it = column.find(f);
      if (it == column.end())
        return fail(headerLine,
                    "no feature column " + quoted(f) + " (columns: " + joinNames(header) + ")");
      if (hasLabel && it->second == labelCol)
        return fail(headerLine, "label column " + quoted(f) + " cannot also be a feature");
      featureCols.push_back(it->second);
      out.feature_names.push_back(f);
    }
  }

  // Rows.
  Dataset &ds = out.dataset;
  std::vector<std::string> labelNames; // ClassName: the raw labels, row order.
  while (lines.next(line)) {
    if (isBlank(line))
      continue;
    const int64_t at = lines.number;
    if (!splitFields(line, options.delimiter, fields, what))
      return fail(at, what);
    if (fields.size() != header.size())
      return fail(at, "expected " + std::to_string(header.size()) + " columns, found " +
                          std::to_string(fields.size()));
    for (size_t c : featureCols) {
      auto v = parseNumber(fields[c], /*asFloat=*/true, what);
      if (!v)
        return fail(at, "column " + quoted(header[c]) + ": " + what);
      ds.x.push_back(static_cast<float>(*v));
    }
    int32_t label = 0;
    if (hasLabel) {
      const std::string &field = fields[labelCol];
      const std::string where = "column " + quoted(header[labelCol]) + ": ";
      switch (options.label_kind) {
      case CsvLabelKind::ClassIndex: {
        auto v = parseNumber(field, /*asFloat=*/false, what);
        if (!v || *v < 0 || *v != std::floor(*v) ||
            *v > std::numeric_limits<int32_t>::max())
          return fail(at, where + "'" + printableExcerpt(field) +
                              "' is not a class index (a non-negative integer); "
                              "use CsvLabelKind::ClassName for named classes");
        label = static_cast<int32_t>(*v);
        break;
      }
      case CsvLabelKind::ClassName:
        if (field.empty())
          return fail(at, where + "missing value");
        labelNames.push_back(field);
        break;
      case CsvLabelKind::Regression: {
        auto v = parseNumber(field, /*asFloat=*/true, what);
        if (!v)
          return fail(at, where + what);
        out.targets.push_back(static_cast<float>(*v));
        break;
      }
      }
    }
    ds.y.push_back(label);
    out.sample_lines.push_back(at);
    ++ds.size;
  }
  if (ds.size == 0)
    return fail(0, "no data rows after the header (line " + std::to_string(headerLine) + ")");

  if (!labelNames.empty()) {
    out.class_names = labelNames;
    std::sort(out.class_names.begin(), out.class_names.end());
    out.class_names.erase(std::unique(out.class_names.begin(), out.class_names.end()),
                          out.class_names.end());
    for (size_t i = 0; i < labelNames.size(); ++i)
      ds.y[i] = static_cast<int32_t>(std::lower_bound(out.class_names.begin(),
                                                      out.class_names.end(), labelNames[i]) -
                                     out.class_names.begin());
  }
  ds.sample_shape = {static_cast<int64_t>(featureCols.size())};
  return true;
}

bool readCsv(const std::string &path, const CsvOptions &options, CsvData &out,
             std::string &error) {
  out = CsvData{};
  // stat before open: opening a FIFO blocks until a writer appears, and
  // /dev/zero would be read until memory runs out.
  uint64_t size = 0;
  if (!checkInputFile(path, options.max_file_bytes, size, error)) {
    if (size > options.max_file_bytes)
      error += " (CsvOptions::max_file_bytes; the trainer's --max-csv-bytes)";
    return false;
  }
  try {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      error = path + ": cannot open: " + std::strerror(errno);
      return false;
    }
    std::string text(static_cast<size_t>(size), '\0');
    f.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (f.bad() || static_cast<uint64_t>(f.gcount()) != size) {
      error = path + ": read error: " + (f.bad() ? std::strerror(errno) : "file shrank");
      return false;
    }
    return parseCsv(text, path, options, out, error);
  } catch (const std::bad_alloc &) {
    out = CsvData{};
    error = path + ": out of memory reading a CSV file of " + std::to_string(size) + " bytes";
    return false;
  }
}

} // namespace kiln::runtime
