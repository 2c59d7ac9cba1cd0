//===- AbiCall.h - call JIT-compiled kiln functions from tests --*- C++ -*-===//
//
// What every compiled-vs-interpreter test needs to call a function through
// the bare-pointer C ABI that kiln::extractAbi describes: host buffers in the
// ABI's element types, conversion from and to the interpreter's doubles, a
// call with N pointer arguments, and an MLIRContext registry with every kiln
// dialect and pass.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNITTESTS_ABICALL_H
#define KILN_TESTS_UNITTESTS_ABICALL_H

#include "kiln/InitAll.h"
#include "kiln/Interpreter/Interpreter.h"
#include "kiln/Target/ABI.h"

#include "mlir/IR/DialectRegistry.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::test {
using kiln::interp::Buffer;

//===----------------------------------------------------------------------===//
// Host buffers in the C ABI's element types
//===----------------------------------------------------------------------===//

inline size_t elementBytes(const std::string &cType) {
  if (cType == "float" || cType == "int32_t")
    return 4;
  if (cType == "double" || cType == "int64_t")
    return 8;
  if (cType == "uint8_t")
    return 1;
  ADD_FAILURE() << "unexpected C type " << cType;
  return 0;
}

/// Writes `values` (interpreter doubles) as `cType` elements.
inline void writeElements(void *dst, const std::string &cType,
                   const std::vector<double> &values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (cType == "float")
      static_cast<float *>(dst)[i] = static_cast<float>(values[i]);
    else if (cType == "double")
      static_cast<double *>(dst)[i] = values[i];
    else if (cType == "int32_t")
      static_cast<int32_t *>(dst)[i] = static_cast<int32_t>(values[i]);
    else if (cType == "int64_t")
      static_cast<int64_t *>(dst)[i] = static_cast<int64_t>(values[i]);
    else
      ADD_FAILURE() << "cannot write " << cType;
  }
}

inline std::vector<double> readElements(const void *src, const std::string &cType,
                                  int64_t count) {
  std::vector<double> values(count);
  for (int64_t i = 0; i < count; ++i) {
    if (cType == "float")
      values[i] = static_cast<const float *>(src)[i];
    else if (cType == "double")
      values[i] = static_cast<const double *>(src)[i];
    else if (cType == "int32_t")
      values[i] = static_cast<const int32_t *>(src)[i];
    else if (cType == "int64_t")
      values[i] = static_cast<double>(static_cast<const int64_t *>(src)[i]);
    else
      ADD_FAILURE() << "cannot read " << cType;
  }
  return values;
}

/// One tensor argument of a compiled call, 8-byte aligned.
struct HostTensor {
  kiln::AbiBuffer abi;
  std::vector<uint64_t> storage;

  explicit HostTensor(const kiln::AbiBuffer &buffer)
      : abi(buffer),
        storage((buffer.elements * elementBytes(buffer.cType) + 7) / 8 + 1,
                0xFFFFFFFFFFFFFFFFull) {}
  void *data() { return storage.data(); }
  Buffer toBuffer() const {
    return Buffer{abi.shape,
                  readElements(storage.data(), abi.cType, abi.elements)};
  }
};

/// Calls `void f(void *, void *...)` with `args.size()` pointers.
inline void callBare(void *fn, const std::vector<void *> &a) {
  using P = void *;
  switch (a.size()) {
  case 1:
    return reinterpret_cast<void (*)(P)>(fn)(a[0]);
  case 2:
    return reinterpret_cast<void (*)(P, P)>(fn)(a[0], a[1]);
  case 3:
    return reinterpret_cast<void (*)(P, P, P)>(fn)(a[0], a[1], a[2]);
  case 4:
    return reinterpret_cast<void (*)(P, P, P, P)>(fn)(a[0], a[1], a[2], a[3]);
  case 5:
    return reinterpret_cast<void (*)(P, P, P, P, P)>(fn)(a[0], a[1], a[2],
                                                          a[3], a[4]);
  case 6:
    return reinterpret_cast<void (*)(P, P, P, P, P, P)>(fn)(
        a[0], a[1], a[2], a[3], a[4], a[5]);
  case 7:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P)>(fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  case 8:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P, P)>(fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
  case 9:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P)>(fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
  case 10:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P, P)>(fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
  case 11:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P, P, P)>(fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  case 12:
    return reinterpret_cast<void (*)(P, P, P, P, P, P, P, P, P, P, P, P)>(fn)(
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
        a[11]);
  default:
    FAIL() << "callBare supports 1 to 12 pointer arguments, got " << a.size();
  }
}

/// A registry with every kiln dialect; registers kiln's passes once.
inline mlir::DialectRegistry makeRegistry() {
  static std::once_flag once;
  std::call_once(once, kiln::registerAllPasses);
  mlir::DialectRegistry registry;
  kiln::registerAllDialects(registry);
  return registry;
}

} // namespace kiln::test

#endif // KILN_TESTS_UNITTESTS_ABICALL_H
