//===- checkpoint_metadata_test.cc - Tests for the kiln.* metadata checks -===//
//
// Every value of a kiln.* key the trainer reads back is checked when the file
// is read: the values the trainer writes pass, anything else (a wrapped or
// out-of-range integer, a sign, spaces, trailing text, a non-finite rate, an
// unparsable schedule) is an error naming the file and the key.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/checkpoint.h"
#include "safetensors_format.h"
#include "test_util.h"

#include <gmock/gmock.h>

using namespace kiln::runtime;
using namespace kiln::runtime::testutil;

namespace {

class CheckpointMetadataTest : public TempDirTest {
protected:
  /// Writes a file with metadata {key: value} and reads its metadata back;
  /// returns the error, or "" if it was accepted.
  std::string readError(const std::string &key, const std::string &value) {
    // Written directly rather than by writeSafetensors, whose fsync would
    // make these dozens of files take a second.
    const std::string path = dir + "/m.safetensors";
    const std::string json = safetensors::encodeHeader({}, {{key, value}});
    std::vector<uint8_t> file(8);
    for (int i = 0; i < 8; ++i)
      file[i] = static_cast<uint8_t>(static_cast<uint64_t>(json.size()) >> (8 * i));
    writeFile(path, concat(file, std::vector<uint8_t>(json.begin(), json.end())));
    std::map<std::string, std::string> metadata;
    std::string error;
    if (readCheckpointMetadata(path, metadata, error)) {
      EXPECT_EQ(metadata.at(key), value);
      return "";
    }
    return error;
  }
};

TEST_F(CheckpointMetadataTest, EpochIsAnIntegerARunCanContinueFrom) {
  const std::string p = dir + "/m.safetensors";
  for (const char *ok : {"0", "1", "2147483646"})
    EXPECT_EQ(readError("kiln.epoch", ok), "") << ok;
  // 2147483647 would make the resumed run's next epoch wrap to INT32_MIN.
  EXPECT_EQ(readError("kiln.epoch", "2147483647"),
            p + ": metadata \"kiln.epoch\" is \"2147483647\", not an epoch count from 0 to "
                "2147483646");
  for (const char *bad : {"", "-1", "+1", " 1", "1 ", "01", "1x", "1.0", "1e3", "0x10",
                          "4294967296", "18446744073709551616", "99999999999999999999999"})
    EXPECT_THAT(readError("kiln.epoch", bad),
                testing::StartsWith(p + ": metadata \"kiln.epoch\" is \"" + bad + "\", not"))
        << bad;
}

TEST_F(CheckpointMetadataTest, SeedRateAndSchedule) {
  const std::string p = dir + "/m.safetensors";
  EXPECT_EQ(readError("kiln.seed", "0"), "");
  EXPECT_EQ(readError("kiln.seed", "18446744073709551615"), "");
  EXPECT_EQ(readError("kiln.seed", "18446744073709551616"),
            p + ": metadata \"kiln.seed\" is \"18446744073709551616\", not a seed from 0 to "
                "18446744073709551615");
  for (const char *bad : {"-1", "7 ", "7a", ""})
    EXPECT_THAT(readError("kiln.seed", bad), testing::HasSubstr("\"kiln.seed\"")) << bad;

  for (const char *ok : {"0.300000012", "1e-05", "2"})
    EXPECT_EQ(readError("kiln.lr", ok), "") << ok;
  EXPECT_EQ(readError("kiln.lr", "nan"),
            p + ": metadata \"kiln.lr\" is \"nan\", not a finite learning rate > 0");
  for (const char *bad : {"inf", "0", "-0.1", "1e400", "0.1x", " 0.1", "+0.1", "0x1p-3", ""})
    EXPECT_THAT(readError("kiln.lr", bad), testing::HasSubstr("\"kiln.lr\"")) << bad;

  EXPECT_EQ(readError("kiln.lr_schedule", "warmup:500:0.01,cosine:9500"), "");
  EXPECT_THAT(readError("kiln.lr_schedule", "cosine:-5"),
              testing::StartsWith(p + ": metadata \"kiln.lr_schedule\" is \"cosine:-5\", not a "
                                      "learning-rate schedule ("));
  // Other keys are not kiln's to judge.
  EXPECT_EQ(readError("kiln.train_loss", "nan"), "");
  EXPECT_EQ(readError("epoch", "-1"), "");
}

TEST_F(CheckpointMetadataTest, LoadRejectsBadMetadataToo) {
  const int64_t shape[] = {2};
  const kiln_state_entry state[] = {{"w", 0, KILN_F32, 1, shape, 0}};
  kiln_model_info model{};
  model.name = "m";
  model.arena_bytes = 8;
  model.num_state = 1;
  model.state = state;
  float arena[2] = {1, 2};
  const std::string path = dir + "/m.safetensors";
  std::string error;
  // The model-level save refuses to write what a load would refuse.
  EXPECT_FALSE(saveCheckpoint(model, arena, path, {{"kiln.epoch", "-3"}}, error));
  EXPECT_EQ(error, "cannot write " + path + ": metadata \"kiln.epoch\" is \"-3\", not an epoch "
                   "count from 0 to 2147483646");
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE(writeSafetensors(path, {{"w", KILN_F32, {2}, arena}}, {{"kiln.epoch", "-3"}}, error))
      << error;
  arena[0] = 5;
  EXPECT_FALSE(loadCheckpoint(model, arena, path, {}, nullptr, error));
  EXPECT_EQ(error, path + ": metadata \"kiln.epoch\" is \"-3\", not an epoch count from 0 to "
                          "2147483646");
  EXPECT_EQ(arena[0], 5);
}

} // namespace
