#!/usr/bin/env python3
"""Runs a kiln trainer and checks what it prints: the loss falls from the
first progress line to the last, and the final test accuracy reaches a bound.

usage: check_training.py MIN_ACCURACY TRAINER [TRAINER ARGS...]
"""
import re
import subprocess
import sys


def main():
    min_accuracy = float(sys.argv[1])
    run = subprocess.run(sys.argv[2:], capture_output=True, text=True)
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    if run.returncode != 0:
        sys.exit(f"FAIL: trainer exited with {run.returncode}")
    losses = [float(m) for m in re.findall(r"step \d+/\d+ loss ([0-9.]+)", run.stdout)]
    final = re.search(r"^final test accuracy: ([0-9.]+)$", run.stdout, re.M)
    if len(losses) < 2 or not final:
        sys.exit("FAIL: expected progress lines and a final accuracy line")
    if not losses[-1] < 0.8 * losses[0]:
        sys.exit(f"FAIL: loss did not fall: first {losses[0]}, last {losses[-1]}")
    accuracy = float(final.group(1))
    if accuracy < min_accuracy:
        sys.exit(f"FAIL: test accuracy {accuracy} < {min_accuracy}")
    print(f"OK: loss {losses[0]:.4f} -> {losses[-1]:.4f}, accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
