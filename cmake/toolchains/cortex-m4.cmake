# Bare-metal Cortex-M4 with its single-precision FPU (hard-float ABI), built
# with Debian's gcc-arm-none-eabi and newlib. Output goes through ARM
# semihosting (newlib's rdimon), so the same firmware prints under
# qemu-system-arm -M mps2-an386 and under a debugger on a real board.
# kiln objects for it: kilnc --target=thumbv7em-none-eabihf --mcpu=cortex-m4.
# Executables need the startup code and a linker script:
# runtime/device/firmware/mps2-an386/ (see docs/devices.md).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(KILN_TARGET_TRIPLE thumbv7em-none-eabihf)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(KILN_CORTEX_M4_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${KILN_CORTEX_M4_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${KILN_CORTEX_M4_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${KILN_CORTEX_M4_FLAGS}")
# No crt0: the firmware's startup code sets up memory and the FPU; rdimon
# provides newlib's system calls over semihosting; --gc-sections drops the
# unused parts of newlib (and the _fini it would otherwise need).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostartfiles --specs=rdimon.specs -Wl,--gc-sections")
# Compiler checks link without the startup code and linker script.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(KILN_TARGET_EMULATOR qemu-system-arm -M mps2-an386 -nographic -monitor none
    -serial none -semihosting-config enable=on,target=native -kernel)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
