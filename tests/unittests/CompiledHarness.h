//===- CompiledHarness.h - run kiln IR compiled and interpreted -*- C++ -*-===//
//
// The fixture of the compiled-vs-interpreter tests. One module of kiln IR is
// run twice: by the reference interpreter (kiln-autodiff, then float64
// evaluation) and as JIT-compiled code from the full CPU pipeline, called
// through the bare-pointer C ABI that kiln::extractAbi reads off the IR after
// the bufferize stage. State lives in a 64-byte aligned arena at the offsets
// of ModuleAbi::state on the compiled side and in a name -> Buffer map on the
// interpreted side.
//
// Every compiled call also checks the ABI's promises: the arena is not
// written past kiln.arena_bytes, inputs are never modified, and scratch is
// written before it is read (the arena starts filled with NaNs).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNITTESTS_COMPILEDHARNESS_H
#define KILN_TESTS_UNITTESTS_COMPILEDHARNESS_H

#include "AbiCall.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/InitAll.h"
#include "kiln/Interpreter/Interpreter.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Target/ABI.h"
#include "kiln/Target/JIT.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>

namespace kiln::test {
using namespace mlir;
using kiln::interp::Buffer;

//===----------------------------------------------------------------------===//
// Inputs and comparisons
//===----------------------------------------------------------------------===//

/// Where the random values of one argument are drawn. `integers` rounds
/// them (ties for comparisons and reduce_max; class indices).
struct Range {
  double low = -2.0, high = 2.0;
  bool integers = false;
};

/// The C++ value of `attr` on `fn`: one name per entry, "" for plain ones;
/// an empty list when the attribute is absent.
inline std::vector<std::string> stateNames(func::FuncOp fn, StringRef attr) {
  std::vector<std::string> names;
  if (auto array = fn->getAttrOfType<ArrayAttr>(attr))
    for (Attribute a : array)
      names.push_back(a.cast<StringAttr>().getValue().str());
  return names;
}

inline bool isState(const std::vector<std::string> &names, size_t i) {
  return i < names.size() && !names[i].empty();
}

/// Per-element tolerance: 1e-4 relative, plus 1e-5 of the tensor's largest
/// magnitude for values produced by cancellation in f32 sums.
inline void expectClose(const Buffer &compiled, const Buffer &oracle,
                 const std::string &what, double rtol = 1e-4) {
  ASSERT_EQ(compiled.shape, oracle.shape) << what;
  ASSERT_EQ(compiled.data.size(), oracle.data.size()) << what;
  double scale = 0.0;
  for (double v : oracle.data)
    if (std::isfinite(v))
      scale = std::max(scale, std::abs(v));
  int reported = 0;
  for (size_t i = 0; i < oracle.data.size(); ++i) {
    double c = compiled.data[i], o = oracle.data[i];
    bool ok;
    if (std::isnan(o))
      ok = std::isnan(c);
    else if (std::isinf(o))
      ok = c == o;
    else
      ok = std::abs(c - o) <= rtol * std::abs(o) + 0.1 * rtol * scale + 1e-7;
    if (!ok && reported++ < 8)
      ADD_FAILURE() << what << ": element " << i << " is " << c
                    << " compiled, " << o << " interpreted";
  }
}

inline void expectBitEqual(const Buffer &compiled, const Buffer &oracle,
                    const std::string &what) {
  ASSERT_EQ(compiled.shape, oracle.shape) << what;
  ASSERT_EQ(compiled.data.size(), oracle.data.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < oracle.data.size(); ++i)
    if (compiled.data[i] != oracle.data[i] && reported++ < 8)
      ADD_FAILURE() << what << ": element " << i << " is "
                    << compiled.data[i] << " compiled, " << oracle.data[i]
                    << " interpreted (must be bit-equal)";
}

//===----------------------------------------------------------------------===//
// The fixture: one module, interpreted and compiled
//===----------------------------------------------------------------------===//

inline constexpr size_t kGuardBytes = 256;
inline constexpr uint8_t kGuard = 0xA5;

class CompiledVsInterpreter : public ::testing::Test {
protected:
  CompiledVsInterpreter() : context(makeRegistry()) {
    context.loadAllAvailableDialects();
    context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
    });
  }

  ~CompiledVsInterpreter() override { std::free(arena); }

  /// Parses `ir`; builds the oracle (kiln-autodiff only) and the compiled
  /// module (the three pipeline stages, ABI read in between), JITs it and
  /// allocates a NaN-filled arena with guard bytes behind it.
  bool build(StringRef ir) {
    OwningOpRef<ModuleOp> source = parseSourceString<ModuleOp>(ir, &context);
    if (!source) {
      ADD_FAILURE() << "parse failed:\n" << diagnostics;
      return false;
    }
    oracle = source->clone();
    PassManager oraclePm(&context);
    oraclePm.addNestedPass<func::FuncOp>(kiln::createKilnAutodiff());
    if (failed(oraclePm.run(*oracle))) {
      ADD_FAILURE() << "kiln-autodiff failed:\n" << diagnostics;
      return false;
    }

    compiled = source->clone();
    // KILN_TEST_GPU_KERNELS=1: the NVPTX backend's kernels, run as host
    // loops (the ctest compiled_vs_interpreter_through_gpu_kernels).
    const char *gpuKernels = std::getenv("KILN_TEST_GPU_KERNELS");
    bool throughGPUKernels = gpuKernels && std::string(gpuKernels) == "1";
    PassManager front(&context);
    kiln::buildKilnDifferentiatePipeline(front);
    // As kilnc for the host: arena room for B packed once per k block.
    kiln::BufferizePipelineOptions bufferize;
    if (!throughGPUKernels)
      bufferize.matmulVectorWidth = kiln::CPUPipelineOptions().vectorWidth;
    kiln::buildKilnBufferizePipeline(front, bufferize);
    if (failed(front.run(*compiled))) {
      ADD_FAILURE() << "differentiate/bufferize failed:\n" << diagnostics;
      return false;
    }
    auto extracted = kiln::extractAbi(*compiled);
    if (failed(extracted)) {
      ADD_FAILURE() << "extractAbi failed:\n" << diagnostics;
      return false;
    }
    abi = *extracted;
    PassManager back(&context);
    if (throughGPUKernels) {
      back.addNestedPass<func::FuncOp>(kiln::createKilnMapToGPU());
      back.addNestedPass<func::FuncOp>(kiln::createKilnEmulateGPULaunches());
    }
    kiln::buildKilnLowerToLLVMPipeline(back, kiln::CPUPipelineOptions());
    if (failed(back.run(*compiled))) {
      ADD_FAILURE() << "lower-to-llvm failed:\n" << diagnostics;
      return false;
    }
    std::string error;
    jit = kiln::JitModule::create(*compiled, error);
    if (!jit) {
      ADD_FAILURE() << "JIT failed: " << error;
      return false;
    }

    EXPECT_GT(abi.arenaBytes, 0);
    EXPECT_EQ(abi.arenaBytes,
              (*compiled)
                  ->getAttrOfType<IntegerAttr>(kiln::KilnDialect::getArenaBytesAttrName())
                  .getInt());
    size_t bytes = (abi.arenaBytes + kGuardBytes + 63) / 64 * 64;
    arena = static_cast<uint8_t *>(std::aligned_alloc(64, bytes));
    std::memset(arena, 0xFF, abi.arenaBytes); // f32/f64 NaN everywhere
    std::memset(arena + abi.arenaBytes, kGuard, bytes - abi.arenaBytes);
    arenaAllocBytes = bytes;
    return true;
  }

  func::FuncOp oracleFunction(StringRef name) {
    auto fn = oracle->lookupSymbol<func::FuncOp>(name);
    EXPECT_TRUE(fn) << "no function @" << name.str();
    return fn;
  }

  /// Random values for the plain (non-state) arguments of @name.
  std::vector<Buffer> randomInputs(StringRef name, std::vector<Range> ranges = {},
                                   unsigned seed = 1) {
    std::mt19937_64 rng(seed);
    func::FuncOp fn = oracleFunction(name);
    std::vector<std::string> state = stateNames(fn, kiln::KilnDialect::getStateArgsAttrName());
    std::vector<Buffer> inputs;
    for (auto [i, type] : llvm::enumerate(fn.getArgumentTypes())) {
      if (isState(state, i))
        continue;
      auto tensor = type.cast<RankedTensorType>();
      Range range = inputs.size() < ranges.size() ? ranges[inputs.size()]
                                                  : Range();
      std::uniform_real_distribution<double> dist(range.low, range.high);
      Buffer b{std::vector<int64_t>(tensor.getShape().begin(),
                                    tensor.getShape().end()),
               {}};
      bool isInt = tensor.getElementType().isa<IntegerType>();
      for (int64_t e = 0; e < b.numElements(); ++e) {
        double v = dist(rng);
        if (range.integers || isInt)
          v = std::round(v);
        else if (tensor.getElementType().isF32())
          v = static_cast<float>(v); // both sides see the same input
        b.data.push_back(v);
      }
      inputs.push_back(std::move(b));
    }
    return inputs;
  }

  /// Runs @name in the interpreter on `plain` inputs, reading state
  /// arguments from and writing state results to `state`.
  std::vector<Buffer> runOracle(StringRef name, const std::vector<Buffer> &plain,
                                std::map<std::string, Buffer> &state) {
    func::FuncOp fn = oracleFunction(name);
    std::vector<std::string> argNames = stateNames(fn, kiln::KilnDialect::getStateArgsAttrName());
    std::vector<std::string> resultNames =
        stateNames(fn, kiln::KilnDialect::getStateResultsAttrName());
    std::vector<Buffer> args;
    size_t next = 0;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      if (isState(argNames, i)) {
        EXPECT_TRUE(state.count(argNames[i]))
            << "state '" << argNames[i] << "' read before it was set";
        args.push_back(state[argNames[i]]);
      } else {
        EXPECT_LT(next, plain.size()) << "too few inputs for @" << name.str();
        args.push_back(next < plain.size() ? plain[next++] : Buffer());
      }
    }
    auto results = kiln::interp::run(fn, args);
    if (failed(results)) {
      ADD_FAILURE() << "interpreter failed on @" << name.str() << ":\n"
                    << diagnostics;
      return {};
    }
    std::vector<Buffer> outputs;
    for (auto [i, result] : llvm::enumerate(*results)) {
      if (isState(resultNames, i))
        state[resultNames[i]] = result;
      else
        outputs.push_back(result);
    }
    return outputs;
  }

  /// Calls the compiled @name through its C ABI on `plain` inputs; state
  /// lives in the arena. Checks that inputs and the guard bytes survive.
  std::vector<Buffer> runCompiled(StringRef name,
                                  const std::vector<Buffer> &plain) {
    const kiln::AbiFunction *fn = abi.lookup(name);
    if (!fn) {
      ADD_FAILURE() << "no ABI for @" << name.str();
      return {};
    }
    void *address = jit->lookup(name);
    if (!address) {
      ADD_FAILURE() << "no JIT symbol @" << name.str();
      return {};
    }
    EXPECT_EQ(fn->inputs.size(), plain.size()) << "@" << name.str();
    if (fn->inputs.size() != plain.size())
      return {};
    std::vector<HostTensor> inputs, outputs;
    std::vector<void *> args{arena};
    for (auto [abiIn, value] : llvm::zip(fn->inputs, plain)) {
      EXPECT_EQ(abiIn.shape, value.shape) << "@" << name.str() << " input";
      inputs.emplace_back(abiIn);
      writeElements(inputs.back().data(), abiIn.cType, value.data);
    }
    for (const kiln::AbiBuffer &abiOut : fn->outputs)
      outputs.emplace_back(abiOut);
    for (HostTensor &t : inputs)
      args.push_back(t.data());
    for (HostTensor &t : outputs)
      args.push_back(t.data());
    std::vector<std::vector<uint64_t>> before;
    for (HostTensor &t : inputs)
      before.push_back(t.storage);

    callBare(address, args);

    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_EQ(inputs[i].storage, before[i])
          << "@" << name.str() << " modified input #" << i;
    for (size_t b = abi.arenaBytes; b < arenaAllocBytes; ++b)
      if (arena[b] != kGuard) {
        ADD_FAILURE() << "@" << name.str() << " wrote arena byte " << b
                      << " past kiln.arena_bytes = " << abi.arenaBytes;
        break;
      }
    std::vector<Buffer> results;
    for (HostTensor &t : outputs)
      results.push_back(t.toBuffer());
    return results;
  }

  /// Runs @name both ways and compares the outputs and every state entry.
  /// Returns the compiled outputs.
  std::vector<Buffer> checkCall(StringRef name,
                                const std::vector<Buffer> &plain,
                                double rtol = 1e-4) {
    std::vector<Buffer> expected = runOracle(name, plain, oracleState);
    std::vector<Buffer> actual = runCompiled(name, plain);
    EXPECT_EQ(actual.size(), expected.size()) << "@" << name.str();
    if (actual.size() != expected.size())
      return actual;
    // The oracle computes in f64; an f32 result is that value rounded (so
    // 4e38 is +inf in f32).
    const kiln::AbiFunction *fn = abi.lookup(name);
    for (size_t i = 0; i < expected.size() && fn; ++i)
      if (fn->outputs[i].cType == "float")
        for (double &v : expected[i].data)
          v = static_cast<float>(v);
    for (size_t i = 0; i < expected.size(); ++i)
      expectClose(actual[i], expected[i],
                  (Twine("@") + name + " output #" + Twine(i)).str(), rtol);
    for (auto &[stateName, value] : oracleState)
      expectClose(readState(stateName), value,
                  (Twine("@") + name + " state '" + stateName + "'").str(),
                  rtol);
    return actual;
  }

  /// Parses and compiles `ir`, then compares @f on random inputs.
  void checkOp(StringRef ir, std::vector<Range> ranges = {},
               double rtol = 1e-4) {
    ASSERT_TRUE(build(ir));
    for (unsigned seed : {1u, 2u})
      checkCall("f", randomInputs("f", ranges, seed), rtol);
  }

  const kiln::AbiStateEntry *stateEntry(const std::string &name) {
    for (const kiln::AbiStateEntry &entry : abi.state)
      if (entry.name == name)
        return &entry;
    ADD_FAILURE() << "no state entry '" << name << "' in the ABI";
    return nullptr;
  }

  Buffer readState(const std::string &name) {
    const kiln::AbiStateEntry *entry = stateEntry(name);
    if (!entry)
      return {};
    EXPECT_EQ(entry->offset % 64, 0) << "state '" << name << "'";
    EXPECT_LE(entry->offset + entry->buffer.elements *
                                  int64_t(elementBytes(entry->buffer.cType)),
              abi.stateBytes)
        << "state '" << name << "'";
    return Buffer{entry->buffer.shape,
                  readElements(arena + entry->offset, entry->buffer.cType,
                               entry->buffer.elements)};
  }

  /// Sets state `name` in the arena and in the oracle's state.
  void writeState(const std::string &name, const Buffer &value) {
    const kiln::AbiStateEntry *entry = stateEntry(name);
    if (!entry)
      return;
    ASSERT_EQ(entry->buffer.shape, value.shape) << "state '" << name << "'";
    writeElements(arena + entry->offset, entry->buffer.cType, value.data);
    oracleState[name] = value;
  }

  MLIRContext context;
  std::string diagnostics;
  OwningOpRef<ModuleOp> oracle, compiled;
  kiln::ModuleAbi abi;
  std::unique_ptr<kiln::JitModule> jit;
  uint8_t *arena = nullptr;
  size_t arenaAllocBytes = 0;
  std::map<std::string, Buffer> oracleState;
};

} // namespace kiln::test

#endif // KILN_TESTS_UNITTESTS_COMPILEDHARNESS_H
