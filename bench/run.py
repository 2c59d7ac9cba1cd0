#!/usr/bin/env python3
"""kiln vs PyTorch, same models, same machine, same run.

Runs build/bench/kiln_step_bench and bench/torch_anchor.py (Debian's
/usr/bin/python3 with torch, torch.set_num_threads(2)) and prints a table of
median step times and the ratio torch/kiln (> 1: kiln is faster).

usage: bench/run.py [--steps N] [--models logreg,mlp,lenet,convnet] [--build DIR]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--models", default="logreg,mlp,lenet,convnet",
                        help="comma-separated subset (default: all)")
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    args = parser.parse_args()
    kiln = run_json([os.path.join(args.build, "bench", "kiln_step_bench"),
                     str(args.steps), args.models])
    torch = run_json(["/usr/bin/python3", os.path.join(HERE, "torch_anchor.py"),
                      "--models", ",".join(kiln), "--steps", str(args.steps), "--json"])
    print(f"{'model':8} {'kiln ms':>9} {'torch ms':>9} {'torch/kiln':>10} {'kiln samples/s':>15}")
    for name, k in kiln.items():
        t = torch[name]
        print(f"{name:8} {k['median_ms']:9.3f} {t['median_ms']:9.3f} "
              f"{t['median_ms'] / k['median_ms']:10.2f} {k['samples_per_s']:15.0f}")


if __name__ == "__main__":
    sys.exit(main())
