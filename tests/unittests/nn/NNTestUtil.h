//===- NNTestUtil.h - helpers of the NN op and layer tests ------*- C++ -*-===//
//
// Deterministic inputs (the same formulas as the PyTorch scripts quoted in
// the tests), the reference interpreter run on parsed IR, and a compiled
// module: the full CPU pipeline, the ABI read after bufferization, JIT, and
// calls through the bare-pointer C ABI with state in a NaN-filled arena.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNITTESTS_NN_NNTESTUTIL_H
#define KILN_TESTS_UNITTESTS_NN_NNTESTUTIL_H

#include "CompiledCode.h"

#include "kiln/Interpreter/Interpreter.h"
#include "kiln/Target/ABI.h"
#include "kiln/Target/JIT.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nntest {

using kiln::interp::Buffer;

/// x_i = sin(0.7 i + 0.3), row-major: PyTorch's X(shape) in the tests.
Buffer seqX(std::vector<int64_t> shape);
/// w_i = 0.5 cos(0.45 i - 0.2): PyTorch's W(shape).
Buffer seqW(std::vector<int64_t> shape);

/// |actual - expected| <= atol + rtol * |expected| element by element.
void expectNear(const Buffer &actual, const std::vector<double> &expected,
                double atol, const std::string &what, double rtol = 0.0);

/// A context with every kiln dialect and pass registered, collecting
/// diagnostics as text.
class TestContext {
public:
  TestContext();
  mlir::MLIRContext context;
  std::string diagnostics;
};

/// Parses `ir`, expands kiln.vjp (kiln-autodiff) and interprets @name.
std::vector<Buffer> interpret(TestContext &ctx, llvm::StringRef ir,
                              const std::vector<Buffer> &args,
                              llvm::StringRef name = "f");

/// A module compiled through kiln's whole CPU pipeline and JIT-ed.
using CompiledModule = kiln::test::CompiledCode;

/// Runs @name of a kiln module in the interpreter with state by name, like
/// CompiledModule::call: state arguments come from `state`, state results
/// are written back to it; returns the plain results. The module must have
/// been differentiated (no kiln.vjp).
std::vector<Buffer> interpretWithState(mlir::ModuleOp module,
                                       llvm::StringRef name,
                                       const std::vector<Buffer> &inputs,
                                       std::map<std::string, Buffer> &state);

/// Compiles `ir`, and runs @f compiled and interpreted on `args`; expects
/// every result to agree within f32 rounding of sums (rtol relative to the
/// largest magnitude of each result).
void expectCompiledMatchesInterpreter(llvm::StringRef ir,
                                      const std::vector<Buffer> &args,
                                      double rtol = 2e-5);

} // namespace nntest

#endif // KILN_TESTS_UNITTESTS_NN_NNTESTUTIL_H
