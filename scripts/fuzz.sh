#!/usr/bin/env bash
# Fuzzes each libFuzzer target (tests/fuzz) for SECONDS (default 60), or only
# the TARGETs named (idx csv npy safetensors kilnc_ir). Builds them first
# (scripts/build.sh). The corpus grows in build-fuzz/<target>/corpus across
# runs; crashing inputs are kept in build-fuzz/<target>/crashes. Exits
# non-zero if any target found a crash. See docs/testing.md.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(idx csv npy safetensors kilnc_ir)
fi

bash scripts/build.sh kiln_fuzz_readers fuzz_kilnc_ir || exit 1

failed=()
for target in "${targets[@]}"; do
  if [ "$target" = kilnc_ir ]; then
    fuzzer=build/tests/fuzz/fuzz_kilnc_ir
  else
    fuzzer=build/tests/fuzz/readers/fuzz_$target
  fi
  bash tests/fuzz/run_fuzzer.sh "$fuzzer" "tests/fuzz/corpus/$target" "$seconds" \
    "build-fuzz/$target"
  rc=$?
  if [ "$rc" -eq 77 ]; then
    exit 1 # not built: clang-16 or libFuzzer missing
  elif [ "$rc" -ne 0 ]; then
    failed+=("$target")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "kiln fuzz: crashes in: ${failed[*]} (inputs in build-fuzz/<target>/crashes)"
  exit 1
fi
echo "kiln fuzz: no crash in ${targets[*]} (${seconds}s each)"
