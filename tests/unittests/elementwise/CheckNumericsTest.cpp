//===- CheckNumericsTest.cpp - kilnc --check-numerics, end to end ---------===//
//
// A traced step (w * x, sqrt, sum, SGD update of w) instrumented by
// kiln-check-numerics, then compiled (JIT, full CPU pipeline) and
// interpreted: the slot kiln.numerics.first_nonfinite holds the id of the
// first op that made a NaN or Inf, the site table names the sqrt's line in
// this file, and both sides agree.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseTestUtil.h"

#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/dsl/ProgramMLIR.h"

#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace kiln::dsl;
using kiln::test::Buffer;
using kiln::test::CompiledModule;

namespace {
const char *const kSlot = "kiln.numerics.first_nonfinite";

/// The line of the sqrt below, for the expected site text.
int sqrtLine = 0;

/// step(w, x): loss = sum(sqrt(w * x)) (or of relu(w * x) with
/// `reluFirst`), w -= 0.1 dloss/dw; differentiated and instrumented.
Program checkedStep(bool reluFirst) {
  Program p;
  Function f = p.function("step");
  Tensor w = f.state_input("w", {4});
  Tensor x = f.input({4});
  Tensor h = w * x;
  if (reluFirst)
    h = relu(h);
  sqrtLine = __LINE__ + 1;
  Tensor loss = sqrt(h).sum();
  Tensor g = grad(loss, {w})[0];
  f.output(loss);
  f.state_output("w", w - 0.1 * g);
  f.finish();
  EXPECT_TRUE(kiln::test::differentiate(p));
  mlir::PassManager pm(moduleOf(p).getContext());
  pm.addPass(kiln::createKilnCheckNumerics());
  EXPECT_TRUE(mlir::succeeded(pm.run(moduleOf(p))));
  return p;
}

/// Runs step compiled and interpreted (they must agree, slot included) and
/// returns the site the slot names ("" for 0).
std::string firstNonFinite(CompiledModule &m, std::vector<double> x) {
  m.writeState("w", Buffer{{4}, {1.0, 2.0, 0.5, 4.0}});
  m.oracleState["w"] = Buffer{{4}, {1.0, 2.0, 0.5, 4.0}};
  m.check("step", {Buffer{{4}, x}});
  Buffer slot = m.readState(kSlot);
  EXPECT_TRUE(slot.shape.empty());
  EXPECT_EQ(slot.data.at(0), m.oracleState[kSlot].data.at(0));
  int id = int(slot.data.at(0));
  if (id == 0)
    return "";
  EXPECT_LE(id, int(m.abi.numericsSites.size()));
  return m.abi.numericsSites.at(id - 1);
}

std::string sqrtSite() {
  return "CheckNumericsTest.cpp:" + std::to_string(sqrtLine) + ":";
}

TEST(CheckNumerics, NamesTheForwardOpThatMadeTheNaN) {
  Program p = checkedStep(/*reluFirst=*/false);
  CompiledModule m;
  ASSERT_TRUE(m.build(p.str()));
  // The slot is an observation in the ABI, after w.
  ASSERT_EQ(m.abi.state.size(), 2u);
  EXPECT_EQ(m.abi.state[1].name, kSlot);
  EXPECT_TRUE(m.abi.state[1].observation);
  EXPECT_EQ(m.abi.state[1].buffer.cType, "int32_t");

  EXPECT_EQ(firstNonFinite(m, {1.0, 1.0, 2.0, 3.0}), "");
  // sqrt(-2): NaN in the forward pass, and everything after it.
  std::string site = firstNonFinite(m, {1.0, -1.0, 2.0, 3.0});
  EXPECT_EQ(site.rfind(sqrtSite(), 0), 0u) << site;
  EXPECT_NE(site.find(" kiln.sqrt (forward)"), std::string::npos) << site;
  // Every call stores its own result: a good step clears the slot.
  EXPECT_EQ(firstNonFinite(m, {1.0, 1.0, 2.0, 3.0}), "");
}

TEST(CheckNumerics, NamesTheBackwardOpThatMadeTheInf) {
  // relu(-2) = 0 and sqrt(0) = 0 are finite; the gradient g / (2 sqrt(0))
  // is the first Inf, in the sqrt's backward.
  Program p = checkedStep(/*reluFirst=*/true);
  CompiledModule m;
  ASSERT_TRUE(m.build(p.str()));
  std::string site = firstNonFinite(m, {1.0, -1.0, 2.0, 3.0});
  EXPECT_EQ(site.rfind(sqrtSite(), 0), 0u) << site;
  EXPECT_NE(site.find(" kiln.div (backward)"), std::string::npos) << site;
}

TEST(CheckNumerics, NamesANonFiniteInputOrParameter) {
  Program p = checkedStep(/*reluFirst=*/false);
  CompiledModule m;
  ASSERT_TRUE(m.build(p.str()));
  double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(firstNonFinite(m, {1.0, inf, 2.0, 3.0}), "input in0 of step");
  m.writeState("w", Buffer{{4}, {1.0, std::nan(""), 0.5, 4.0}});
  m.oracleState["w"] = m.readState("w");
  m.check("step", {Buffer{{4}, {1.0, 1.0, 2.0, 3.0}}});
  int id = int(m.readState(kSlot).data.at(0));
  ASSERT_GT(id, 0);
  EXPECT_EQ(m.abi.numericsSites.at(id - 1), "state w on entry to step");
}

} // namespace
