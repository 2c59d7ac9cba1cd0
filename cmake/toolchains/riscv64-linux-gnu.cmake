# Cross toolchain for 64-bit RISC-V Linux (Debian's gcc-riscv64-linux-gnu:
# rv64gc, lp64d). Debian's libraries are hard-float, so kiln objects for this
# target must be too, which is kilnc's default for --target=riscv64-linux-gnu
# (rv64gc, lp64d). Linked statically for qemu-riscv64-static.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(KILN_TARGET_TRIPLE riscv64-linux-gnu)
set(CMAKE_C_COMPILER riscv64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER riscv64-linux-gnu-g++)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(KILN_TARGET_EMULATOR qemu-riscv64-static)
set(CMAKE_CROSSCOMPILING_EMULATOR ${KILN_TARGET_EMULATOR})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
