//===- LayoutTestSupport.cpp - helpers of the layout-op tests -------------===//

#include "LayoutTestSupport.h"

#include "CompiledCode.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Target/ABI.h"
#include "kiln/dsl/ProgramMLIR.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <cmath>
#include <random>

using namespace mlir;

namespace kiln::layout_test {

namespace {
func::FuncOp funcNamed(ModuleOp module, const std::string &name) {
  return module.lookupSymbol<func::FuncOp>(name);
}

LogicalResult runAutodiff(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
  return pm.run(module);
}

/// Collects diagnostics while alive.
struct Diagnostics {
  explicit Diagnostics(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &d) {
          text += d.str() + "\n";
          return success();
        }) {}
  std::string text;
  ScopedDiagnosticHandler handler;
};
} // namespace

void differentiate(Program &p) {
  ASSERT_TRUE(succeeded(runAutodiff(dsl::moduleOf(p)))) << p.str();
}

std::vector<Buffer> interpret(const Program &p, const std::string &name,
                              const std::vector<Buffer> &args) {
  func::FuncOp fn = funcNamed(dsl::moduleOf(p), name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name;
    return {};
  }
  Diagnostics diagnostics(fn.getContext());
  auto results = interp::run(fn, args);
  if (failed(results)) {
    ADD_FAILURE() << "interpreter failed: " << diagnostics.text << p.str();
    return {};
  }
  return *results;
}

std::string interpreterError(const Program &p, const std::string &name,
                             const std::vector<Buffer> &args) {
  func::FuncOp fn = funcNamed(dsl::moduleOf(p), name);
  Diagnostics diagnostics(fn.getContext());
  if (succeeded(interp::run(fn, args)))
    ADD_FAILURE() << "expected the interpreter to fail";
  return diagnostics.text;
}

void expectValues(const Buffer &actual, const Shape &shape,
                  const std::vector<double> &expected, double tolerance) {
  EXPECT_EQ(actual.shape, shape);
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i]))
      EXPECT_TRUE(std::isnan(actual.data[i])) << "element " << i;
    else
      EXPECT_NEAR(actual.data[i], expected[i], tolerance) << "element " << i;
  }
}

Buffer iota(const Shape &shape, double start) {
  Buffer b{shape, {}};
  for (int64_t i = 0; i < b.numElements(); ++i)
    b.data.push_back(start + static_cast<double>(i));
  return b;
}

Buffer randomBuffer(const Shape &shape, unsigned seed, double low,
                    double high) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(low, high);
  Buffer b{shape, {}};
  for (int64_t i = 0; i < b.numElements(); ++i)
    b.data.push_back(dist(rng));
  return b;
}

//===----------------------------------------------------------------------===//
// Gradient checks
//===----------------------------------------------------------------------===//

void gradCheck(const std::vector<Shape> &shapes,
               const std::function<Tensor(const std::vector<Tensor> &)> &op,
               unsigned seed) {
  Program p;
  dsl::Function f = p.function("f");
  std::vector<Tensor> xs;
  for (const Shape &shape : shapes)
    xs.push_back(f.input(shape, dsl::DType::f64));
  Tensor y = op(xs);
  Buffer w = randomBuffer(y.shape(), seed + 1000);
  Tensor weights = dsl::tensor(w.data, y.shape(), dsl::DType::f64);
  Tensor loss = (y * weights).sum();
  std::vector<Tensor> grads = dsl::grad(loss, xs);
  f.output(loss);
  for (const Tensor &g : grads)
    f.output(g);
  f.finish();
  differentiate(p);

  std::vector<Buffer> args;
  for (size_t i = 0; i < shapes.size(); ++i)
    args.push_back(randomBuffer(shapes[i], seed + 17 * unsigned(i)));
  std::vector<Buffer> analytic = interpret(p, "f", args);
  ASSERT_EQ(analytic.size(), shapes.size() + 1);
  auto lossAt = [&](const std::vector<Buffer> &at) {
    std::vector<Buffer> r = interpret(p, "f", at);
    return r.empty() ? std::nan("") : r[0].data[0];
  };
  const double h = 1e-6;
  for (size_t i = 0; i < shapes.size(); ++i) {
    ASSERT_EQ(analytic[i + 1].shape, shapes[i]) << "gradient #" << i;
    for (size_t e = 0; e < args[i].data.size(); ++e) {
      std::vector<Buffer> plus = args, minus = args;
      plus[i].data[e] += h;
      minus[i].data[e] -= h;
      double numeric = (lossAt(plus) - lossAt(minus)) / (2 * h);
      double exact = analytic[i + 1].data[e];
      EXPECT_NEAR(exact, numeric, 1e-6 + 1e-6 * std::abs(numeric))
          << "d loss / d input #" << i << " element " << e;
    }
  }
}

//===----------------------------------------------------------------------===//
// Compiled against the interpreter
//===----------------------------------------------------------------------===//

void expectCompiledMatchesInterpreter(Program &p, const std::string &name,
                                      const std::vector<Buffer> &inputs,
                                      double rtol) {
  ModuleOp source = dsl::moduleOf(p);
  MLIRContext *ctx = source.getContext();
  Diagnostics diagnostics(ctx);

  OwningOpRef<ModuleOp> oracle(source.clone());
  ASSERT_TRUE(succeeded(runAutodiff(*oracle))) << diagnostics.text;
  func::FuncOp oracleFn = funcNamed(*oracle, name);
  ASSERT_TRUE(oracleFn) << "no function @" << name;
  auto expected = interp::run(oracleFn, inputs);
  ASSERT_TRUE(succeeded(expected)) << diagnostics.text;

  kiln::test::CompiledCode compiled;
  std::string error;
  ASSERT_TRUE(compiled.build(source, error)) << error;
  std::vector<Buffer> actual = compiled.call(name, inputs);
  ASSERT_EQ(actual.size(), expected->size());
  const kiln::AbiFunction *fn = compiled.abi().lookup(name);
  for (size_t i = 0; i < actual.size(); ++i) {
    Buffer oracleValue = (*expected)[i];
    ASSERT_EQ(actual[i].shape, oracleValue.shape) << "output #" << i;
    for (size_t e = 0; e < actual[i].data.size(); ++e) {
      double o = oracleValue.data[e];
      if (fn->outputs[i].cType == "float")
        o = static_cast<float>(o);
      double c = actual[i].data[e];
      if (std::isnan(o))
        EXPECT_TRUE(std::isnan(c)) << "output #" << i << " element " << e;
      else
        EXPECT_NEAR(c, o, rtol * std::abs(o) + 1e-6)
            << "output #" << i << " element " << e;
    }
  }
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

::testing::AssertionResult isErrorAt(const std::string &message,
                                     const char *file, int line) {
  std::string prefix = std::string(file) + ":" + std::to_string(line) + ":";
  if (message.rfind(prefix, 0) != 0)
    return ::testing::AssertionFailure()
           << "error not reported at " << prefix << "\n  got: " << message;
  if (message.find(": error: ") == std::string::npos)
    return ::testing::AssertionFailure() << "no ': error: ' in " << message;
  return ::testing::AssertionSuccess();
}

} // namespace kiln::layout_test
