#!/usr/bin/env python3
"""GPU-vs-CPU conformance of every example model, for scripts/gpu-check.sh.

  gpu_conformance.py expect BUNDLE   (pack time, on the build machine)
      runs each model's CUDA trainer with --device cpu: 20 steps from seed 1,
      writing BUNDLE/expected/<model>.{losses.csv,safetensors}
  gpu_conformance.py check BUNDLE [OUT_DIR [DEVICE [FLAG...]]]   (on the GPU machine)
      runs the same command with --device cuda (or DEVICE: `cpu` checks
      the comparison itself on a machine without a GPU), adding the trainer
      FLAGs (--cuda-graph), and compares; with the flag --tf32 it runs the
      models' TF32 builds (bin/<model>-train-cuda-tf32) instead, within
      the TF32 tolerances below

Both runs start from the same state (the trainer initializes on the host
and uploads it) and draw the same batches (same data, seed and order), so
the only differences are float32 rounding between the kernels: losses must
agree within 1e-3 relative (+1e-4 absolute: the CSV prints 6 decimals) and
every state tensor (parameters and optimizer buffers) within
|gpu - cpu| <= 1e-3 |cpu| + 1e-4 after 20 steps. To keep the bundle small
the expected state is stored as a sample (<model>.state.json.gz): every
element of a tensor of up to 8192 elements, else 8192 evenly spaced ones, and each
tensor's sum of squares (within 1e-3 relative). Plain Python, no numpy.

TF32 builds multiply with inputs rounded to 10 mantissa bits (relative
error up to 2^-11 per input), so their tolerances are ten and twenty
times wider: losses 1e-2 relative + 1e-3, state 2e-2 relative + 1e-3
(sums of squares 2e-2). That still fails a kernel that misplaces or
drops a product (errors of the order of the values themselves).
"""
import csv
import gzip
import json
import os
import subprocess
import sys

# The bundle holds compare_runs.py beside this file; the source tree has it
# in examples/device.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "examples", "device")]
from compare_runs import read_safetensors  # noqa: E402

STEPS = 20
LOSS_RTOL, LOSS_ATOL = 1e-3, 1e-4
STATE_RTOL, STATE_ATOL = 1e-3, 1e-4
TF32_LOSS_RTOL, TF32_LOSS_ATOL = 1e-2, 1e-3
TF32_STATE_RTOL, TF32_STATE_ATOL = 2e-2, 1e-3
SAMPLE = 8192
IMAGE_MODELS = ["logreg", "mlp", "mlp_finetune", "lenet", "convnet"]
TABLE_MODELS = {"linear_regression": "linear", "logistic_regression": "logistic"}


def command(bundle, model, device, out, flags=(), suffix=""):
    cmd = [os.path.join(bundle, "bin", model + "-train-cuda" + suffix), "--device", device, *flags,
           "--epochs", "1", "--max-steps", str(STEPS), "--log-every", "1", "--seed", "1",
           "--loss-csv", out + ".losses.csv", "--save", out + ".safetensors"]
    if model in TABLE_MODELS:
        table = os.path.join(bundle, "data", "tabular", TABLE_MODELS[model])
        cmd += ["--train-csv", table + "_train.csv", "--test-csv", table + "_test.csv",
                "--label-column", "y"]
    else:
        cmd += ["--data-dir", os.path.join(bundle, "data", "fashion-mnist")]
    return cmd


def models(bundle, suffix=""):
    return [m for m in IMAGE_MODELS + list(TABLE_MODELS)
            if os.path.exists(os.path.join(bundle, "bin", m + "-train-cuda" + suffix))]


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")
    return result.stdout


def read_losses(path):
    with open(path) as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def read_state(path):
    """name -> values of the F32 tensors of a safetensors file."""
    return {name: values for name, (_, values) in read_safetensors(path)[1].items()}


def sample(values):
    """(stride, sampled elements, sum of squares) of one tensor."""
    stride = max(1, -(-len(values) // SAMPLE))
    return stride, list(values[::stride]), sum(float(v) * v for v in values)


def expect(bundle):
    os.makedirs(os.path.join(bundle, "expected"), exist_ok=True)
    for model in models(bundle):
        out = os.path.join(bundle, "expected", model)
        run(command(bundle, model, "cpu", out))
        state = {}
        for name, values in read_state(out + ".safetensors").items():
            stride, elements, squares = sample(values)
            state[name] = {"size": len(values), "stride": stride, "sum_squares": squares,
                           "elements": [float(f"{v:.9g}") for v in elements]}
        with gzip.open(out + ".state.json.gz", "wt") as f:
            json.dump(state, f, separators=(",", ":"))
        os.remove(out + ".safetensors")
        print(f"expected: {model} ({STEPS} CPU steps)")


def check(bundle, out_dir, device, flags):
    os.makedirs(out_dir, exist_ok=True)
    tf32 = "--tf32" in flags
    flags = [f for f in flags if f != "--tf32"]
    suffix = "-tf32" if tf32 else ""
    loss_rtol, loss_atol = (TF32_LOSS_RTOL, TF32_LOSS_ATOL) if tf32 else (LOSS_RTOL, LOSS_ATOL)
    state_rtol, state_atol = (TF32_STATE_RTOL, TF32_STATE_ATOL) if tf32 else (STATE_RTOL, STATE_ATOL)
    failures, lines = 0, []
    for model in models(bundle, suffix):
        out = os.path.join(out_dir, model + suffix)
        expected = os.path.join(bundle, "expected", model)
        try:
            run(command(bundle, model, device, out, flags, suffix))
        except RuntimeError as e:
            failures += 1
            lines.append(f"FAIL {model}: {e}")
            continue
        cpu, gpu = read_losses(expected + ".losses.csv"), read_losses(out + ".losses.csv")
        loss_err = max((abs(g - c) / (abs(c) * loss_rtol + loss_atol)
                        for c, g in zip(cpu, gpu)), default=0.0)
        with gzip.open(expected + ".state.json.gz", "rt") as f:
            cpu_state = json.load(f)
        gpu_state = read_state(out + ".safetensors")
        state_err, worst = 0.0, ""
        for name, c in cpu_state.items():
            g = gpu_state.get(name)
            if g is None or len(g) != c["size"]:
                state_err, worst = float("inf"), name + " (missing or resized)"
                break
            stride, elements, squares = sample(g)
            pairs = [(c["sum_squares"], squares, state_rtol * abs(c["sum_squares"]) + 1e-12,
                      name + " sum of squares")]
            pairs += [(a, b, abs(a) * state_rtol + state_atol, f"{name}[{i * stride}]")
                      for i, (a, b) in enumerate(zip(c["elements"], elements))]
            for a, b, tolerance, where in pairs:
                err = abs(b - a) / tolerance
                if not err <= state_err:  # also catches NaN
                    state_err, worst = err if err == err else float("inf"), where
        ok = len(cpu) == len(gpu) > 0 and loss_err <= 1 and state_err <= 1
        failures += not ok
        lines.append(f"{'ok  ' if ok else 'FAIL'} {model}{suffix}: {len(gpu)}/{len(cpu)} losses, worst loss "
                     f"error {loss_err:.3f} x tolerance, worst state error {state_err:.3f} x "
                     f"tolerance{' at ' + worst if worst else ''}; last loss cpu "
                     f"{cpu[-1] if cpu else float('nan'):.6f} {device} "
                     f"{gpu[-1] if gpu else float('nan'):.6f}")
    print("\n".join(lines))
    return failures


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("expect", "check"):
        sys.exit(__doc__)
    bundle = os.path.abspath(sys.argv[2])
    if sys.argv[1] == "expect":
        expect(bundle)
        return 0
    out_dir = sys.argv[3] if len(sys.argv) > 3 else os.path.join(bundle, "results", "conformance")
    device = sys.argv[4] if len(sys.argv) > 4 else "cuda"
    return 1 if check(bundle, out_dir, device, sys.argv[5:]) else 0


if __name__ == "__main__":
    sys.exit(main())
