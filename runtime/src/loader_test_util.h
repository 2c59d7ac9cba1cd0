//===- loader_test_util.h - DataLoader helpers of the unit tests *- C++ -*-===//
//
// DataLoader::create and startEpoch report errors as false or null plus a
// message (errors.h); these wrappers turn an unexpected error into a test
// failure that shows the message, and give the message of an expected one.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SRC_LOADER_TEST_UTIL_H
#define KILN_RUNTIME_SRC_LOADER_TEST_UTIL_H

#include "kiln/runtime/dataloader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace kiln::runtime::testutil {

/// A loader that must be created; null (after a test failure) otherwise.
inline std::unique_ptr<DataLoader> makeLoader(const Dataset &dataset, DataLoaderOptions options,
                                              BatchPipeline pipeline = {}) {
  std::string error;
  std::unique_ptr<DataLoader> loader =
      DataLoader::create(dataset, options, std::move(pipeline), error);
  EXPECT_TRUE(loader) << error;
  return loader;
}

/// The error DataLoader::create reports; a test failure if it succeeds.
inline std::string loaderError(const Dataset &dataset, DataLoaderOptions options,
                               BatchPipeline pipeline = {}) {
  std::string error;
  EXPECT_FALSE(DataLoader::create(dataset, options, std::move(pipeline), error))
      << "the loader was created";
  return error;
}

/// startEpoch that must succeed.
inline void startEpoch(DataLoader &loader, int epoch) {
  std::string error;
  EXPECT_TRUE(loader.startEpoch(epoch, error)) << error;
}

} // namespace kiln::runtime::testutil

#endif // KILN_RUNTIME_SRC_LOADER_TEST_UTIL_H
