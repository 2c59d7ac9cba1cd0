//===- Tensor.h - traced tensors of the kiln C++ DSL ------------*- C++ -*-===//
//
// A Tensor is a symbolic value in the function being traced: every operation
// on it appends one kiln op to the IR, tagged with the caller's file:line, and
// checks shapes immediately, so a mismatch is reported at the user's line
// (as a kiln::dsl::Error) instead of deep inside the compiler.
//
// No MLIR header is included here: models compile quickly and stay plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DSL_TENSOR_H
#define KILN_DSL_TENSOR_H

#include <cstdint>
#include <initializer_list>
#include <source_location>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::dsl {

using Shape = std::vector<int64_t>;
using Loc = std::source_location;

enum class DType { f32, f64, i32, i64 };

/// Thrown for any user error found while tracing; the message starts with
/// the user's `file:line:col: error:`.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Throws an Error "file:line:col: error: message" at the user's location
/// (the outermost LocationScope, else `loc`).
[[noreturn]] void raise_error(Loc loc, const std::string &message);

class Tensor {
public:
  Tensor() = default;

  const Shape &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  /// Size of dimension `d`; negative `d` counts from the end.
  int64_t size(int64_t d) const;
  int64_t numel() const;
  DType dtype() const { return dtype_; }
  bool defined() const { return value_ != nullptr; }

  // PyTorch-style methods; each records the caller's location.
  Tensor view(Shape shape, Loc loc = Loc::current()) const;
  Tensor reshape(Shape shape, Loc loc = Loc::current()) const;
  /// x.flatten(1) keeps the batch dimension; see kiln::dsl::flatten.
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1,
                 Loc loc = Loc::current()) const;
  Tensor t(Loc loc = Loc::current()) const;
  Tensor sum(Loc loc = Loc::current()) const;
  Tensor mean(Loc loc = Loc::current()) const;
  Tensor detach(Loc loc = Loc::current()) const;
  /// torch.Tensor.to(dtype): this tensor converted (itself if already of
  /// that type); see kiln::dsl::to.
  Tensor to(DType dtype, Loc loc = Loc::current()) const;

  /// Opaque handle of the underlying IR value (for the tracer).
  void *value() const { return value_; }
  static Tensor fromValue(void *value, Shape shape, DType dtype);

private:
  void *value_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::f32;
};

/// An operand of an overloaded operator. Converting a Tensor to it records
/// the location of the expression, which an operator cannot take as a
/// default argument.
struct Operand {
  Operand(const Tensor &tensor, Loc loc = Loc::current())
      : tensor(tensor), loc(loc) {}
  Tensor tensor;
  Loc loc;
};

Tensor operator+(Operand a, const Tensor &b);
Tensor operator-(Operand a, const Tensor &b);
Tensor operator*(Operand a, const Tensor &b);
Tensor operator/(Operand a, const Tensor &b);
// Type promotion as in PyTorch: mixed tensor operands convert to the
// promoted type (a float beats an integer, the wider type wins); a C++
// double is a float operand (int tensor * 0.5 is f32), a C++ int keeps the
// tensor's type. Division is true division: integers divide as f32.
Tensor operator+(Operand a, double b);
Tensor operator-(Operand a, double b);
Tensor operator*(Operand a, double b);
Tensor operator/(Operand a, double b);
Tensor operator+(double a, Operand b);
Tensor operator-(double a, Operand b);
Tensor operator*(double a, Operand b);
Tensor operator/(double a, Operand b);
Tensor operator+(Operand a, int b);
Tensor operator-(Operand a, int b);
Tensor operator*(Operand a, int b);
Tensor operator/(Operand a, int b);
Tensor operator+(int a, Operand b);
Tensor operator-(int a, Operand b);
Tensor operator*(int a, Operand b);
Tensor operator/(int a, Operand b);
Tensor operator-(Operand a);

/// torch.Tensor.to(dtype): float to float rounds, int to float converts,
/// float to int truncates toward zero, int to int wraps. Differentiable
/// between float types; no gradient flows through an integer.
Tensor to(const Tensor &x, DType dtype, Loc loc = Loc::current());

// Elementwise and shape ops (NumPy broadcasting for binary ops).
Tensor add(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor sub(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor mul(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor div(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor neg(const Tensor &x, Loc loc = Loc::current());
Tensor exp(const Tensor &x, Loc loc = Loc::current());
Tensor log(const Tensor &x, Loc loc = Loc::current());
Tensor relu(const Tensor &x, Loc loc = Loc::current());
Tensor matmul(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
/// Result dimension i is input dimension perm[i].
Tensor permute(const Tensor &x, Shape perm, Loc loc = Loc::current());
/// Swaps two dimensions (negative indices count from the end).
Tensor transpose(const Tensor &x, int64_t dim0, int64_t dim1,
                 Loc loc = Loc::current());
/// Reshape; one entry may be -1 and is inferred.
Tensor reshape(const Tensor &x, Shape shape, Loc loc = Loc::current());
/// Flattens dimensions start_dim..end_dim (inclusive, negative counting from
/// the end) into one, as torch.flatten: by default everything. Keep the
/// batch dimension with flatten(x, 1), as PyTorch models write it.
Tensor flatten(const Tensor &x, int64_t start_dim = 0, int64_t end_dim = -1,
               Loc loc = Loc::current());
Tensor broadcast_to(const Tensor &x, Shape shape, Loc loc = Loc::current());
Tensor sum(const Tensor &x, Shape dims, bool keepdim = false,
           Loc loc = Loc::current());
Tensor mean(const Tensor &x, Shape dims, bool keepdim = false,
            Loc loc = Loc::current());
Tensor amax(const Tensor &x, Shape dims, bool keepdim = false,
            Loc loc = Loc::current());
Tensor log_softmax(const Tensor &x, int64_t dim, Loc loc = Loc::current());
/// Integer class indices -> float one-hot with a trailing class dimension.
Tensor one_hot(const Tensor &indices, int64_t num_classes,
               DType dtype = DType::f32, Loc loc = Loc::current());
/// 0/1 masks of the comparison, in the operands' float type.
Tensor gt(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
Tensor eq(const Tensor &a, const Tensor &b, Loc loc = Loc::current());
/// Identity whose gradient is zero (torch.Tensor.detach).
Tensor stop_gradient(const Tensor &x, Loc loc = Loc::current());

// Constants (in the function being traced).
Tensor full(Shape shape, double value, DType dtype = DType::f32,
            Loc loc = Loc::current());
Tensor scalar(double value, DType dtype = DType::f32, Loc loc = Loc::current());
/// A constant with the given row-major values. The C++ element type picks
/// the dtype: int -> i32, int64_t -> i64, floating point -> f32 (torch's
/// default float; pass DType::f64 for double precision). torch.tensor of
/// Python ints gives int64: write int64_t values for that.
Tensor tensor(std::vector<double> values, Shape shape,
              DType dtype = DType::f32, Loc loc = Loc::current());
Tensor tensor(std::vector<int> values, Shape shape, Loc loc = Loc::current());
Tensor tensor(std::vector<int64_t> values, Shape shape,
              Loc loc = Loc::current());
/// Braced lists pick the same way: tensor({1, 2, 3}, {3}) is i32,
/// tensor({0.5, 1.0}, {2}) f32 (the vector overloads alone are ambiguous).
Tensor tensor(std::initializer_list<double> values, Shape shape,
              DType dtype = DType::f32, Loc loc = Loc::current());
Tensor tensor(std::initializer_list<int> values, Shape shape,
              Loc loc = Loc::current());
Tensor tensor(std::initializer_list<int64_t> values, Shape shape,
              Loc loc = Loc::current());

/// Counter-based uniform random values in [low, high): element i depends
/// only on (seed, stream, i), so init is reproducible on every target.
/// `seed` is a 0-d i64 tensor.
Tensor random_uniform(const Tensor &seed, Shape shape, double low,
                      double high, int64_t stream, DType dtype = DType::f32,
                      Loc loc = Loc::current());

/// Formats a shape as `[2, 3]`.
std::string to_string(const Shape &shape);

} // namespace kiln::dsl

#endif // KILN_DSL_TENSOR_H
