/*===- startup.c - Reset handler and vectors for Cortex-M4 firmware -------===//
 *
 * What a vendor's startup file does, for the MPS2 AN386 board (Cortex-M4
 * with FPU) that qemu-system-arm emulates, and for any Cortex-M4 part with
 * a matching linker script: the vector table, enabling the FPU before the
 * first float instruction, copying .data from flash and zeroing .bss, opening
 * newlib's semihosting streams, then main() and exit(main's status), which
 * semihosting turns into QEMU's exit code. A fault exits with status 3, so a
 * test sees a crash as a failure instead of a hang.
 *
 * Compiled without optimisation-sensitive tricks: nothing here may use a
 * floating-point register before the FPU is on.
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <stdlib.h>

/* Defined by the linker script. */
extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];

int main(void);
/* newlib's rdimon: opens stdin/stdout/stderr over semihosting. */
void initialise_monitor_handles(void);
void _exit(int status);

/* System Control Block: Coprocessor Access Control Register. */
#define KILN_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void) {
  uint32_t *from, *to;
  /* Full access to CP10 and CP11, the FPU; the barriers make the change
   * visible before the next instruction. */
  KILN_SCB_CPACR |= 0xFu << 20;
  __asm volatile("dsb\n\tisb" ::: "memory");
  for (from = __data_load__, to = __data_start__; to < __data_end__;)
    *to++ = *from++;
  for (to = __bss_start__; to < __bss_end__;)
    *to++ = 0;
  initialise_monitor_handles();
  exit(main());
}

void Fault_Handler(void) { _exit(3); }

typedef void (*kiln_vector)(void);

/* Initial stack pointer, then the system exceptions (ARMv7-M). */
__attribute__((section(".isr_vector"), used)) const kiln_vector kiln_vectors[16] = {
    (kiln_vector)(uintptr_t)__stack_top__,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};
