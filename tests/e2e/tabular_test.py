#!/usr/bin/env python3
"""End-to-end checks of the tabular examples (examples/tabular): a kiln
trainer fed from CSV recovers the documented formula the table came from.

usage:
  tabular_test.py linear TRAINER DATA_DIR
      linear_regression on linear_{train,test}.csv: the loss falls, the test
      MSE reaches the noise floor (0.1^2 = 0.01) within 0.005, and the learned
      weights and bias are the formula's within 0.03.
  tabular_test.py logistic TRAINER DATA_DIR
      logistic_regression on logistic_{train,test}.csv: the last epoch's train
      loss is within 0.02 of the formula's own loss on the table (the noise
      of the Bernoulli labels keeps both near 0.43), the test accuracy within
      0.02 of the formula's decision rule on the same rows, and the learned
      weights are the formula's within 0.3 (the MLE's spread on 4000 rows is
      about 0.07).
"""
import csv
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

LINEAR_W, LINEAR_B = [1.5, -2.0, 0.5, 0.0, 3.0, -1.0, 0.25, 2.0], 0.7
LOGISTIC_W, LOGISTIC_B = [2.0, -1.0, 0.5, 0.0], -0.5


def train(trainer, data_dir, table, checkpoint):
    cmd = [trainer, "--train-csv", os.path.join(data_dir, table + "_train.csv"),
           "--test-csv", os.path.join(data_dir, table + "_test.csv"), "--label-column", "y",
           "--epochs", "5", "--log-every", "25", "--seed", "1", "--save", checkpoint]
    print("$", " ".join(cmd), flush=True)
    run = subprocess.run(cmd, capture_output=True, text=True)
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    if run.returncode != 0:
        sys.exit(f"FAIL: trainer exited with {run.returncode}")
    return run.stdout


def epoch_losses(out):
    losses = [float(m) for m in re.findall(r"^epoch \d+/\d+ done: train loss ([0-9.]+)", out,
                                           re.M)]
    if len(losses) != 5:
        sys.exit("FAIL: expected 5 'epoch N/5 done' lines")
    return losses


def final_metric(out, name):
    match = re.search(rf"^final test {name}: ([0-9.]+)$", out, re.M)
    if not match:
        sys.exit(f"FAIL: no 'final test {name}' line")
    return float(match.group(1))


def read_f32(path, name):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    entry = json.loads(blob[8:8 + n])[name]
    begin, end = entry["data_offsets"]
    data = blob[8 + n + begin:8 + n + end]
    return list(struct.unpack(f"<{len(data) // 4}f", data))


def check_parameters(checkpoint, w, b, tolerance):
    weight, bias = read_f32(checkpoint, "fc.weight"), read_f32(checkpoint, "fc.bias")
    print("learned weight", [round(v, 3) for v in weight], "bias", round(bias[0], 3))
    errors = [abs(x - y) for x, y in zip(weight + bias, w + [b])]
    if len(weight) != len(w) or max(errors) > tolerance:
        sys.exit(f"FAIL: parameters differ from the formula's {w}, {b} by up to "
                 f"{max(errors):.3f} > {tolerance}")


def formula_logits(path):
    """(z, y) of every row of a logistic table, z from the true formula."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [(LOGISTIC_B + sum(w * float(row[f"x{j + 1}"]) for j, w in enumerate(LOGISTIC_W)),
             float(row["y"])) for row in rows]


def rule_accuracy(path):
    """Accuracy of the formula's own decision (z > 0) on the table's labels."""
    rows = formula_logits(path)
    return sum((z > 0) == (y == 1.0) for z, y in rows) / len(rows)


def formula_loss(path):
    """Mean binary cross-entropy of the formula's logits on the table."""
    rows = formula_logits(path)
    return sum(max(z, 0) - z * y + math.log1p(math.exp(-abs(z))) for z, y in rows) / len(rows)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("linear", "logistic"):
        sys.exit(__doc__)
    table, trainer, data_dir = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="kiln_tabular_") as work:
        checkpoint = os.path.join(work, "model.safetensors")
        out = train(trainer, data_dir, table, checkpoint)
        losses = epoch_losses(out)
        if table == "linear":
            if not losses[-1] < 0.015:
                sys.exit(f"FAIL: train loss {losses} does not reach the noise floor 0.01")
            mse = final_metric(out, "mse")
            if not mse < 0.015:
                sys.exit(f"FAIL: test mse {mse} is not within 0.005 of the noise floor 0.01")
            check_parameters(checkpoint, LINEAR_W, LINEAR_B, 0.03)
            print(f"OK: test mse {mse:.4f}")
        else:
            floor = formula_loss(os.path.join(data_dir, "logistic_train.csv"))
            if not losses[-1] < floor + 0.02:
                sys.exit(f"FAIL: train loss {losses[-1]} is not within 0.02 of the formula's "
                         f"{floor:.4f}")
            accuracy = final_metric(out, "accuracy")
            bound = rule_accuracy(os.path.join(data_dir, "logistic_test.csv"))
            if accuracy < bound - 0.02:
                sys.exit(f"FAIL: test accuracy {accuracy} < formula's {bound:.4f} - 0.02")
            check_parameters(checkpoint, LOGISTIC_W, LOGISTIC_B, 0.3)
            print(f"OK: test accuracy {accuracy:.4f} (formula's rule: {bound:.4f})")


if __name__ == "__main__":
    main()
