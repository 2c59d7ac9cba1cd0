//===- ElementwiseTestUtil.h - helpers of the elementwise tests -*- C++ -*-===//
//
// Two ways to run IR, shared by the elementwise group's tests:
//  - `interpret`: a traced DSL Program's function in the float64 reference
//    interpreter, with state arguments by name (as ClassifierTest does);
//  - `CompiledModule`: one module both interpreted (after kiln-autodiff) and
//    compiled (CompiledCode: the full CPU pipeline, JIT-called through the C
//    ABI, model state in a NaN-filled arena), with their results compared.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNITTESTS_ELEMENTWISE_ELEMENTWISETESTUTIL_H
#define KILN_TESTS_UNITTESTS_ELEMENTWISE_ELEMENTWISETESTUTIL_H

#include "CompiledCode.h"

#include "kiln/Interpreter/Interpreter.h"
#include "kiln/Target/ABI.h"
#include "kiln/dsl/kiln.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln::test {

using interp::Buffer;
using State = std::map<std::string, Buffer>;

/// Expands kiln.vjp in `p` (kiln-differentiate pipeline).
bool differentiate(dsl::Program &p);

/// Runs function `name` of `p`; state arguments come from `state` by name,
/// plain ones from `plain` in order. Returns results by state name, plain
/// results as "#0", "#1", ...
State interpret(const dsl::Program &p, const std::string &name,
                const State &state, const std::vector<Buffer> &plain);

/// Traces @f(x) -> (outputs of `body`), x an f64 input of `x`'s shape,
/// expands its kiln.vjp ops if `differentiate`, and interprets it on `x`
/// (no outputs if differentiation fails, after reporting it).
std::vector<Buffer>
evalTraced(const Buffer &x,
           const std::function<std::vector<dsl::Tensor>(const dsl::Tensor &)> &body,
           bool differentiate = false);

/// |actual - expected| <= atol + rtol |expected| elementwise.
void expectNear(const Buffer &actual, const std::vector<double> &expected,
                double atol, double rtol = 0.0, const std::string &what = "");

/// A module interpreted and compiled side by side.
class CompiledModule {
public:
  CompiledModule();

  /// Parses `ir`, prepares the oracle and JIT-compiles; false on failure
  /// (after reporting it).
  bool build(const std::string &ir,
             const CPUPipelineOptions &options = CPUPipelineOptions());

  /// Runs @name in the interpreter: state from and to `oracleState`.
  std::vector<Buffer> runOracle(const std::string &name,
                                const std::vector<Buffer> &plain);
  /// Runs the compiled @name; state lives in the arena.
  std::vector<Buffer> runCompiled(const std::string &name,
                                  const std::vector<Buffer> &plain);
  /// Both, then compares outputs and every state entry within f32 rounding
  /// plus `rtol`. Returns the compiled outputs.
  std::vector<Buffer> check(const std::string &name,
                            const std::vector<Buffer> &plain,
                            double rtol = 1e-4);

  Buffer readState(const std::string &name) const;
  void writeState(const std::string &name, const Buffer &value);

  State oracleState;
  kiln::ModuleAbi abi;
  std::string diagnostics;

private:
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> oracle;
  CompiledCode code;
};

/// Within f32 rounding of `oracle` plus rtol (NaN and inf must match).
void expectCloseF32(const Buffer &compiled, const Buffer &oracle,
                    const std::string &what, double rtol = 1e-4);
void expectBitEqual(const Buffer &compiled, const Buffer &oracle,
                    const std::string &what);

} // namespace kiln::test

#endif // KILN_TESTS_UNITTESTS_ELEMENTWISE_ELEMENTWISETESTUTIL_H
