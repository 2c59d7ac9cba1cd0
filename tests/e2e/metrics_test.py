#!/usr/bin/env python3
"""What a compiled trainer shows (docs/metrics.md), on the real data:

- `--metrics FILE` writes the documented CSV: a row per logged step and per
  epoch, whose losses are the printed ones (to the 4 printed decimals) and
  whose test accuracy is the printed one, in [0, 1];
- piped, the trainer prints plain lines only; on a terminal (a pty here) it
  also draws a progress bar with the epoch's ETA, and the plain lines that
  scripts parse, and the checkpoint messages of --save-every, are still
  there, each on a line of its own;
- scripts/kiln-plot turns the CSV into a PNG with a loss and an accuracy panel,
  and names the file and line of a malformed CSV.

usage: metrics_test.py TRAINER KILN_PLOT
"""
import csv
import os
import pty
import re
import struct
import subprocess
import sys
import tempfile

HEADER = "kind,step,epoch,train_loss,lr,samples_per_s,test_loss,test_accuracy"
STEPS, LOG_EVERY, EPOCHS = 40, 20, 2
STEP_LINE = re.compile(r"^epoch (\d+)/\d+ step (\d+)/\d+ loss ([0-9.]+) samples/s \d+$", re.M)
DONE_LINE = re.compile(
    r"^epoch (\d+)/\d+ done: train loss ([0-9.]+) test accuracy ([0-9.]+) ", re.M)


def fail(message):
    sys.exit(f"FAIL: {message}")


def train_args(trainer, metrics):
    return [trainer, "--epochs", str(EPOCHS), "--max-steps", str(STEPS), "--log-every",
            str(LOG_EVERY), "--metrics", metrics]


def run_in_pty(args):
    """Runs args with stdout and stderr on a pseudo-terminal; returns the text."""
    master, slave = pty.openpty()
    process = subprocess.Popen(args, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its side.
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    if process.wait() != 0:
        fail(f"trainer on a terminal exited with {process.returncode}")
    return b"".join(chunks).decode()


def check_csv(path, out):
    with open(path, newline="") as f:
        text = f.read()
    lines = text.splitlines()
    if lines[0] != HEADER:
        fail(f"header {lines[0]!r}, expected {HEADER!r}")
    rows = list(csv.DictReader(lines))
    steps = [r for r in rows if r["kind"] == "step"]
    epochs = [r for r in rows if r["kind"] == "epoch"]
    if len(steps) != EPOCHS * STEPS // LOG_EVERY or len(epochs) != EPOCHS or \
            len(rows) != len(steps) + len(epochs):
        fail(f"{len(steps)} step and {len(epochs)} epoch rows of {len(rows)}, expected "
             f"{EPOCHS * STEPS // LOG_EVERY} and {EPOCHS}")
    printed = STEP_LINE.findall(out)
    if [(int(e), (int(e) - 1) * STEPS + int(s), l) for e, s, l in printed] != \
            [(int(r["epoch"]), int(r["step"]), f"{float(r['train_loss']):.4f}") for r in steps]:
        fail(f"step rows {steps} differ from the printed lines {printed}")
    done = DONE_LINE.findall(out)
    for (epoch, loss, accuracy), row in zip(done, epochs):
        if (int(row["epoch"]), int(row["step"])) != (int(epoch), int(epoch) * STEPS) or \
                f"{float(row['train_loss']):.4f}" != loss or \
                f"{float(row['test_accuracy']):.4f}" != accuracy:
            fail(f"epoch row {row} differs from the printed epoch {epoch}: loss {loss}, "
                 f"accuracy {accuracy}")
        if not 0 <= float(row["test_accuracy"]) <= 1 or not 0 < float(row["test_loss"]) < 10:
            fail(f"epoch row {row}: accuracy outside [0, 1] or test loss not plausible")
        if row["test_loss"] == "" or row["lr"] == "" or float(row["samples_per_s"]) <= 0:
            fail(f"epoch row {row} misses a column")
    return len(rows)


def check_plot(kiln_plot, metrics, tmp):
    png = os.path.join(tmp, "curves.png")
    run = subprocess.run([kiln_plot, metrics, "-o", png], capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"kiln-plot exited with {run.returncode}: {run.stderr}")
    with open(png, "rb") as f:
        data = f.read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        fail(f"{png} is not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    # Two panels side by side (loss, accuracy) at 100 dpi.
    if (width, height) != (1100, 400):
        fail(f"{png} is {width}x{height}, expected the two-panel 1100x400")

    bad = os.path.join(tmp, "bad.csv")
    with open(metrics) as f:
        lines = f.read().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[3], "abc", 1)
    with open(bad, "w") as f:
        f.write("\n".join(lines) + "\n")
    for path, message in [
            (bad, f"kiln-plot: error: {bad}:3: train_loss 'abc' is not a number\n"),
            (os.path.join(tmp, "none.csv"),
             f"kiln-plot: error: {tmp}/none.csv: cannot read: No such file or directory\n")]:
        run = subprocess.run([kiln_plot, path, "-o", os.path.join(tmp, "bad.png")],
                             capture_output=True, text=True)
        if run.returncode != 1 or run.stderr != message:
            fail(f"kiln-plot {path}: status {run.returncode}, stderr {run.stderr!r}, "
                 f"expected 1 and {message!r}")
    if os.path.exists(os.path.join(tmp, "bad.png")):
        fail("kiln-plot wrote a PNG for a malformed CSV")
    return width, height, len(data)


def main():
    trainer, kiln_plot = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "metrics.csv")
        run = subprocess.run(train_args(trainer, metrics), capture_output=True, text=True)
        print(run.stdout)
        if run.returncode != 0:
            fail(f"trainer exited with {run.returncode}: {run.stderr}")
        if "\r" in run.stdout or "ETA" in run.stdout:
            fail("piped output has a progress bar")
        rows = check_csv(metrics, run.stdout)

        # --save-every prints inside the epoch: the bar must make way for it.
        terminal = run_in_pty(train_args(trainer, os.path.join(tmp, "tty.csv")) +
                              ["--save", os.path.join(tmp, "ck"), "--save-every", "10"])
        bars = re.findall(r"\repoch 1/2 \[[#.]+\] \d+/40 loss [0-9.]+ ETA \d+:\d\d", terminal)
        if not bars:
            fail(f"no progress bar on a terminal:\n{terminal!r}")
        # What the terminal shows of each line: the text after its last \r.
        plain = "\n".join(line.split("\r")[-1] for line in terminal.split("\r\n"))
        if len(STEP_LINE.findall(plain)) != len(STEP_LINE.findall(run.stdout)) or \
                len(DONE_LINE.findall(plain)) != EPOCHS:
            fail(f"a terminal lost the plain progress lines:\n{terminal!r}")
        saved = re.findall(r"^checkpoint: saved .*ck \(epoch 1, step (\d+)\)$", plain, re.M)
        if saved != ["10", "20", "30"]:
            fail(f"checkpoint lines {saved} inside epoch 1 on a terminal, expected steps "
                 f"10, 20, 30 each on a line of its own:\n{terminal!r}")

        width, height, size = check_plot(kiln_plot, metrics, tmp)
    print(f"OK: {rows} CSV rows match the output, {len(bars)} bar redraws on a terminal, "
          f"kiln-plot wrote a {width}x{height} PNG of {size} bytes")


if __name__ == "__main__":
    main()
