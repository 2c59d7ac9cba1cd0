// numerics_check_test.cc - reading the checked-mode slot after a step.

#include "numerics_check.h"

#include <gtest/gtest.h>

#include <cstring>

using kiln::runtime::NumericsCheck;

namespace {

const char *const kSites[] = {"state w on entry to step",
                              "model.cpp:16:14 kiln.matmul (forward, fc2.weight)"};
const int64_t kScalarShape[] = {1};
const kiln_state_entry kState[] = {
    {"w", 0, KILN_F32, 1, kScalarShape, 0},
    {"kiln.numerics.first_nonfinite", 64, KILN_I32, 0, kScalarShape,
     KILN_STATE_OBSERVATION},
};

kiln_model_info checkedModel() {
  kiln_model_info m{};
  m.name = "toy";
  m.num_state = 2;
  m.state = kState;
  m.num_numerics_sites = 2;
  m.numerics_sites = kSites;
  return m;
}

struct Arena {
  alignas(64) unsigned char bytes[128] = {};
  void setSlot(int32_t id) { std::memcpy(bytes + 64, &id, sizeof id); }
};

TEST(NumericsCheck, NamesTheSiteOfTheStoredId) {
  kiln_model_info m = checkedModel();
  NumericsCheck check(&m, nullptr);
  ASSERT_TRUE(check.enabled());
  EXPECT_FALSE(check.requestedButMissing());
  Arena arena;
  EXPECT_EQ(check.firstNonFinite(arena.bytes), "");
  arena.setSlot(2);
  EXPECT_EQ(check.firstNonFinite(arena.bytes),
            "model.cpp:16:14 kiln.matmul (forward, fc2.weight)");
  arena.setSlot(1);
  EXPECT_EQ(check.firstNonFinite(arena.bytes), "state w on entry to step");
  // An id the table does not have (a corrupted arena) is still reported.
  arena.setSlot(7);
  EXPECT_EQ(check.firstNonFinite(arena.bytes),
            "check site 7 (not in the model's table of 2)");
}

TEST(NumericsCheck, EnvironmentZeroTurnsItOff) {
  kiln_model_info m = checkedModel();
  NumericsCheck check(&m, "0");
  EXPECT_FALSE(check.enabled());
  Arena arena;
  arena.setSlot(2);
  EXPECT_EQ(check.firstNonFinite(arena.bytes), "");
}

TEST(NumericsCheck, UncheckedModelHasNothingToRead) {
  kiln_model_info m = checkedModel();
  m.num_numerics_sites = 0;
  m.numerics_sites = nullptr;
  m.num_state = 1;
  EXPECT_FALSE(NumericsCheck(&m, nullptr).enabled());
  EXPECT_FALSE(NumericsCheck(&m, nullptr).requestedButMissing());
  // KILN_CHECK_NUMERICS=1 on a model built without the checks: the trainer
  // says the op cannot be named.
  EXPECT_TRUE(NumericsCheck(&m, "1").requestedButMissing());
  Arena arena;
  arena.setSlot(2);
  EXPECT_EQ(NumericsCheck(&m, "1").firstNonFinite(arena.bytes), "");
}

} // namespace
