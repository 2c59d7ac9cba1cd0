//===- NNTestUtil.cpp - helpers of the NN op and layer tests --------------===//

#include "NNTestUtil.h"

#include "AbiCall.h"

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

using kiln::test::callBare;
using kiln::test::elementBytes;
using kiln::test::makeRegistry;
using kiln::test::readElements;
using kiln::test::writeElements;

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

CompiledModule::~CompiledModule() { std::free(arena_); }

bool CompiledModule::build(ModuleOp source, std::string &error) {
  module_ = source.clone();
  MLIRContext *ctx = source.getContext();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
    return success();
  });
  PassManager front(ctx);
  kiln::buildKilnDifferentiatePipeline(front);
  kiln::buildKilnBufferizePipeline(front);
  if (failed(front.run(*module_))) {
    error = "differentiate/bufferize failed:\n" + diagnostics;
    return false;
  }
  auto abi = kiln::extractAbi(*module_);
  if (failed(abi)) {
    error = "extractAbi failed:\n" + diagnostics;
    return false;
  }
  abi_ = *abi;
  PassManager back(ctx);
  kiln::buildKilnLowerToLLVMPipeline(back, kiln::CPUPipelineOptions());
  if (failed(back.run(*module_))) {
    error = "lower-to-llvm failed:\n" + diagnostics;
    return false;
  }
  jit_ = kiln::JitModule::create(*module_, error);
  if (!jit_)
    return false;
  size_t bytes = (abi_.arenaBytes + 63) / 64 * 64 + 64;
  arena_ = static_cast<uint8_t *>(std::aligned_alloc(64, bytes));
  std::memset(arena_, 0xFF, bytes); // NaN: scratch must be written first
  return true;
}

std::vector<Buffer> CompiledModule::call(StringRef name,
                                         const std::vector<Buffer> &inputs) {
  const kiln::AbiFunction *fn = abi_.lookup(name);
  void *address = jit_ ? jit_->lookup(name) : nullptr;
  if (!fn || !address) {
    ADD_FAILURE() << "no compiled function @" << name.str();
    return {};
  }
  if (fn->inputs.size() != inputs.size()) {
    ADD_FAILURE() << "@" << name.str() << " takes " << fn->inputs.size()
                  << " inputs, got " << inputs.size();
    return {};
  }
  std::vector<std::vector<uint64_t>> storage;
  std::vector<void *> args{arena_};
  auto allocate = [&](const kiln::AbiBuffer &buffer) {
    storage.emplace_back(
        (buffer.elements * elementBytes(buffer.cType) + 7) / 8 + 1, 0);
    args.push_back(storage.back().data());
  };
  storage.reserve(fn->inputs.size() + fn->outputs.size());
  for (auto [abiIn, value] : llvm::zip(fn->inputs, inputs)) {
    EXPECT_EQ(abiIn.shape, value.shape) << "@" << name.str() << " input";
    allocate(abiIn);
    writeElements(args.back(), abiIn.cType, value.data);
  }
  for (const kiln::AbiBuffer &abiOut : fn->outputs)
    allocate(abiOut);
  callBare(address, args);
  std::vector<Buffer> results;
  for (auto [i, abiOut] : llvm::enumerate(fn->outputs))
    results.push_back(Buffer{abiOut.shape,
                             readElements(args[1 + inputs.size() + i],
                                          abiOut.cType, abiOut.elements)});
  return results;
}

Buffer CompiledModule::readState(const std::string &name) const {
  for (const kiln::AbiStateEntry &entry : abi_.state)
    if (entry.name == name)
      return Buffer{entry.buffer.shape,
                    readElements(arena_ + entry.offset, entry.buffer.cType,
                                 entry.buffer.elements)};
  ADD_FAILURE() << "no state '" << name << "'";
  return {};
}

void CompiledModule::writeState(const std::string &name, const Buffer &value) {
  for (const kiln::AbiStateEntry &entry : abi_.state)
    if (entry.name == name) {
      ASSERT_EQ(entry.buffer.shape, value.shape) << name;
      writeElements(arena_ + entry.offset, entry.buffer.cType, value.data);
      return;
    }
  ADD_FAILURE() << "no state '" << name << "'";
}

std::vector<Buffer> interpretWithState(ModuleOp module, StringRef name,
                                       const std::vector<Buffer> &inputs,
                                       std::map<std::string, Buffer> &state) {
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name.str();
    return {};
  }
  std::vector<std::string> argNames = names(fn, "kiln.state_args");
  std::vector<std::string> resultNames = names(fn, "kiln.state_results");
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
