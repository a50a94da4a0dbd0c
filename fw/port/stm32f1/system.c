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

/* The caller puts RCC_AHBENR back (boot path: before the jump). */
void port_crc_reset(void)
{
    RCC_AHBENR |= RCC_AHBENR_CRCEN;
    CRC_CR = CRC_CR_RESET;
}

uint32_t port_crc_feed(const uint32_t *words, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        CRC_DR = words[i];
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

/* The application starts as from reset: its vector table, its stack. */
void jump_to_app(uint32_t base)
{
    const volatile uint32_t *vec = (const volatile uint32_t *)(uintptr_t)base;
    SCB_VTOR = base;
    __asm__ volatile("dsb\n\tisb\n\t"
                     "msr msp, %0\n\t"
                     "bx %1\n\t" ::"r"(vec[0]),
                     "r"(vec[1])
                     : "memory");
    __builtin_unreachable();
}
