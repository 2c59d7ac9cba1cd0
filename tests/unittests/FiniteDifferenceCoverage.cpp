//===- FiniteDifferenceCoverage.cpp - the ops an FD check covers ----------===//

#include "FiniteDifferenceCoverage.h"

#include <gtest/gtest.h>

#include <iostream>
#include <regex>

namespace kiln::coverage {

std::set<std::string> &finiteDifferenceCheckedOps() {
  static std::set<std::string> ops;
  return ops;
}

bool recordFiniteDifferenceCheckOf(llvm::StringRef ir) {
  static const std::regex opName(R"(kiln\.[a-z0-9_]+)");
  std::string text = ir.str();
  for (std::sregex_iterator it(text.begin(), text.end(), opName), end; it != end; ++it)
    finiteDifferenceCheckedOps().insert(it->str());
  return true;
}

} // namespace kiln::coverage

namespace {
// Read by OpCompletenessTest, which runs this test of every binary that
// holds finite-difference checks.
TEST(FiniteDifferenceCoverage, ListsTheCheckedOps) {
  const std::set<std::string> &ops = kiln::coverage::finiteDifferenceCheckedOps();
  EXPECT_FALSE(ops.empty()) << "this binary records no checked op";
  for (const std::string &op : ops)
    std::cout << kiln::coverage::kFiniteDifferenceCoveragePrefix.str() << op << "\n";
}
} // namespace
