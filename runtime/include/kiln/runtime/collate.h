//===- collate.h - Padding variable-length sequences ------------*- C++ -*-===//
//
// Collating turns a list of samples into one batch. Fixed-shape samples are
// simply stacked (the DataLoader does that for Dataset::x); variable-length
// sequences (token ids, time series) are padded to a common length, like
// torch.nn.utils.rnn.pad_sequence(batch_first=True), giving a row-major
// [rows, max_len] block plus each row's true length.
//
// Compiled models have static shapes, so SequenceCollateOptions::max_length
// pads every batch to one fixed length (truncating, or rejecting, longer
// sequences); with max_length = 0 each batch is padded to its own longest
// sequence. The output buffers are reused: once they have grown to the
// largest batch seen, collating does not allocate.
//
// Thread safety: the functions keep no global state and are reentrant.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_COLLATE_H
#define KILN_RUNTIME_COLLATE_H

#include <cstdint>
#include <span>
#include <vector>

namespace kiln::runtime {

/// How sequences are padded.
struct SequenceCollateOptions {
  /// Value written after the end of each sequence (and in padding rows);
  /// converted to the element type (e.g. 0 for token id 0, or -1).
  double pad_value = 0;
  /// 0: pad to the longest sequence in the batch. > 0: every batch is
  /// [rows, max_length], a static shape.
  int64_t max_length = 0;
  /// With max_length > 0: cut longer sequences to max_length (their `lengths`
  /// entry says max_length), or, if false, throw std::length_error.
  bool truncate = true;
};

/// A padded batch of sequences: row r holds lengths[r] real elements followed
/// by pad_value up to max_len.
template <typename T> struct SequenceBatch {
  std::vector<T> values;        ///< rows * max_len elements, row-major.
  std::vector<int64_t> lengths; ///< rows entries; 0 for padding rows.
  int64_t rows = 0;
  int64_t max_len = 0;
  T pad_value{};

  /// Element (r, t), 0 <= r < rows, 0 <= t < max_len.
  const T &at(int64_t r, int64_t t) const { return values[static_cast<size_t>(r * max_len + t)]; }
};

/// Pads sequences[indices[0]], sequences[indices[1]], ... into rows 0.. of
/// \p out. \p rows (>= indices.size()) is the batch size: rows past the
/// indices are padding rows of length 0, so a static batch size survives a
/// partial last batch. Throws std::out_of_range for an index outside
/// \p sequences, std::length_error for a too-long sequence when
/// options.truncate is false, std::invalid_argument if rows < indices.size().
template <typename T>
void collateSequences(const std::vector<std::vector<T>> &sequences,
                      std::span<const int64_t> indices, int64_t rows,
                      const SequenceCollateOptions &options, SequenceBatch<T> &out);

/// Pads every sequence of \p batch, in order (pad_sequence on a list).
template <typename T>
void padSequences(const std::vector<std::vector<T>> &batch,
                  const SequenceCollateOptions &options, SequenceBatch<T> &out);

extern template void collateSequences<int32_t>(const std::vector<std::vector<int32_t>> &,
                                               std::span<const int64_t>, int64_t,
                                               const SequenceCollateOptions &,
                                               SequenceBatch<int32_t> &);
extern template void collateSequences<float>(const std::vector<std::vector<float>> &,
                                             std::span<const int64_t>, int64_t,
                                             const SequenceCollateOptions &,
                                             SequenceBatch<float> &);
extern template void padSequences<int32_t>(const std::vector<std::vector<int32_t>> &,
                                           const SequenceCollateOptions &,
                                           SequenceBatch<int32_t> &);
extern template void padSequences<float>(const std::vector<std::vector<float>> &,
                                         const SequenceCollateOptions &, SequenceBatch<float> &);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_COLLATE_H
