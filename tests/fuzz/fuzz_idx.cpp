//===- fuzz_idx.cpp - libFuzzer target for the IDX reader -----------------===//
//
// Any bytes (plain or gzip-compressed IDX) go through readIdx; it must
// return true or false with a message, never crash, overrun or allocate
// more than the header can justify.
//
//===----------------------------------------------------------------------===//

#include "FuzzInputFile.h"
#include "kiln/runtime/idx.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static kiln::fuzz::FuzzInputFile file("kiln-fuzz-idx");
  kiln::runtime::IdxArray array;
  std::string error;
  if (kiln::runtime::readIdx(file.write(data, size), array, error)) {
    // A successful read holds exactly what its header promises.
    size_t expected = static_cast<size_t>(array.numElements()) *
                      kiln::runtime::idxElementSize(array.type);
    if (array.data.size() != expected || !error.empty())
      std::abort();
  } else if (error.empty()) {
    std::abort(); // every failure says why
  }
  return 0;
}
