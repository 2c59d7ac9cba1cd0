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
// Errors are returned as false plus a message (errors.h).
//
// Thread safety: the functions keep no global state and are reentrant.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_COLLATE_H
#define KILN_RUNTIME_COLLATE_H

#include <cstdint>
#include <span>
#include <string>
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
  /// entry says max_length), or, if false, refuse them (an error).
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
/// partial last batch. Returns false, with \p error set, for an index
/// outside \p sequences, a too-long sequence when options.truncate is false,
/// a negative max_length, or rows < indices.size().
template <typename T>
bool collateSequences(const std::vector<std::vector<T>> &sequences,
                      std::span<const int64_t> indices, int64_t rows,
                      const SequenceCollateOptions &options, SequenceBatch<T> &out,
                      std::string &error);

/// Pads every sequence of \p batch, in order (pad_sequence on a list).
template <typename T>
bool padSequences(const std::vector<std::vector<T>> &batch,
                  const SequenceCollateOptions &options, SequenceBatch<T> &out,
                  std::string &error);

/// Whether collating keeps a sequence of \p length under \p options (it
/// refuses a longer one than max_length unless truncate is set).
bool fitsMaxLength(int64_t length, const SequenceCollateOptions &options);

/// The error for sequence \p index of \p length that fitsMaxLength refuses.
std::string tooLongMessage(int64_t index, int64_t length, const SequenceCollateOptions &options);

extern template bool collateSequences<int32_t>(const std::vector<std::vector<int32_t>> &,
                                               std::span<const int64_t>, int64_t,
                                               const SequenceCollateOptions &,
                                               SequenceBatch<int32_t> &, std::string &);
extern template bool collateSequences<float>(const std::vector<std::vector<float>> &,
                                             std::span<const int64_t>, int64_t,
                                             const SequenceCollateOptions &,
                                             SequenceBatch<float> &, std::string &);
extern template bool padSequences<int32_t>(const std::vector<std::vector<int32_t>> &,
                                           const SequenceCollateOptions &,
                                           SequenceBatch<int32_t> &, std::string &);
extern template bool padSequences<float>(const std::vector<std::vector<float>> &,
                                         const SequenceCollateOptions &, SequenceBatch<float> &,
                                         std::string &);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_COLLATE_H
