# Cross toolchain for 64-bit ARM Linux (Debian's gcc-aarch64-linux-gnu).
# Programs are linked statically so that qemu-aarch64-static runs them
# without an aarch64 sysroot (scripts/setup.sh installs both).
#   cmake -S ... -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(KILN_TARGET_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(KILN_TARGET_EMULATOR qemu-aarch64-static)
set(CMAKE_CROSSCOMPILING_EMULATOR ${KILN_TARGET_EMULATOR})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
