//===- nn.h - modules, parameters and losses --------------------*- C++ -*-===//
//
// PyTorch's torch.nn, traced: a Module tree with named parameters
// (`fc1.weight`), Linear, and the losses. Parameters are symbolic: while a
// function is traced each one is bound to that function's state input.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_NN_H
#define KILN_DSL_NN_H

#include "kiln/dsl/Tensor.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln::dsl::nn {

/// How a parameter is initialized by the compiled init function.
struct Init {
  enum Kind { Zeros, Constant, Uniform, Normal, Seed } kind = Zeros;
  double a = 0, b = 0; ///< Constant: a; Uniform: [a, b); Normal: mean a, std b
  static Init zeros() { return {Zeros}; }
  static Init constant(double v) { return {Constant, v}; }
  static Init uniform(double low, double high) { return {Uniform, low, high}; }
  static Init normal(double mean, double std) { return {Normal, mean, std}; }
  /// The init function's seed itself: a 0-d i64 buffer such as dropout's
  /// RNG counter, so that each seed gives its own random stream.
  static Init seed() { return {Seed}; }
};

class Parameter {
public:
  Parameter(Shape shape, Init init, DType dtype = DType::f32)
      : shape_(std::move(shape)), init_(init), dtype_(dtype) {}

  const Shape &shape() const { return shape_; }
  const Init &init() const { return init_; }
  DType dtype() const { return dtype_; }
  /// Changes how init draws the parameter (see kiln/dsl/init.h).
  void set_init(const Init &init) { init_ = init; }
  bool requires_grad() const { return trainable_; }
  /// Freezes (false) or unfreezes the parameter: a frozen parameter gets
  /// no gradient and no update, and no backward op is generated for it.
  void requires_grad_(bool value) { trainable_ = value; }

  /// The parameter's value in the function being traced.
  Tensor value() const;
  operator Tensor() const { return value(); }
  /// Binds the parameter to `value` in the function being traced, under its
  /// state name (`fc1.weight`), which also keys per-buffer random streams.
  void bind(const Tensor &value, const std::string &state_name = "") {
    bound_ = value;
    state_name_ = state_name;
  }
  const std::string &state_name() const { return state_name_; }
  void unbind() {
    bound_ = Tensor();
    update_ = Tensor();
  }

  /// Buffers only: the value the training step being traced stores as this
  /// buffer's new state (batch norm's running statistics). Set by a module's
  /// forward in training mode; cleared by unbind().
  void set_update(const Tensor &value) const { update_ = value; }
  const Tensor &update() const { return update_; }

private:
  Shape shape_;
  Init init_;
  DType dtype_ = DType::f32;
  std::string state_name_;
  bool trainable_ = true;
  Tensor bound_;
  mutable Tensor update_;
};

class Module {
public:
  virtual ~Module() = default;

  /// Parameters of this module and its submodules, in registration order,
  /// with dotted names as in PyTorch's state_dict (`fc1.weight`).
  std::vector<std::pair<std::string, Parameter *>> named_parameters();
  std::vector<Parameter *> parameters();
  /// Non-trainable state of the module tree (PyTorch's named_buffers):
  /// batch norm's running statistics, dropout's RNG counter. Every traced
  /// function reads them; the training step stores the values a module's
  /// forward set with Parameter::set_update; nothing differentiates them.
  std::vector<std::pair<std::string, Parameter *>> named_buffers();
  /// The module tree in pre-order, this module first under the name ""
  /// (PyTorch's named_modules): `backbone`, `backbone.fc`, ...
  std::vector<std::pair<std::string, Module *>> named_modules();
  /// Freezes or unfreezes every parameter of the module tree.
  void requires_grad_(bool value);
  /// Training or evaluation mode for the whole module tree (dropout, batch
  /// norm); the traced code depends on the mode at trace time. Calling
  /// eval() on a submodule afterwards keeps just that subtree in eval mode.
  void train(bool mode = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

protected:
  void register_parameter(const std::string &name, Parameter &parameter);
  /// Registers `buffer` as state that is not a parameter (requires_grad off).
  void register_buffer(const std::string &name, Parameter &buffer);
  void register_module(const std::string &name, Module &module);

private:
  std::vector<std::pair<std::string, Parameter *>> parameters_;
  std::vector<std::pair<std::string, Parameter *>> buffers_;
  std::vector<std::pair<std::string, Module *>> children_;
  bool training_ = true;
};

/// y = x W^T + b, with PyTorch's weight layout [out, in] and init
/// U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
class Linear : public Module {
public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor operator()(const Tensor &x, Loc loc = Loc::current()) const;

  Parameter weight, bias;

private:
  bool has_bias_;
};

/// Mean cross-entropy of logits [N, C] against integer labels [N].
Tensor cross_entropy(const Tensor &logits, const Tensor &labels,
                     Loc loc = Loc::current());
/// Mean squared error.
Tensor mse_loss(const Tensor &input, const Tensor &target,
                Loc loc = Loc::current());

} // namespace kiln::dsl::nn

#endif // KILN_DSL_NN_H
