#!/usr/bin/env python3
"""Compares runs of the device trainer example (train_logistic.c).

  compare_runs.py trainer --program HOST_PROGRAM --trainer TRAINER --train-csv F --test-csv F
      The host build of the device program against the host trainer
      (<model>-train) on the same rows, seed and schedule: per-step losses
      (the trainer's --loss-csv has 6 decimals) and test accuracies agree.

  compare_runs.py target --program HOST_PROGRAM --target TRIPLE --trainer TRAINER
                  --train-csv F --test-csv F -- EMULATOR... PROGRAM
      An emulated run of a cross-built program against the host build: the
      learning rates are bit-identical, losses agree within LOSS_TOLERANCE
      (targets differ in fused multiply-adds: a few ulps), and the
      checkpoint the target wrote loads into the host trainer (--init-from)
      and holds the host's tensors up to the same tolerance.

Exits 77 (a skip for CTest) when the emulator is not installed.
"""

import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time

LOSS_TOLERANCE = 1e-5   # absolute, on losses of about 0.5 to 1
STATE_TOLERANCE = 1e-5  # absolute, on the trained parameters
ACCURACY_SLACK = 2 / 64  # two of the 64 test samples may flip at the boundary
SCHEDULE = "warmup:5:0.1,cosine:15"
EPOCHS = 4


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def as_float(hex_bits):
    return struct.unpack(">f", bytes.fromhex(hex_bits))[0]


def run(command, what):
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=150)
    print(f"{what}: exit {result.returncode} in {time.monotonic() - start:.2f} s")
    if result.returncode != 0:
        print(result.stdout + result.stderr)
        fail(f"{what} failed: {' '.join(command)}")
    return result.stdout


def parse_program(output):
    """Steps as (lr bits, loss bits), epochs as (train loss, accuracy)."""
    steps, epochs, checkpoint = [], [], False
    for line in output.splitlines():
        words = line.split()
        if words[:1] == ["step"]:
            steps.append((words[3], words[5]))
        elif words[:1] == ["epoch"]:
            epochs.append((as_float(words[3]), as_float(words[5])))
        elif line.startswith("checkpoint ") and line.endswith("same predictions"):
            checkpoint = True
    if len(steps) != 20 or len(epochs) != EPOCHS:
        print(output)
        fail(f"expected 20 steps and {EPOCHS} epochs, got {len(steps)} and {len(epochs)}")
    return steps, epochs, checkpoint


def trainer_command(args, *extra):
    return [args.trainer, "--train-csv", args.train_csv, "--test-csv", args.test_csv,
            "--label-column", "y", "--seed", "0", "--full-precision", *extra]


def final_accuracy(output):
    for line in output.splitlines():
        if line.startswith("final test accuracy:"):
            return float(line.split(":")[1])
    fail("no 'final test accuracy' line in:\n" + output)


def compare_with_trainer(args):
    steps, epochs, _ = parse_program(run([args.program], "host device program"))
    loss_csv = os.path.abspath("trainer-losses.csv")
    output = run(trainer_command(args, "--epochs", str(EPOCHS), "--lr-schedule", SCHEDULE,
                                 "--log-every", "1", "--loss-csv", loss_csv), "host trainer")
    with open(loss_csv) as f:
        trainer_losses = [float(line.split(",")[2]) for line in f.read().splitlines()[1:]]
    if len(trainer_losses) != len(steps):
        fail(f"trainer logged {len(trainer_losses)} steps, the program {len(steps)}")
    worst = max(abs(as_float(loss) - t) for (_, loss), t in zip(steps, trainer_losses))
    print(f"per-step losses: largest difference {worst:.3g} (trainer prints 6 decimals)")
    if worst > 6e-7:
        fail("the device loop's losses are not the host trainer's")
    accuracies = [float(line.split("test accuracy ")[1].split()[0])
                  for line in output.splitlines() if " done: " in line]
    for epoch, ((_, accuracy), expected) in enumerate(zip(epochs, accuracies), 1):
        if abs(accuracy - expected) > 1e-7:
            fail(f"epoch {epoch}: test accuracy {accuracy} vs the trainer's {expected}")
    print(f"test accuracies per epoch: {[round(a, 6) for _, a in epochs]} (same as the trainer)")


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        # F32 parameters; integer state such as a dropout counter (I64).
        code, size = {"F32": ("f", 4), "F64": ("d", 8), "I32": ("i", 4), "I64": ("q", 8)}[
            entry["dtype"]]
        tensors[name] = (entry["shape"],
                         struct.unpack(f"<{(end - begin) // size}{code}", body[begin:end]))
    return header.get("__metadata__", {}), tensors


def compare_target(args):
    emulator = args.command[0]
    if not shutil.which(emulator):
        print(f"[SKIP] {emulator} not found (scripts/setup.sh installs it)")
        sys.exit(77)
    host_steps, host_epochs, _ = parse_program(run([args.program], "host device program"))
    steps, epochs, reloaded = parse_program(run(args.command, f"{args.target} under {emulator}"))
    if not reloaded:
        fail("the target's checkpoint did not reload to the same predictions")
    worst = 0.0
    for step, ((host_lr, host_loss), (lr, loss)) in enumerate(zip(host_steps, steps), 1):
        if lr != host_lr:
            fail(f"step {step}: learning rate bits {lr} vs the host's {host_lr}")
        difference = abs(as_float(loss) - as_float(host_loss))
        worst = max(worst, difference)
        if not math.isfinite(as_float(loss)) or difference > LOSS_TOLERANCE:
            fail(f"step {step}: loss {as_float(loss)!r} vs the host's {as_float(host_loss)!r}")
    identical = sum(a == b for a, b in zip(host_steps, steps))
    print(f"losses: {identical}/20 bit-identical to the host's, largest difference {worst:.3g}")
    for epoch, ((_, accuracy), (_, host_accuracy)) in enumerate(zip(epochs, host_epochs), 1):
        if abs(accuracy - host_accuracy) > ACCURACY_SLACK:
            fail(f"epoch {epoch}: test accuracy {accuracy} vs the host's {host_accuracy}")

    path = f"logistic_regression-{args.target}.safetensors"
    metadata, tensors = read_safetensors(path)
    _, host_tensors = read_safetensors("logistic_regression-host.safetensors")
    if metadata.get("kiln.target") != args.target or metadata.get("format") != "pt":
        fail(f"{path}: metadata {metadata}")
    if list(tensors) != list(host_tensors):
        fail(f"{path}: tensors {list(tensors)} vs the host's {list(host_tensors)}")
    for name, (shape, values) in tensors.items():
        host_shape, host_values = host_tensors[name]
        gap = max(abs(a - b) for a, b in zip(values, host_values))
        if shape != host_shape or gap > STATE_TOLERANCE:
            fail(f"{path}: {name} {shape} differs from the host's by {gap}")
    accuracy = final_accuracy(run(trainer_command(args, "--init-from", path, "--epochs", "0"),
                                  "host trainer --init-from the target's checkpoint"))
    if abs(accuracy - epochs[-1][1]) > ACCURACY_SLACK:
        fail(f"host trainer on the target's parameters: accuracy {accuracy}, "
             f"the target measured {epochs[-1][1]}")
    print(f"{path}: {len(tensors)} tensors as the host's; the host trainer loads it "
          f"(test accuracy {accuracy})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["trainer", "target"])
    parser.add_argument("--program", required=True)
    parser.add_argument("--trainer", required=True)
    parser.add_argument("--train-csv", required=True)
    parser.add_argument("--test-csv", required=True)
    parser.add_argument("--target")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.command = argv[split + 1:]
    if args.mode == "trainer":
        compare_with_trainer(args)
    else:
        if not args.target or not args.command:
            parser.error("target mode needs --target and -- EMULATOR... PROGRAM")
        compare_target(args)
    print("PASS")


if __name__ == "__main__":
    main()
