#!/usr/bin/env bash
# Builds the runtime library and its unit tests with AddressSanitizer and
# UndefinedBehaviorSanitizer in ./build-asan and runs them. Any memory error,
# leak or undefined behaviour fails the run with a report. Runtime only: the
# compiler links LLVM/MLIR, which are not built instrumented.
# Extra arguments go to the test binary, e.g. --gtest_filter='Npy*'.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if [ ! -f build-asan/build.ninja ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$SANITIZE" -DCMAKE_C_FLAGS="$SANITIZE" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
fi
cmake --build build-asan --parallel "$(nproc)" --target kiln_runtime_tests

# The tests run where ctest runs them (gtest_discover_tests' working directory).
cd build-asan/runtime
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
./kiln_runtime_tests "$@"
echo "kiln sanitize: runtime tests passed under ASan+UBSan"
