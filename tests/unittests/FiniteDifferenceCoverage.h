//===- FiniteDifferenceCoverage.h - the ops an FD check covers --*- C++ -*-===//
//
// Each binary with finite-difference checks of VJP rules records the kiln ops
// those checks differentiate, beside the checks. Its test
// FiniteDifferenceCoverage.ListsTheCheckedOps prints them, which is how
// OpCompletenessTest finds an op that no finite-difference check covers.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNITTESTS_FINITEDIFFERENCECOVERAGE_H
#define KILN_TESTS_UNITTESTS_FINITEDIFFERENCECOVERAGE_H

#include "llvm/ADT/StringRef.h"

#include <set>
#include <string>
#include <vector>

namespace kiln::coverage {

/// The ops this binary's finite-difference checks cover ("kiln.add").
std::set<std::string> &finiteDifferenceCheckedOps();

/// Records every "kiln.<op>" that `ir` names: a case whose IR differentiates
/// those ops covers them. Returns true, to initialize a namespace-scope flag.
bool recordFiniteDifferenceCheckOf(llvm::StringRef ir);

/// Records the ops in the `body` of each IR case of a checked table.
template <typename Case> bool recordFiniteDifferenceCases(const std::vector<Case> &cases) {
  for (const Case &c : cases)
    recordFiniteDifferenceCheckOf(c.body);
  return true;
}

/// The line FiniteDifferenceCoverage.ListsTheCheckedOps prints before each op.
inline constexpr llvm::StringLiteral kFiniteDifferenceCoveragePrefix =
    "finite-difference check covers ";

} // namespace kiln::coverage

#endif // KILN_TESTS_UNITTESTS_FINITEDIFFERENCECOVERAGE_H
