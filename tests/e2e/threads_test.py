#!/usr/bin/env python3
"""Threaded training steps are bit-identical to single-threaded ones.

Host models run their big independent loops on OpenMP threads (kilnc
--parallel, the host default), each value computed by one thread in the same
order as without threads. So a run with --threads 2 or 3 (3 splits the loops
unevenly) must end in the same losses, accuracy and checkpoint bytes as
--threads 1, and, given SERIAL_TRAINER (the same model compiled with
--no-parallel), --threads 1 must match the serial code too.

usage: threads_test.py LLVM_NM TRAINER [SERIAL_TRAINER] -- TRAINER_ARGS...
"""
import os
import subprocess
import sys
import tempfile

from checkpoint_torch_test import final_lines, read_safetensors_raw, run


def uses_openmp(nm, trainer):
    """Whether the trainer's code forks OpenMP teams (else the test is void)."""
    symbols = subprocess.run([nm, "-D", "--undefined-only", trainer],
                             capture_output=True, text=True, check=True).stdout
    return "__kmpc_fork_call" in symbols


def main():
    if "--" not in sys.argv[1:] or len(sys.argv) < 4:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    nm, trainer, *serial = sys.argv[1:split]
    args = sys.argv[split + 1:]
    if not uses_openmp(nm, trainer):
        sys.exit(f"FAIL: {trainer} has no parallel loops (no __kmpc_fork_call)")
    if serial and uses_openmp(nm, serial[0]):
        sys.exit(f"FAIL: {serial[0]} should be single-threaded code")
    runs = [(trainer, ["--threads", str(n)]) for n in (1, 2, 3)]
    runs += [(s, []) for s in serial]
    with tempfile.TemporaryDirectory(prefix="kiln_threads_") as work:
        results = []
        for i, (binary, threads) in enumerate(runs):
            checkpoint = os.path.join(work, f"run{i}.safetensors")
            out = run([binary, "--epochs", "1", "--seed", "3", "--log-every", "0",
                       "--full-precision", "--save", checkpoint] + threads + args)
            results.append((" ".join([os.path.basename(binary)] + threads),
                            final_lines(out, 1), read_safetensors_raw(checkpoint)))
        name, lines, state = results[0]
        print(f"{name}: {lines}")
        for other, other_lines, other_state in results[1:]:
            print(f"{other}: {other_lines}")
            if other_lines != lines:
                sys.exit(f"FAIL: {other} printed other results than {name}")
            if other_state[0] != state[0] or other_state[2] != state[2]:
                sys.exit(f"FAIL: {other} ended in other parameters than {name}")
        print(f"OK: {len(results)} runs bit-identical ({len(state[0])} tensors)")


if __name__ == "__main__":
    main()
