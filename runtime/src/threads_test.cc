// threads_test.cc - kiln_set_model_threads, the one libomp setting of the
// trainer and the step benchmark.
//
// Built twice: into kiln_runtime_tests, which links no libomp (a program whose
// models are all serial), and, with KILN_TEST_WITH_OPENMP, into
// tests/e2e's model_threads_test, linked with libomp as every trainer is.

#include "kiln/runtime/threads.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#ifdef KILN_TEST_WITH_OPENMP
// A strong reference keeps libomp linked (with --as-needed), as a model's
// calls to __kmpc_fork_call do in a trainer.
extern "C" int omp_get_max_threads(void);
extern "C" int kmp_get_blocktime(void);
#else
extern "C" int omp_get_max_threads(void) __attribute__((weak));
#endif

namespace {

TEST(ModelThreads, SetsTheTeamSizeAndAShortSpin) {
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("KMP_BLOCKTIME");
#ifdef KILN_TEST_WITH_OPENMP
  // Compared as a pointer: passed by reference (as to EXPECT_EQ), a
  // function could not be null and the check would be folded away.
  ASSERT_TRUE(omp_get_max_threads != nullptr) << "libomp is not linked";
#else
  ASSERT_TRUE(omp_get_max_threads == nullptr) << "libomp is linked";
  // Serial models only: nothing to set, and the environment is left alone.
  EXPECT_EQ(kiln_set_model_threads(3), 1);
  EXPECT_EQ(std::getenv("OMP_WAIT_POLICY"), nullptr);
  EXPECT_EQ(std::getenv("KMP_BLOCKTIME"), nullptr);
  return;
#endif
  EXPECT_EQ(kiln_set_model_threads(3), 3);
  EXPECT_EQ(omp_get_max_threads(), 3);
  EXPECT_EQ(std::getenv("OMP_WAIT_POLICY"), nullptr);
  ASSERT_NE(std::getenv("KMP_BLOCKTIME"), nullptr);
  EXPECT_STREQ(std::getenv("KMP_BLOCKTIME"), "1");
#ifdef KILN_TEST_WITH_OPENMP
  EXPECT_EQ(kmp_get_blocktime(), 1); // libomp read it (in ms)
#endif
  // 0: one thread per core, the trainers' --threads default.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(kiln_set_model_threads(0), cores);
  EXPECT_EQ(omp_get_max_threads(), cores);
}

TEST(ModelThreads, KeepsTheUsersWaitPolicy) {
  unsetenv("KMP_BLOCKTIME");
  setenv("OMP_WAIT_POLICY", "passive", 1);
  kiln_set_model_threads(2);
  EXPECT_STREQ(std::getenv("OMP_WAIT_POLICY"), "passive");
  EXPECT_EQ(std::getenv("KMP_BLOCKTIME"), nullptr);
  unsetenv("OMP_WAIT_POLICY");
  setenv("KMP_BLOCKTIME", "0", 1);
  kiln_set_model_threads(2);
  EXPECT_STREQ(std::getenv("KMP_BLOCKTIME"), "0");
  unsetenv("KMP_BLOCKTIME");
}

} // namespace
