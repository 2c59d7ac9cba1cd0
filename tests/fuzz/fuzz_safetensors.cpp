//===- fuzz_safetensors.cpp - libFuzzer target for checkpoint loading -----===//
//
// Any bytes are loaded as a safetensors checkpoint into a small state table
// (parameters of every dtype, optimizer buffers, a scalar) with each set of
// load options, and have their metadata read. No crash, overrun, UB or
// allocation beyond the file; a load never writes outside the arena's state
// (the scratch bytes after it keep their guard pattern); every failure says
// why.
//
//===----------------------------------------------------------------------===//

#include "FuzzInputFile.h"
#include "kiln/runtime/checkpoint.h"

#include <cstdlib>
#include <cstring>
#include <vector>

using namespace kiln::runtime;

namespace {

const int64_t kMatrix[] = {2, 3};
const int64_t kVector[] = {3};
// Names match the seed corpus, so mutations start from files that load.
const kiln_state_entry kState[] = {
    {"fc.weight", 0, KILN_F32, 2, kMatrix},
    {"fc.bias", 32, KILN_F32, 1, kVector},
    {"scale", 48, KILN_F64, 1, kVector},
    {"index", 72, KILN_I32, 1, kVector},
    {"steps", 88, KILN_I64, 0, nullptr},
    {"fc.weight.momentum_buffer", 96, KILN_F32, 2, kMatrix},
};
constexpr size_t kStateBytes = 128;
constexpr size_t kArenaBytes = 192; // state + scratch that loads must not touch
constexpr uint8_t kGuard = 0xA5;

kiln_model_info model() {
  kiln_model_info m{};
  m.name = "fuzz";
  m.arena_bytes = kArenaBytes;
  m.num_state = sizeof(kState) / sizeof(kState[0]);
  m.state = kState;
  return m;
}

void load(const std::string &path, const LoadOptions &options) {
  static const kiln_model_info info = model();
  std::vector<uint8_t> arena(kArenaBytes, kGuard);
  LoadResult result;
  std::string error;
  if (!loadCheckpoint(info, arena.data(), path, options, &result, error) &&
      error.empty())
    std::abort();
  for (size_t i = kStateBytes; i < kArenaBytes; ++i)
    if (arena[i] != kGuard)
      std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static kiln::fuzz::FuzzInputFile file("kiln-fuzz-safetensors");
  const std::string &path = file.write(data, size);
  load(path, LoadOptions{});
  LoadOptions lenient;
  lenient.allow_unknown_tensors = true;
  lenient.allow_missing_tensors = true;
  load(path, lenient);
  LoadOptions parameters;
  parameters.parameters_only = true;
  load(path, parameters);

  std::map<std::string, std::string> metadata;
  std::string error;
  if (!readCheckpointMetadata(path, metadata, error) && error.empty())
    std::abort();
  return 0;
}
