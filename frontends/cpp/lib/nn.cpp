//===- nn.cpp - modules, Linear and losses --------------------------------===//

#include "kiln/dsl/nn.h"

#include "kiln/dsl/Program.h"
#include "kiln/dsl/losses.h"

#include <cmath>

namespace kiln::dsl::nn {

Tensor Parameter::value() const {
  if (!bound_.defined())
    throw Error("a parameter of shape " + to_string(shape_) +
                " is used outside a traced model function (it is bound only "
                "while build_classifier or Module code traces a function)");
  return bound_;
}

void Module::register_parameter(const std::string &name,
                                Parameter &parameter) {
  parameters_.push_back({name, &parameter});
}

void Module::register_buffer(const std::string &name, Parameter &buffer) {
  buffer.requires_grad_(false);
  buffers_.push_back({name, &buffer});
}

void Module::register_module(const std::string &name, Module &module) {
  children_.push_back({name, &module});
}

std::vector<std::pair<std::string, Parameter *>> Module::named_parameters() {
  std::vector<std::pair<std::string, Parameter *>> all(parameters_);
  for (auto &[childName, child] : children_)
    for (auto &[name, parameter] : child->named_parameters())
      all.push_back({childName + "." + name, parameter});
  return all;
}

std::vector<std::pair<std::string, Parameter *>> Module::named_buffers() {
  std::vector<std::pair<std::string, Parameter *>> all(buffers_);
  for (auto &[childName, child] : children_)
    for (auto &[name, buffer] : child->named_buffers())
      all.push_back({childName + "." + name, buffer});
  return all;
}

std::vector<std::pair<std::string, Module *>> Module::named_modules() {
  std::vector<std::pair<std::string, Module *>> all{{"", this}};
  for (auto &[childName, child] : children_)
    for (auto &[name, module] : child->named_modules())
      all.push_back({name.empty() ? childName : childName + "." + name, module});
  return all;
}

std::vector<Parameter *> Module::parameters() {
  std::vector<Parameter *> all;
  for (auto &entry : named_parameters())
    all.push_back(entry.second);
  return all;
}

void Module::requires_grad_(bool value) {
  for (Parameter *parameter : parameters())
    parameter->requires_grad_(value);
}

void Module::train(bool mode) {
  training_ = mode;
  for (auto &entry : children_)
    entry.second->train(mode);
}

static Init linearInit(int64_t inFeatures) {
  double bound = 1.0 / std::sqrt(static_cast<double>(inFeatures));
  return Init::uniform(-bound, bound);
}

Linear::Linear(int64_t in_features, int64_t out_features, bool bias)
    : weight({out_features, in_features}, linearInit(in_features)),
      bias({out_features}, linearInit(in_features)), has_bias_(bias) {
  register_parameter("weight", weight);
  if (has_bias_)
    register_parameter("bias", this->bias);
}

Tensor Linear::operator()(const Tensor &x, Loc loc) const {
  LocationScope scope(loc);
  const Shape &w = weight.shape();
  if (x.rank() < 1 || x.size(-1) != w[1])
    raise_error(loc, "Linear(" + std::to_string(w[1]) + ", " +
                         std::to_string(w[0]) + "): input shape " +
                         to_string(x.shape()) +
                         " does not match weight shape " + to_string(w) +
                         " (the input's last dimension must be " +
                         std::to_string(w[1]) + ")");
  Tensor flat = x.rank() == 2 ? x : reshape(x, {-1, w[1]});
  Tensor y = matmul(flat, weight.value().t());
  if (has_bias_)
    y = y + bias.value();
  if (x.rank() == 2)
    return y;
  Shape outShape(x.shape().begin(), x.shape().end() - 1);
  outShape.push_back(w[0]);
  return reshape(y, outShape);
}

Tensor cross_entropy(const Tensor &logits, const Tensor &labels, Loc loc) {
  LocationScope scope(loc);
  if (logits.rank() != 2 || labels.rank() != 1 ||
      labels.size(0) != logits.size(0))
    raise_error(loc, "cross_entropy expects logits [N, C] and labels [N], "
                     "got logits " + to_string(logits.shape()) +
                     " and labels " + to_string(labels.shape()));
  // -1/N sum_n log p(y_n | x_n), as losses.h computes it (a -inf logit of
  // another class does not make it NaN).
  return cross_entropy(logits, labels, Reduction::Mean, 0.0, loc);
}

Tensor mse_loss(const Tensor &input, const Tensor &target, Loc loc) {
  // The shape check matters: [N, 1] against [N] would broadcast to [N, N].
  return mse_loss(input, target, Reduction::Mean, loc);
}

} // namespace kiln::dsl::nn
