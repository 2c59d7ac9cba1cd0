#!/usr/bin/env python3
"""kiln used from a project of its own, as docs/first-model.md tells a user.

usage: out_of_tree_test.py BUILD_DIR PROJECT_DIR CMAKE GENERATOR CC CXX

In a fresh temporary directory:
  1. `cmake --install BUILD_DIR --prefix <tmp>/prefix`;
  2. PROJECT_DIR (its own model line.cpp, a C program use_line.c and a
     trainer) configured with find_package(kiln) against that prefix only,
     built, and use_line run: its predictions, loss and updated parameters
     must be the ones computed here; so must the aarch64 build of use_line
     (kiln_add_device_program) under qemu-aarch64-static, where Debian's
     cross compiler is installed;
  3. line-train trained on a CSV of y = 2 x1 - 3 x2 + 0.5: the test MSE
     falls below 1e-3;
  4. the installed kilnc given line.cpp (no CMake): the object and header it
     writes, linked with use_line.c by CC, print the same numbers.
Each step's duration is printed.
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

# use_line.c: parameters, batch, targets, learning rate.
W, B = [2.0, -3.0], 0.5
X = [[1.0, 2.0], [0.0, 1.0], [-1.0, 0.5], [3.0, -1.0]]
Y = [-3.0, -2.0, -3.0, 9.0]
LR = 0.1


def expected_numbers():
    """Predictions, mean squared error and parameters after one SGD step."""
    predictions = [W[0] * x[0] + W[1] * x[1] + B for x in X]
    errors = [p - y for p, y in zip(predictions, Y)]
    loss = sum(e * e for e in errors) / len(X)
    # d loss / d prediction = 2 e / N
    grad_w = [sum(2 * e * x[j] for e, x in zip(errors, X)) / len(X) for j in range(2)]
    grad_b = sum(2 * e for e in errors) / len(X)
    weight = [w - LR * g for w, g in zip(W, grad_w)]
    return predictions + [loss] + weight + [B - LR * grad_b]


def step(title, command, **kwargs):
    start = time.monotonic()
    print("$", " ".join(command), flush=True)
    run = subprocess.run(command, capture_output=True, text=True, **kwargs)
    print(f"[{title}: {time.monotonic() - start:.1f} s]", flush=True)
    if run.returncode != 0:
        print(run.stdout)
        print(run.stderr, file=sys.stderr)
        sys.exit(f"FAIL: {title} exited with {run.returncode}")
    return run.stdout


def check_numbers(output, source):
    numbers = [float(v) for v in re.findall(r"-?\d+\.\d+", output)]
    expected = expected_numbers()
    print(output.strip())
    if len(numbers) != len(expected) or any(
            abs(a - b) > 1e-5 for a, b in zip(numbers, expected)):
        sys.exit(f"FAIL: {source} printed {numbers}, expected {expected}")


def write_table(path, rows, rng):
    with open(path, "w") as f:
        f.write("x1,x2,y\n")
        for _ in range(rows):
            x1, x2 = rng.uniform(-1, 1), rng.uniform(-1, 1)
            f.write(f"{x1:.6f},{x2:.6f},{W[0] * x1 + W[1] * x2 + B:.6f}\n")


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    build_dir, project_dir, cmake, generator, cc, cxx = sys.argv[1:]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kiln_out_of_tree_") as work:
        prefix = os.path.join(work, "prefix")
        step("install", [cmake, "--install", build_dir, "--prefix", prefix])

        source = os.path.join(work, "project")
        shutil.copytree(project_dir, source)
        build = os.path.join(work, "build")
        step("configure", [cmake, "-S", source, "-B", build, "-G", generator,
                           f"-DCMAKE_PREFIX_PATH={prefix}", f"-DCMAKE_C_COMPILER={cc}",
                           f"-DCMAKE_CXX_COMPILER={cxx}"])
        step("build", [cmake, "--build", build])
        check_numbers(step("use_line", [os.path.join(build, "use_line")]), "use_line")
        if shutil.which("aarch64-linux-gnu-gcc"):
            program = os.path.join(build, "use_line_aarch64", "use_line_aarch64")
            check_numbers(step("use_line_aarch64", ["qemu-aarch64-static", program]),
                          "use_line_aarch64")
        else:
            print("no aarch64-linux-gnu-gcc: use_line_aarch64 not built, not run")

        rng = random.Random(1)
        train_csv, test_csv = os.path.join(work, "train.csv"), os.path.join(work, "test.csv")
        write_table(train_csv, 64, rng)
        write_table(test_csv, 16, rng)
        out = step("line-train", [os.path.join(build, "line-train"), "--train-csv", train_csv,
                                  "--test-csv", test_csv, "--label-column", "y",
                                  "--epochs", "10", "--seed", "1"])
        match = re.search(r"^final test mse: ([0-9.e+-]+)$", out, re.M)
        if not match or not float(match.group(1)) < 1e-3:
            print(out)
            sys.exit("FAIL: line-train did not fit y = 2 x1 - 3 x2 + 0.5 (test mse >= 1e-3)")
        print(match.group(0))

        # Without CMake: the installed kilnc builds the generator itself.
        by_hand = os.path.join(work, "by_hand")
        os.mkdir(by_hand)
        step("kilnc line.cpp", [os.path.join(prefix, "bin", "kilnc"),
                                os.path.join(source, "line.cpp"), "-o", "line.o"], cwd=by_hand)
        step("cc use_line.c line.o", [cc, "-I", by_hand, os.path.join(source, "use_line.c"),
                                      os.path.join(by_hand, "line.o"), "-o", "use_line"],
             cwd=by_hand)
        check_numbers(step("use_line (kilnc)", [os.path.join(by_hand, "use_line")]),
                      "use_line built from kilnc's object")
    print(f"OK: out-of-tree project and kilnc model.cpp ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
