#!/usr/bin/env bash
# Emits the PTX of one example model for sm_80 and sm_90 and assembles each
# with CUDA's ptxas, which checks it without a GPU. Without ptxas the test
# says so and is counted as skipped (SKIP_REGULAR_EXPRESSION "[SKIP]").
# With "tf32" the model is built with --mattr=+tf32 and its PTX must
# multiply on tensor cores (mma.sync m16n8k8 with TF32 inputs).
#   check_ptx.sh <model>-gen <work dir> [tf32]
set -euo pipefail
gen=$1
work=$2
variant=${3:-}
flags=()
[[ $variant == tf32 ]] && flags=(--mattr=+tf32)
ptxas=${PTXAS:-}
if [[ -z $ptxas ]]; then
  ptxas=$(command -v ptxas || true)
  [[ -z $ptxas && -x /usr/local/cuda/bin/ptxas ]] && ptxas=/usr/local/cuda/bin/ptxas
fi
name=$(basename "$gen" -gen)${variant:+.$variant}
mkdir -p "$work"
for sm in 80 90; do
  "$gen" --target=nvptx64-nvidia-cuda --mcpu=sm_$sm "${flags[@]}" --emit=ptx -o "$work/$name.sm_$sm.ptx"
  grep -q "^.target sm_$sm" "$work/$name.sm_$sm.ptx"
  if [[ $variant == tf32 ]] &&
     ! grep -q 'mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32' "$work/$name.sm_$sm.ptx"; then
    echo "FAIL: $name sm_$sm: built with +tf32 but no tensor-core mma.sync in the PTX" >&2
    exit 1
  fi
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
