//===- fuzz_csv.cpp - libFuzzer target for the CSV reader -----------------===//
//
// Any text goes through parseCsv (readCsv's in-memory core) with each label
// kind: without a label column, with the label column "label" and every
// other column as features, and with the features named ("a", "b"; the seed
// corpus's headers use these names). No crash, UB or runaway allocation;
// every failure says why, every success is a consistent dataset.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/csv.h"

#include <cstdlib>
#include <string_view>

using namespace kiln::runtime;

namespace {

void parseWith(std::string_view text, const CsvOptions &options) {
  CsvData data;
  std::string error;
  if (!parseCsv(text, "fuzz.csv", options, data, error)) {
    if (error.empty())
      std::abort();
    return;
  }
  // A successful parse is a consistent dataset.
  const Dataset &d = data.dataset;
  const size_t samples = static_cast<size_t>(d.size);
  if (d.y.size() != samples || d.x.size() != samples * data.feature_names.size())
    std::abort();
  // Regression targets come from the label column; without one there are none.
  const bool hasTargets =
      options.label_kind == CsvLabelKind::Regression && !options.label_column.empty();
  if (data.targets.size() != (hasTargets ? samples : 0))
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  for (CsvLabelKind kind : {CsvLabelKind::ClassIndex, CsvLabelKind::ClassName,
                            CsvLabelKind::Regression}) {
    CsvOptions options;
    options.label_kind = kind;
    parseWith(text, options);
    options.label_column = "label";
    parseWith(text, options);
    options.feature_columns = {"a", "b"};
    parseWith(text, options);
  }
  CsvOptions semicolons;
  semicolons.delimiter = ';';
  parseWith(text, semicolons);
  return 0;
}
