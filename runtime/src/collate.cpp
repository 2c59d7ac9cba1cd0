//===- collate.cpp - Padding variable-length sequences --------------------===//
//
// Implements collateSequences/padSequences for int32 and float elements. The
// output vectors are resized, never shrunk-to-fit, so a reused SequenceBatch
// keeps its capacity and steady-state collating does no allocation.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/collate.h"

#include <algorithm>
#include <string>

namespace kiln::runtime {

bool fitsMaxLength(int64_t length, const SequenceCollateOptions &options) {
  return options.max_length <= 0 || length <= options.max_length || options.truncate;
}

std::string tooLongMessage(int64_t index, int64_t length, const SequenceCollateOptions &options) {
  return "collateSequences: sequence " + std::to_string(index) + " has length " +
         std::to_string(length) + ", more than max_length " + std::to_string(options.max_length);
}

template <typename T>
bool collateSequences(const std::vector<std::vector<T>> &sequences,
                      std::span<const int64_t> indices, int64_t rows,
                      const SequenceCollateOptions &options, SequenceBatch<T> &out,
                      std::string &error) {
  const int64_t count = static_cast<int64_t>(indices.size());
  if (rows < count) {
    error = "collateSequences: " + std::to_string(count) + " sequences do not fit in " +
            std::to_string(rows) + " rows";
    return false;
  }
  if (options.max_length < 0) {
    error = "collateSequences: max_length must be >= 0, got " +
            std::to_string(options.max_length);
    return false;
  }

  const int64_t n = static_cast<int64_t>(sequences.size());
  int64_t longest = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t idx = indices[i];
    if (idx < 0 || idx >= n) {
      error = "collateSequences: index " + std::to_string(idx) + " outside the " +
              std::to_string(n) + " sequences";
      return false;
    }
    const int64_t len = static_cast<int64_t>(sequences[idx].size());
    if (!fitsMaxLength(len, options)) {
      error = tooLongMessage(idx, len, options);
      return false;
    }
    longest = std::max(longest, len);
  }

  const int64_t maxLen = options.max_length > 0 ? options.max_length : longest;
  const T pad = static_cast<T>(options.pad_value);
  out.rows = rows;
  out.max_len = maxLen;
  out.pad_value = pad;
  out.values.resize(static_cast<size_t>(rows * maxLen));
  out.lengths.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    T *row = out.values.data() + r * maxLen;
    int64_t len = 0;
    if (r < count) {
      const std::vector<T> &seq = sequences[indices[r]];
      len = std::min<int64_t>(static_cast<int64_t>(seq.size()), maxLen);
      std::copy_n(seq.begin(), len, row);
    }
    std::fill(row + len, row + maxLen, pad);
    out.lengths[r] = len;
  }
  return true;
}

template <typename T>
bool padSequences(const std::vector<std::vector<T>> &batch,
                  const SequenceCollateOptions &options, SequenceBatch<T> &out,
                  std::string &error) {
  // A convenience for user code; the DataLoader calls collateSequences with
  // its own index buffer, so this one allocation is off the hot path.
  std::vector<int64_t> indices(batch.size());
  for (size_t i = 0; i < indices.size(); ++i)
    indices[i] = static_cast<int64_t>(i);
  return collateSequences(batch, std::span<const int64_t>(indices),
                          static_cast<int64_t>(batch.size()), options, out, error);
}

template bool collateSequences<int32_t>(const std::vector<std::vector<int32_t>> &,
                                        std::span<const int64_t>, int64_t,
                                        const SequenceCollateOptions &, SequenceBatch<int32_t> &,
                                        std::string &);
template bool collateSequences<float>(const std::vector<std::vector<float>> &,
                                      std::span<const int64_t>, int64_t,
                                      const SequenceCollateOptions &, SequenceBatch<float> &,
                                      std::string &);
template bool padSequences<int32_t>(const std::vector<std::vector<int32_t>> &,
                                    const SequenceCollateOptions &, SequenceBatch<int32_t> &,
                                    std::string &);
template bool padSequences<float>(const std::vector<std::vector<float>> &,
                                  const SequenceCollateOptions &, SequenceBatch<float> &,
                                  std::string &);

} // namespace kiln::runtime
