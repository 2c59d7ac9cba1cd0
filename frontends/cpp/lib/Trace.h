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

/// Creates op `name` with `operands` and `attrs`; the result type is
/// inferred, or `resultType` when the op does not infer it. Shape errors
/// throw with the user's location.
Tensor emit(Loc loc, llvm::StringRef name, mlir::ValueRange operands,
            llvm::ArrayRef<mlir::NamedAttribute> attrs = {},
            mlir::Type resultType = {});
std::vector<Tensor> emitMulti(Loc loc, llvm::StringRef name,
                              mlir::ValueRange operands,
                              llvm::ArrayRef<mlir::NamedAttribute> attrs = {},
                              mlir::Type resultType = {});

bool isFloating(DType dtype);
/// torch.result_type for two tensors: a float beats any integer; between
/// two floats or two integers the wider wins.
DType promoteTypes(DType a, DType b);
/// `op` on `a` and `b` converted to their promoted type (kiln.cast).
Tensor promotedBinary(llvm::StringRef op, const Tensor &a, const Tensor &b,
                      Loc loc);
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
