/* system.c - memory view, identity, CRC unit, watchdog, reset and the jump
 * into the application. */
#include "port.h"
#include "port_stm32f1.h"
#include "regs.h"

const uint8_t *port_mem(uint32_t addr)
{
    return (const uint8_t *)(uintptr_t)addr;
}

uint32_t port_flash_kib(void)
{
    return F_SIZE;
}

const uint8_t *port_unique_id(void)
{
    return (const uint8_t *)(uintptr_t)U_ID_ADDR;
}

/* Only the boot check uses the CRC unit, with AHBENR at its reset value;
 * clock_reset puts it back before the jump. */
void port_crc_reset(void)
{
    RCC_AHBENR = RCC_AHBENR_RESET | RCC_AHBENR_CRCEN;
    CRC_CR = CRC_CR_RESET;
}

/* The boot check's inner loop: four instructions in one aligned 64-bit
 * flash line, which the prefetch buffer holds at 2 wait states (RM0008
 * 3.3.3), so 5 cycles a word. The same loop in C, compiled with fw.mk's
 * size flags, reloads CRC_DR's address and branches twice a word (10
 * cycles). Not inlined: one copy serves both calls of image.c. */
__attribute__((noinline)) uint32_t port_crc_feed(const uint32_t *words, uint32_t count)
{
    if (count) {
        const uint32_t *end = words + count;
        uint32_t w;
        __asm__ volatile(".p2align 3\n"
                         "1:\tldmia %[p]!, {%[w]}\n\t"
                         "str %[w], [%[dr]]\n\t"
                         "cmp %[p], %[end]\n\t"
                         "bne 1b"
                         : [p] "+l"(words), [w] "=&l"(w)
                         : [end] "l"(end), [dr] "l"(&CRC_DR)
                         : "cc", "memory");
    }
    return CRC_DR;
}

void watchdog_kick(void)
{
    IWDG_KR = IWDG_KR_RELOAD;
}

void system_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = SCB_AIRCR_SYSRESET;
    __asm__ volatile("dsb" ::: "memory");
    for (;;)
        ;
}

/* The application starts as from reset: its vector table, its stack,
 * the clocks at their reset values (clock_reset). The DSB completes the
 * VTOR store before the application runs. No ISB: no instruction fetched
 * after it depends on VTOR, and the SP written by MSR is the one the
 * following instructions use. */
void jump_to_app(uint32_t base)
{
    const volatile uint32_t *vec = (const volatile uint32_t *)(uintptr_t)base;
    SCB_VTOR = base;
    __asm__ volatile("dsb\n\t"
                     "msr msp, %0\n\t"
                     "bx %1\n\t" ::"r"(vec[0]),
                     "r"(vec[1])
                     : "memory");
    __builtin_unreachable();
}
