//===- Ops.cpp - DSL tensor operations and autodiff calls -----------------===//
//
// Thin: each call converts its arguments to IR values and attributes and
// lets the dialect infer and check the result. DSL conveniences (negative
// dims, -1 in reshape, scalars) are resolved here.
//
//===----------------------------------------------------------------------===//

#include "Trace.h"

#include "kiln/dsl/Autodiff.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace kiln::dsl::detail;

namespace kiln::dsl {

std::string to_string(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

int64_t Tensor::size(int64_t d) const {
  int64_t r = rank();
  if (d < -r || d >= r)
    throw Error("dimension " + std::to_string(d) + " is out of range for a " +
                "tensor of shape " + to_string(shape_));
  return shape_[d < 0 ? d + r : d];
}

int64_t Tensor::numel() const {
  return std::accumulate(shape_.begin(), shape_.end(), int64_t{1},
                         std::multiplies<>());
}

Tensor Tensor::fromValue(void *value, Shape shape, DType dtype) {
  Tensor t;
  t.value_ = value;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

namespace detail {
bool isFloating(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64;
}

DType promoteTypes(DType a, DType b) {
  if (isFloating(a) != isFloating(b))
    return isFloating(a) ? a : b;
  auto wide = [](DType t) { return t == DType::f64 || t == DType::i64; };
  return wide(a) ? a : b;
}

Tensor compareOp(StringRef predicate, const Tensor &a, const Tensor &b,
                 Loc loc) {
  DType type = promoteTypes(a.dtype(), b.dtype());
  Value lhs = valueOf(to(a, type, loc), loc);
  Value rhs = valueOf(to(b, type, loc), loc);
  return emit<CompareOp>(loc, predicate, lhs, rhs);
}

Tensor floatOperand(const Tensor &x, Loc loc) {
  return isFloating(x.dtype()) ? x : to(x, DType::f32, loc);
}

Tensor scalarFor(const Tensor &x, double value, Loc loc) {
  bool integral = std::trunc(value) == value;
  DType type = isFloating(x.dtype()) || integral ? x.dtype() : DType::f32;
  return scalar(value, type, loc);
}
} // namespace detail

Tensor to(const Tensor &x, DType dtype, Loc loc) {
  if (x.dtype() == dtype)
    return x;
  MLIRContext *ctx = activeFunction(loc).program->context.get();
  return emitWithType<CastOp>(
      loc, RankedTensorType::get(x.shape(), elementTypeOf(ctx, dtype)),
      valueOf(x, loc));
}
Tensor Tensor::to(DType dtype, Loc loc) const {
  return kiln::dsl::to(*this, dtype, loc);
}

Tensor add(const Tensor &a, const Tensor &b, Loc loc) {
  return promotedBinary<AddOp>(a, b, loc);
}
Tensor sub(const Tensor &a, const Tensor &b, Loc loc) {
  return promotedBinary<SubOp>(a, b, loc);
}
Tensor mul(const Tensor &a, const Tensor &b, Loc loc) {
  return promotedBinary<MulOp>(a, b, loc);
}
// True division, as torch's `/`: integer operands divide as f32.
Tensor div(const Tensor &a, const Tensor &b, Loc loc) {
  DType type = promoteTypes(a.dtype(), b.dtype());
  if (!isFloating(type))
    type = DType::f32;
  return binary<DivOp>(to(a, type, loc), to(b, type, loc), loc);
}

Tensor operator+(Operand a, const Tensor &b) { return add(a.tensor, b, a.loc); }
Tensor operator-(Operand a, const Tensor &b) { return sub(a.tensor, b, a.loc); }
Tensor operator*(Operand a, const Tensor &b) { return mul(a.tensor, b, a.loc); }
Tensor operator/(Operand a, const Tensor &b) { return div(a.tensor, b, a.loc); }

// A C++ double is a float operand (an int tensor + 0.5 or + 2.0 is f32, as
// a Python float makes it in torch); a C++ int keeps the tensor's type.
static Tensor floatScalar(const Tensor &x, double value, Loc loc) {
  return scalar(value, isFloating(x.dtype()) ? x.dtype() : DType::f32, loc);
}
Tensor operator+(Operand a, double b) {
  return add(a.tensor, floatScalar(a.tensor, b, a.loc), a.loc);
}
Tensor operator-(Operand a, double b) {
  return sub(a.tensor, floatScalar(a.tensor, b, a.loc), a.loc);
}
Tensor operator*(Operand a, double b) {
  return mul(a.tensor, floatScalar(a.tensor, b, a.loc), a.loc);
}
Tensor operator/(Operand a, double b) {
  return div(a.tensor, floatScalar(a.tensor, b, a.loc), a.loc);
}
Tensor operator+(double a, Operand b) {
  return add(floatScalar(b.tensor, a, b.loc), b.tensor, b.loc);
}
Tensor operator-(double a, Operand b) {
  return sub(floatScalar(b.tensor, a, b.loc), b.tensor, b.loc);
}
Tensor operator*(double a, Operand b) {
  return mul(floatScalar(b.tensor, a, b.loc), b.tensor, b.loc);
}
Tensor operator/(double a, Operand b) {
  return div(floatScalar(b.tensor, a, b.loc), b.tensor, b.loc);
}
Tensor operator+(Operand a, int b) {
  return add(a.tensor, scalar(b, a.tensor.dtype(), a.loc), a.loc);
}
Tensor operator-(Operand a, int b) {
  return sub(a.tensor, scalar(b, a.tensor.dtype(), a.loc), a.loc);
}
Tensor operator*(Operand a, int b) {
  return mul(a.tensor, scalar(b, a.tensor.dtype(), a.loc), a.loc);
}
Tensor operator/(Operand a, int b) {
  return div(a.tensor, scalar(b, a.tensor.dtype(), a.loc), a.loc);
}
Tensor operator+(int a, Operand b) {
  return add(scalar(a, b.tensor.dtype(), b.loc), b.tensor, b.loc);
}
Tensor operator-(int a, Operand b) {
  return sub(scalar(a, b.tensor.dtype(), b.loc), b.tensor, b.loc);
}
Tensor operator*(int a, Operand b) {
  return mul(scalar(a, b.tensor.dtype(), b.loc), b.tensor, b.loc);
}
Tensor operator/(int a, Operand b) {
  return div(scalar(a, b.tensor.dtype(), b.loc), b.tensor, b.loc);
}
Tensor operator-(Operand a) { return neg(a.tensor, a.loc); }

Tensor neg(const Tensor &x, Loc loc) {
  return emit<NegOp>(loc, valueOf(x, loc));
}
Tensor exp(const Tensor &x, Loc loc) {
  return emit<ExpOp>(loc, valueOf(floatOperand(x, loc), loc));
}
Tensor log(const Tensor &x, Loc loc) {
  return emit<LogOp>(loc, valueOf(floatOperand(x, loc), loc));
}
Tensor relu(const Tensor &x, Loc loc) {
  return emit<ReluOp>(loc, valueOf(x, loc));
}
Tensor stop_gradient(const Tensor &x, Loc loc) {
  return emit<StopGradientOp>(loc, valueOf(x, loc));
}
Tensor Tensor::detach(Loc loc) const { return stop_gradient(*this, loc); }

Tensor matmul(const Tensor &a, const Tensor &b, Loc loc) {
  return binary<MatmulOp>(a, b, loc);
}

Tensor permute(const Tensor &x, Shape perm, Loc loc) {
  return emit<TransposeOp>(loc, valueOf(x, loc), perm);
}

Tensor transpose(const Tensor &x, int64_t dim0, int64_t dim1, Loc loc) {
  int64_t r = x.rank();
  auto normalize = [&](int64_t d) {
    if (d < -r || d >= r)
      fail(loc, "transpose: dimension " + std::to_string(d) +
                    " is out of range for shape " + to_string(x.shape()));
    return d < 0 ? d + r : d;
  };
  Shape perm(r);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[normalize(dim0)], perm[normalize(dim1)]);
  return permute(x, perm, loc);
}

Tensor Tensor::t(Loc loc) const {
  if (rank() != 2)
    detail::fail(loc, ".t() expects a 2-D tensor, got shape " +
                          to_string(shape_));
  return transpose(*this, 0, 1, loc);
}

Tensor reshape(const Tensor &x, Shape shape, Loc loc) {
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0)
        fail(loc, "reshape: only one dimension can be -1, got " +
                      to_string(shape));
      inferred = static_cast<int64_t>(i);
    } else if (shape[i] <= 0) {
      fail(loc, "reshape: invalid dimension in " + to_string(shape));
    } else {
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    if (x.numel() % known != 0)
      fail(loc, "reshape: cannot reshape " + to_string(x.shape()) + " to " +
                    to_string(shape));
    shape[inferred] = x.numel() / known;
  }
  Value input = valueOf(x, loc);
  auto type = RankedTensorType::get(
      shape, input.getType().cast<RankedTensorType>().getElementType());
  return emitWithType<ReshapeOp>(loc, type, input);
}
Tensor Tensor::reshape(Shape shape, Loc loc) const {
  return dsl::reshape(*this, std::move(shape), loc);
}
Tensor Tensor::view(Shape shape, Loc loc) const {
  return dsl::reshape(*this, std::move(shape), loc);
}

Tensor flatten(const Tensor &x, int64_t start_dim, int64_t end_dim,
               Loc loc) {
  // A 0-d tensor flattens to one element, as in torch.
  int64_t rank = std::max<int64_t>(x.rank(), 1);
  for (auto [name, dim] : {std::pair{"start_dim", &start_dim},
                           std::pair{"end_dim", &end_dim}}) {
    if (*dim < 0)
      *dim += rank;
    if (*dim < 0 || *dim >= rank)
      fail(loc, std::string("flatten: ") + name + " out of range for shape " +
                    to_string(x.shape()));
  }
  if (start_dim > end_dim)
    fail(loc, "flatten: start_dim " + std::to_string(start_dim) +
                  " comes after end_dim " + std::to_string(end_dim));
  if (x.rank() == 0)
    return reshape(x, {1}, loc);
  Shape shape(x.shape().begin(), x.shape().begin() + start_dim);
  int64_t merged = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d)
    merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end_dim + 1, x.shape().end());
  return reshape(x, shape, loc);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim, Loc loc) const {
  return dsl::flatten(*this, start_dim, end_dim, loc);
}

Tensor broadcast_to(const Tensor &x, Shape shape, Loc loc) {
  Value input = valueOf(x, loc);
  auto type = RankedTensorType::get(
      shape, input.getType().cast<RankedTensorType>().getElementType());
  return emitWithType<BroadcastToOp>(loc, type, input);
}

template <typename ReduceOp>
static Tensor reduce(const Tensor &x, Shape dims, bool keepdim, Loc loc) {
  for (int64_t &d : dims)
    if (d < 0)
      d += x.rank();
  std::sort(dims.begin(), dims.end());
  return emit<ReduceOp>(loc, valueOf(x, loc), dims, keepdim);
}

static Shape allDims(const Tensor &x) {
  Shape dims(x.rank());
  std::iota(dims.begin(), dims.end(), 0);
  return dims;
}

// Integers sum in i64, as torch.sum gives int64 for every integer input.
Tensor sum(const Tensor &x, Shape dims, bool keepdim, Loc loc) {
  Tensor input = isFloating(x.dtype()) ? x : to(x, DType::i64, loc);
  return reduce<ReduceSumOp>(input, std::move(dims), keepdim, loc);
}
Tensor mean(const Tensor &x, Shape dims, bool keepdim, Loc loc) {
  if (!isFloating(x.dtype()))
    fail(loc, "mean: could not infer output dtype: the input is an integer "
              "tensor (torch.mean rejects it too); convert it with "
              ".to(DType::f32)");
  return reduce<ReduceMeanOp>(x, std::move(dims), keepdim, loc);
}
Tensor amax(const Tensor &x, Shape dims, bool keepdim, Loc loc) {
  return reduce<ReduceMaxOp>(x, std::move(dims), keepdim, loc);
}
Tensor Tensor::sum(Loc loc) const { return dsl::sum(*this, allDims(*this), false, loc); }
Tensor Tensor::mean(Loc loc) const {
  return dsl::mean(*this, allDims(*this), false, loc);
}

Tensor log_softmax(const Tensor &x, int64_t dim, Loc loc) {
  if (dim < 0)
    dim += x.rank();
  return emit<LogSoftmaxOp>(loc, valueOf(floatOperand(x, loc), loc), dim);
}

Tensor one_hot(const Tensor &indices, int64_t num_classes, DType dtype,
               Loc loc) {
  if (indices.dtype() != DType::i32 && indices.dtype() != DType::i64)
    fail(loc, "one_hot expects integer class indices");
  if (num_classes <= 0)
    fail(loc, "one_hot: num_classes must be positive");
  Shape shape = indices.shape();
  shape.push_back(num_classes);
  MLIRContext *ctx = activeFunction(loc).program->context.get();
  auto type = RankedTensorType::get(shape, elementTypeOf(ctx, dtype));
  return emitWithType<OneHotOp>(loc, type, valueOf(indices, loc));
}

Tensor random_uniform(const Tensor &seed, Shape shape, double low,
                      double high, int64_t stream, DType dtype, Loc loc) {
  MLIRContext *ctx = activeFunction(loc).program->context.get();
  auto type = RankedTensorType::get(shape, elementTypeOf(ctx, dtype));
  Builder b(ctx);
  return emitWithType<RandomUniformOp>(
      loc, type, valueOf(seed, loc), b.getI64IntegerAttr(stream),
      b.getF64FloatAttr(low), b.getF64FloatAttr(high));
}

Tensor gt(const Tensor &a, const Tensor &b, Loc loc) {
  return compareOp("gt", a, b, loc);
}
Tensor eq(const Tensor &a, const Tensor &b, Loc loc) {
  return compareOp("eq", a, b, loc);
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

static Tensor constant(const std::vector<double> &values, const Shape &shape,
                       DType dtype, Loc loc) {
  MLIRContext *ctx = activeFunction(loc).program->context.get();
  Type element = elementTypeOf(ctx, dtype);
  auto type = RankedTensorType::get(shape, element);
  if (static_cast<int64_t>(values.size()) != type.getNumElements() &&
      values.size() != 1)
    fail(loc, "constant: " + std::to_string(values.size()) +
                  " values do not fill shape " + to_string(shape));
  SmallVector<Attribute> elements;
  for (double v : values) {
    if (auto f = element.dyn_cast<FloatType>())
      elements.push_back(FloatAttr::get(f, v));
    else
      elements.push_back(IntegerAttr::get(element, static_cast<int64_t>(v)));
  }
  DenseElementsAttr attr =
      values.size() == 1 ? DenseElementsAttr::get(type, elements.front())
                         : DenseElementsAttr::get(type, elements);
  return emit<ConstantOp>(loc, attr);
}

Tensor full(Shape shape, double value, DType dtype, Loc loc) {
  return constant({value}, shape, dtype, loc);
}
Tensor scalar(double value, DType dtype, Loc loc) {
  return constant({value}, {}, dtype, loc);
}
Tensor tensor(std::vector<double> values, Shape shape, DType dtype, Loc loc) {
  return constant(values, shape, dtype, loc);
}
Tensor tensor(std::vector<int> values, Shape shape, Loc loc) {
  return constant(std::vector<double>(values.begin(), values.end()), shape,
                  DType::i32, loc);
}
Tensor tensor(std::vector<int64_t> values, Shape shape, Loc loc) {
  return constant(std::vector<double>(values.begin(), values.end()), shape,
                  DType::i64, loc);
}
Tensor tensor(std::initializer_list<double> values, Shape shape, DType dtype,
              Loc loc) {
  return constant(std::vector<double>(values), shape, dtype, loc);
}
Tensor tensor(std::initializer_list<int> values, Shape shape, Loc loc) {
  return tensor(std::vector<int>(values), std::move(shape), loc);
}
Tensor tensor(std::initializer_list<int64_t> values, Shape shape, Loc loc) {
  return tensor(std::vector<int64_t>(values), std::move(shape), loc);
}

//===----------------------------------------------------------------------===//
// Autodiff
//===----------------------------------------------------------------------===//

std::vector<Tensor> vjp(const Tensor &output, const Tensor &seed,
                        const std::vector<Tensor> &wrt, Loc loc) {
  if (seed.shape() != output.shape() || seed.dtype() != output.dtype())
    fail(loc, "vjp: the seed has shape " + to_string(seed.shape()) +
                  " but the output has shape " + to_string(output.shape()));
  SmallVector<Value> wrtValues;
  for (const Tensor &t : wrt)
    wrtValues.push_back(valueOf(t, loc));
  return emitMulti<VJPOp>(loc, valueOf(output, loc), valueOf(seed, loc),
                          ValueRange(wrtValues));
}

std::vector<Tensor> grad(const Tensor &output, const std::vector<Tensor> &wrt,
                         Loc loc) {
  if (output.rank() != 0)
    fail(loc, "grad: the output has shape " + to_string(output.shape()) +
                  "; gradients need a scalar output. For a non-scalar "
                  "output pass a seed: vjp(output, seed, wrt) (PyTorch: "
                  "output.backward(gradient=seed))");
  return vjp(output, scalar(1.0, output.dtype(), loc), wrt, loc);
}

std::pair<Tensor, std::vector<Tensor>>
value_and_grad(const Tensor &output, const std::vector<Tensor> &wrt, Loc loc) {
  return {output, grad(output, wrt, loc)};
}

} // namespace kiln::dsl
