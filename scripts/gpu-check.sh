#!/usr/bin/env bash
# The GPU check in two halves (docs/gpu.md).
#   scripts/gpu-check.sh pack [BUILD_DIR]   on the build machine: a self-
#       contained bundle in gpu-bundle/ (ignored by git): the GPU tests, the
#       PTX of every example model, and this script.
#   gpu-bundle/gpu-check.sh run            on a machine with an NVIDIA driver
#       (no LLVM, no MLIR needed): runs the bundle's GPU tests.
# What exists so far: the CUDA runtime test (a PTX kernel), logreg trained
# on the GPU against the CPU (20 steps, losses and parameters), and ptxas on
# each model's PTX when ptxas is there. The benchmark table, the PyTorch/JAX
# anchors and Fashion-MNIST training are not written yet.
set -euo pipefail

pack() {
  local build=${1:-build}
  local root
  root=$(cd "$(dirname "$0")/.." && pwd)
  local bundle=$root/gpu-bundle
  rm -rf "$bundle"
  mkdir -p "$bundle/bin" "$bundle/ptx"
  cp "$build/runtime/kiln_runtime_tests" "$build/tests/nvptx/kiln_nvptx_logreg_test" "$bundle/bin/"
  for gen in "$build"/bin/*-gen; do
    local name
    name=$(basename "$gen" -gen)
    [[ $name == bad_shape ]] && continue
    for sm in 80 90; do
      "$gen" --target=nvptx64-nvidia-cuda --mcpu=sm_$sm --emit=ptx -o "$bundle/ptx/$name.sm_$sm.ptx"
    done
  done
  cp "$0" "$bundle/gpu-check.sh"
  local size
  size=$(du -sm "$bundle" | cut -f1)
  echo "gpu-bundle: ${size} MiB in $bundle"
  if (( size > 60 )); then
    echo "gpu-bundle is over 60 MiB" >&2
    exit 1
  fi
}

run() {
  local bundle
  bundle=$(cd "$(dirname "$0")" && pwd)
  local failed=0
  echo "== CUDA runtime"
  "$bundle/bin/kiln_runtime_tests" --gtest_filter='Cuda*' || failed=1
  echo "== logreg on the GPU against the CPU (20 steps)"
  "$bundle/bin/kiln_nvptx_logreg_test" || failed=1
  local ptxas
  ptxas=$(command -v ptxas || true)
  [[ -z $ptxas && -x /usr/local/cuda/bin/ptxas ]] && ptxas=/usr/local/cuda/bin/ptxas
  if [[ -n $ptxas ]]; then
    echo "== ptxas on every model's PTX"
    for ptx in "$bundle"/ptx/*.ptx; do
      local sm=${ptx%.ptx}
      sm=${sm##*.}
      "$ptxas" -arch="$sm" "$ptx" -o /dev/null && echo "ok: $(basename "$ptx")" || failed=1
    done
  else
    echo "[SKIP] ptxas not found: PTX not assembled here"
  fi
  if (( failed )); then
    echo "gpu-check: FAILED"
    exit 1
  fi
  echo "gpu-check: passed"
}

case ${1:-} in
  pack) shift; pack "$@" ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 pack [BUILD_DIR] | run" >&2; exit 2 ;;
esac
