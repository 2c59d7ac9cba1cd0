//===- optim.cpp - optimizer updates traced into the step -----------------===//
//
// The formulas are torch/optim/{sgd,adam,adamw,rmsprop}.py (1.13,
// _single_tensor_*) and torch/nn/utils/clip_grad.py, operation for
// operation; constants such as 1 - beta1 are computed in double and become
// constants of the parameter's type.
//
//===----------------------------------------------------------------------===//

#include "kiln/dsl/optim.h"

#include "kiln/dsl/Autodiff.h"
#include "kiln/dsl/Program.h"
#include "kiln/dsl/functional.h"

#include <cmath>
#include <optional>
#include <sstream>

namespace kiln::dsl::optim {

namespace {
/// PyTorch's constructor checks ("Invalid learning rate: -0.1"), raised
/// while tracing instead of training silently with a bad setting.
void check(bool valid, const char *optimizer, const char *what, double value) {
  if (!valid)
    throw Error(std::string(optimizer) + ": invalid " + what + ": " +
                (std::ostringstream() << value).str() +
                " (PyTorch rejects it too)");
}

void checkCommon(const char *optimizer, double lr, double weight_decay) {
  check(lr >= 0.0, optimizer, "learning rate", lr);
  check(weight_decay >= 0.0, optimizer, "weight_decay value", weight_decay);
}

void checkAdam(const char *optimizer, double lr,
               std::pair<double, double> betas, double eps,
               double weight_decay) {
  checkCommon(optimizer, lr, weight_decay);
  check(eps >= 0.0, optimizer, "epsilon value", eps);
  check(betas.first >= 0.0 && betas.first < 1.0, optimizer,
        "beta parameter at index 0", betas.first);
  check(betas.second >= 0.0 && betas.second < 1.0, optimizer,
        "beta parameter at index 1", betas.second);
}
} // namespace

//===----------------------------------------------------------------------===//
// SGD
//===----------------------------------------------------------------------===//

std::vector<std::string> SGD::state_names() const {
  if (momentum == 0.0)
    return {};
  return {"momentum_buffer"};
}

Tensor SGD::step(const Tensor &param, const Tensor &grad, const Tensor &lr,
                 std::vector<Tensor> &state) const {
  checkCommon("SGD", this->lr, weight_decay);
  check(momentum >= 0.0, "SGD", "momentum value", momentum);
  if (nesterov && momentum <= 0.0)
    throw Error("SGD: nesterov momentum requires momentum > 0 (as in PyTorch)");
  Tensor g = grad;
  if (weight_decay != 0.0)
    g = g + weight_decay * param;
  if (momentum != 0.0) {
    // A zero-initialized buffer makes the first step buf = g, as in PyTorch.
    Tensor buf = momentum * state[0] + g;
    state[0] = buf;
    g = nesterov ? g + momentum * buf : buf;
  }
  return param - lr * g;
}

//===----------------------------------------------------------------------===//
// Adam, AdamW
//===----------------------------------------------------------------------===//

namespace {
std::vector<std::string> adamStateNames(bool amsgrad) {
  std::vector<std::string> names = {"step", "exp_avg", "exp_avg_sq"};
  if (amsgrad)
    names.push_back("max_exp_avg_sq");
  names.push_back("bias_correction1");
  names.push_back("bias_correction2");
  return names;
}

/// The shared part of Adam and AdamW once weight decay is applied:
/// state = {step, exp_avg, exp_avg_sq, [max_exp_avg_sq,] bias_correction1,
/// bias_correction2}.
Tensor adamUpdate(const Tensor &param, const Tensor &g, const Tensor &lr,
                  std::pair<double, double> betas, double eps, bool amsgrad,
                  std::vector<Tensor> &state) {
  auto [beta1, beta2] = betas;
  size_t bc = amsgrad ? 4 : 3;
  state[0] = state[0] + 1.0; // step
  // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1), and likewise for v.
  Tensor m = state[1] * beta1 + g * (1.0 - beta1);
  Tensor v = state[2] * beta2 + (1.0 - beta2) * (g * g);
  state[1] = m;
  state[2] = v;
  // 1 - beta^t = beta (1 - beta^(t-1)) + (1 - beta): exact in float64, and
  // in f32 free of the cancellation in 1 - beta^t and of pow's polynomial
  // error (about 1e-6 near beta2^1 = 0.999, i.e. 1e-3 of 1 - beta2).
  Tensor biasCorrection1 = state[bc] * beta1 + (1.0 - beta1);
  Tensor biasCorrection2 = state[bc + 1] * beta2 + (1.0 - beta2);
  state[bc] = biasCorrection1;
  state[bc + 1] = biasCorrection2;
  Tensor stepSize = lr / biasCorrection1;
  Tensor second = v;
  if (amsgrad) {
    second = maximum(state[3], v);
    state[3] = second;
  }
  Tensor denom = sqrt(second) / sqrt(biasCorrection2) + eps;
  // param.addcdiv_(exp_avg, denom, value=-step_size)
  return param - stepSize * (m / denom);
}
} // namespace

std::vector<std::string> Adam::state_names() const {
  return adamStateNames(amsgrad);
}

Tensor Adam::step(const Tensor &param, const Tensor &grad, const Tensor &lr,
                  std::vector<Tensor> &state) const {
  checkAdam("Adam", this->lr, betas, eps, weight_decay);
  Tensor g = grad;
  if (weight_decay != 0.0)
    g = g + weight_decay * param;
  return adamUpdate(param, g, lr, betas, eps, amsgrad, state);
}

std::vector<std::string> AdamW::state_names() const {
  return adamStateNames(amsgrad);
}

Tensor AdamW::step(const Tensor &param, const Tensor &grad, const Tensor &lr,
                   std::vector<Tensor> &state) const {
  checkAdam("AdamW", this->lr, betas, eps, weight_decay);
  Tensor p = param;
  if (weight_decay != 0.0)
    p = param * (1.0 - lr * weight_decay); // param.mul_(1 - lr * wd)
  return adamUpdate(p, grad, lr, betas, eps, amsgrad, state);
}

//===----------------------------------------------------------------------===//
// RMSprop
//===----------------------------------------------------------------------===//

std::vector<std::string> RMSprop::state_names() const {
  std::vector<std::string> names = {"square_avg"};
  if (momentum > 0.0)
    names.push_back("momentum_buffer");
  if (centered)
    names.push_back("grad_avg");
  return names;
}

Tensor RMSprop::step(const Tensor &param, const Tensor &grad, const Tensor &lr,
                     std::vector<Tensor> &state) const {
  checkCommon("RMSprop", this->lr, weight_decay);
  check(eps >= 0.0, "RMSprop", "epsilon value", eps);
  check(momentum >= 0.0, "RMSprop", "momentum value", momentum);
  check(alpha >= 0.0, "RMSprop", "alpha value", alpha);
  Tensor g = grad;
  if (weight_decay != 0.0)
    g = g + weight_decay * param;
  // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
  Tensor squareAvg = state[0] * alpha + (1.0 - alpha) * (g * g);
  state[0] = squareAvg;
  Tensor avg;
  if (centered) {
    size_t k = momentum > 0.0 ? 2 : 1;
    Tensor gradAvg = state[k] * alpha + g * (1.0 - alpha);
    state[k] = gradAvg;
    avg = sqrt(squareAvg - gradAvg * gradAvg);
  } else {
    avg = sqrt(squareAvg);
  }
  avg = avg + eps;
  if (momentum > 0.0) {
    Tensor buf = state[1] * momentum + g / avg;
    state[1] = buf;
    return param - lr * buf;
  }
  return param - lr * (g / avg);
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

double Optimizer::lr() const {
  return std::visit([](const auto &o) { return o.lr; }, impl_);
}

std::vector<std::string> Optimizer::state_names() const {
  return std::visit([](const auto &o) { return o.state_names(); }, impl_);
}

Shape Optimizer::state_shape(const std::string &name,
                             const Shape &param) const {
  if (name == "step" || name == "bias_correction1" ||
      name == "bias_correction2")
    return {};
  return param;
}

Optimizer Optimizer::with_weight_decay(double weight_decay) const {
  Optimizer copy = *this;
  std::visit([&](auto &o) { o.weight_decay = weight_decay; }, copy.impl_);
  return copy;
}

Tensor Optimizer::step(const Tensor &param, const Tensor &grad,
                       const Tensor &lr, std::vector<Tensor> &state) const {
  return std::visit(
      [&](const auto &o) { return o.step(param, grad, lr, state); }, impl_);
}

//===----------------------------------------------------------------------===//
// Gradient transforms
//===----------------------------------------------------------------------===//

namespace {
Shape allDims(const Tensor &t) {
  Shape dims(t.rank());
  for (int64_t d = 0; d < t.rank(); ++d)
    dims[d] = d;
  return dims;
}
} // namespace

std::vector<Tensor> clip_grad_value(const std::vector<Tensor> &grads,
                                    double clip_value, Loc loc) {
  LocationScope scope(loc);
  if (!(clip_value > 0.0))
    raise_error(loc, "clip_grad_value: clip_value must be positive, got " +
                         std::to_string(clip_value));
  std::vector<Tensor> clipped;
  for (const Tensor &g : grads)
    clipped.push_back(clamp(g, -clip_value, clip_value));
  return clipped;
}

std::vector<Tensor> clip_grad_norm(const std::vector<Tensor> &grads,
                                   double max_norm, double norm_type,
                                   Tensor *total_norm, Loc loc) {
  LocationScope scope(loc);
  if (!(max_norm > 0.0) || !(norm_type > 0.0))
    raise_error(loc, "clip_grad_norm: max_norm and norm_type must be "
                     "positive");
  if (grads.empty())
    return {};
  // total_norm = ||(||g_1||, ..., ||g_k||)||: for p < inf the same as the
  // p-norm of all elements together, which is what is computed here.
  Tensor total;
  for (const Tensor &g : grads) {
    Tensor part;
    if (std::isinf(norm_type))
      part = amax(abs(g), allDims(g));
    else if (norm_type == 2.0)
      part = (g * g).sum();
    else if (norm_type == 1.0)
      part = abs(g).sum();
    else
      part = pow(abs(g), norm_type).sum();
    total = !total.defined()        ? part
            : std::isinf(norm_type) ? maximum(total, part)
                                    : total + part;
  }
  if (norm_type == 2.0)
    total = sqrt(total);
  else if (!std::isinf(norm_type) && norm_type != 1.0)
    total = pow(total, 1.0 / norm_type);
  if (total_norm)
    *total_norm = total;
  // clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1.
  Tensor coefficient = clamp_max(max_norm / (total + 1e-6), 1.0);
  std::vector<Tensor> clipped;
  for (const Tensor &g : grads)
    clipped.push_back(g * coefficient);
  return clipped;
}

bool in_param_group(const std::string &prefix, const std::string &name) {
  if (name.compare(0, prefix.size(), prefix) != 0)
    return false;
  return name.size() == prefix.size() || prefix.empty() ||
         prefix.back() == '.' || name[prefix.size()] == '.';
}

namespace {
/// The value of the longest group of `groups` that holds `name`, if any.
std::optional<double>
groupValue(const std::vector<std::pair<std::string, double>> &groups,
           const std::string &name) {
  std::optional<double> value;
  size_t longest = 0;
  for (const auto &[prefix, v] : groups)
    if (in_param_group(prefix, name) && (!value || prefix.size() > longest)) {
      value = v;
      longest = prefix.size();
    }
  return value;
}

void checkGroups(const char *what, const char *valueName,
                 const std::vector<std::pair<std::string, double>> &groups,
                 const std::vector<std::string> &names) {
  for (const auto &[prefix, value] : groups) {
    if (!(value >= 0.0) || std::isinf(value))
      throw Error(std::string(what) + ": invalid " + valueName + " " +
                  std::to_string(value) + " for '" + prefix +
                  "' (it must be finite and non-negative)");
    bool any = false;
    for (const std::string &name : names)
      any = any || in_param_group(prefix, name);
    if (!any) {
      std::string list;
      for (const std::string &name : names)
        list += (list.empty() ? "" : ", ") + name;
      throw Error(std::string(what) + ": '" + prefix +
                  "' names no parameter (a group is a module path such as "
                  "'fc1' or a full parameter name; parameters: " +
                  list + ")");
    }
  }
}
} // namespace

double lr_factor(const UpdateOptions &options, const std::string &name) {
  return groupValue(options.lr_factors, name).value_or(1.0);
}

Optimizer optimizer_for(const Optimizer &optimizer,
                        const UpdateOptions &options,
                        const std::string &name) {
  std::optional<double> decay = groupValue(options.weight_decays, name);
  return decay ? optimizer.with_weight_decay(*decay) : optimizer;
}

void check_param_groups(const UpdateOptions &options,
                        const std::vector<std::string> &names) {
  checkGroups("lr_factors", "factor", options.lr_factors, names);
  checkGroups("weight_decays", "weight_decay", options.weight_decays, names);
}

std::vector<Tensor> gradients(const Tensor &loss,
                              const std::vector<Tensor> &params,
                              const UpdateOptions &options, Loc loc) {
  std::vector<Tensor> none;
  return gradients(loss, params, options, {}, none, loc);
}

std::vector<Tensor> scaled_gradients(const Tensor &loss,
                                     const std::vector<Tensor> &wrt,
                                     const UpdateOptions &options, Loc loc) {
  if (!(options.loss_scale > 0.0))
    raise_error(loc, "loss_scale must be positive, got " +
                         std::to_string(options.loss_scale));
  LocationScope scope(loc);
  return grad(options.loss_scale != 1.0 ? loss * options.loss_scale : loss,
              wrt);
}

std::vector<Tensor> unscale(std::vector<Tensor> grads,
                            const UpdateOptions &options, Loc loc) {
  if (options.loss_scale == 1.0)
    return grads;
  LocationScope scope(loc);
  for (Tensor &g : grads)
    g = g * (1.0 / options.loss_scale);
  return grads;
}

std::vector<Tensor> finish_gradients(std::vector<Tensor> grads,
                                     const UpdateOptions &options, Loc loc) {
  grads = unscale(std::move(grads), options, loc);
  if (options.clip_value != 0.0)
    grads = clip_grad_value(grads, options.clip_value, loc);
  if (options.max_norm != 0.0)
    grads = clip_grad_norm(grads, options.max_norm, options.norm_type, nullptr,
                           loc);
  return grads;
}

std::vector<Tensor> gradients(const Tensor &loss,
                              const std::vector<Tensor> &params,
                              const UpdateOptions &options,
                              const std::vector<Tensor> &observed,
                              std::vector<Tensor> &observed_grads, Loc loc) {
  // One kiln.vjp for both, so the backward ops are built once.
  std::vector<Tensor> wrt = params;
  wrt.insert(wrt.end(), observed.begin(), observed.end());
  std::vector<Tensor> grads = scaled_gradients(loss, wrt, options, loc);
  observed_grads = unscale(
      std::vector<Tensor>(grads.begin() + params.size(), grads.end()), options,
      loc);
  grads.resize(params.size());
  return finish_gradients(std::move(grads), options, loc);
}

} // namespace kiln::dsl::optim
