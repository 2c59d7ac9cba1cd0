#!/usr/bin/env bash
# The GPU check in two halves (docs/gpu.md).
#   scripts/gpu-check.sh pack [BUILD_DIR]   on the build machine: a self-
#       contained bundle in gpu-bundle/ (ignored by git, at most 60 MiB):
#       the CUDA trainers of every example model (mlp and convnet also as
#       TF32 tensor-core builds), the expected CPU results
#       of the conformance runs, Fashion-MNIST and the tabular tables, the
#       PyTorch/JAX anchor script, the GPU tests, each model's PTX and this
#       script.
#   gpu-bundle/gpu-check.sh run [RESULTS]  on a machine with an NVIDIA driver
#       (no LLVM, no MLIR; Python 3 with torch and JAX for the anchors),
#       within about 5 minutes: conformance (every model, 20 steps on the
#       GPU against the CPU), the benchmark table (kiln vs PyTorch eager,
#       torch.compile, JAX jit) and mlp trained to >= 0.87 test accuracy.
#       Writes RESULTS (default gpu-bundle/results/results.md); exits 2
#       when no GPU is usable, 1 when a check failed.
set -euo pipefail

MODELS="logreg mlp mlp_finetune lenet convnet linear_regression logistic_regression"
# Models with a benchmark row (benchmarks.md); kiln has no mlp_wide example.
BENCH_MODELS="logreg mlp lenet convnet mlp_wide"
# Models also built with TF32 tensor-core matmuls (<model>-train-cuda-tf32).
TF32_MODELS="mlp convnet"

pack() {
  local build=${1:-build}
  build=$(cd "$build" && pwd)
  local root
  root=$(cd "$(dirname "$0")/.." && pwd)
  local bundle=$root/gpu-bundle
  local data=${KILN_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
  rm -rf "$bundle"
  mkdir -p "$bundle/bin" "$bundle/ptx" "$bundle/data/fashion-mnist" "$bundle/data/tabular"
  cp "$build/runtime/kiln_runtime_tests" "$build/tests/nvptx/kiln_nvptx_logreg_test" "$bundle/bin/"
  local model
  for model in $MODELS; do
    cp "$(find "$build/examples" -name "$model-train-cuda" -type f | head -1)" "$bundle/bin/"
    for sm in 80 90; do
      "$build/bin/$model-gen" --target=nvptx64-nvidia-cuda --mcpu=sm_$sm --emit=ptx \
        -o "$bundle/ptx/$model.sm_$sm.ptx"
    done
  done
  for model in $TF32_MODELS; do
    cp "$(find "$build/examples" -name "$model-train-cuda-tf32" -type f | head -1)" "$bundle/bin/"
  done
  # The whole dataset fits (30 MiB compressed): the mlp trains on all of it.
  cp "$data"/*-ubyte.gz "$bundle/data/fashion-mnist/"
  cp "$build"/examples/tabular/data/*.csv "$bundle/data/tabular/"
  cp "$root/scripts/gpu_conformance.py" "$root/examples/device/compare_runs.py" \
     "$root/bench/gpu_anchor.py" "$root/bench/torch_anchor.py" "$bundle/"
  cp "$0" "$bundle/gpu-check.sh"
  python3 "$bundle/gpu_conformance.py" expect "$bundle"
  strip "$bundle"/bin/* 2>/dev/null || true
  local size
  size=$(du -sm "$bundle" | cut -f1)
  echo "gpu-bundle: ${size} MiB in $bundle"
  if (( size > 60 )); then
    echo "gpu-bundle is over 60 MiB" >&2
    exit 1
  fi
}

# ms per step from a trainer's last progress line ("... samples/s N").
ms_per_step() {
  local batch=$1 log=$2
  awk -v b="$batch" '/samples\/s/ { s = $NF } END { if (s > 0) printf "%.4f", b / s * 1000; else print "-" }' "$log"
}

run() {
  local bundle
  bundle=$(cd "$(dirname "$0")" && pwd)
  local results=${1:-$bundle/results/results.md}
  local work
  work=$(dirname "$results")/work
  mkdir -p "$work"
  local fmnist=$bundle/data/fashion-mnist
  local failed=0 start=$SECONDS
  # No GPU: say so and stop before anything else (exit 2).
  local probe
  if ! probe=$("$bundle/bin/logreg-train-cuda" --device cuda --epochs 0 --data-dir "$fmnist" 2>&1); then
    echo "gpu-check: no usable GPU: $(grep -m1 'error:' <<<"$probe" || echo "$probe")" >&2
    exit 2
  fi
  {
    echo "# gpu-check results ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "- $(grep -m1 '^device:' <<<"$probe")"
    command -v nvidia-smi >/dev/null && echo "- driver: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)"
    echo "- host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo
  } >"$results"

  echo "== CUDA runtime and logreg GPU test"
  "$bundle/bin/kiln_runtime_tests" --gtest_filter='Cuda*:TrainerTest.Cuda*' >"$work/runtime.log" 2>&1 || failed=1
  "$bundle/bin/kiln_nvptx_logreg_test" >"$work/logreg_test.log" 2>&1 || failed=1
  tail -1 "$work/runtime.log" "$work/logreg_test.log"

  echo "== conformance: every model, 20 steps on the GPU against the CPU"
  {
    echo "## Conformance (20 steps, seed 1; losses 1e-3 rel + 1e-4, state 1e-3 rel + 1e-4)"
    echo
    echo '```'
  } >>"$results"
  python3 "$bundle/gpu_conformance.py" check "$bundle" "$work/conformance" | tee -a "$results" || failed=1
  echo '```' >>"$results"
  echo "== conformance with --cuda-graph (each step after the first replays a CUDA graph)"
  {
    echo
    echo "With \`--cuda-graph\`:"
    echo
    echo '```'
  } >>"$results"
  python3 "$bundle/gpu_conformance.py" check "$bundle" "$work/conformance-graph" cuda --cuda-graph |
    tee -a "$results" || failed=1
  echo '```' >>"$results"
  echo "== conformance of the TF32 tensor-core builds ($TF32_MODELS)"
  {
    echo
    echo "TF32 builds (\`--mattr=+tf32\`; losses 1e-2 rel + 1e-3, state 2e-2 rel + 1e-3):"
    echo
    echo '```'
  } >>"$results"
  python3 "$bundle/gpu_conformance.py" check "$bundle" "$work/conformance-tf32" cuda --tf32 |
    tee -a "$results" || failed=1
  echo '```' >>"$results"

  echo "== kiln step times (trainer, 300 steps, last 100 timed)"
  local -A kiln_ms graph_ms
  local model batch
  for model in logreg mlp lenet convnet; do
    "$bundle/bin/$model-train-cuda" --device cuda --epochs 1 --max-steps 300 --log-every 100 \
      --data-dir "$fmnist" >"$work/$model.bench.log" 2>&1 || failed=1
    batch=$(awk '/^model/ { sub(",", "", $4); print $4 }' "$work/$model.bench.log")
    kiln_ms[$model]=$(ms_per_step "${batch:-0}" "$work/$model.bench.log")
    "$bundle/bin/$model-train-cuda" --device cuda --cuda-graph --epochs 1 --max-steps 300 \
      --log-every 100 --data-dir "$fmnist" >"$work/$model.graph.log" 2>&1 || failed=1
    graph_ms[$model]=$(ms_per_step "${batch:-0}" "$work/$model.graph.log")
    echo "$model: ${kiln_ms[$model]} ms/step, ${graph_ms[$model]} with --cuda-graph"
  done
  local -A tf32_ms
  for model in $TF32_MODELS; do
    "$bundle/bin/$model-train-cuda-tf32" --device cuda --epochs 1 --max-steps 300 --log-every 100 \
      --data-dir "$fmnist" >"$work/$model.tf32.log" 2>&1 || failed=1
    batch=$(awk '/^model/ { sub(",", "", $4); print $4 }' "$work/$model.tf32.log")
    tf32_ms[$model]=$(ms_per_step "${batch:-0}" "$work/$model.tf32.log")
    echo "$model (TF32): ${tf32_ms[$model]} ms/step"
  done

  echo "== mlp trained on Fashion-MNIST on the GPU (10 epochs)"
  "$bundle/bin/mlp-train-cuda" --device cuda --epochs 10 --log-every 0 --data-dir "$fmnist" \
    --save "$work/mlp.gpu.safetensors" >"$work/mlp.train.log" 2>&1 || failed=1
  grep -E "done|final" "$work/mlp.train.log" || true
  local accuracy
  accuracy=$(awk '/final test accuracy/ { print $NF }' "$work/mlp.train.log")
  if ! awk -v a="${accuracy:-0}" 'BEGIN { exit !(a >= 0.87) }'; then
    echo "mlp: test accuracy ${accuracy:-none} < 0.87" >&2
    failed=1
  fi
  {
    echo
    echo "## mlp on Fashion-MNIST, GPU, 10 epochs: final test accuracy ${accuracy:-none} (>= 0.87 required)"
    echo
    echo '```'
    grep -E "done|final" "$work/mlp.train.log" || true
    echo '```'
  } >>"$results"
  echo "== anchors: PyTorch eager, torch.compile, JAX jit"
  local anchors=$work/anchors.json
  # torch.compile compiles each model first: cap the anchors, keeping what
  # they measured (--out is rewritten after every variant).
  rm -f "$anchors"
  local cap=$(( 285 - (SECONDS - start) ))
  (( cap > 150 )) && cap=150
  (( cap < 30 )) && cap=30
  timeout "$cap" python3 "$bundle/gpu_anchor.py" --json --out "$anchors" \
    --models "${BENCH_MODELS// /,}" >"$work/anchors.out" 2>"$work/anchors.err" ||
    echo "anchors: failed or stopped at ${cap} s; the table has what they measured ($work/anchors.err)"
  {
    echo
    echo "## Step time (ms/step; kiln: trainer's last 100 of 300 steps incl. batch staging; anchors: mean of 200 after warm-up, synthetic data on the device)"
    echo
    echo "(kiln GPU: the faster of plain launches and --cuda-graph, marked g; both in the log)"
    echo
    echo "| model | batch | kiln GPU | PyTorch eager | torch.compile | JAX jit | kiln samples/s | eager/kiln | JAX/kiln |"
    echo "|---|---|---|---|---|---|---|---|---|"
    python3 - "$anchors" logreg="${kiln_ms[logreg]}" mlp="${kiln_ms[mlp]}" lenet="${kiln_ms[lenet]}" \
      convnet="${kiln_ms[convnet]}" logreg_g="${graph_ms[logreg]}" mlp_g="${graph_ms[mlp]}" \
      lenet_g="${graph_ms[lenet]}" convnet_g="${graph_ms[convnet]}" <<'PY'
import json, sys
try:
    anchors = json.load(open(sys.argv[1]))
except Exception:
    anchors = {}
kiln = dict(a.split("=") for a in sys.argv[2:])
def number(v):
    try:
        return float(v)
    except ValueError:
        return None
for m in ("logreg", "mlp", "lenet", "convnet"):
    plain, graph = number(kiln.get(m, "-")), number(kiln.pop(m + "_g", "-"))
    if graph is not None and (plain is None or graph < plain):
        kiln[m] = f"{graph}g"
batches = {"logreg": 128, "mlp": 128, "lenet": 128, "convnet": 64, "mlp_wide": 1024}
def f(v):
    if v in (None, "-", ""):
        return "-"
    text = str(v)
    return f"{float(text.rstrip('g')):.3f}{'g' if text.endswith('g') else ''}"
for m, b in batches.items():
    a = anchors.get(m, {})
    k = kiln.get(m, "-")
    kf = number(k.rstrip("g"))
    ratio = lambda v: f"{v / kf:.2f}" if kf and v else "-"
    print(f"| {m} | {b} | {f(k)} | {f(a.get('torch_eager'))} | {f(a.get('torch_compile'))} | "
          f"{f(a.get('jax_jit'))} | {f'{b / kf * 1000:.0f}' if kf else '-'} | "
          f"{ratio(a.get('torch_eager'))} | {ratio(a.get('jax_jit'))} |")
for m, a in anchors.items():
    for k, v in a.items():
        if k.endswith("_skipped"):
            print(f"\n{m} {k[:-8]}: not measured: {v}")
PY
    echo
    echo "TF32 tensor-core builds (plain launches): mlp ${tf32_ms[mlp]:--} ms/step, convnet ${tf32_ms[convnet]:--} ms/step"
  } >>"$results"
  echo -e "\nTotal: $((SECONDS - start)) s" >>"$results"

  echo "results: $results ($((SECONDS - start)) s)"
  if (( failed )); then
    echo "gpu-check: FAILED"
    exit 1
  fi
  echo "gpu-check: passed"
}

case ${1:-} in
  pack) shift; pack "$@" ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 pack [BUILD_DIR] | run [RESULTS_FILE]" >&2; exit 2 ;;
esac
