#!/usr/bin/env python3
"""The 256 KiB budget of mps2-an386-256k.ld is enforced at link time.

  check_link_budget.py FIRMWARE_DIR

Links three small Cortex-M4 firmwares with arm-none-eabi-gcc, the startup
code and mps2-an386-256k.ld (the script of the on-device example): one that
fits links; one with 300 KiB of const data fails with the linker's FLASH
overflow; one with 250 KiB of zeroed data fails with the script's RAM check
(.data + .bss + heap + stack). Exits 77 (a CTest skip) without the compiler.
"""

import os
import shutil
import subprocess
import sys
import tempfile

FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os",
         "-nostartfiles", "--specs=rdimon.specs", "-Wl,--gc-sections"]
PROGRAM = """
#include <stdio.h>
%s
volatile int last = %d; /* kept: an index the compiler cannot fold */
int main(void) { printf("%%d\\n", (int)data[last]); return 0; }
"""
CASES = [  # (what, declaration, last index, expected error or None)
    ("fits: 64 KiB const, 64 KiB zeroed",
     "static const char data[64 * 1024] = {1}; static char zeroed[64 * 1024];", 64 * 1024 - 1,
     None),
    ("300 KiB of const data", "static const char data[300 * 1024] = {1};", 300 * 1024 - 1,
     "region `FLASH' overflowed"),
    ("250 KiB of zeroed data", "static char data[250 * 1024];", 250 * 1024 - 1,
     "kiln: RAM overflow"),
]


def main():
    firmware = sys.argv[1]
    if not shutil.which("arm-none-eabi-gcc"):
        print("[SKIP] arm-none-eabi-gcc not found (scripts/setup.sh installs it)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        for what, declaration, last, expected in CASES:
            source = os.path.join(tmp, "main.c")
            with open(source, "w") as f:
                # Written arrays are kept: the compiler cannot fold their reads.
                body = PROGRAM % (declaration, last)
                if "zeroed" in declaration:
                    body = body.replace("return 0;", "zeroed[last] = 1; return zeroed[last];")
                elif "const" not in declaration:
                    body = body.replace("int main(void) {", "int main(void) { data[last] = 1;")
                f.write(body)
            result = subprocess.run(
                ["arm-none-eabi-gcc", *FLAGS, source, os.path.join(firmware, "startup.c"),
                 "-L", firmware, "-T", os.path.join(firmware, "mps2-an386-256k.ld"),
                 "-o", os.path.join(tmp, "fw.elf")], capture_output=True, text=True)
            if expected is None:
                if result.returncode != 0:
                    print(result.stderr)
                    sys.exit(f"FAIL: {what}: does not link")
                print(f"{what}: links")
            elif result.returncode == 0 or expected not in result.stderr:
                print(result.stderr)
                sys.exit(f"FAIL: {what}: expected the link to fail with '{expected}'")
            else:
                print(f"{what}: the link fails with '{expected}'")
    print("PASS")


if __name__ == "__main__":
    main()
