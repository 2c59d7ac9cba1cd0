//===- NNTestUtil.cpp - helpers of the NN op and layer tests --------------===//

#include "NNTestUtil.h"

#include "AbiCall.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/InitAll.h"
#include "kiln/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

using namespace mlir;

namespace nntest {

using kiln::test::makeRegistry;

namespace {

Buffer sequence(std::vector<int64_t> shape, double (*f)(int64_t)) {
  Buffer b{std::move(shape), {}};
  for (int64_t i = 0; i < b.numElements(); ++i)
    b.data.push_back(f(i));
  return b;
}

std::vector<std::string> names(func::FuncOp fn, StringRef attr) {
  std::vector<std::string> result;
  if (auto array = fn->getAttrOfType<ArrayAttr>(attr))
    for (Attribute a : array)
      result.push_back(a.cast<StringAttr>().getValue().str());
  return result;
}

} // namespace

Buffer seqX(std::vector<int64_t> shape) {
  return sequence(std::move(shape),
                  [](int64_t i) { return std::sin(0.7 * i + 0.3); });
}

Buffer seqW(std::vector<int64_t> shape) {
  return sequence(std::move(shape),
                  [](int64_t i) { return 0.5 * std::cos(0.45 * i - 0.2); });
}

void expectNear(const Buffer &actual, const std::vector<double> &expected,
                double atol, const std::string &what, double rtol) {
  ASSERT_EQ(actual.data.size(), expected.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    double tolerance = atol + rtol * std::abs(expected[i]);
    if (!(std::abs(actual.data[i] - expected[i]) <= tolerance) &&
        reported++ < 8)
      ADD_FAILURE() << what << ": element " << i << " is " << actual.data[i]
                    << ", expected " << expected[i];
  }
}

TestContext::TestContext() : context(makeRegistry()) {
  context.loadAllAvailableDialects();
  context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
  });
}

std::vector<Buffer> interpret(TestContext &ctx, StringRef ir,
                              const std::vector<Buffer> &args,
                              StringRef name) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &ctx.context);
  if (!module) {
    ADD_FAILURE() << "parse failed:\n" << ctx.diagnostics << ir.str();
    return {};
  }
  PassManager pm(&ctx.context);
  pm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
  if (failed(pm.run(*module))) {
    ADD_FAILURE() << "kiln-autodiff failed:\n" << ctx.diagnostics;
    return {};
  }
  auto fn = module->lookupSymbol<func::FuncOp>(name);
  auto results = kiln::interp::run(fn, args);
  if (failed(results)) {
    ADD_FAILURE() << "interpreter failed:\n" << ctx.diagnostics;
    return {};
  }
  return *results;
}

std::vector<Buffer> interpretWithState(ModuleOp module, StringRef name,
                                       const std::vector<Buffer> &inputs,
                                       std::map<std::string, Buffer> &state) {
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name.str();
    return {};
  }
  std::vector<std::string> argNames = names(fn, kiln::KilnDialect::getStateArgsAttrName());
  std::vector<std::string> resultNames = names(fn, kiln::KilnDialect::getStateResultsAttrName());
  std::vector<Buffer> args;
  size_t next = 0;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    if (i < argNames.size() && !argNames[i].empty()) {
      EXPECT_TRUE(state.count(argNames[i])) << argNames[i];
      args.push_back(state[argNames[i]]);
    } else {
      args.push_back(next < inputs.size() ? inputs[next++] : Buffer());
    }
  }
  EXPECT_EQ(next, inputs.size()) << "@" << name.str() << " takes " << next
                                 << " plain inputs";
  auto results = kiln::interp::run(fn, args);
  if (failed(results)) {
    ADD_FAILURE() << "interpreter failed on @" << name.str();
    return {};
  }
  std::vector<Buffer> plain;
  for (auto [i, result] : llvm::enumerate(*results)) {
    if (i < resultNames.size() && !resultNames[i].empty())
      state[resultNames[i]] = result;
    else
      plain.push_back(result);
  }
  return plain;
}

void expectCompiledMatchesInterpreter(StringRef ir,
                                      const std::vector<Buffer> &args,
                                      double rtol) {
  TestContext ctx;
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, &ctx.context);
  ASSERT_TRUE(module) << ctx.diagnostics;
  // Both sides see the same inputs: f32 arguments rounded to f32.
  std::vector<Buffer> inputs = args;
  auto fn = module->lookupSymbol<func::FuncOp>("f");
  ASSERT_TRUE(fn);
  for (auto [type, input] : llvm::zip(fn.getArgumentTypes(), inputs))
    if (type.cast<RankedTensorType>().getElementType().isF32())
      for (double &v : input.data)
        v = static_cast<float>(v);
  std::vector<Buffer> expected = interpret(ctx, ir, inputs);
  ASSERT_FALSE(expected.empty());
  CompiledModule compiled;
  std::string error;
  ASSERT_TRUE(compiled.build(*module, error)) << error;
  std::vector<Buffer> actual = compiled.call("f", inputs);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    ASSERT_EQ(actual[r].shape, expected[r].shape) << "result #" << r;
    double scale = 0.0;
    for (double v : expected[r].data)
      scale = std::max(scale, std::abs(v));
    expectNear(actual[r], expected[r].data, rtol * std::max(scale, 1e-30),
               "result #" + std::to_string(r), 1e-5);
  }
}

} // namespace nntest
