#!/usr/bin/env bash
# Builds kiln with clang-16/clang++-16 (against the system's libstdc++) in
# ./build-clang, then runs the runtime unit tests there. The default build
# (scripts/build.sh) uses g++; this keeps the code compiling with both
# compilers, which differ in what they accept (e.g. clang 16 rejects an
# incomplete type inside std::pair where g++ 12 does not).
#
#   scripts/build-clang.sh                   # everything, then the runtime tests
#   scripts/build-clang.sh kiln_runtime_tests # only these ninja targets, then the tests
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f build-clang/build.ninja ]; then
  cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16
fi
if [ "$#" -gt 0 ]; then
  cmake --build build-clang --parallel "$(nproc)" --target "$@" kiln_runtime_tests
else
  cmake --build build-clang --parallel "$(nproc)"
fi
# The runtime's unit tests, in the directory ctest runs them in. Extra gtest
# flags go in KILN_CLANG_GTEST_ARGS (e.g. "--gtest_filter=Checkpoint*").
cd build-clang/runtime
./kiln_runtime_tests ${KILN_CLANG_GTEST_ARGS:-}
