//===- OpCompletenessTest.cpp - every kiln op has every layer -------------===//
//
// Adding an op to the dialect cannot leave a layer out. For every op the
// kiln dialect registers, these tests take its first instance in the
// dialect's round-trip tests (tests/lit/Dialect/Kiln/*ops.mlir) and require
// that the reference interpreter evaluates it, that convert-kiln-to-linalg
// lowers it, that it has a VJP rule (DifferentiableOpInterface) or a reason
// in kNonDifferentiable, and that a finite-difference check covers each VJP
// rule (the binaries holding those checks record their ops:
// FiniteDifferenceCoverage.h).
//
//===----------------------------------------------------------------------===//

#include "FiniteDifferenceCoverage.h"

#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/InitAll.h"
#include "kiln/Interpreter/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>

using namespace mlir;

namespace {

/// Ops without a VJP rule, and why none is needed: autodiff stops at them
/// (no cotangent flows through), or they are autodiff's own request.
const std::map<std::string, std::string> kNonDifferentiable = {
    {"kiln.vjp", "the request to differentiate: kiln-autodiff expands it"},
    {"kiln.one_hot", "its operand is integer class indices"},
    {"kiln.random_uniform", "its operand is an integer seed"},
    {"kiln.random_normal", "its operand is an integer seed"},
    {"kiln.increment", "a step counter on integers"},
    {"kiln.constant", "it has no operands"},
    {"kiln.max_pool2d_grad", "the backward op of max_pool2d; a second derivative through it is a "
                             "diagnosed error (NNAutodiff.SecondDerivativeOfMaxPoolIsAClearError)"},
};

/// Ops whose VJP rule is zero by definition, which finite differences would
/// contradict; their rules are checked by the autodiff tests instead.
const std::map<std::string, std::string> kZeroGradientByDefinition = {
    {"kiln.compare", "a 0/1 mask: piecewise constant, no gradient to its operands; "
                     "differences across a threshold would see a jump"},
    {"kiln.stop_gradient", "the identity whose gradient is cut on purpose; finite "
                           "differences would see the identity"},
};

/// Ops that neither the interpreter nor the lowering ever sees.
const std::map<std::string, std::string> kExpandedBeforeEvaluation = {
    {"kiln.vjp", "kiln-autodiff replaces it by the backward ops"}};

/// The dialect's registered ops and one parsed instance of each.
struct Registry {
  MLIRContext context;
  std::vector<std::string> opNames;
  std::vector<OwningOpRef<ModuleOp>> roundTripTests;
  std::map<std::string, Operation *> instances;

  Registry() {
    DialectRegistry registry;
    kiln::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadDialect<kiln::KilnDialect, func::FuncDialect>();
    for (RegisteredOperationName name : context.getRegisteredOperations())
      if (name.getDialectNamespace() == kiln::KilnDialect::getDialectNamespace())
        opNames.push_back(name.getStringRef().str());
    for (const char *file :
         {"ops.mlir", "elementwise-ops.mlir", "layout-ops.mlir", "nn-ops.mlir"}) {
      std::string path = std::string(KILN_SOURCE_DIR) + "/tests/lit/Dialect/Kiln/" + file;
      roundTripTests.push_back(parseSourceFile<ModuleOp>(path, ParserConfig(&context)));
      if (!roundTripTests.back())
        ADD_FAILURE() << "cannot parse " << path;
      else
        roundTripTests.back()->walk(
            [&](Operation *op) { instances.emplace(op->getName().getStringRef().str(), op); });
    }
  }

  /// A module holding `op` alone in a function of its operands.
  OwningOpRef<ModuleOp> isolate(Operation *op) {
    Location loc = op->getLoc();
    OpBuilder b(&context);
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    auto fn = b.create<func::FuncOp>(
        loc, "f", b.getFunctionType(op->getOperandTypes(), op->getResultTypes()));
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping operands;
    operands.map(op->getOperands(), entry->getArguments());
    Operation *copy = b.clone(*op, operands);
    b.create<func::ReturnOp>(loc, copy->getResults());
    return module;
  }

  /// Each op the interpreter and the lowering must handle, alone in a
  /// module (ops without a round-trip test are EveryOpHasARoundTripTest's).
  std::vector<std::pair<std::string, OwningOpRef<ModuleOp>>> evaluatedOps() {
    std::vector<std::pair<std::string, OwningOpRef<ModuleOp>>> modules;
    for (const std::string &op : opNames) {
      auto instance = instances.find(op);
      if (instance != instances.end() && !kExpandedBeforeEvaluation.count(op))
        modules.emplace_back(op, isolate(instance->second));
    }
    return modules;
  }
};

Registry &registry() {
  static Registry instance;
  return instance;
}

/// The diagnostics emitted while it lives, one per line.
class Diagnostics {
public:
  explicit Diagnostics(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &diag) {
          text += diag.str() + "\n";
          return success();
        }) {}
  std::string text;

private:
  ScopedDiagnosticHandler handler;
};

TEST(OpCompleteness, TheDialectRegistersItsOps) { EXPECT_GE(registry().opNames.size(), 40u); }

TEST(OpCompleteness, EveryOpHasARoundTripTest) {
  for (const std::string &op : registry().opNames)
    EXPECT_TRUE(registry().instances.count(op))
        << op << " appears in none of tests/lit/Dialect/Kiln/*ops.mlir";
}

TEST(OpCompleteness, TheInterpreterEvaluatesEveryOp) {
  for (auto &[op, module] : registry().evaluatedOps()) {
    auto fn = *module->getOps<func::FuncOp>().begin();
    std::vector<kiln::interp::Buffer> zeros;
    for (Type type : fn.getArgumentTypes()) {
      auto shape = type.cast<RankedTensorType>().getShape();
      kiln::interp::Buffer b{std::vector<int64_t>(shape.begin(), shape.end()), {}};
      b.data.assign(b.numElements(), 0.0);
      zeros.push_back(std::move(b));
    }
    Diagnostics diagnostics(&registry().context);
    EXPECT_TRUE(succeeded(kiln::interp::run(fn, zeros)))
        << op << " has no interpreter case (compiler/lib/Interpreter): " << diagnostics.text;
  }
}

TEST(OpCompleteness, ConvertKilnToLinalgLowersEveryOp) {
  for (auto &[op, module] : registry().evaluatedOps()) {
    PassManager pm(&registry().context);
    pm.addPass(kiln::createConvertKilnToLinalg());
    Diagnostics diagnostics(&registry().context);
    EXPECT_TRUE(succeeded(pm.run(*module)))
        << op << " has no lowering (compiler/lib/Conversion/KilnToLinalg): " << diagnostics.text;
  }
}

TEST(OpCompleteness, EveryOpHasAVJPOrAReasonForNone) {
  for (RegisteredOperationName name : registry().context.getRegisteredOperations()) {
    std::string op = name.getStringRef().str();
    if (name.getDialectNamespace() != kiln::KilnDialect::getDialectNamespace())
      continue;
    bool differentiable = name.hasInterface<kiln::DifferentiableOpInterface>();
    EXPECT_NE(differentiable, kNonDifferentiable.count(op) != 0)
        << op
        << (differentiable ? " has a VJP rule yet is listed as "
                             "non-differentiable"
                           : " has no VJP rule (DifferentiableOpInterface) "
                             "and no reason in kNonDifferentiable");
  }
}

/// The ops the finite-difference checks of the binary at `path` cover, as
/// its FiniteDifferenceCoverage.ListsTheCheckedOps prints them.
std::set<std::string> checkedOpsOf(const std::string &path) {
  std::string command = path + " --gtest_filter=FiniteDifferenceCoverage.ListsTheCheckedOps";
  std::set<std::string> ops;
  std::unique_ptr<FILE, int (*)(FILE *)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) {
    ADD_FAILURE() << "cannot run " << path;
    return ops;
  }
  char line[256];
  while (fgets(line, sizeof line, pipe.get())) {
    llvm::StringRef text = llvm::StringRef(line).trim();
    if (text.consume_front(kiln::coverage::kFiniteDifferenceCoveragePrefix))
      ops.insert(text.str());
  }
  return ops;
}

TEST(OpCompleteness, AFiniteDifferenceCheckCoversEveryVJP) {
  // This binary's own checks (GradCheckTest.cpp), then the op groups'.
  std::set<std::string> checked = kiln::coverage::finiteDifferenceCheckedOps();
  for (const char *binary :
       {KILN_ELEMENTWISE_TESTS, KILN_LAYOUT_TESTS, KILN_NN_TESTS}) {
    std::set<std::string> ops = checkedOpsOf(binary);
    EXPECT_FALSE(ops.empty()) << binary << " lists no finite-difference check";
    checked.insert(ops.begin(), ops.end());
  }
  for (const std::string &op : registry().opNames)
    EXPECT_TRUE(checked.count(op) || kNonDifferentiable.count(op) ||
                kZeroGradientByDefinition.count(op))
        << op << " has a VJP rule but no finite-difference check of it "
        << "(record the check's ops with FiniteDifferenceCoverage.h)";
}

} // namespace
