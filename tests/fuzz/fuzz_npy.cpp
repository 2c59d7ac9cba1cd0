//===- fuzz_npy.cpp - libFuzzer target for the .npy reader ----------------===//
//
// Any bytes go through readNpy and, when they load, through the conversions
// the datasets use (npyToFloat, npyToInt64): no crash, overrun, UB or
// allocation beyond the file's size.
//
//===----------------------------------------------------------------------===//

#include "FuzzInputFile.h"
#include "kiln/runtime/npy.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static kiln::fuzz::FuzzInputFile file("kiln-fuzz-npy");
  kiln::runtime::NpyArray array;
  std::string error;
  if (!kiln::runtime::readNpy(file.write(data, size), array, error)) {
    if (error.empty())
      std::abort(); // every failure says why
    return 0;
  }
  size_t expected = static_cast<size_t>(array.numElements()) *
                    kiln::runtime::npyItemSize(array.dtype);
  if (array.data.size() != expected)
    std::abort();
  std::vector<float> floats;
  kiln::runtime::npyToFloat(array, floats);
  if (floats.size() != static_cast<size_t>(array.numElements()))
    std::abort();
  std::vector<int64_t> ints;
  std::string intError;
  if (!kiln::runtime::npyToInt64(array, ints, intError) && intError.empty())
    std::abort();
  return 0;
}
