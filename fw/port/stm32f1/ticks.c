/*
 * ticks.c - port_ms() for the core's commit rule, from SysTick (PM0056
 * 4.5) left running by ticks_start() in DFU mode. COUNTFLAG is set each
 * time the counter wraps and cleared by the read: the main loop calls
 * port_ms() every few microseconds, so it sees every wrap, except while a
 * flash operation holds the loop up. That never happens inside the commit
 * window: it opens when a block's write is done (dfu.c reads the clock
 * after it) and any later operation but SET ADDRESS POINTER closes it.
 */
#include "port.h"
#include "port_stm32f1.h"
#include "regs.h"

/* 2^16 cycles at 72 MHz = 0.91 ms: the count runs 10% fast, so the core's
 * windows end early, the stricter side. */
#define CYCLES_PER_TICK 65536u

void ticks_start(void)
{
    SYST_RVR = CYCLES_PER_TICK - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_ENABLE;
}

uint32_t port_ms(void)
{
    static uint32_t ms;
    if (SYST_CSR & SYST_CSR_COUNTFLAG)
        ms++;
    return ms;
}
