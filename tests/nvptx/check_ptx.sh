#!/usr/bin/env bash
# Emits the PTX of one example model for sm_80 and sm_90 and assembles each
# with CUDA's ptxas, which checks it without a GPU. Without ptxas the test
# says so and is counted as skipped (SKIP_REGULAR_EXPRESSION "[SKIP]").
#   check_ptx.sh <model>-gen <work dir>
set -euo pipefail
gen=$1
work=$2
ptxas=${PTXAS:-}
if [[ -z $ptxas ]]; then
  ptxas=$(command -v ptxas || true)
  [[ -z $ptxas && -x /usr/local/cuda/bin/ptxas ]] && ptxas=/usr/local/cuda/bin/ptxas
fi
name=$(basename "$gen" -gen)
mkdir -p "$work"
for sm in 80 90; do
  "$gen" --target=nvptx64-nvidia-cuda --mcpu=sm_$sm --emit=ptx -o "$work/$name.sm_$sm.ptx"
  grep -q "^.target sm_$sm" "$work/$name.sm_$sm.ptx"
  entries=$(grep -c '^.visible .entry' "$work/$name.sm_$sm.ptx" || true)
  if [[ $entries -eq 0 ]]; then
    echo "FAIL: $name sm_$sm: no kernel entry in the PTX" >&2
    exit 1
  fi
  if [[ -z $ptxas ]]; then
    echo "[SKIP] ptxas not found (PATH, /usr/local/cuda/bin): $name's PTX for sm_$sm was emitted ($entries kernels) but not assembled"
    continue
  fi
  "$ptxas" -arch=sm_$sm "$work/$name.sm_$sm.ptx" -o "$work/$name.sm_$sm.cubin"
  echo "ok: $name sm_$sm: $entries kernels assembled by ptxas ($(wc -c < "$work/$name.sm_$sm.cubin") bytes of SASS)"
done
