//===- layers.cpp - convolution, pooling, normalization, dropout ----------===//
//
// The primitives emit one kiln op each (the dialect's inference checks the
// shapes and names them in its errors); the rest are composites. Layers open
// a LocationScope, so their ops and errors point at the user's call.
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/layers.h"

#include "kiln/dsl/Program.h"
#include "kiln/dsl/layout.h"

#include "Trace.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>

using namespace mlir;
using namespace kiln::dsl::detail;

namespace kiln::dsl {

namespace {

/// The [h, w] array the pooling and convolution attributes hold.
std::array<int64_t, 2> pair(Size2 size) { return {size.h, size.w}; }

std::string pairText(int64_t h, int64_t w) {
  return "[" + std::to_string(h) + ", " + std::to_string(w) + "]";
}

/// padding="same" for a stride-1 convolution: dilation * (k - 1) / 2 on
/// each side; an odd total would need asymmetric padding.
Size2 resolvePadding(const Padding2d &padding, Size2 kernel, Size2 stride,
                     Size2 dilation, Loc loc) {
  if (!padding.same)
    return {padding.h, padding.w};
  if (stride.h != 1 || stride.w != 1)
    fail(loc, "conv2d: padding=same needs stride 1, got stride " +
                  pairText(stride.h, stride.w));
  int64_t th = dilation.h * (kernel.h - 1), tw = dilation.w * (kernel.w - 1);
  if (th % 2 || tw % 2)
    fail(loc, "conv2d: padding=same with kernel " +
                  pairText(kernel.h, kernel.w) + " and dilation " +
                  pairText(dilation.h, dilation.w) +
                  " needs asymmetric padding, which conv2d does not support");
  return {th / 2, tw / 2};
}

} // namespace

//===----------------------------------------------------------------------===//
// Functional
//===----------------------------------------------------------------------===//

Tensor conv2d(const Tensor &input, const Tensor &weight, Size2 stride,
              Padding2d padding, Size2 dilation, int64_t groups, Loc loc) {
  Size2 kernel = weight.rank() == 4 ? Size2(weight.size(2), weight.size(3))
                                    : Size2(1);
  Size2 pad = resolvePadding(padding, kernel, stride, dilation, loc);
  return emit<Conv2DOp>(loc, valueOf(input, loc), valueOf(weight, loc),
                        pair(stride), pair(pad), pair(dilation), groups);
}

Tensor conv2d(const Tensor &input, const Tensor &weight, const Tensor &bias,
              Size2 stride, Padding2d padding, Size2 dilation, int64_t groups,
              Loc loc) {
  LocationScope scope(loc);
  Tensor y = conv2d(input, weight, stride, padding, dilation, groups, loc);
  if (bias.rank() != 1 || bias.size(0) != y.size(1))
    fail(loc, "conv2d: bias " + to_string(bias.shape()) +
                  " does not match the " + std::to_string(y.size(1)) +
                  " output channels of weight " + to_string(weight.shape()));
  return y + reshape(bias, {bias.size(0), 1, 1}, loc);
}

Tensor max_pool2d(const Tensor &input, Size2 kernel,
                  std::optional<Size2> stride, Size2 padding, Size2 dilation,
                  Loc loc) {
  Size2 s = stride.value_or(kernel);
  return emit<MaxPool2DOp>(loc, valueOf(input, loc), pair(kernel), pair(s),
                           pair(padding), pair(dilation));
}

Tensor avg_pool2d(const Tensor &input, Size2 kernel,
                  std::optional<Size2> stride, Size2 padding, Loc loc) {
  LocationScope scope(loc);
  if (input.rank() != 4)
    fail(loc, "avg_pool2d: expects a 4-D input [N, C, H, W], got " +
                  to_string(input.shape()));
  if (kernel.h <= 0 || kernel.w <= 0 || 2 * padding.h > kernel.h ||
      2 * padding.w > kernel.w)
    fail(loc, "avg_pool2d: padding " + pairText(padding.h, padding.w) +
                  " must be at most half the kernel " +
                  pairText(kernel.h, kernel.w));
  // A depthwise convolution of every channel with a constant kernel: the
  // zero padding is counted in the divisor (count_include_pad=True).
  const Shape &x = input.shape();
  Tensor planes = reshape(input, {x[0] * x[1], 1, x[2], x[3]}, loc);
  Tensor window = full({1, 1, kernel.h, kernel.w},
                       1.0 / static_cast<double>(kernel.h * kernel.w),
                       input.dtype(), loc);
  Tensor y = conv2d(planes, window, stride.value_or(kernel),
                    Padding2d(padding.h, padding.w), 1, 1, loc);
  return reshape(y, {x[0], x[1], y.size(2), y.size(3)}, loc);
}

Tensor rsqrt(const Tensor &x, Loc loc) {
  return emit<RsqrtOp>(loc, valueOf(x, loc));
}

Tensor increment(const Tensor &x, Loc loc) {
  return emit<IncrementOp>(loc, valueOf(x, loc));
}

Tensor dropout(const Tensor &x, double p, const Tensor &seed, int64_t stream,
               bool training, Loc loc) {
  if (p < 0.0 || p > 1.0)
    fail(loc, "dropout: probability must be in [0, 1], got " +
                  std::to_string(p));
  if (!training || p == 0.0)
    return x;
  LocationScope scope(loc);
  if (p == 1.0)
    return x * 0.0;
  Tensor u = random_uniform(seed, x.shape(), 0.0, 1.0, stream, x.dtype(), loc);
  // keep with probability 1 - p, scaled so that the expectation is x
  Tensor keep = gt(u, scalar(p, x.dtype(), loc), loc);
  return x * (keep * (1.0 / (1.0 - p)));
}

Tensor layer_norm(const Tensor &x, const Shape &normalized_shape,
                  const Tensor *weight, const Tensor *bias, double eps,
                  Loc loc) {
  LocationScope scope(loc);
  int64_t k = static_cast<int64_t>(normalized_shape.size());
  if (k == 0 || k > x.rank() ||
      !std::equal(normalized_shape.begin(), normalized_shape.end(),
                  x.shape().end() - k))
    fail(loc, "layer_norm: normalized_shape " + to_string(normalized_shape) +
                  " is not a suffix of the input shape " +
                  to_string(x.shape()));
  Shape axes;
  for (int64_t d = x.rank() - k; d < x.rank(); ++d)
    axes.push_back(d);
  Tensor centered = x - mean(x, axes, /*keepdim=*/true, loc);
  Tensor var = mean(centered * centered, axes, /*keepdim=*/true, loc);
  Tensor y = centered * rsqrt(var + eps, loc);
  if (weight)
    y = y * *weight;
  if (bias)
    y = y + *bias;
  return y;
}

namespace nn {

//===----------------------------------------------------------------------===//
// Convolution and pooling layers
//===----------------------------------------------------------------------===//

static Init fanInUniform(int64_t fanIn) {
  double bound = 1.0 / std::sqrt(static_cast<double>(fanIn));
  return Init::uniform(-bound, bound);
}

static int64_t checkedFanIn(int64_t in, int64_t out, Size2 kernel,
                            int64_t groups, Loc loc) {
  if (in <= 0 || out <= 0 || kernel.h <= 0 || kernel.w <= 0 || groups <= 0)
    raise_error(loc, "Conv2d: channels, kernel size and groups must be "
                     "positive");
  if (in % groups || out % groups)
    raise_error(loc, "Conv2d: in_channels " + std::to_string(in) +
                         " and out_channels " + std::to_string(out) +
                         " must be divisible by groups " +
                         std::to_string(groups));
  return in / groups * kernel.h * kernel.w;
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size,
               Size2 stride, Padding2d padding, Size2 dilation, int64_t groups,
               bool bias, Loc loc)
    : weight({out_channels, in_channels / std::max<int64_t>(groups, 1),
              kernel_size.h, kernel_size.w},
             fanInUniform(checkedFanIn(in_channels, out_channels, kernel_size,
                                       groups, loc))),
      bias({out_channels},
           fanInUniform(checkedFanIn(in_channels, out_channels, kernel_size,
                                     groups, loc))),
      in_channels_(in_channels), out_channels_(out_channels), groups_(groups),
      kernel_(kernel_size), stride_(stride),
      padding_(resolvePadding(padding, kernel_size, stride, dilation, loc)),
      dilation_(dilation), has_bias_(bias) {
  register_parameter("weight", weight);
  if (has_bias_)
    register_parameter("bias", this->bias);
}

Tensor Conv2d::operator()(const Tensor &x, Loc loc) const {
  LocationScope scope(loc);
  if (x.rank() != 4 || x.size(1) != in_channels_)
    raise_error(loc, "Conv2d(" + std::to_string(in_channels_) + ", " +
                         std::to_string(out_channels_) + ", kernel " +
                         pairText(kernel_.h, kernel_.w) + "): input shape " +
                         to_string(x.shape()) +
                         " does not match weight shape " +
                         to_string(weight.shape()) + " (expects [N, " +
                         std::to_string(in_channels_) + ", H, W])");
  Padding2d padding(padding_.h, padding_.w);
  if (has_bias_)
    return conv2d(x, weight.value(), bias.value(), stride_, padding,
                  dilation_, groups_, loc);
  return conv2d(x, weight.value(), stride_, padding, dilation_, groups_, loc);
}

MaxPool2d::MaxPool2d(Size2 kernel_size, std::optional<Size2> stride,
                     Size2 padding, Size2 dilation)
    : kernel_(kernel_size), padding_(padding), dilation_(dilation),
      stride_(stride) {}

Tensor MaxPool2d::operator()(const Tensor &x, Loc loc) const {
  return max_pool2d(x, kernel_, stride_, padding_, dilation_, loc);
}

AvgPool2d::AvgPool2d(Size2 kernel_size, std::optional<Size2> stride,
                     Size2 padding)
    : kernel_(kernel_size), padding_(padding), stride_(stride) {}

Tensor AvgPool2d::operator()(const Tensor &x, Loc loc) const {
  return avg_pool2d(x, kernel_, stride_, padding_, loc);
}

Tensor Flatten::operator()(const Tensor &x, Loc loc) const {
  return flatten(x, start_dim_, end_dim_, loc);
}

Tensor ReLU::operator()(const Tensor &x, Loc loc) const { return relu(x, loc); }

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

/// The random stream of a dropout module's masks: a hash (FNV-1a) of its
/// buffer's state name (`drop1.rng_state`), so each instance has its own
/// stream and the same model gives the same masks however many modules were
/// constructed before it; kept away from the small streams init uses.
static int64_t dropoutStream(const std::string &stateName) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : stateName)
    hash = (hash ^ c) * 1099511628211ull;
  return static_cast<int64_t>((hash >> 24) | (uint64_t{1} << 40));
}

Dropout::Dropout(double p, Loc loc)
    : rng_state({}, Init::seed(), DType::i64), p_(p) {
  if (p < 0.0 || p > 1.0)
    raise_error(loc, "Dropout: probability must be in [0, 1], got " +
                         std::to_string(p));
  register_buffer("rng_state", rng_state);
}

Tensor Dropout::operator()(const Tensor &x, Loc loc) const {
  if (!is_training() || p_ == 0.0)
    return x;
  LocationScope scope(loc);
  Tensor counter = rng_state.value();
  // A module applied twice in one step draws a second, independent mask.
  calls_ = rng_state.update().defined() ? calls_ + 1 : 0;
  int64_t stream = dropoutStream(rng_state.state_name());
  Tensor y = dropout(x, p_, counter, stream + (calls_ << 20), true, loc);
  rng_state.set_update(increment(counter, loc));
  return y;
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

BatchNorm::BatchNorm(int64_t num_features, double eps, double momentum,
                     bool affine, bool track_running_stats,
                     int64_t spatialDims)
    : weight({num_features}, Init::constant(1.0)),
      bias({num_features}, Init::zeros()),
      running_mean({num_features}, Init::zeros()),
      running_var({num_features}, Init::constant(1.0)),
      num_batches_tracked({}, Init::zeros(), DType::i64),
      num_features_(num_features), spatial_dims_(spatialDims), eps_(eps),
      momentum_(momentum), affine_(affine), track_(track_running_stats) {
  if (affine_) {
    register_parameter("weight", weight);
    register_parameter("bias", bias);
  }
  if (track_) {
    register_buffer("running_mean", running_mean);
    register_buffer("running_var", running_var);
    register_buffer("num_batches_tracked", num_batches_tracked);
  }
}

Tensor BatchNorm::operator()(const Tensor &x, Loc loc) const {
  LocationScope scope(loc);
  std::string name = spatial_dims_ == 2 ? "BatchNorm2d" : "BatchNorm1d";
  bool rankOk = spatial_dims_ == 2 ? x.rank() == 4
                                   : (x.rank() == 2 || x.rank() == 3);
  if (!rankOk || x.size(1) != num_features_)
    raise_error(loc, name + "(" + std::to_string(num_features_) +
                         "): expects input " +
                         (spatial_dims_ == 2 ? "[N, C, H, W]"
                                             : "[N, C] or [N, C, L]") +
                         " with C = " + std::to_string(num_features_) +
                         ", got " + to_string(x.shape()));
  // Statistics per channel (dim 1): reduce every other dim.
  Shape axes{0};
  Shape channelShape(x.rank(), 1);
  channelShape[1] = num_features_;
  int64_t count = x.size(0);
  for (int64_t d = 2; d < x.rank(); ++d) {
    axes.push_back(d);
    count *= x.size(d);
  }
  auto perChannel = [&](const Tensor &v) { return reshape(v, channelShape); };

  Tensor y;
  if (is_training() || !track_) {
    Tensor batchMean = mean(x, axes, /*keepdim=*/true);
    Tensor centered = x - batchMean;
    Tensor var = mean(centered * centered, axes, /*keepdim=*/true);
    y = centered * rsqrt(var + eps_);
    if (track_ && is_training()) {
      if (count < 2)
        raise_error(loc, name + ": training needs more than one value per "
                             "channel, got input " + to_string(x.shape()));
      double m = momentum_;
      Tensor unbiased = var * (static_cast<double>(count) / (count - 1));
      Shape c{num_features_};
      running_mean.set_update((1.0 - m) * running_mean.value() +
                              m * reshape(batchMean, c));
      running_var.set_update((1.0 - m) * running_var.value() +
                             m * reshape(unbiased, c));
      num_batches_tracked.set_update(increment(num_batches_tracked.value()));
    }
  } else {
    y = (x - perChannel(running_mean.value())) *
        perChannel(rsqrt(running_var.value() + eps_));
  }
  if (affine_)
    y = y * perChannel(weight.value()) + perChannel(bias.value());
  return y;
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps,
                     bool elementwise_affine)
    : weight(normalized_shape, Init::constant(1.0)),
      bias(normalized_shape, Init::zeros()),
      normalized_shape_(std::move(normalized_shape)), eps_(eps),
      affine_(elementwise_affine) {
  if (affine_) {
    register_parameter("weight", weight);
    register_parameter("bias", bias);
  }
}

Tensor LayerNorm::operator()(const Tensor &x, Loc loc) const {
  if (!affine_)
    return layer_norm(x, normalized_shape_, nullptr, nullptr, eps_, loc);
  Tensor w = weight.value(), b = bias.value();
  return layer_norm(x, normalized_shape_, &w, &b, eps_, loc);
}

//===----------------------------------------------------------------------===//
// Embedding, Sequential
//===----------------------------------------------------------------------===//

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim)
    : weight({num_embeddings, embedding_dim}, Init::normal(0.0, 1.0)) {
  register_parameter("weight", weight);
}

Tensor Embedding::operator()(const Tensor &indices, Loc loc) const {
  return embedding(indices, weight.value(), loc);
}

Tensor Sequential::operator()(const Tensor &x, Loc loc) const {
  LocationScope scope(loc);
  Tensor y = x;
  for (const auto &step : steps_)
    y = step(y);
  return y;
}

} // namespace nn
} // namespace kiln::dsl
