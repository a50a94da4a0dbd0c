/* startup.c - vector table and reset handler (no C library). */
#include <stdint.h>

#include "port_stm32f1.h"

extern uint32_t _sbss, _ebss, _estack;
int main(void);

void reset_handler(void) __attribute__((noreturn));
void reset_handler(void)
{
    /* No .data to copy: every initialised object is const (in flash), and
     * dfuboot.ld refuses a link that would need one.
     * Four words a turn (one STM): .bss is 2.5 KiB since issue 10 (the
     * 2 KiB DNLOAD block), cleared on the 8 MHz HSI before every boot
     * decision; a word a turn took about 0.6 ms of the boot delay.
     * dfuboot.ld aligns both ends to 16 bytes. */
    for (uint32_t *dst = &_sbss; dst < &_ebss; dst += 4)
        dst[0] = dst[1] = dst[2] = dst[3] = 0;
    main();
    for (;;)
        ;
}

/* MemManage, BusFault and UsageFault are disabled at reset and never
 * enabled here (SHCSR, PM0056 4.4.9): they escalate to HardFault, so the
 * table ends with it and the code follows. */
__attribute__((section(".vectors"), used)) void (*const vectors[4])(void) = {
    (void (*)(void))(uintptr_t)&_estack, /* initial SP */
    /* A fault resets the chip: the boot decision then runs again. */
    reset_handler, system_reset, /* NMI */
    system_reset,                /* HardFault */
};
