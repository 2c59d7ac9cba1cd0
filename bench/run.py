#!/usr/bin/env python3
"""kiln vs PyTorch vs a hand-written OpenBLAS trainer: same models, same run.

For each thread count (default: 1 and all cores) runs
  - build/bench/kiln_step_bench (kiln's compiled train_step),
  - bench/torch_anchor.py (PyTorch eager, with Debian's /usr/bin/python3),
  - build/bench/openblas_trainer (bench/openblas_trainer.c, every matmul a
    cblas_sgemm: the practical limit; MLP models only),
and prints one table of median ms per step and samples/s with the ratios
torch/kiln and blas/kiln of the same run (ms over ms: > 1 means kiln is
faster; blas/kiln is the fraction of the limit's speed kiln reaches).

kiln_step_bench gets `--threads T` where its --help lists it; a kiln time
measured on fewer threads than its row's (no --threads, or models built
serial) is marked `*`.

mlp_wide steps take a second or more, so it gets --wide-steps timed steps
(default 20) instead of --steps.

usage: bench/run.py [--steps N] [--wide-steps N] [--threads 1,2]
                    [--models logreg,mlp,mlp_wide,lenet,convnet] [--build DIR]
                    [--json FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ALL_MODELS = "logreg,mlp,mlp_wide,lenet,convnet"
BATCH = {"logreg": 128, "mlp": 128, "mlp_wide": 1024, "lenet": 128,
         "convnet": 64}
# Models bench/openblas_trainer.c implements.
BLAS_MODELS = {"logreg", "mlp", "mlp_wide"}
# Models whose steps are long enough that --wide-steps applies.
WIDE_MODELS = {"mlp_wide"}


def run_json(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"run.py: {' '.join(cmd)} failed ({proc.returncode})")
    return json.loads(proc.stdout)


def cpu_description():
    """CPU model, core count and the vector extensions that matter here."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    ext = [f for f in ("avx2", "fma", "avx512f") if f in flags]
    no = [f for f in ("avx512f",) if f not in flags]
    return (f"{model}, {os.cpu_count()} cores, {' '.join(ext) or 'no AVX2'}"
            + (f", no {' '.join(no)}" if no else ""))


def kiln_takes_threads(kiln):
    proc = subprocess.run([kiln, "--help"], capture_output=True, text=True)
    return "--threads" in proc.stdout + proc.stderr


def measure(args, threads, models, kiln, blas, kiln_threaded, kiln_cache):
    """{tool: {model: result}} for one thread count."""
    groups = [([m for m in models if m not in WIDE_MODELS], args.steps),
              ([m for m in models if m in WIDE_MODELS], args.wide_steps)]
    out = {"kiln": {}, "torch": {}, "blas": {}}
    for names, steps in groups:
        if not names or steps < 1:
            continue
        joined = ",".join(names)
        if kiln_threaded:
            out["kiln"].update(run_json(
                [kiln, "--threads", str(threads), str(steps), joined]))
        else:
            # Single-threaded kiln: measure once, show it in every row.
            key = (joined, steps)
            if key not in kiln_cache:
                kiln_cache[key] = run_json([kiln, str(steps), joined])
            out["kiln"].update(kiln_cache[key])
        if args.torch_python:
            out["torch"].update(run_json(
                [args.torch_python, os.path.join(HERE, "torch_anchor.py"),
                 "--models", joined, "--steps", str(steps), "--threads",
                 str(threads), "--json"]))
        blas_names = [m for m in names if m in BLAS_MODELS]
        if blas and blas_names:
            out["blas"].update(run_json(
                [blas, "--threads", str(threads), "--steps", str(steps),
                 "--models", ",".join(blas_names)]))
    return out


def cell(result, key, fmt):
    """result[key] formatted, or a dash as wide, where there is no result."""
    return format(result[key], fmt) if result else "-".rjust(int(fmt.split(".")[0]))


def ratio(numerator, denominator):
    if not numerator or not denominator:
        return "-"
    return f"{numerator['median_ms'] / denominator['median_ms']:.2f}"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200,
                        help="timed steps per model (default 200)")
    parser.add_argument("--wide-steps", type=int, default=20,
                        help="timed steps for mlp_wide (default 20; 0 skips it)")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}",
                        help="comma-separated thread counts (default: 1 and "
                        "all cores)")
    parser.add_argument("--models", default=ALL_MODELS,
                        help=f"comma-separated subset of {ALL_MODELS}")
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--torch-python", default="/usr/bin/python3",
                        help="interpreter with torch ('' leaves torch out)")
    parser.add_argument("--json", help="also write all results to this file")
    args = parser.parse_args()

    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(ALL_MODELS.split(",")))
    if unknown:
        parser.error("unknown model(s): " + ",".join(unknown))
    thread_counts = sorted({int(t) for t in args.threads.split(",") if t})
    kiln = os.path.join(args.build, "bench", "kiln_step_bench")
    blas = os.path.join(args.build, "bench", "openblas_trainer")
    if not os.path.exists(blas):
        print(f"note: {blas} is not built (libopenblas-dev missing?): no "
              "OpenBLAS column", file=sys.stderr)
        blas = None
    if args.torch_python and not os.path.exists(args.torch_python):
        print(f"note: {args.torch_python} not found: no PyTorch column",
              file=sys.stderr)
        args.torch_python = ""
    kiln_threaded = kiln_takes_threads(kiln)

    load_before = os.getloadavg()
    started = time.time()
    kiln_cache = {}
    results = {t: measure(args, t, models, kiln, blas, kiln_threaded, kiln_cache)
               for t in thread_counts}
    load_after = os.getloadavg()

    print(f"CPU: {cpu_description()}")
    print(f"load average (1 min) {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after; {time.time() - started:.0f} s; "
          f"median of {args.steps} steps"
          + (f" ({args.wide_steps} for mlp_wide)" if "mlp_wide" in models else ""))
    print(f"{'model':8} {'batch':>5} {'thr':>3} {'kiln ms':>9} {'torch ms':>9} "
          f"{'blas ms':>9} {'kiln/s':>9} {'torch/s':>9} {'blas/s':>9} "
          f"{'torch/kiln':>10} {'blas/kiln':>9}")
    single_thread_kiln = False
    for name in models:
        for t in thread_counts:
            k = results[t]["kiln"].get(name)
            tr = results[t]["torch"].get(name)
            b = results[t]["blas"].get(name)
            mark = "*" if k and k.get("threads", t) != t else " "
            single_thread_kiln |= mark == "*"
            print(f"{name:8} {BATCH[name]:5} {t:3} {cell(k, 'median_ms', '8.3f')}{mark} "
                  f"{cell(tr, 'median_ms', '9.3f')} {cell(b, 'median_ms', '9.3f')} "
                  f"{cell(k, 'samples_per_s', '9.0f')} "
                  f"{cell(tr, 'samples_per_s', '9.0f')} "
                  f"{cell(b, 'samples_per_s', '9.0f')} "
                  f"{ratio(tr, k):>10} {ratio(b, k):>9}")
    print("ms ratios: > 1 means kiln is faster; blas/kiln is kiln's fraction of "
          "the OpenBLAS trainer's speed.")
    if single_thread_kiln:
        print("* kiln on fewer threads than the row's (its JSON's \"threads\"): "
              "a serial build of the models, or no --threads in kiln_step_bench.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_description(), "load_before": load_before,
                       "load_after": load_after, "steps": args.steps,
                       "wide_steps": args.wide_steps,
                       "results": {str(t): r for t, r in results.items()}},
                      f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
