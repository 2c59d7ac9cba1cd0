//===- LayoutTestSupport.h - helpers of the layout-op tests -----*- C++ -*-===//
//
// Programs traced with the DSL, run three ways: by the reference interpreter
// after kiln-autodiff (numbers, gradients), against central finite
// differences through the interpreter in float64 (VJP rules), and as
// JIT-compiled code from the CPU pipeline against the interpreter.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNITTESTS_LAYOUT_LAYOUTTESTSUPPORT_H
#define KILN_TESTS_UNITTESTS_LAYOUT_LAYOUTTESTSUPPORT_H

#include "DslErrors.h"

#include "kiln/Interpreter/Interpreter.h"
#include "kiln/dsl/kiln.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace kiln::layout_test {

using dsl::Program;
using dsl::Shape;
using dsl::Tensor;
using interp::Buffer;

/// Runs kiln-autodiff on every function of `p`.
void differentiate(Program &p);

/// Runs function `name` of `p` (differentiated) in the interpreter; a test
/// failure and an empty list if it fails.
std::vector<Buffer> interpret(const Program &p, const std::string &name,
                              const std::vector<Buffer> &args);

/// The interpreter's error for running `name` on `args` ("" and a test
/// failure if it succeeds).
std::string interpreterError(const Program &p, const std::string &name,
                             const std::vector<Buffer> &args);

/// Checks shape and values (exactly, up to `tolerance`).
void expectValues(const Buffer &actual, const Shape &shape,
                  const std::vector<double> &expected,
                  double tolerance = 1e-12);

/// 0, 1, 2, ... as a row-major buffer of `shape`.
Buffer iota(const Shape &shape, double start = 0.0);

/// Uniform values in [low, high), reproducible from `seed`.
Buffer randomBuffer(const Shape &shape, unsigned seed, double low = -1.0,
                    double high = 1.0);

/// Builds loss(x_0, ...) = sum(op(x...) * W) over f64 inputs of `shapes`
/// with a fixed random W, takes its gradient with kiln.vjp and compares it
/// with central finite differences through the interpreter at random
/// points. `op` may use integer constants (indices) of its own.
void gradCheck(const std::vector<Shape> &shapes,
               const std::function<Tensor(const std::vector<Tensor> &)> &op,
               unsigned seed = 1);

/// Compiles every function of `p` with the CPU pipeline, JIT-runs `name`
/// on `inputs` through its C ABI and compares its outputs with the
/// interpreter's (f32 outputs: the oracle's values rounded to float, then
/// `rtol`). Checks that inputs and memory past the arena stay untouched.
void expectCompiledMatchesInterpreter(Program &p, const std::string &name,
                                      const std::vector<Buffer> &inputs,
                                      double rtol = 1e-6);

using dsl::test_support::errorOf;

/// Checks that `message` is an error reported at `file`:`line`.
::testing::AssertionResult isErrorAt(const std::string &message,
                                     const char *file, int line);

} // namespace kiln::layout_test

/// Traps the Error of a DSL statement written on one line and checks that
/// it is reported at that line and contains `part`.
#define EXPECT_DSL_ERROR(statement, part)                                      \
  do {                                                                         \
    std::string kilnMessage_ =                                                 \
        ::kiln::layout_test::errorOf([&] { statement; });                      \
    EXPECT_TRUE(                                                               \
        ::kiln::layout_test::isErrorAt(kilnMessage_, __FILE__, __LINE__));     \
    EXPECT_NE(kilnMessage_.find(part), std::string::npos)                      \
        << "no '" << (part) << "' in " << kilnMessage_;                        \
  } while (false)

#endif // KILN_TESTS_UNITTESTS_LAYOUT_LAYOUTTESTSUPPORT_H
