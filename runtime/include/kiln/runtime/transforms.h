//===- transforms.h - Per-sample transforms applied at batch time -*- C++ -*-===//
//
// Transforms rewrite one float sample in place while a batch is assembled,
// like torchvision.transforms on tensors: Normalize, RandomHorizontalFlip,
// RandomCrop with zero padding, and Compose to chain them. Samples are images
// of shape [C, H, W] or [H, W] (one channel), row-major.
//
// Random transforms are reproducible by construction: every random decision
// is a function of (transform seed, epoch, dataset index of the sample) only,
// never of a generator's running state. So the batch order, the sampler, the
// batch size and prefetching cannot change what a given sample looks like in
// a given epoch, and a run can be replayed from any epoch. Two transforms with
// the same seed still draw independent decisions (each mixes in its own salt).
//
// Constructors only store their arguments; check() reports invalid ones
// (and a sample shape the transform cannot handle) as an error message, and
// the DataLoader calls it when it is created (errors.h).
//
// Thread safety: transforms are immutable after construction and apply() is
// const; per-call working memory comes from the caller's `scratch` vector, so
// one transform may be used from several threads with distinct scratches.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRANSFORMS_H
#define KILN_RUNTIME_TRANSFORMS_H

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace kiln::runtime {

/// Identifies one sample draw: the epoch and the sample's index in the
/// dataset (not its position in the batch or the epoch order).
struct SampleContext {
  int64_t epoch = 0;
  int64_t index = 0;
};

/// A 64-bit key that depends only on (seed, epoch, index), well mixed
/// (splitmix64 rounds), for transforms to derive their random decisions from.
uint64_t sampleKey(uint64_t seed, int64_t epoch, int64_t index);

/// The [C, H, W] view of an image shape: [C, H, W] as is, [H, W] as C = 1.
struct ImageDims {
  int64_t c = 1, h = 0, w = 0;
  /// Sets \p out to the view of \p shape; returns false, with \p error
  /// set, for other ranks or non-positive extents.
  static bool of(std::span<const int64_t> shape, ImageDims &out, std::string &error);
};

/// A per-sample, in-place transform.
class Transform {
public:
  virtual ~Transform() = default;

  /// Returns false, with \p error set, if the transform's arguments are
  /// invalid or samples of \p shape cannot be transformed. The DataLoader
  /// calls this once, when it is created.
  virtual bool check(std::span<const int64_t> shape, std::string &error) const = 0;

  /// Transforms the sample at \p sample (shape \p shape, which check()
  /// accepted) in
  /// place. \p scratch is working memory the transform may resize; reusing
  /// one vector makes repeated calls allocation-free.
  virtual void apply(float *sample, std::span<const int64_t> shape, const SampleContext &ctx,
                     std::vector<float> &scratch) const = 0;
};

/// x = (x - mean[c]) / std[c] per channel. One mean/std value applies to all
/// channels. check() rejects mean and std of different sizes, empty ones, a
/// std that is not finite and > 0, and a count other than one or C.
class Normalize : public Transform {
public:
  Normalize(std::vector<float> mean, std::vector<float> std);
  bool check(std::span<const int64_t> shape, std::string &error) const override;
  void apply(float *sample, std::span<const int64_t> shape, const SampleContext &ctx,
             std::vector<float> &scratch) const override;

private:
  std::vector<float> mean, stddev;
};

/// Mirrors the image left-right (the W axis) with probability p.
/// check() rejects p outside [0, 1].
class RandomHorizontalFlip : public Transform {
public:
  explicit RandomHorizontalFlip(uint64_t seed, double p = 0.5);
  bool check(std::span<const int64_t> shape, std::string &error) const override;
  void apply(float *sample, std::span<const int64_t> shape, const SampleContext &ctx,
             std::vector<float> &scratch) const override;

  /// Whether the sample \p ctx is flipped.
  bool flips(const SampleContext &ctx) const;

private:
  uint64_t seed;
  double p;
};

/// Pads the image by `padding` zeros (`fill`) on every side and crops a
/// random H x W window back out (torchvision RandomCrop(size=(H, W),
/// padding)); the shape is unchanged. check() rejects padding < 0.
class RandomCrop : public Transform {
public:
  RandomCrop(uint64_t seed, int64_t padding, float fill = 0.0f);
  bool check(std::span<const int64_t> shape, std::string &error) const override;
  void apply(float *sample, std::span<const int64_t> shape, const SampleContext &ctx,
             std::vector<float> &scratch) const override;

  /// The window's top-left corner in the padded image, each in
  /// [0, 2 * padding]; (padding, padding) is the identity crop.
  std::pair<int64_t, int64_t> offsets(const SampleContext &ctx) const;

private:
  uint64_t seed;
  int64_t padding;
  float fill;
};

/// Applies transforms in order (torchvision Compose).
class Compose : public Transform {
public:
  /// check() rejects a null transform.
  explicit Compose(std::vector<std::shared_ptr<const Transform>> transforms);
  bool check(std::span<const int64_t> shape, std::string &error) const override;
  void apply(float *sample, std::span<const int64_t> shape, const SampleContext &ctx,
             std::vector<float> &scratch) const override;

private:
  std::vector<std::shared_ptr<const Transform>> transforms;
};

/// Mirrors an image ([C, H, W] or [H, W]) along W, in place.
void flipHorizontal(float *sample, const ImageDims &dims);

/// Writes into \p sample the H x W window at (\p top, \p left) of the image
/// padded by \p padding on every side with \p fill. \p scratch receives a
/// copy of the input.
void padCrop(float *sample, const ImageDims &dims, int64_t padding, int64_t top, int64_t left,
             float fill, std::vector<float> &scratch);

} // namespace kiln::runtime

#endif // KILN_RUNTIME_TRANSFORMS_H
