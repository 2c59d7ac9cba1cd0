//===- Program.h - tracing functions into a kiln module ---------*- C++ -*-===//
//
// A Program owns one IR module. `program.function("f")` starts tracing a
// function: Tensor operations go into it until `finish()`. Inputs and outputs
// may be marked as model state (parameters, optimizer buffers): the compiler
// keeps state at fixed places in the arena, shared by every function.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_PROGRAM_H
#define KILN_DSL_PROGRAM_H

#include "kiln/dsl/Tensor.h"

#include <functional>
#include <memory>
#include <string>

namespace kiln::dsl {

namespace detail {
struct ProgramImpl;
struct FunctionImpl;
} // namespace detail

class Function {
public:
  /// A plain argument of the compiled function (a data batch, a scalar).
  Tensor input(Shape shape, DType dtype = DType::f32,
               Loc loc = Loc::current());
  /// An argument holding model state `name`, read in place from the arena.
  Tensor state_input(const std::string &name, Shape shape,
                     DType dtype = DType::f32, Loc loc = Loc::current());
  /// Appends a result (returned through an output pointer).
  void output(const Tensor &value, Loc loc = Loc::current());
  /// Stores `value` as the new model state `name`.
  void state_output(const std::string &name, const Tensor &value,
                    Loc loc = Loc::current());
  /// Stores `value` in the arena as observation `name` (see hooks.h): state
  /// the caller reads after a call, never saved in checkpoints.
  void observation_output(const std::string &name, const Tensor &value,
                          Loc loc = Loc::current());
  /// Ends tracing; verifies the function.
  void finish();

private:
  friend class Program;
  explicit Function(detail::FunctionImpl *impl) : impl(impl) {}
  detail::FunctionImpl *impl;
};

/// What a supervised model's targets are; decides the target's type in the
/// training step, the default loss and the trainer's test metric.
enum class Task {
  classification, ///< i32 class indices [batch]; test accuracy of the argmax
  regression,     ///< f32 values [batch, outputs]; test mean squared error
  binary,         ///< f32 0/1 labels [batch, outputs]; accuracy of logit > 0
};

/// The name in the IR and the docs: "classification", "regression", "binary".
const char *to_string(Task task);

/// Model facts the generated header and trainer need (kiln.model).
struct ModelInfo {
  std::string name;
  int64_t batch_size = 0;
  Shape input_shape; ///< one sample
  int64_t num_classes = 0; ///< outputs per sample
  double default_lr = 0.01;
  Task task = Task::classification;
};

class Program {
public:
  Program();
  ~Program();
  Program(Program &&) noexcept;
  Program &operator=(Program &&) noexcept;

  /// Starts tracing function `name`; it is active until Function::finish().
  Function function(const std::string &name);
  void set_model_info(const ModelInfo &info);

  /// The module as MLIR text.
  std::string str() const;
  /// The compiler-side module (an mlir::ModuleOp's opaque pointer) and its
  /// MLIRContext; see kiln/dsl/ProgramMLIR.h.
  detail::ProgramImpl &impl() const { return *impl_; }

private:
  std::unique_ptr<detail::ProgramImpl> impl_;
};

/// Marks a region of library code (a module's forward, a loss): ops traced
/// inside take the location of the outermost scope, i.e. the user's call.
class LocationScope {
public:
  explicit LocationScope(Loc loc);
  ~LocationScope();
  LocationScope(const LocationScope &) = delete;
  LocationScope &operator=(const LocationScope &) = delete;
};

/// Registers the program a generator executable compiles (see KILN_PROGRAM).
struct ProgramRegistration {
  ProgramRegistration(const char *name, Program (*build)());
};
/// The registered builder, or null.
Program (*registered_program())();

} // namespace kiln::dsl

/// Defines the program of a generator executable:
///   KILN_PROGRAM(mlp) { ... return program; }
#define KILN_PROGRAM(NAME)                                                     \
  static ::kiln::dsl::Program kiln_build_##NAME();                             \
  static ::kiln::dsl::ProgramRegistration kiln_registration_##NAME(            \
      #NAME, kiln_build_##NAME);                                               \
  static ::kiln::dsl::Program kiln_build_##NAME()

#endif // KILN_DSL_PROGRAM_H
