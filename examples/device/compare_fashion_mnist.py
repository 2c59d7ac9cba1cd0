#!/usr/bin/env python3
"""Checks runs of the on-device example (train_fashion_mnist.c, tiny_mlp
compiled with kilnc --deterministic).

  compare_fashion_mnist.py --program HOST_PROGRAM --trainer TRAINER
                           --train-csv F --test-csv F [--target TRIPLE -- EMULATOR... PROGRAM]

Runs the host build of the program, and with --target the cross-built one
under its emulator, then checks:
  - bit-identical across targets: every step's loss, every epoch's train loss
    and test accuracy, and the final state's tensors are the host run's, bit
    for bit (without --deterministic, vector width and fused multiply-adds
    make x86-64 and aarch64 differ from riscv64 and the Cortex-M4);
  - learning: the final test accuracy is at least MIN_ACCURACY (chance: 0.1);
  - resume: the host trainer (tiny_mlp-train --resume) continues the run's
    epoch-2 checkpoint for epoch 3 and saves exactly the state the run
    reached on its own, and reports its test accuracy.

Exits 77 (a skip for CTest) when the emulator is not installed.
"""

import argparse
import json
import os
import shutil
import struct
import sys

# The helpers of the logistic example's comparison, in the same directory.
from compare_runs import as_float, fail, run

EPOCHS = 3
STEPS_PER_EPOCH = 512 // 16
# Chance is 0.1; tiny_mlp reaches 0.65 after 3 epochs of 512 images on every
# target (seed 0). The margin tolerates a changed initialisation, not a model
# that does not learn.
MIN_ACCURACY = 0.5


def parse_program(output):
    """Step loss bits and epoch (train loss bits, accuracy bits) lines."""
    steps, epochs = [], []
    for line in output.splitlines():
        words = line.split()
        if words[:1] == ["step"]:
            steps.append(words[3])
        elif words[:1] == ["epoch"]:
            epochs.append((words[3], words[5]))
        elif line.startswith("stack high-water mark"):
            print(line)
    if len(steps) != EPOCHS * STEPS_PER_EPOCH or len(epochs) != EPOCHS:
        print(output)
        fail(f"expected {EPOCHS * STEPS_PER_EPOCH} steps and {EPOCHS} epochs, "
             f"got {len(steps)} and {len(epochs)}")
    return steps, epochs


def read_tensors(path):
    """{name: (dtype, shape, raw bytes)} and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {name: (entry["dtype"], entry["shape"],
                      body[entry["data_offsets"][0]:entry["data_offsets"][1]])
               for name, entry in header.items() if name != "__metadata__"}
    return header.get("__metadata__", {}), tensors


def compare_states(path, reference_path, what):
    _, tensors = read_tensors(path)
    _, reference = read_tensors(reference_path)
    if sorted(tensors) != sorted(reference):
        fail(f"{path}: tensors {sorted(tensors)} vs {sorted(reference)} in {reference_path}")
    for name, entry in tensors.items():
        if entry != reference[name]:
            fail(f"{what}: tensor {name} of {path} differs from {reference_path}")
    print(f"{what}: {len(tensors)} tensors bit-identical ({path} == {reference_path})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program", required=True)
    parser.add_argument("--trainer", required=True)
    parser.add_argument("--train-csv", required=True)
    parser.add_argument("--test-csv", required=True)
    parser.add_argument("--target", default="host")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if args.target != "host" and not command:
        parser.error("--target needs -- EMULATOR... PROGRAM")
    if command and not shutil.which(command[0]):
        print(f"[SKIP] {command[0]} not found (scripts/setup.sh installs it)")
        sys.exit(77)

    host_steps, host_epochs = parse_program(run([args.program], "host program"))
    steps, epochs = host_steps, host_epochs
    if args.target != "host":
        steps, epochs = parse_program(run(command, f"{args.target} under {command[0]}"))
        different = [i + 1 for i, (a, b) in enumerate(zip(steps, host_steps)) if a != b]
        if different:
            i = different[0]
            fail(f"{len(different)} of {len(steps)} step losses differ from the host's, first "
                 f"step {i}: {as_float(steps[i - 1])!r} vs {as_float(host_steps[i - 1])!r}")
        if epochs != host_epochs:
            fail(f"epoch losses/accuracies {epochs} vs the host's {host_epochs}")
        print(f"{args.target}: all {len(steps)} step losses and {EPOCHS} epoch results "
              f"bit-identical to the host's")
        compare_states(f"tiny_mlp-{args.target}.safetensors", "tiny_mlp-host.safetensors",
                       f"{args.target} vs host final state")

    accuracy = as_float(epochs[-1][1])
    print(f"test accuracy after each epoch: {[round(as_float(a), 4) for _, a in epochs]}")
    if not accuracy >= MIN_ACCURACY:
        fail(f"final test accuracy {accuracy} is below {MIN_ACCURACY} (chance: 0.1)")

    resumed = os.path.abspath(f"tiny_mlp-{args.target}-resumed-on-host.safetensors")
    if os.path.exists(resumed):
        os.remove(resumed)
    output = run([args.trainer, "--train-csv", args.train_csv, "--test-csv", args.test_csv,
                  "--label-column", "label", "--full-precision", "--epochs", str(EPOCHS),
                  "--resume", f"tiny_mlp-{args.target}-epoch2.safetensors", "--save", resumed],
                 "host trainer --resume the epoch-2 checkpoint")
    compare_states(resumed, f"tiny_mlp-{args.target}.safetensors",
                   "epoch 3 resumed on the host vs run on the device")
    host_accuracy = [float(line.split("test accuracy ")[1].split()[0])
                     for line in output.splitlines() if " done: " in line]
    # The program prints the accuracy as a float32.
    as_float32 = [struct.unpack("<f", struct.pack("<f", a))[0] for a in host_accuracy]
    if as_float32 != [accuracy]:
        fail(f"the host trainer's epoch-3 test accuracy {host_accuracy} vs the device's "
             f"{accuracy}")
    print(f"host trainer: epoch 3 test accuracy {host_accuracy[0]} as on {args.target}")
    print("PASS")


if __name__ == "__main__":
    main()
