//===- Trace.h - the DSL's tracer internals ---------------------*- C++ -*-===//
//
// Emits one kiln op per DSL call into the active function. Shapes are
// checked by the dialect's own inference/verifier at the moment of the call;
// a failure becomes a kiln::dsl::Error carrying the diagnostic, which names
// the user's file:line.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTENDS_CPP_TRACE_H
#define KILN_FRONTENDS_CPP_TRACE_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/dsl/ProgramMLIR.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace kiln::dsl::detail {

struct FunctionImpl {
  ProgramImpl *program = nullptr;
  mlir::func::FuncOp fn;
  mlir::OpBuilder builder;
  std::vector<std::string> argState;
  std::vector<mlir::Value> results;
  std::vector<std::string> resultState;
  std::vector<std::string> observations; ///< resultState names of observations
  explicit FunctionImpl(mlir::MLIRContext *ctx) : builder(ctx) {}
};

/// The function being traced; throws if there is none.
FunctionImpl &activeFunction(Loc loc);
/// The location ops get: the outermost LocationScope, else `loc`.
mlir::Location locationOf(Loc loc);
/// Throws an Error "file:line:col: error: message".
[[noreturn]] void fail(Loc loc, const std::string &message);

mlir::Value valueOf(const Tensor &t, Loc loc);
Tensor tensorOf(mlir::Value v);
mlir::Type elementTypeOf(mlir::MLIRContext *ctx, DType dtype);

/// Creates the op `state` describes in `f`'s body: the result types
/// are inferred when `inferResultTypes`, else taken from `state`. A shape
/// error throws with the user's location instead of leaving a broken op.
std::vector<Tensor> insertTraced(FunctionImpl &f, mlir::OperationState &state,
                                 bool inferResultTypes);

/// The number of results OpTy declares (0 for a variadic list), so that its
/// ODS builder taking result types gets as many as it asserts.
template <typename OpTy> constexpr unsigned declaredResultCount() {
  if constexpr (OpTy::template hasTrait<mlir::OpTrait::OneResult>())
    return 1;
  else if constexpr (OpTy::template hasTrait<
                         mlir::OpTrait::NResults<2>::Impl>())
    return 2;
  return 0;
}

/// Builds OpTy through its ODS-generated builder from `args` (its operands
/// and attributes, in the .td order) and returns its results, whose types
/// the op infers. The builder that infers types itself is not used: it
/// aborts the process when inference fails, and a shape error in user code
/// must throw an Error naming the user's line. The placeholder types given
/// to the builder taking result types are replaced by the inferred ones.
template <typename OpTy, typename... Args>
std::vector<Tensor> emitMulti(Loc loc, Args &&...args) {
  FunctionImpl &f = activeFunction(loc);
  mlir::OperationState state(locationOf(loc), OpTy::getOperationName());
  llvm::SmallVector<mlir::Type, 2> placeholders(
      declaredResultCount<OpTy>(), mlir::NoneType::get(f.builder.getContext()));
  OpTy::build(f.builder, state, mlir::TypeRange(placeholders),
              std::forward<Args>(args)...);
  state.types.clear();
  return insertTraced(f, state, /*inferResultTypes=*/true);
}

template <typename OpTy, typename... Args>
Tensor emit(Loc loc, Args &&...args) {
  return emitMulti<OpTy>(loc, std::forward<Args>(args)...).front();
}

/// As emit, for an op whose result type the DSL states (a cast, a reshape,
/// a random tensor): the op's verifier checks it.
template <typename OpTy, typename... Args>
Tensor emitWithType(Loc loc, mlir::Type resultType, Args &&...args) {
  FunctionImpl &f = activeFunction(loc);
  mlir::OperationState state(locationOf(loc), OpTy::getOperationName());
  OpTy::build(f.builder, state, resultType, std::forward<Args>(args)...);
  return insertTraced(f, state, /*inferResultTypes=*/false).front();
}

bool isFloating(DType dtype);
/// torch.result_type for two tensors: a float beats any integer; between
/// two floats or two integers the wider wins.
DType promoteTypes(DType a, DType b);
/// The binary OpTy on `a` and `b`.
template <typename OpTy>
Tensor binary(const Tensor &a, const Tensor &b, Loc loc) {
  return emit<OpTy>(loc, valueOf(a, loc), valueOf(b, loc));
}
/// OpTy on `a` and `b` converted to their promoted type (kiln.cast).
template <typename OpTy>
Tensor promotedBinary(const Tensor &a, const Tensor &b, Loc loc) {
  DType type = promoteTypes(a.dtype(), b.dtype());
  return binary<OpTy>(to(a, type, loc), to(b, type, loc), loc);
}
/// kiln.compare on the promoted operands: a 0/1 mask of that type.
Tensor compareOp(llvm::StringRef predicate, const Tensor &a, const Tensor &b,
                 Loc loc);
/// `x` itself when it is floating point, else converted to f32 (as torch's
/// exp, log, sqrt... take integer tensors).
Tensor floatOperand(const Tensor &x, Loc loc);
/// The constant `value` as an operand beside `x`: x's type when x is
/// floating point or `value` is integral, else f32 (torch: int tensor
/// op 0.5 is float).
Tensor scalarFor(const Tensor &x, double value, Loc loc);

} // namespace kiln::dsl::detail

#endif // KILN_FRONTENDS_CPP_TRACE_H
