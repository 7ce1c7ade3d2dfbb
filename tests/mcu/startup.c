/* startup.c - minimal Cortex-M4F startup for QEMU's mps2-an386 with newlib's semihosting
 * (rdimon): vector table, .data copy, .bss clear, FPU on, then exit(main()). A fault prints
 * a line through semihosting and stops QEMU with a failing status instead of hanging. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __StackTop, __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern int main(void);
extern void initialise_monitor_handles(void);

static void semihost(uint32_t op, const void *arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

void Fault_Handler(void) {
  semihost(0x04, "*** fault\n");      /* SYS_WRITE0 */
  semihost(0x18, (void *)0x20023);    /* SYS_EXIT, RunTimeErrorUnknown: QEMU exits 1 */
  for (;;) {}
}

void Reset_Handler(void) {
  uint32_t *s = &__data_load__, *d = &__data_start__;
  while (d < &__data_end__) *d++ = *s++;
  for (d = &__bss_start__; d < &__bss_end__;) *d++ = 0;
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10/CP11 full access */
  __asm__ volatile("dsb\n isb" ::: "memory");
  initialise_monitor_handles();
  exit(main());
}

__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
    (void (*)(void))(&__StackTop), Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler,
    Fault_Handler,
};

/* -nostartfiles drops crti/crtn, which define these for __libc_init_array */
void _init(void) {}
void _fini(void) {}
