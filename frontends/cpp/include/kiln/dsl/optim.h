//===- optim.h - optimizers compiled into the training step -----*- C++ -*-===//
//
// Each optimizer traces PyTorch's update formula (torch.optim, 1.13,
// single-tensor path) into the step. Its per-parameter buffers are model
// state named `<param>.<buffer>` with PyTorch's buffer names
// (`fc1.weight.exp_avg`); Adam's and AdamW's step count is a per-parameter
// scalar buffer `<param>.step` as in PyTorch's state_dict. Every buffer
// starts at zero (so the checkpoint code sees them all as optimizer
// buffers). The learning rate is a runtime input of the step: `lr`
// here is only the trainer's default, so schedules need no recompilation
// (runtime/include/kiln/runtime/lr_schedule.h).
//
// UpdateOptions adds what torch does around optimizer.step(): a fixed
// loss scale (GradScaler without inf/NaN skipping), clip_grad_value_,
// clip_grad_norm_, and per-parameter-group learning-rate factors and
// weight decays.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_OPTIM_H
#define KILN_DSL_OPTIM_H

#include "kiln/dsl/Tensor.h"

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kiln::dsl::optim {

/// torch.optim.SGD: buf = momentum * buf + (g + weight_decay * p);
/// p -= lr * (nesterov ? g + momentum * buf : buf).
struct SGD {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  /// Names of the per-parameter state buffers (PyTorch's names).
  std::vector<std::string> state_names() const;
  /// Traces one update; `state` holds this parameter's buffers in
  /// state_names() order and is replaced by the new buffers.
  Tensor step(const Tensor &param, const Tensor &grad, const Tensor &lr,
              std::vector<Tensor> &state) const;
};

/// torch.optim.Adam: t += 1; g += weight_decay * p;
/// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// (amsgrad: v replaced by the running maximum of v in the denominator).
/// Buffers: step (a scalar count, exact in f32 up to 2^24 steps), exp_avg,
/// exp_avg_sq[, max_exp_avg_sq] as in PyTorch, and the scalars
/// bias_correction1/2 = 1 - b^t, kept by the recurrence
/// c = b c + (1 - b) so that f32 code needs no pow.
struct Adam {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;

  std::vector<std::string> state_names() const;
  Tensor step(const Tensor &param, const Tensor &grad, const Tensor &lr,
              std::vector<Tensor> &state) const;
};

/// torch.optim.AdamW: p *= 1 - lr * weight_decay (decoupled), then Adam's
/// update without weight decay in the gradient.
struct AdamW {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;

  std::vector<std::string> state_names() const;
  Tensor step(const Tensor &param, const Tensor &grad, const Tensor &lr,
              std::vector<Tensor> &state) const;
};

/// torch.optim.RMSprop: g += weight_decay * p;
/// sq = alpha sq + (1 - alpha) g^2; avg = sqrt(sq [- ga^2 if centered,
/// ga = alpha ga + (1 - alpha) g]) + eps;
/// momentum > 0: buf = momentum buf + g / avg, p -= lr buf;
/// else p -= lr g / avg.
/// Buffers: square_avg[, momentum_buffer][, grad_avg] (PyTorch's step
/// counter is not used by the formula and is not kept).
struct RMSprop {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;

  std::vector<std::string> state_names() const;
  Tensor step(const Tensor &param, const Tensor &grad, const Tensor &lr,
              std::vector<Tensor> &state) const;
};

/// Any of the optimizers above, as ClassifierOptions holds it:
///   options.optimizer = optim::Adam{.lr = 3e-4};
class Optimizer {
public:
  Optimizer() = default;
  Optimizer(SGD sgd) : impl_(sgd) {}
  Optimizer(Adam adam) : impl_(adam) {}
  Optimizer(AdamW adamw) : impl_(adamw) {}
  Optimizer(RMSprop rmsprop) : impl_(rmsprop) {}

  /// The trainer's default learning rate.
  double lr() const;
  /// Names of the per-parameter buffers, in step()'s `state` order.
  std::vector<std::string> state_names() const;
  /// Shape of buffer `name` of a parameter of shape `param`: [] for the
  /// scalars (step, bias_correction1/2), the parameter's shape otherwise.
  Shape state_shape(const std::string &name, const Shape &param) const;
  /// The same optimizer with another weight decay (a parameter group's).
  Optimizer with_weight_decay(double weight_decay) const;
  /// Traces one update of `param` (see the optimizers' step()).
  Tensor step(const Tensor &param, const Tensor &grad, const Tensor &lr,
              std::vector<Tensor> &state) const;

  /// The optimizer if it is a T, else null.
  template <typename T> const T *get_if() const {
    return std::get_if<T>(&impl_);
  }

private:
  std::variant<SGD, Adam, AdamW, RMSprop> impl_;
};

/// What happens between the backward pass and the updates, in this order:
/// the loss is multiplied by `loss_scale` before differentiation and the
/// gradients divided by it after; each gradient element is clamped to
/// [-clip_value, clip_value] (torch.nn.utils.clip_grad_value_); all
/// gradients are scaled by min(1, max_norm / (total_norm + 1e-6)), with
/// total_norm the norm_type-norm of all gradients together
/// (torch.nn.utils.clip_grad_norm_). 0 turns a clip off.
struct UpdateOptions {
  double loss_scale = 1.0;
  double clip_value = 0.0;
  double max_norm = 0.0;
  /// p of the gradient norm; INFINITY for the largest magnitude.
  double norm_type = 2.0;
  /// Learning-rate factors of parameter groups: the parameters under a
  /// module path or with a full name use lr * factor: "backbone" (or
  /// "backbone.") holds backbone.fc.weight but not backbone2.weight. The
  /// longest matching group wins; no match: factor 1. E.g.
  /// {{"backbone", 0.1}, {"backbone.fc.bias", 0.5}}.
  std::vector<std::pair<std::string, double>> lr_factors;
  /// Weight decay of parameter groups (groups as in lr_factors): the
  /// parameters of a group use this weight decay instead of the
  /// optimizer's, as a PyTorch parameter group's `weight_decay` would; the
  /// longest matching group wins. E.g. {{"fc1.bias", 0.0}} exempts a bias.
  std::vector<std::pair<std::string, double>> weight_decays;
};

/// torch.nn.utils.clip_grad_value_, functional: each gradient clamped.
std::vector<Tensor> clip_grad_value(const std::vector<Tensor> &grads,
                                    double clip_value,
                                    Loc loc = Loc::current());
/// torch.nn.utils.clip_grad_norm_, functional: the gradients scaled by
/// min(1, max_norm / (total_norm + 1e-6)). `total_norm`, if given,
/// receives the norm before clipping (what torch returns).
std::vector<Tensor> clip_grad_norm(const std::vector<Tensor> &grads,
                                   double max_norm, double norm_type = 2.0,
                                   Tensor *total_norm = nullptr,
                                   Loc loc = Loc::current());
/// Whether parameter `name` is in the group `prefix` (of lr_factors or
/// weight_decays): equal, or under that module path (the next character is
/// a dot).
bool in_param_group(const std::string &prefix, const std::string &name);
/// The learning-rate factor of parameter `name` under `options`.
double lr_factor(const UpdateOptions &options, const std::string &name);
/// The optimizer that updates parameter `name`: `optimizer`, with the
/// weight decay of the parameter's group in `options.weight_decays`.
Optimizer optimizer_for(const Optimizer &optimizer,
                        const UpdateOptions &options, const std::string &name);
/// Throws kiln::dsl::Error for a group of lr_factors or weight_decays that
/// names none of `names` (a typo would otherwise change nothing) or a
/// negative or non-finite value.
void check_param_groups(const UpdateOptions &options,
                        const std::vector<std::string> &names);
/// Gradients of `loss` with respect to `params` after loss scaling,
/// unscaling and clipping as `options` says. With `observed` values (see
/// hooks.h), `observed_grads` receives d loss / d observed from the same
/// backward pass: unscaled and never clipped.
std::vector<Tensor> gradients(const Tensor &loss,
                              const std::vector<Tensor> &params,
                              const UpdateOptions &options,
                              Loc loc = Loc::current());
std::vector<Tensor> gradients(const Tensor &loss,
                              const std::vector<Tensor> &params,
                              const UpdateOptions &options,
                              const std::vector<Tensor> &observed,
                              std::vector<Tensor> &observed_grads,
                              Loc loc = Loc::current());
/// gradients() in parts, for gradients summed over micro-batches: the
/// gradients of loss * loss_scale (check: loss_scale > 0), ...
std::vector<Tensor> scaled_gradients(const Tensor &loss,
                                     const std::vector<Tensor> &wrt,
                                     const UpdateOptions &options,
                                     Loc loc = Loc::current());
/// ... those divided by loss_scale again, ...
std::vector<Tensor> unscale(std::vector<Tensor> grads,
                            const UpdateOptions &options,
                            Loc loc = Loc::current());
/// ... and unscaled, then clipped as `options` says.
std::vector<Tensor> finish_gradients(std::vector<Tensor> grads,
                                     const UpdateOptions &options,
                                     Loc loc = Loc::current());

} // namespace kiln::dsl::optim

#endif // KILN_DSL_OPTIM_H
