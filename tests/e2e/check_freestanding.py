#!/usr/bin/env python3
"""Every example model's object is freestanding on every target.

For each model generator (`*-gen` in BIN_DIR, except the deliberately broken
bad_shape) and each target below, emits the object and lists its undefined
symbols with llvm-nm. Anything but memcpy/memset/memmove (and their ARM EABI
forms) fails the test: no libm (expf, floorf, fmaxf, fmaf), no soft-double
helpers (__aeabi_d*, __adddf3), no heap.

usage: check_freestanding.py BIN_DIR LLVM_NM
"""
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys
import tempfile

# Flags are explicit, so the test does not depend on the driver's defaults.
TARGETS = {
    "cortex-m4 (hard float)": ["--target=thumbv7em-none-eabihf", "--mcpu=cortex-m4"],
    # eabi alone means soft float (no FPU: libgcc's __aeabi_f* helpers);
    # softfp keeps the FPU and passes floats in integer registers.
    "cortex-m4 (softfp ABI)": ["--target=thumbv7em-none-eabi", "--mcpu=cortex-m4",
                               "--float-abi=softfp"],
    "aarch64": ["--target=aarch64-linux-gnu"],
    "riscv64": ["--target=riscv64-linux-gnu", "--mattr=+m,+a,+f,+d,+c"],
    "x86-64 (generic)": ["--target=x86_64-linux-gnu", "--mcpu=generic"],
}
ALLOWED = re.compile(
    r"^(memcpy|memset|memmove|__aeabi_mem(cpy|move|set|clr)[48]?)$")
TARGETS_INDEX = {target: i for i, target in enumerate(TARGETS)}
SKIPPED = {"bad_shape-gen"}  # fails by design (tests/lit/Integration)


def undefined_symbols(gen, flags, obj, nm):
    """The symbols `gen`'s object for `flags` leaves undefined, or an error."""
    emit = subprocess.run([str(gen), "--emit=obj", "-o", str(obj)] + flags,
                          capture_output=True, text=True)
    if emit.returncode != 0:
        return None, emit.stderr.strip()
    listing = subprocess.run([nm, "-u", str(obj)], capture_output=True,
                             text=True, check=True).stdout.split()
    return [s for s in listing if s != "U"], None


def main():
    bin_dir, nm = pathlib.Path(sys.argv[1]).resolve(), sys.argv[2]
    generators = sorted(p for p in bin_dir.glob("*-gen") if p.name not in SKIPPED)
    if not generators:
        print(f"no *-gen in {bin_dir}")
        return 1
    jobs = [(gen, target) for gen in generators for target in TARGETS]
    failures = []
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        results = pool.map(
            lambda job: undefined_symbols(
                job[0], TARGETS[job[1]], pathlib.Path(tmp) / f"{job[0].name}-{TARGETS_INDEX[job[1]]}.o", nm),
            jobs)
        for (gen, target), (symbols, error) in zip(jobs, results):
            if error is not None:
                failures.append(f"{gen.name} {target}: emit failed: {error}")
                continue
            bad = sorted(s for s in symbols if not ALLOWED.match(s))
            status = "FAIL " + " ".join(bad) if bad else "ok"
            print(f"{gen.name:28} {target:28} {status}")
            if bad:
                failures.append(f"{gen.name} {target}: {' '.join(bad)}")
    if failures:
        print("\nundefined symbols beyond memcpy/memset/memmove:")
        print("\n".join(failures))
        return 1
    print(f"{len(generators)} models x {len(TARGETS)} targets: freestanding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
