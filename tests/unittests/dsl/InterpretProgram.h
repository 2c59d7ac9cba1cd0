//===- InterpretProgram.h - run traced DSL programs in the interpreter ----===//
//
// Test helpers shared by the DSL's unit tests: expand a Program's kiln.vjp
// ops and call its functions in the reference interpreter, with state
// arguments and results addressed by their state names; catch trace errors.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_DSL_INTERPRETPROGRAM_H
#define KILN_TESTS_DSL_INTERPRETPROGRAM_H

#include "DslErrors.h"

#include "kiln/Interpreter/Interpreter.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/dsl/Program.h"
#include "kiln/dsl/ProgramMLIR.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kiln::dsl::test_support {

using kiln::interp::Buffer;

inline mlir::func::FuncOp funcNamed(const Program &p, llvm::StringRef name) {
  return moduleOf(p).lookupSymbol<mlir::func::FuncOp>(name);
}

inline std::vector<std::string> stringsOf(mlir::func::FuncOp fn,
                                   llvm::StringRef attr) {
  std::vector<std::string> names;
  if (auto array = fn->getAttrOfType<mlir::ArrayAttr>(attr))
    for (mlir::Attribute a : array)
      names.push_back(a.cast<mlir::StringAttr>().getValue().str());
  return names;
}

/// Expands kiln.vjp: autodiff, canonicalize, CSE.
inline void differentiate(Program &p) {
  mlir::PassManager pm(moduleOf(p).getContext());
  kiln::buildKilnDifferentiatePipeline(pm);
  ASSERT_TRUE(mlir::succeeded(pm.run(moduleOf(p)))) << p.str();
}

/// Runs function `name`; its state arguments come from `state` by name, the
/// plain ones from `plain` in order. Returns the results by state name, the
/// plain results as "#0", "#1", ...
inline std::map<std::string, Buffer> call(const Program &p, llvm::StringRef name,
                                   const std::map<std::string, Buffer> &state,
                                   std::vector<Buffer> plain) {
  mlir::func::FuncOp fn = funcNamed(p, name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name.str();
    return {};
  }
  std::vector<Buffer> args;
  size_t next = 0;
  for (const std::string &arg : stringsOf(fn, kiln::KilnDialect::getStateArgsAttrName()))
    args.push_back(arg.empty() ? plain.at(next++) : state.at(arg));
  EXPECT_EQ(next, plain.size());
  auto results = kiln::interp::run(fn, args);
  if (mlir::failed(results)) {
    ADD_FAILURE() << "interpreter failed on\n" << p.str();
    return {};
  }
  std::map<std::string, Buffer> named;
  std::vector<std::string> names = stringsOf(fn, kiln::KilnDialect::getStateResultsAttrName());
  EXPECT_EQ(names.size(), results->size());
  int plainIndex = 0;
  for (size_t i = 0; i < names.size() && i < results->size(); ++i) {
    std::string key = names[i];
    if (key.empty())
      key.append("#").append(std::to_string(plainIndex++));
    named[key] = (*results)[i];
  }
  return named;
}

inline void expectNear(const Buffer &actual, const std::vector<double> &expected,
                double tolerance) {
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i], tolerance) << "element " << i;
}

} // namespace kiln::dsl::test_support

#endif // KILN_TESTS_DSL_INTERPRETPROGRAM_H
