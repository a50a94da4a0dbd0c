/* startup.c - vector table and reset handler (no C library). */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void reset_handler(void) __attribute__((noreturn));
void reset_handler(void)
{
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;)
        *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    main();
    for (;;)
        ;
}

/* A fault resets the chip: the boot decision then runs again. */
static void fault_handler(void)
{
    *(volatile uint32_t *)0xE000ED0Cu = (0x05FAu << 16) | (1u << 2);
    for (;;)
        ;
}

__attribute__((section(".vectors"), used)) void (*const vectors[7])(void) = {
    (void (*)(void))(uintptr_t)&_estack, /* initial SP */
    reset_handler, fault_handler, /* NMI */
    fault_handler,                /* HardFault */
    fault_handler,                /* MemManage */
    fault_handler,                /* BusFault */
    fault_handler,                /* UsageFault */
};
