//===- layers.h - convolution, pooling, normalization, dropout --*- C++ -*-===//
//
// torch.nn.functional's convolution and pooling on NCHW tensors, and the
// torch.nn layers built on them, traced:
//
//   struct LeNet : nn::Module {
//     nn::Conv2d conv1{1, 6, 5, 1, 2}, conv2{6, 16, 5};
//     nn::MaxPool2d pool{2};
//     ...
//     Tensor forward(const Tensor &x) const {
//       Tensor h = pool(relu(conv1(x)));          // [N, 6, 14, 14]
//       ...
//
// Primitives (one kiln op each): conv2d, max_pool2d, rsqrt, increment.
// avg_pool2d is a depthwise conv2d with a constant 1/(kh*kw) kernel, batch
// and layer norm are mean/variance/rsqrt composites, dropout multiplies by
// a random_uniform mask: they differentiate through their primitives.
//
// Layers with state that is not trained keep it in module buffers
// (Module::register_buffer): batch norm's running statistics and
// num_batches_tracked, dropout's RNG counter. build_classifier traces the
// training step in training mode, which stores their new values, and
// predict in evaluation mode.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_LAYERS_H
#define KILN_DSL_LAYERS_H

#include "kiln/dsl/Tensor.h"
#include "kiln/dsl/nn.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::dsl {

/// A (height, width) pair; one integer means both, as in PyTorch.
struct Size2 {
  int64_t h = 0, w = 0;
  Size2(int64_t both) : h(both), w(both) {}
  Size2(int64_t h, int64_t w) : h(h), w(w) {}
};

/// The tag of padding="same" (stride 1; the output keeps the input's size).
struct SamePadding {};
inline constexpr SamePadding same{};

/// A convolution's zero padding: (height, width), one integer, or `same`.
struct Padding2d {
  int64_t h = 0, w = 0;
  bool same = false;
  Padding2d(int64_t both) : h(both), w(both) {}
  Padding2d(int64_t h, int64_t w) : h(h), w(w) {}
  Padding2d(SamePadding) : same(true) {}
};

//===----------------------------------------------------------------------===//
// Functional
//===----------------------------------------------------------------------===//

/// torch.nn.functional.conv2d: input [N, C, H, W], weight [O, C/groups, KH,
/// KW] -> [N, O, OH, OW] (cross-correlation, zero padding).
Tensor conv2d(const Tensor &input, const Tensor &weight, Size2 stride = 1,
              Padding2d padding = 0, Size2 dilation = 1, int64_t groups = 1,
              Loc loc = Loc::current());
/// The same plus a bias [O].
Tensor conv2d(const Tensor &input, const Tensor &weight, const Tensor &bias,
              Size2 stride = 1, Padding2d padding = 0, Size2 dilation = 1,
              int64_t groups = 1, Loc loc = Loc::current());

/// torch.nn.functional.max_pool2d (floor mode): the stride defaults to the
/// kernel; padding counts as -inf and is at most half the kernel. The
/// gradient goes to the first maximum of each window.
Tensor max_pool2d(const Tensor &input, Size2 kernel,
                  std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, Size2 dilation = 1,
                  Loc loc = Loc::current());

/// torch.nn.functional.avg_pool2d with count_include_pad=True (PyTorch's
/// default): every window sum is divided by kh * kw, padding included.
Tensor avg_pool2d(const Tensor &input, Size2 kernel,
                  std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, Loc loc = Loc::current());

/// torch.rsqrt: 1 / sqrt(x).
Tensor rsqrt(const Tensor &x, Loc loc = Loc::current());

/// x + 1 on an integer tensor (counters kept as state).
Tensor increment(const Tensor &x, Loc loc = Loc::current());

/// Inverted dropout with a counter-based mask: each element is kept with
/// probability 1 - p (mask from random_uniform(seed, stream)) and scaled by
/// 1 / (1 - p); identity when `training` is false or p is 0.
Tensor dropout(const Tensor &x, double p, const Tensor &seed, int64_t stream,
               bool training = true, Loc loc = Loc::current());

/// torch.nn.functional.layer_norm over the last normalized_shape.size()
/// dims (biased variance); weight and bias, if given, have that shape.
Tensor layer_norm(const Tensor &x, const Shape &normalized_shape,
                  const Tensor *weight = nullptr, const Tensor *bias = nullptr,
                  double eps = 1e-5, Loc loc = Loc::current());

namespace nn {

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

/// torch.nn.Conv2d. weight [out, in/groups, kh, kw] and bias [out] start
/// from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * kh * kw
/// (PyTorch's kaiming_uniform(a=sqrt(5)) and bias init).
class Conv2d : public Module {
public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size,
         Size2 stride = 1, Padding2d padding = 0, Size2 dilation = 1,
         int64_t groups = 1, bool bias = true, Loc loc = Loc::current());
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;

  Parameter weight, bias;

private:
  int64_t in_channels_, out_channels_, groups_;
  Size2 kernel_, stride_, padding_, dilation_;
  bool has_bias_;
};

/// torch.nn.MaxPool2d.
class MaxPool2d : public Module {
public:
  MaxPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
            Size2 padding = 0, Size2 dilation = 1);
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;

private:
  Size2 kernel_, padding_, dilation_;
  std::optional<Size2> stride_;
};

/// torch.nn.AvgPool2d (count_include_pad=True).
class AvgPool2d : public Module {
public:
  AvgPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
            Size2 padding = 0);
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;

private:
  Size2 kernel_, padding_;
  std::optional<Size2> stride_;
};

/// torch.nn.Flatten: dims start_dim..end_dim into one; unlike the function
/// flatten, the batch dimension stays by default (start_dim 1).
class Flatten : public Module {
public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;

private:
  int64_t start_dim_, end_dim_;
};

/// torch.nn.ReLU.
class ReLU : public Module {
public:
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;
};

/// torch.nn.Dropout(p). In training mode each element is zeroed with
/// probability p and the rest scaled by 1/(1-p); in eval mode it is the
/// identity. The mask of a step is random_uniform(rng_state, stream): the
/// buffer `rng_state` (0-d i64) starts at the init seed and the training
/// step stores rng_state + 1, so every step draws a new mask, reproducibly
/// for a given seed. Each Dropout instance has its own stream.
class Dropout : public Module {
public:
  explicit Dropout(double p = 0.5, Loc loc = Loc::current());
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;
  double p() const { return p_; }

  Parameter rng_state;

private:
  double p_;
  mutable int64_t calls_ = 0;
};

/// torch.nn.BatchNorm2d ([N, C, H, W]) and BatchNorm1d ([N, C] or
/// [N, C, L]). Training: normalize with the batch mean and biased variance,
/// and store running_mean/var = (1 - momentum) * running + momentum * batch
/// statistic (unbiased variance) and num_batches_tracked + 1. Eval: the
/// running statistics. weight starts at 1, bias at 0 (affine); the running
/// statistics at 0 and 1. (momentum=None, the cumulative average, is not
/// supported.)
class BatchNorm : public Module {
public:
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;

  Parameter weight, bias;                 // [C], if affine
  Parameter running_mean, running_var;    // [C] buffers
  Parameter num_batches_tracked;          // 0-d i64 buffer

protected:
  BatchNorm(int64_t num_features, double eps, double momentum, bool affine,
            bool track_running_stats, int64_t spatialDims);

private:
  int64_t num_features_, spatial_dims_;
  double eps_, momentum_;
  bool affine_, track_;
};

class BatchNorm2d : public BatchNorm {
public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5,
                       double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm(num_features, eps, momentum, affine, track_running_stats,
                  2) {}
};

class BatchNorm1d : public BatchNorm {
public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5,
                       double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm(num_features, eps, momentum, affine, track_running_stats,
                  -1) {}
};

/// torch.nn.LayerNorm: weight (1) and bias (0) of normalized_shape.
class LayerNorm : public Module {
public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5,
                     bool elementwise_affine = true);
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;

  Parameter weight, bias;

private:
  Shape normalized_shape_;
  double eps_;
  bool affine_;
};

/// torch.nn.Embedding: weight [num_embeddings, embedding_dim] from N(0, 1);
/// integer indices [...] -> [..., embedding_dim].
class Embedding : public Module {
public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  Tensor operator()(const Tensor &indices, Loc loc = Loc::current()) const;

  Parameter weight;
};

/// torch.nn.Sequential: applies its modules in order. Modules are built in
/// place (they hold pointers to their own parameters, so they cannot be
/// moved in): `seq.add<nn::Conv2d>(1, 6, 5)`; names are "0", "1", ... as in
/// PyTorch, or given with add_named.
class Sequential : public Module {
public:
  template <typename M, typename... Args> M &add(Args &&...args) {
    return add_named<M>(std::to_string(steps_.size()),
                        std::forward<Args>(args)...);
  }
  template <typename M, typename... Args>
  M &add_named(const std::string &name, Args &&...args) {
    auto module = std::make_unique<M>(std::forward<Args>(args)...);
    M &ref = *module;
    register_module(name, ref);
    steps_.push_back([&ref](const Tensor &x) { return ref(x); });
    owned_.push_back(std::move(module));
    return ref;
  }
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;
  size_t size() const { return steps_.size(); }

private:
  std::vector<std::unique_ptr<Module>> owned_;
  std::vector<std::function<Tensor(const Tensor &)>> steps_;
};

} // namespace nn
} // namespace kiln::dsl

#endif // KILN_DSL_LAYERS_H
