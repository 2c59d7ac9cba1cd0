//===- ElementwiseTestUtil.cpp - helpers of the elementwise tests ---------===//

#include "ElementwiseTestUtil.h"

#include "AbiCall.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/InitAll.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/dsl/ProgramMLIR.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <mutex>

using namespace mlir;

namespace kiln::test {

namespace {
std::vector<std::string> stringsOf(func::FuncOp fn, StringRef attr) {
  std::vector<std::string> names;
  if (auto array = fn->getAttrOfType<ArrayAttr>(attr))
    for (Attribute a : array)
      names.push_back(a.cast<StringAttr>().getValue().str());
  return names;
}

bool isState(const std::vector<std::string> &names, size_t i) {
  return i < names.size() && !names[i].empty();
}

} // namespace

//===----------------------------------------------------------------------===//
// DSL programs in the interpreter
//===----------------------------------------------------------------------===//

bool differentiate(dsl::Program &p) {
  PassManager pm(dsl::moduleOf(p).getContext());
  kiln::buildKilnDifferentiatePipeline(pm);
  bool ok = succeeded(pm.run(dsl::moduleOf(p)));
  EXPECT_TRUE(ok) << p.str();
  return ok;
}

State interpret(const dsl::Program &p, const std::string &name,
                const State &state, const std::vector<Buffer> &plain) {
  auto fn = dsl::moduleOf(p).lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name;
    return {};
  }
  std::vector<Buffer> args;
  size_t next = 0;
  std::vector<std::string> argNames = stringsOf(fn, kiln::KilnDialect::getStateArgsAttrName());
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    if (isState(argNames, i)) {
      auto it = state.find(argNames[i]);
      if (it == state.end()) {
        ADD_FAILURE() << "no state '" << argNames[i] << "'";
        return {};
      }
      args.push_back(it->second);
    } else if (next < plain.size()) {
      args.push_back(plain[next++]);
    } else {
      ADD_FAILURE() << "too few inputs for @" << name;
      return {};
    }
  }
  EXPECT_EQ(next, plain.size()) << "@" << name;
  auto results = interp::run(fn, args);
  if (failed(results)) {
    ADD_FAILURE() << "interpreter failed on @" << name << "\n" << p.str();
    return {};
  }
  State named;
  std::vector<std::string> names = stringsOf(fn, kiln::KilnDialect::getStateResultsAttrName());
  int plainIndex = 0;
  for (size_t i = 0; i < results->size(); ++i) {
    std::string key =
        isState(names, i) ? names[i] : "#" + std::to_string(plainIndex++);
    named[key] = (*results)[i];
  }
  return named;
}

std::vector<Buffer>
evalTraced(const Buffer &x,
           const std::function<std::vector<dsl::Tensor>(const dsl::Tensor &)> &body,
           bool differentiate) {
  dsl::Program p;
  dsl::Function f = p.function("f");
  dsl::Tensor in = f.input(x.shape, dsl::DType::f64);
  for (const dsl::Tensor &t : body(in))
    f.output(t);
  f.finish();
  if (differentiate && !test::differentiate(p))
    return {};
  State r = interpret(p, "f", {}, {x});
  std::vector<Buffer> outputs;
  for (size_t i = 0; r.count("#" + std::to_string(i)); ++i)
    outputs.push_back(r["#" + std::to_string(i)]);
  return outputs;
}

void expectNear(const Buffer &actual, const std::vector<double> &expected,
                double atol, double rtol, const std::string &what) {
  ASSERT_EQ(actual.data.size(), expected.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i],
                atol + rtol * std::abs(expected[i]))
        << what << " element " << i;
}

//===----------------------------------------------------------------------===//
// CompiledModule
//===----------------------------------------------------------------------===//

CompiledModule::CompiledModule()
    : context(std::make_unique<MLIRContext>(makeRegistry())) {
  context->loadAllAvailableDialects();
  context->getDiagEngine().registerHandler(
      [this](Diagnostic &diag) { diagnostics += diag.str() + "\n"; });
}

bool CompiledModule::build(const std::string &ir,
                           const CPUPipelineOptions &options) {
  OwningOpRef<ModuleOp> source = parseSourceString<ModuleOp>(ir, context.get());
  if (!source) {
    ADD_FAILURE() << "parse failed:\n" << diagnostics << ir;
    return false;
  }
  oracle = source->clone();
  PassManager oraclePm(context.get());
  oraclePm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
  if (failed(oraclePm.run(*oracle))) {
    ADD_FAILURE() << "kiln-autodiff failed:\n" << diagnostics;
    return false;
  }
  std::string error;
  if (!code.build(*source, error, options)) {
    ADD_FAILURE() << error;
    return false;
  }
  abi = code.abi();
  return true;
}

std::vector<Buffer>
CompiledModule::runOracle(const std::string &name,
                          const std::vector<Buffer> &plain) {
  auto fn = oracle->lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name;
    return {};
  }
  std::vector<std::string> argNames = stringsOf(fn, kiln::KilnDialect::getStateArgsAttrName());
  std::vector<std::string> resultNames =
      stringsOf(fn, kiln::KilnDialect::getStateResultsAttrName());
  std::vector<Buffer> args;
  size_t next = 0;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    if (isState(argNames, i))
      args.push_back(oracleState[argNames[i]]);
    else
      args.push_back(next < plain.size() ? plain[next++] : Buffer());
  }
  auto results = interp::run(fn, args);
  if (failed(results)) {
    ADD_FAILURE() << "interpreter failed on @" << name << ":\n" << diagnostics;
    return {};
  }
  std::vector<Buffer> outputs;
  for (size_t i = 0; i < results->size(); ++i) {
    if (isState(resultNames, i))
      oracleState[resultNames[i]] = (*results)[i];
    else
      outputs.push_back((*results)[i]);
  }
  return outputs;
}

std::vector<Buffer>
CompiledModule::runCompiled(const std::string &name,
                            const std::vector<Buffer> &plain) {
  return code.call(name, plain);
}

std::vector<Buffer> CompiledModule::check(const std::string &name,
                                          const std::vector<Buffer> &plain,
                                          double rtol) {
  std::vector<Buffer> expected = runOracle(name, plain);
  std::vector<Buffer> actual = runCompiled(name, plain);
  EXPECT_EQ(actual.size(), expected.size()) << "@" << name;
  for (size_t i = 0; i < expected.size() && i < actual.size(); ++i)
    expectCloseF32(actual[i], expected[i],
                   "@" + name + " output #" + std::to_string(i), rtol);
  for (auto &[stateName, value] : oracleState)
    expectCloseF32(readState(stateName), value,
                   "@" + name + " state '" + stateName + "'", rtol);
  return actual;
}

Buffer CompiledModule::readState(const std::string &name) const {
  return code.readState(name);
}

void CompiledModule::writeState(const std::string &name, const Buffer &value) {
  code.writeState(name, value);
  oracleState[name] = value;
}

void expectCloseF32(const Buffer &compiled, const Buffer &oracle,
                    const std::string &what, double rtol) {
  ASSERT_EQ(compiled.shape, oracle.shape) << what;
  ASSERT_EQ(compiled.data.size(), oracle.data.size()) << what;
  double scale = 0.0;
  for (double v : oracle.data)
    if (std::isfinite(v))
      scale = std::max(scale, std::abs(v));
  int reported = 0;
  for (size_t i = 0; i < oracle.data.size(); ++i) {
    double c = compiled.data[i], o = static_cast<float>(oracle.data[i]);
    bool ok;
    if (std::isnan(o))
      ok = std::isnan(c);
    else if (std::isinf(o))
      ok = c == o;
    else
      ok = std::abs(c - o) <= rtol * std::abs(o) + 0.1 * rtol * scale + 1e-7;
    if (!ok && reported++ < 8)
      ADD_FAILURE() << what << ": element " << i << " is " << c << " compiled, "
                    << oracle.data[i] << " interpreted";
  }
}

void expectBitEqual(const Buffer &compiled, const Buffer &oracle,
                    const std::string &what) {
  ASSERT_EQ(compiled.shape, oracle.shape) << what;
  int reported = 0;
  for (size_t i = 0; i < oracle.data.size(); ++i)
    if (compiled.data[i] != oracle.data[i] && reported++ < 8)
      ADD_FAILURE() << what << ": element " << i << " is " << compiled.data[i]
                    << " compiled, " << oracle.data[i]
                    << " interpreted (must be bit-equal)";
}

} // namespace kiln::test
