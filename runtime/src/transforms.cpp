//===- transforms.cpp - Per-sample transforms applied at batch time -------===//
//
// Normalize, RandomHorizontalFlip, RandomCrop and Compose. Random decisions
// come from sampleKey(seed ^ salt, epoch, index): a stateless hash, so they
// do not depend on the order in which samples are visited.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/transforms.h"

#include "kiln/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace kiln::runtime {

namespace {

// Per-transform salts, so equal seeds give independent decisions.
constexpr uint64_t kFlipSalt = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kCropSalt = 0xbb67ae8584caa73bULL;

std::string shapeString(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace

uint64_t sampleKey(uint64_t seed, int64_t epoch, int64_t index) {
  uint64_t state = seed;
  state = splitMix64(state) ^ static_cast<uint64_t>(epoch);
  state = splitMix64(state) ^ static_cast<uint64_t>(index);
  return splitMix64(state);
}

bool ImageDims::of(std::span<const int64_t> shape, ImageDims &out, std::string &error) {
  ImageDims d;
  if (shape.size() == 3) {
    d.c = shape[0];
    d.h = shape[1];
    d.w = shape[2];
  } else if (shape.size() == 2) {
    d.h = shape[0];
    d.w = shape[1];
  } else {
    error = "image transforms need a [C, H, W] or [H, W] sample, got " + shapeString(shape);
    return false;
  }
  if (d.c < 1 || d.h < 1 || d.w < 1) {
    error = "image transforms need positive extents, got " + shapeString(shape);
    return false;
  }
  out = d;
  return true;
}

namespace {

/// The view of a shape that check() accepted.
ImageDims checkedDims(std::span<const int64_t> shape) {
  ImageDims d;
  std::string unused;
  ImageDims::of(shape, d, unused);
  return d;
}

} // namespace

//===-- Normalize ---------------------------------------------------------===//

Normalize::Normalize(std::vector<float> mean, std::vector<float> std)
    : mean(std::move(mean)), stddev(std::move(std)) {}

bool Normalize::check(std::span<const int64_t> shape, std::string &error) const {
  if (mean.empty() || mean.size() != stddev.size()) {
    error = "Normalize: need as many means as stds (and at least one), got " +
            std::to_string(mean.size()) + " and " + std::to_string(stddev.size());
    return false;
  }
  for (size_t c = 0; c < stddev.size(); ++c)
    if (!(std::isfinite(stddev[c]) && stddev[c] > 0)) {
      error = "Normalize: std[" + std::to_string(c) + "] must be finite and > 0, got " +
              std::to_string(stddev[c]);
      return false;
    }
  ImageDims d;
  if (!ImageDims::of(shape, d, error))
    return false;
  if (mean.size() != 1 && static_cast<int64_t>(mean.size()) != d.c) {
    error = "Normalize: " + std::to_string(mean.size()) + " channel values for samples of shape " +
            shapeString(shape) + " (" + std::to_string(d.c) + " channels)";
    return false;
  }
  return true;
}

void Normalize::apply(float *sample, std::span<const int64_t> shape, const SampleContext &,
                      std::vector<float> &) const {
  const ImageDims d = checkedDims(shape);
  const int64_t plane = d.h * d.w;
  for (int64_t c = 0; c < d.c; ++c) {
    const size_t k = mean.size() == 1 ? 0 : static_cast<size_t>(c);
    // Divide rather than multiply by 1/std: matches (x - mean) / std exactly.
    const float m = mean[k], s = stddev[k];
    float *p = sample + c * plane;
    for (int64_t i = 0; i < plane; ++i)
      p[i] = (p[i] - m) / s;
  }
}

//===-- RandomHorizontalFlip ----------------------------------------------===//

RandomHorizontalFlip::RandomHorizontalFlip(uint64_t seed, double p) : seed(seed), p(p) {}

bool RandomHorizontalFlip::check(std::span<const int64_t> shape, std::string &error) const {
  if (!(p >= 0.0 && p <= 1.0)) {
    error = "RandomHorizontalFlip: p must be in [0, 1], got " + std::to_string(p);
    return false;
  }
  ImageDims d;
  return ImageDims::of(shape, d, error);
}

bool RandomHorizontalFlip::flips(const SampleContext &ctx) const {
  // 53 random bits as a double in [0, 1): exact, so p = 0 never flips and
  // p = 1 always does.
  const uint64_t key = sampleKey(seed ^ kFlipSalt, ctx.epoch, ctx.index);
  return static_cast<double>(key >> 11) * 0x1.0p-53 < p;
}

void RandomHorizontalFlip::apply(float *sample, std::span<const int64_t> shape,
                                 const SampleContext &ctx, std::vector<float> &) const {
  if (flips(ctx))
    flipHorizontal(sample, checkedDims(shape));
}

void flipHorizontal(float *sample, const ImageDims &d) {
  for (int64_t row = 0; row < d.c * d.h; ++row) {
    float *p = sample + row * d.w;
    std::reverse(p, p + d.w);
  }
}

//===-- RandomCrop --------------------------------------------------------===//

RandomCrop::RandomCrop(uint64_t seed, int64_t padding, float fill)
    : seed(seed), padding(padding), fill(fill) {}

bool RandomCrop::check(std::span<const int64_t> shape, std::string &error) const {
  if (padding < 0) {
    error = "RandomCrop: padding must be >= 0, got " + std::to_string(padding);
    return false;
  }
  ImageDims d;
  return ImageDims::of(shape, d, error);
}

std::pair<int64_t, int64_t> RandomCrop::offsets(const SampleContext &ctx) const {
  uint64_t state = sampleKey(seed ^ kCropSalt, ctx.epoch, ctx.index);
  const uint64_t span = static_cast<uint64_t>(2 * padding + 1);
  const int64_t top = static_cast<int64_t>(uniformBelow(state, span));
  const int64_t left = static_cast<int64_t>(uniformBelow(state, span));
  return {top, left};
}

void RandomCrop::apply(float *sample, std::span<const int64_t> shape, const SampleContext &ctx,
                       std::vector<float> &scratch) const {
  if (padding == 0)
    return;
  auto [top, left] = offsets(ctx);
  padCrop(sample, checkedDims(shape), padding, top, left, fill, scratch);
}

void padCrop(float *sample, const ImageDims &d, int64_t padding, int64_t top, int64_t left,
             float fill, std::vector<float> &scratch) {
  const size_t n = static_cast<size_t>(d.c * d.h * d.w);
  if (scratch.size() < n)
    scratch.resize(n);
  std::copy_n(sample, n, scratch.data());
  // Output (y, x) reads input (y + dy, x + dx); outside the input is `fill`.
  const int64_t dy = top - padding, dx = left - padding;
  // The columns x with 0 <= x + dx < W form one contiguous run per row.
  const int64_t x0 = std::clamp<int64_t>(-dx, 0, d.w);
  const int64_t x1 = std::clamp<int64_t>(d.w - dx, 0, d.w);
  for (int64_t c = 0; c < d.c; ++c) {
    const float *in = scratch.data() + c * d.h * d.w;
    float *out = sample + c * d.h * d.w;
    for (int64_t y = 0; y < d.h; ++y) {
      float *row = out + y * d.w;
      const int64_t sy = y + dy;
      if (sy < 0 || sy >= d.h || x0 >= x1) {
        std::fill(row, row + d.w, fill);
        continue;
      }
      std::fill(row, row + x0, fill);
      std::copy(in + sy * d.w + x0 + dx, in + sy * d.w + x1 + dx, row + x0);
      std::fill(row + x1, row + d.w, fill);
    }
  }
}

//===-- Compose -----------------------------------------------------------===//

Compose::Compose(std::vector<std::shared_ptr<const Transform>> transforms)
    : transforms(std::move(transforms)) {}

bool Compose::check(std::span<const int64_t> shape, std::string &error) const {
  for (size_t i = 0; i < transforms.size(); ++i) {
    if (!transforms[i]) {
      error = "Compose: transform " + std::to_string(i) + " is null";
      return false;
    }
    if (!transforms[i]->check(shape, error))
      return false;
  }
  return true;
}

void Compose::apply(float *sample, std::span<const int64_t> shape, const SampleContext &ctx,
                    std::vector<float> &scratch) const {
  for (const auto &t : transforms)
    t->apply(sample, shape, ctx, scratch);
}

} // namespace kiln::runtime
