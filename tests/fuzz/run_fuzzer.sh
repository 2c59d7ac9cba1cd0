#!/usr/bin/env bash
# run_fuzzer.sh [--fresh] FUZZER SEEDS SECONDS WORKDIR
# Runs every seed in SEEDS through FUZZER, then fuzzes for SECONDS. New
# inputs go to WORKDIR/corpus (--fresh empties it first, as the ctests do;
# scripts/fuzz.sh keeps it so long runs build on each other); a crash, leak,
# timeout or out-of-memory input is saved in WORKDIR/crashes and fails the
# run. Exits 77 (ctest: skipped) when FUZZER was not built because clang-16
# or libFuzzer is missing.
set -u
fresh=0
if [ "${1:-}" = "--fresh" ]; then
  fresh=1
  shift
fi
fuzzer=$1
seeds=$2
seconds=$3
work=$4
name=$(basename "$fuzzer")

failed_build="$(dirname "$fuzzer")/build-failed.log"
if [ -f "$failed_build" ]; then
  tail -n 40 "$failed_build"
  echo "FAIL $name: the fuzz targets did not build (log: $failed_build)"
  exit 1
fi
if [ ! -x "$fuzzer" ]; then
  echo "[SKIP] $name not built: it needs clang-16 and libFuzzer (libclang-rt-16-dev);" \
       "run scripts/setup.sh and reconfigure"
  exit 77
fi

mkdir -p "$work/corpus" "$work/crashes"
if [ "$fresh" = 1 ]; then
  rm -rf "$work/corpus"
  mkdir -p "$work/corpus"
fi
log="$work/fuzz.log"
# libFuzzer's own error exit code (77) would read as "skipped" to ctest.
"$fuzzer" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$work/corpus" "$seeds" >"$log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
  grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse|RELOAD)' "$log" | tail -n 80
  echo "FAIL $name (exit $rc): the input is in $work/crashes/;" \
       "reproduce with: $fuzzer $work/crashes/<file>"
  exit 1
fi
runs=$(grep -o -E 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -o -E '[0-9]+$')
echo "PASS $name: seeds from $seeds and ${runs:-?} runs in ${seconds}s, no crash"
