/*
 * startup.c - vector table and reset handler of the demo applications
 * (blinky, dfu-runtime). Each provides main() and SysTick_Handler().
 * Sets VTOR itself instead of trusting the bootloader to have done it: the
 * same image must also run when started by a debugger at APP_BASE, and that
 * is what applications moved behind dfuboot should do too.
 */
#include <stdint.h>

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)

typedef void (*handler_t)(void);

struct vector_table {
    uint32_t *initial_sp;
    handler_t handler[15]; /* exceptions 1..15 */
};

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);

/* Faults and unexpected exceptions stop here, visible in a debugger. */
static void fault_handler(void)
{
    for (;;) {
    }
}

/* Exceptions 7..10 are reserved: the words stay 0 for dfuboot-stamp, which
 * writes the stamp (magic, length, CRC, ~CRC) into them. No IRQ vectors:
 * the demos enable no peripheral interrupt (dfu-runtime polls its USB). */
__attribute__((section(".isr_vector"), used))
const struct vector_table vector_table = {
    .initial_sp = &_estack,
    .handler = {
        Reset_Handler,  /* 1 reset */
        fault_handler,  /* 2 NMI */
        fault_handler,  /* 3 HardFault */
        fault_handler,  /* 4 MemManage */
        fault_handler,  /* 5 BusFault */
        fault_handler,  /* 6 UsageFault */
        0, 0, 0, 0,     /* 7..10 reserved: the dfuboot stamp */
        fault_handler,  /* 11 SVCall */
        fault_handler,  /* 12 DebugMonitor */
        0,              /* 13 reserved */
        fault_handler,  /* 14 PendSV */
        SysTick_Handler /* 15 SysTick */
    },
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst;

    /* First: exceptions must use this table, not the bootloader's. */
    SCB_VTOR = (uint32_t)&vector_table;

    for (dst = &_sdata; dst < &_edata;)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    main();
    for (;;) {
    }
}
