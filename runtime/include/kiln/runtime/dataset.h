//===- dataset.h - In-memory classification datasets ------------*- C++ -*-===//
//
// A Dataset is a whole classification dataset held in memory in the layout the
// compiled models consume: float32 samples in [0, 1], row-major, one after the
// other, and int32 labels. Fashion-MNIST (60000 + 10000 28x28 images, 188 MB
// as float32 for the training split) fits comfortably, so there is no
// streaming: loading once up front keeps the training loop free of I/O.
//
// Thread safety: the functions keep no global state and are reentrant.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_DATASET_H
#define KILN_RUNTIME_DATASET_H

#include "kiln/runtime/idx.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::runtime {

/// A labelled dataset. Sample i occupies
/// x[i * sampleElements(), (i + 1) * sampleElements()) and has label y[i].
struct Dataset {
  int64_t size = 0;
  std::vector<int64_t> sample_shape;
  std::vector<float> x;
  std::vector<int32_t> y;

  /// Number of floats per sample (product of sample_shape).
  int64_t sampleElements() const;
};

/// Builds a dataset from uint8 images of shape [N, d1, ...] (scaled by 1/255)
/// and uint8 labels of shape [N]. \p imagesName and \p labelsName are used in
/// error messages only. Returns false and sets \p error if the types, ranks or
/// counts do not fit together.
bool makeImageDataset(const IdxArray &images, const IdxArray &labels,
                      const std::string &imagesName, const std::string &labelsName,
                      Dataset &out, std::string &error);

/// Loads the Fashion-MNIST (or MNIST: the file names are the same) training
/// split (\p train = true: train-{images-idx3,labels-idx1}-ubyte) or test
/// split (t10k-...) from \p dir. Each file is looked up as "<name>.gz" first,
/// then uncompressed as "<name>". On failure returns false and sets \p error
/// to a message naming the offending file.
bool loadFashionMnist(const std::string &dir, bool train, Dataset &out,
                      std::string &error);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_DATASET_H
