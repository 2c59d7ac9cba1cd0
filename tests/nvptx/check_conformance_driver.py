#!/usr/bin/env python3
"""scripts/gpu_conformance.py without a GPU: in a bundle holding logreg's
CUDA trainer, `expect` stores the CPU run and `check ... cpu` compares a
second CPU run with it (identical: passes); a 1% change of one expected
bias element or of one expected loss must fail the check. With --tf32 (the
wider TF32 tolerances, run on a copy of the same trainer named as a TF32
build) the 1% change of a loss passes and a 3% change fails.

usage: check_conformance_driver.py GPU_CONFORMANCE_PY CUDA_TRAINER DATA_DIR
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile


def check(script, bundle, *flags):
    result = subprocess.run([sys.executable, script, "check", bundle,
                             os.path.join(bundle, "out"), "cpu", *flags],
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def main():
    script, trainer, data = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as bundle:
        os.makedirs(os.path.join(bundle, "bin"))
        shutil.copy(trainer, os.path.join(bundle, "bin"))
        os.makedirs(os.path.join(bundle, "data"))
        os.symlink(os.path.abspath(data), os.path.join(bundle, "data", "fashion-mnist"))
        subprocess.run([sys.executable, script, "expect", bundle], check=True, timeout=300)
        expected = os.path.join(bundle, "expected", "logreg")
        rc, out = check(script, bundle)
        if rc != 0 or not out.startswith("ok   logreg: 20/20 losses, worst loss error 0.000"):
            sys.exit(f"FAIL: identical runs must pass:\n{out}")
        print("ok: identical runs pass")

        with gzip.open(expected + ".state.json.gz", "rt") as f:
            state = json.load(f)
        original = json.dumps(state)
        state["fc.bias"]["elements"][3] *= 1.01
        with gzip.open(expected + ".state.json.gz", "wt") as f:
            json.dump(state, f)
        rc, out = check(script, bundle)
        if rc != 1 or "FAIL logreg" not in out or "at fc.bias[3]" not in out:
            sys.exit(f"FAIL: a 1% change of fc.bias[3] must fail:\n{out}")
        print("ok: a changed parameter fails")
        with gzip.open(expected + ".state.json.gz", "wt") as f:
            f.write(original)

        with open(expected + ".losses.csv") as f:
            lines = f.read().splitlines()
        step, epoch, loss = lines[5].split(",")
        lines[5] = f"{step},{epoch},{float(loss) * 1.01:.6f}"
        with open(expected + ".losses.csv", "w") as f:
            f.write("\n".join(lines) + "\n")
        rc, out = check(script, bundle)
        if rc != 1 or "FAIL logreg" not in out or "worst state error 0.000" not in out:
            sys.exit(f"FAIL: a 1% change of one loss must fail:\n{out}")
        print("ok: a changed loss fails")

        shutil.copy(trainer, os.path.join(bundle, "bin", "logreg-train-cuda-tf32"))
        rc, out = check(script, bundle, "--tf32")
        if rc != 0 or not out.startswith("ok   logreg-tf32: 20/20 losses"):
            sys.exit(f"FAIL: a 1% change of one loss is within TF32's tolerance:\n{out}")
        lines[5] = f"{step},{epoch},{float(loss) * 1.03:.6f}"
        with open(expected + ".losses.csv", "w") as f:
            f.write("\n".join(lines) + "\n")
        rc, out = check(script, bundle, "--tf32")
        if rc != 1 or "FAIL logreg-tf32" not in out:
            sys.exit(f"FAIL: a 3% change of one loss must fail with --tf32:\n{out}")
        print("ok: --tf32 checks the TF32 build within its wider tolerances")


if __name__ == "__main__":
    main()
