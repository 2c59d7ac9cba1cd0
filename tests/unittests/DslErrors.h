//===- DslErrors.h - the messages of DSL errors, for tests ------*- C++ -*-===//
//
// The DSL reports a user's mistake as a kiln::dsl::Error at trace time; tests
// catch it and look for parts of its message.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_DSLERRORS_H
#define KILN_TESTS_DSLERRORS_H

#include "kiln/dsl/Tensor.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace kiln::dsl::test_support {

/// The message of the kiln::dsl::Error that `fn` throws ("" and a test
/// failure if it throws none).
inline std::string errorOf(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a kiln::dsl::Error";
  return "";
}

/// Whether `text` contains `part`.
inline bool has(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

} // namespace kiln::dsl::test_support

#endif // KILN_TESTS_DSLERRORS_H
