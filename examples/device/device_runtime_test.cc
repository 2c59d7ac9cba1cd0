//===- device_runtime_test.cc - The C device runtime against the host -----===//
//
// The device runtime (runtime/device) must do what the host runtime does:
// its training loop gives the losses of the host's DataLoader + LrSchedule
// loop bit for bit (with the compiled logistic_regression model on the
// embedded table), its checkpoints are the bytes the host's saveCheckpoint
// writes and load where the host's do, and malformed checkpoints are refused
// without touching the arena.
//
//===----------------------------------------------------------------------===//

#include "logistic_regression.h"
#include "logistic_table.h"

#include "kiln/device/checkpoint.h"
#include "kiln/device/random.h"
#include "kiln/device/train.h"
#include "kiln/runtime/checkpoint.h"
#include "kiln/runtime/dataloader.h"
#include "kiln/runtime/lr_schedule.h"

#include <gmock/gmock.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

using namespace kiln::runtime;

namespace {

const kiln_model_info &model() { return *logistic_regression_model_info(); }

/// A 64-byte aligned, zeroed arena of the model.
struct Arena {
  alignas(64) unsigned char bytes[(LOGISTIC_REGRESSION_ARENA_BYTES + 63) / 64 * 64] = {};
  void *data() { return bytes; }
  std::vector<unsigned char> state() const {
    return {bytes, bytes + LOGISTIC_REGRESSION_STATE_BYTES};
  }
};

std::vector<uint32_t> bitsOf(const std::vector<float> &values) {
  std::vector<uint32_t> bits(values.size());
  std::memcpy(bits.data(), values.data(), values.size() * sizeof(float));
  return bits;
}

struct Recorded {
  std::vector<float> lrs, losses;
  std::vector<double> metrics;
};

int recordStep(void *context, const kiln_step_report *r) {
  auto *out = static_cast<Recorded *>(context);
  out->lrs.push_back(r->lr);
  out->losses.push_back(r->loss);
  return 0;
}

int recordEpoch(void *context, const kiln_epoch_report *r) {
  static_cast<Recorded *>(context)->metrics.push_back(r->metric);
  return 0;
}

const kiln_dataset kTrain = {TRAIN_SAMPLES, train_x, train_y, nullptr, nullptr};
const kiln_dataset kTest = {TEST_SAMPLES, test_x, test_y, nullptr, nullptr};

/// kiln_train for 4 epochs with warm-up + cosine; asserts success.
Recorded trainOnDevice(const kiln_dataset &train, Arena &arena, int64_t maxSteps = 0) {
  const kiln_lr_schedule cosine = kiln_lr_cosine(model().default_lr, 15, 0.0);
  const kiln_lr_schedule schedule = kiln_lr_warmup(5, 0.1, &cosine);
  kiln_train_options options;
  kiln_train_options_init(&options);
  options.epochs = 4;
  options.max_steps = maxSteps;
  options.schedule = &schedule;
  Recorded out;
  options.on_step = recordStep;
  options.on_epoch = recordEpoch;
  options.context = &out;
  std::vector<uint64_t> workspace(kiln_train_workspace_bytes(&model(), train.size) / 8);
  model().init(arena.data(), 0);
  EXPECT_EQ(kiln_train(&model(), arena.data(), &train, &kTest, &options, workspace.data(),
                       workspace.size() * 8),
            KILN_DEVICE_OK);
  return out;
}

TEST(DeviceTrain, SameLossesAsTheHostDataLoaderAndSchedule) {
  Arena deviceArena, hostArena;
  const Recorded device = trainOnDevice(kTrain, deviceArena);
  ASSERT_EQ(device.losses.size(), 20u); // 4 epochs x (160 / 32) steps

  // The host trainer's loop (trainer.cpp) written out: shuffled drop_last
  // batches of epochs 1.., the schedule of the global step.
  Dataset train;
  train.size = TRAIN_SAMPLES;
  train.sample_shape = {4};
  train.x.assign(std::begin(train_x), std::end(train_x));
  train.y.assign(TRAIN_SAMPLES, 0);
  std::vector<float> targets(std::begin(train_y), std::end(train_y));
  BatchPipeline pipeline;
  pipeline.targets = &targets;
  std::string error;
  std::unique_ptr<DataLoader> loader = DataLoader::create(
      train, {model().batch_size, /*shuffle=*/true, 0, /*drop_last=*/true}, pipeline, error);
  ASSERT_TRUE(loader) << error;
  auto schedule = parseLrSchedule("warmup:5:0.1,cosine:15", model().default_lr, error);
  ASSERT_TRUE(schedule) << error;
  Recorded host;
  model().init(hostArena.data(), 0);
  Batch batch;
  int64_t step = 0;
  for (int epoch = 1; epoch <= 4; ++epoch) {
    ASSERT_TRUE(loader->startEpoch(epoch, error)) << error;
    while (loader->next(batch)) {
      float loss = 0, lr = static_cast<float>(schedule->at(step++));
      model().train_step(hostArena.data(), batch.x.data(), batch.targets.data(), lr, &loss);
      host.lrs.push_back(lr);
      host.losses.push_back(loss);
    }
  }
  EXPECT_EQ(bitsOf(device.lrs), bitsOf(host.lrs));
  EXPECT_EQ(bitsOf(device.losses), bitsOf(host.losses));
  EXPECT_EQ(deviceArena.state(), hostArena.state());
  EXPECT_LT(device.losses.back(), device.losses.front()); // it learns
}

int readRow(void *context, int64_t index, float *x, void *y) {
  ++*static_cast<int *>(context);
  std::memcpy(x, train_x + index * 4, 4 * sizeof(float));
  std::memcpy(y, train_y + index, sizeof(float));
  return 0;
}

TEST(DeviceTrain, ReadCallbackGivesTheSameRunAsArrays) {
  Arena fromArrays, fromCallback;
  int reads = 0;
  const kiln_dataset callback = {TRAIN_SAMPLES, nullptr, nullptr, readRow, &reads};
  const Recorded a = trainOnDevice(kTrain, fromArrays, /*maxSteps=*/3);
  const Recorded b = trainOnDevice(callback, fromCallback, /*maxSteps=*/3);
  EXPECT_EQ(reads, 4 * 3 * 32);
  EXPECT_EQ(bitsOf(a.losses), bitsOf(b.losses));
  EXPECT_EQ(a.metrics, b.metrics);
}

TEST(DeviceTrain, EvaluateIsBinaryAccuracyOverEverySample) {
  Arena arena;
  model().init(arena.data(), 3);
  int correct = 0;
  float outputs[32];
  for (int first = 0; first < TEST_SAMPLES; first += 32) {
    model().predict(arena.data(), test_x + first * 4, outputs);
    for (int r = 0; r < 32; ++r)
      correct += (outputs[r] > 0) == (test_y[first + r] > 0.5f);
  }
  std::vector<uint64_t> workspace(kiln_evaluate_workspace_bytes(&model()) / 8);
  double accuracy = -1;
  ASSERT_EQ(kiln_evaluate(&model(), arena.data(), &kTest, workspace.data(),
                          workspace.size() * 8, &accuracy),
            KILN_DEVICE_OK);
  EXPECT_EQ(accuracy, correct / 64.0);
}

int stopAfterTwo(void *context, const kiln_step_report *) {
  return ++*static_cast<int *>(context) == 2;
}

int readNaN(void *, int64_t, float *x, void *y) {
  for (int i = 0; i < 4; ++i)
    x[i] = std::nanf("");
  *static_cast<float *>(y) = 1;
  return 0;
}

int readFails(void *, int64_t, float *, void *) { return -1; }

TEST(DeviceTrain, RefusesWhatTheHostRefuses) {
  Arena arena;
  model().init(arena.data(), 0);
  std::vector<uint64_t> workspace(kiln_train_workspace_bytes(&model(), TRAIN_SAMPLES) / 8);
  const size_t bytes = workspace.size() * 8;
  kiln_train_options options;
  kiln_train_options_init(&options);
  EXPECT_EQ(kiln_train(&model(), arena.data(), &kTrain, nullptr, &options, workspace.data(),
                       bytes - 8),
            KILN_DEVICE_BUFFER_TOO_SMALL);
  const kiln_dataset tiny = {31, train_x, train_y, nullptr, nullptr}; // under one batch
  EXPECT_EQ(kiln_train(&model(), arena.data(), &tiny, nullptr, &options, workspace.data(), bytes),
            KILN_DEVICE_INVALID_ARGUMENT);
  const kiln_lr_schedule badCosine = kiln_lr_cosine(0.1, 0, 0.0);
  options.schedule = &badCosine;
  EXPECT_EQ(kiln_train(&model(), arena.data(), &kTrain, nullptr, &options, workspace.data(), bytes),
            KILN_DEVICE_INVALID_ARGUMENT);
  const int64_t unsorted[] = {5, 2};
  const kiln_lr_schedule badMilestones = kiln_lr_multi_step(0.1, unsorted, 2, 0.1);
  EXPECT_EQ(kiln_lr_schedule_check(&badMilestones), KILN_DEVICE_INVALID_ARGUMENT);
  options.schedule = nullptr;
  int steps = 0;
  options.on_step = stopAfterTwo;
  options.context = &steps;
  EXPECT_EQ(kiln_train(&model(), arena.data(), &kTrain, nullptr, &options, workspace.data(), bytes),
            KILN_DEVICE_STOPPED);
  EXPECT_EQ(steps, 2);
  // A NaN input makes the loss NaN, which stops training as on the host; a
  // failing read callback stops it too.
  options.on_step = nullptr;
  const kiln_dataset nans = {TRAIN_SAMPLES, nullptr, nullptr, readNaN, nullptr};
  EXPECT_EQ(kiln_train(&model(), arena.data(), &nans, nullptr, &options, workspace.data(), bytes),
            KILN_DEVICE_DIVERGED);
  const kiln_dataset failing = {TRAIN_SAMPLES, nullptr, nullptr, readFails, nullptr};
  EXPECT_EQ(kiln_train(&model(), arena.data(), &failing, nullptr, &options, workspace.data(),
                       bytes),
            KILN_DEVICE_READ_FAILED);
}

//===--- Checkpoints -------------------------------------------------------===//

std::vector<unsigned char> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const std::string &path, const std::vector<unsigned char> &bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

std::string tempPath(const std::string &name) {
  return (std::filesystem::temp_directory_path() /
          ("kiln-device-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

/// A trained arena saved by the device runtime.
std::vector<unsigned char> deviceCheckpoint(Arena &arena) {
  trainOnDevice(kTrain, arena, /*maxSteps=*/2);
  const kiln_metadata_entry metadata[] = {{"kiln.seed", "0"}, {"kiln.epoch", "4"},
                                          {"kiln.model", "logistic_regression"}};
  size_t size = 0;
  EXPECT_EQ(kiln_checkpoint_size(&model(), metadata, 3, &size), KILN_DEVICE_OK);
  std::vector<unsigned char> buffer(size);
  size_t written = 0;
  EXPECT_EQ(kiln_checkpoint_save(&model(), arena.data(), metadata, 3, buffer.data(), size - 1,
                                 &written),
            KILN_DEVICE_BUFFER_TOO_SMALL);
  EXPECT_EQ(written, size);
  EXPECT_EQ(kiln_checkpoint_save(&model(), arena.data(), metadata, 3, buffer.data(), size,
                                 &written),
            KILN_DEVICE_OK);
  return buffer;
}

TEST(DeviceCheckpoint, SameBytesAsTheHostsAndLoadsOnBothSides) {
  Arena trained;
  const std::vector<unsigned char> device = deviceCheckpoint(trained);
  const std::string path = tempPath("host.safetensors");
  std::string error;
  ASSERT_TRUE(saveCheckpoint(model(), trained.data(), path,
                             {{"kiln.model", "logistic_regression"}, {"kiln.epoch", "4"},
                              {"kiln.seed", "0"}},
                             error))
      << error;
  const std::vector<unsigned char> host = readFile(path);
  EXPECT_EQ(std::string(device.begin(), device.end()), std::string(host.begin(), host.end()));

  // The device reads the host's file; the host reads the device's buffer.
  Arena loadedOnDevice, loadedOnHost;
  EXPECT_EQ(kiln_checkpoint_load(&model(), loadedOnDevice.data(), host.data(), host.size()),
            KILN_DEVICE_OK);
  EXPECT_EQ(loadedOnDevice.state(), trained.state());
  writeFile(path, device);
  ASSERT_TRUE(loadCheckpoint(model(), loadedOnHost.data(), path, {}, nullptr, error)) << error;
  EXPECT_EQ(loadedOnHost.state(), trained.state());
  std::filesystem::remove(path);

  char value[8];
  EXPECT_EQ(kiln_checkpoint_metadata(device.data(), device.size(), "format", value, 8),
            KILN_DEVICE_OK);
  EXPECT_STREQ(value, "pt");
  EXPECT_EQ(kiln_checkpoint_metadata(device.data(), device.size(), "kiln.model", value, 8),
            KILN_DEVICE_BUFFER_TOO_SMALL);
  EXPECT_EQ(kiln_checkpoint_metadata(device.data(), device.size(), "kiln.lr", value, 8),
            KILN_DEVICE_INVALID_ARGUMENT);
}

/// A safetensors file with header \p json (unpadded) and \p dataBytes of data.
std::vector<unsigned char> craft(const std::string &json, size_t dataBytes) {
  std::vector<unsigned char> file(8);
  for (int i = 0; i < 8; ++i)
    file[i] = static_cast<unsigned char>(static_cast<uint64_t>(json.size()) >> (8 * i));
  file.insert(file.end(), json.begin(), json.end());
  for (size_t i = 0; i < dataBytes; ++i)
    file.push_back(static_cast<unsigned char>(i));
  return file;
}

std::string entry(const std::string &name, const std::string &shape, int begin, int end) {
  return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

/// The model's four tensors with \p weightName and \p biasShape replaceable.
std::string header(const std::string &weightName = "fc.weight",
                   const std::string &biasShape = "[1]", const std::string &extra = "") {
  return "{\"__metadata__\":{\"format\":\"pt\"}," + entry(weightName, "[1,4]", 0, 16) + "," +
         entry("fc.bias", biasShape, 16, 20) + "," +
         entry("fc.weight.momentum_buffer", "[1,4]", 20, 36) + "," +
         entry("fc.bias.momentum_buffer", "[1]", 36, 40) + extra + "}";
}

TEST(DeviceCheckpoint, ReadsEscapedNamesAndAnyMemberOrder) {
  Arena arena;
  const auto file = craft(header("fc.w\\u0065ight"), 40);
  ASSERT_EQ(kiln_checkpoint_load(&model(), arena.data(), file.data(), file.size()),
            KILN_DEVICE_OK);
  // fc.bias: data bytes 16..19 of the file, offset 64 in the arena.
  const unsigned char *data = file.data() + file.size() - 40;
  EXPECT_EQ(std::memcmp(arena.bytes + 64, data + 16, 4), 0);
  EXPECT_EQ(std::memcmp(arena.bytes, data, 16), 0);
}

TEST(DeviceCheckpoint, RefusesMalformedFilesAndLeavesTheArenaAlone) {
  const struct {
    const char *what;
    std::vector<unsigned char> file;
  } cases[] = {
      {"wrong shape", craft(header("fc.weight", "[1,1]"), 40)},
      {"unknown tensor", craft(header("fc.weight", "[1]", "," + entry("extra", "[0]", 40, 40)), 40)},
      {"duplicate tensor", craft(header("fc.weight", "[1]", "," + entry("fc.bias", "[1]", 16, 20)), 40)},
      {"missing tensor", craft("{" + entry("fc.weight", "[1,4]", 0, 16) + "}", 16)},
      {"bytes after the data", craft(header(), 41)},
      {"data past the end", craft(header(), 39)},
      {"bad dtype", craft(header().replace(header().find("F32"), 3, "F64"), 40)},
      {"unterminated JSON", craft(header().substr(0, 50), 40)},
      {"not JSON", craft("{nope}", 0)},
      {"too short", std::vector<unsigned char>(7, 0)},
  };
  Arena trained;
  const std::vector<unsigned char> good = deviceCheckpoint(trained);
  for (const auto &c : cases) {
    Arena arena;
    model().init(arena.data(), 5);
    const auto before = arena.state();
    EXPECT_EQ(kiln_checkpoint_load(&model(), arena.data(), c.file.data(), c.file.size()),
              KILN_DEVICE_BAD_CHECKPOINT)
        << c.what;
    EXPECT_EQ(arena.state(), before) << c.what;
  }
  std::vector<unsigned char> longHeader = good;
  longHeader[0] = 0xff; // header length past the end of the buffer
  Arena arena;
  EXPECT_EQ(kiln_checkpoint_load(&model(), arena.data(), longHeader.data(), longHeader.size()),
            KILN_DEVICE_BAD_CHECKPOINT);
}

} // namespace
