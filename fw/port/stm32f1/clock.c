/* clock.c - HSE -> PLL 72 MHz (USB 48 MHz), SysTick delays. */
#include "port_stm32f1.h"
#include "regs.h"

#define SYSCLK_HZ 72000000u

/* RM0008 7.2: the flash wait states must be set before SYSCLK rises
 * (3.3.3: two above 48 MHz); APB1 must stay at or below 36 MHz. */
void clock_init_72mhz(void)
{
    RCC_CR |= RCC_CR_HSEON;
    while (!(RCC_CR & RCC_CR_HSERDY))
        ;
    FLASH_ACR = FLASH_ACR_PRFTBE | FLASH_ACR_LATENCY_2;
    RCC_CFGR = RCC_CFGR_PLLSRC_HSE | RCC_CFGR_PLLMUL(SYSCLK_HZ / BOARD_HSE_HZ) |
               RCC_CFGR_PPRE1_DIV2;
    RCC_CR |= RCC_CR_PLLON;
    while (!(RCC_CR & RCC_CR_PLLRDY))
        ;
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL)
        ;
}

/* SysTick counts real clock cycles, which the virtual board models too.
 * It is left stopped, as at reset (RVR and CVR have no defined reset
 * value). */
void delay_ms(uint32_t ms, uint32_t sysclk_hz)
{
    SYST_RVR = sysclk_hz / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_ENABLE;
    while (ms) {
        if (SYST_CSR & SYST_CSR_COUNTFLAG)
            ms--;
        IWDG_KR = IWDG_KR_RELOAD;
    }
    SYST_CSR = 0;
}
