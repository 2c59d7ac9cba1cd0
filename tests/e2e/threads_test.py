#!/usr/bin/env python3
"""Threaded training steps are bit-identical to single-threaded ones.

Host models run their big independent loops on OpenMP threads (kilnc
--parallel, the host default), each value computed by one thread in the same
order whatever the thread count. So a run with --threads 2 or 3 (3 splits
the loops unevenly) must end in the same losses, accuracy and checkpoint
bytes as --threads 1. Given SERIAL_TRAINER (the same model compiled with
--no-parallel), --threads 1 must match the serial code within a stated
tolerance: a parallel build runs a convolution's chunk loop in two lanes
that sum a weight gradient's chunks separately (kiln-parallelize-chunk-loops),
one rounding more than the serial loop, which 30 steps of training
amplify: losses within 1e-6 relative and every state element within 5e-3
of its tensor's largest magnitude (measured after 30 lenet steps: 3.5e-9 on
the loss, 1.4e-4 on the parameters, 2.1e-3 on fc1's momentum; a lane's
chunks left out would change a weight's gradient by about half).

usage: threads_test.py LLVM_NM TRAINER [SERIAL_TRAINER] -- TRAINER_ARGS...
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

from checkpoint_torch_test import final_lines, read_safetensors_raw, run


def uses_openmp(nm, trainer):
    """Whether the trainer's code forks OpenMP teams (else the test is void)."""
    symbols = subprocess.run([nm, "-D", "--undefined-only", trainer],
                             capture_output=True, text=True, check=True).stdout
    return "__kmpc_fork_call" in symbols


LOSS_RTOL = 1e-6
STATE_TOL = 5e-3  # of each tensor's largest magnitude


def numbers(lines):
    """The floats of the summary lines, and the lines with them blanked."""
    pattern = r"-?\d+\.\d+(?:e[-+]?\d+)?"
    return ([float(v) for line in lines for v in re.findall(pattern, line)],
            [re.sub(pattern, "#", line) for line in lines])


def close_to_serial(lines, state, serial_lines, serial_state):
    """None if the serial build's results agree within the tolerances, else why."""
    values, shape = numbers(lines)
    serial_values, serial_shape = numbers(serial_lines)
    if shape != serial_shape or len(values) != len(serial_values):
        return f"other summary lines: {serial_lines}"
    for a, b in zip(values, serial_values):
        if abs(a - b) > LOSS_RTOL * abs(a):
            return f"{b} against {a} (tolerance {LOSS_RTOL} relative)"
    if state[0] != serial_state[0]:
        return "other tensors in the checkpoint"
    for name, info in state[0].items():
        begin, end = info["data_offsets"]
        if info["dtype"] != "F32":
            if state[2][begin:end] != serial_state[2][begin:end]:
                return f"{name} ({info['dtype']}) differs"
            continue
        count = (end - begin) // 4
        ours = struct.unpack(f"<{count}f", state[2][begin:end])
        theirs = struct.unpack(f"<{count}f", serial_state[2][begin:end])
        tolerance = STATE_TOL * max(map(abs, ours), default=0.0)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if not abs(a - b) <= tolerance:
                return f"{name}[{i}]: {b} against {a} (tolerance {tolerance:.3g})"
    return None


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
        for other, other_lines, other_state in results[1:3]:
            print(f"{other}: {other_lines}")
            if other_lines != lines:
                sys.exit(f"FAIL: {other} printed other results than {name}")
            if other_state[0] != state[0] or other_state[2] != state[2]:
                sys.exit(f"FAIL: {other} ended in other parameters than {name}")
        print(f"OK: 3 thread counts bit-identical ({len(state[0])} tensors)")
        for other, other_lines, other_state in results[3:]:
            print(f"{other}: {other_lines}")
            why = close_to_serial(lines, state, other_lines, other_state)
            if why:
                sys.exit(f"FAIL: {other} (serial code) differs from {name}: {why}")
            print(f"OK: {other} within the tolerances of {name}")


if __name__ == "__main__":
    main()
