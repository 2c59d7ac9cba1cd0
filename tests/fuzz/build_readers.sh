#!/usr/bin/env bash
# build_readers.sh CLANGXX BUILD_DIR [CMAKE_ARGS...]
# Configures (once) and builds tests/fuzz/readers with CLANGXX in BUILD_DIR.
# Called by the main build on every run; it never fails that build. A failed
# build leaves BUILD_DIR/build-failed.log, which run_fuzzer.sh reports as a
# test failure (so stale fuzzers are never run as if current).
set -u
cxx=$1
out=$2
shift 2
src="$(cd "$(dirname "$0")/readers" && pwd)"
mkdir -p "$out"
log="$out/build.log"
if { [ -f "$out/build.ninja" ] ||
     cmake -S "$src" -B "$out" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
           -DCMAKE_C_COMPILER="${cxx/clang++/clang}" "$@"; } >"$log" 2>&1 &&
   cmake --build "$out" >>"$log" 2>&1; then
  rm -f "$out/build-failed.log"
else
  cp "$log" "$out/build-failed.log"
  echo "kiln fuzz: WARNING: building the reader fuzz targets failed;" \
       "the fuzz.* tests will fail (log: $out/build-failed.log)"
fi
exit 0
