/* clock.c - HSE -> PLL 72 MHz (USB 48 MHz), SysTick delays. */
#include "port_stm32f1.h"
#include "regs.h"

#define SYSCLK_HZ 72000000u
#define HSI_HZ 8000000u
#define START_TIMEOUT_MS 100u

/* Build-time check of the board's crystal. SYSCLK must be exactly 72 MHz,
 * so that USBCLK = PLL / 1.5 is exactly 48 MHz (RM0008 7.2.5). The PLL
 * input is HSE or HSE / 2 (PLLXTPRE), the multiplier x2..x16 (7.3.2), the
 * crystal 4..16 MHz (DS5319 "HSE 4-16 MHz oscillator characteristics").
 * 8 and 12 MHz use HSE / 1 (x9, x6); 16 MHz uses HSE / 2 (x9). */
#if BOARD_HSE_HZ < 4000000u || BOARD_HSE_HZ > 16000000u
#error "BOARD_HSE_HZ: the HSE oscillator takes a 4-16 MHz crystal (DS5319)"
#elif SYSCLK_HZ % BOARD_HSE_HZ == 0 && SYSCLK_HZ / BOARD_HSE_HZ <= 16u
#define PLL_IN_HZ BOARD_HSE_HZ
#define PLL_PREDIV 0u
#elif BOARD_HSE_HZ % 2u == 0 && SYSCLK_HZ % (BOARD_HSE_HZ / 2u) == 0 && SYSCLK_HZ / (BOARD_HSE_HZ / 2u) <= 16u
#define PLL_IN_HZ (BOARD_HSE_HZ / 2u)
#define PLL_PREDIV RCC_CFGR_PLLXTPRE
#else
#error "BOARD_HSE_HZ cannot give SYSCLK = 72 MHz and USB = 48 MHz (PLL x2..x16 of HSE or HSE/2)"
#endif

/* Waits until RCC_CR has bit set (true) or ms > 0 milliseconds have
 * passed (false), the watchdog fed throughout. A zero bit never matches: that is
 * delay_ms. SysTick counts real clock cycles, which vboard models too; it
 * is left stopped, as at reset (RVR and CVR have no defined reset value). */
static bool wait_cr(uint32_t bit, uint32_t ms, uint32_t cycles_per_ms)
{
    SYST_RVR = cycles_per_ms - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_ENABLE;
    while (!(RCC_CR & bit)) {
        if ((SYST_CSR & SYST_CSR_COUNTFLAG) && !--ms)
            break;
        IWDG_KR = IWDG_KR_RELOAD;
    }
    SYST_CSR = 0;
    return ms != 0;
}

void delay_ms(uint32_t ms, uint32_t sysclk_hz)
{
    (void)wait_cr(0, ms, sysclk_hz / 1000u);
}

/* No crystal, or a PLL that does not lock: stay on the HSI and blink the
 * LED (lit by led_on before the clock start) at 5 Hz for ever, the
 * watchdog fed (a hardware-started IWDG would
 * otherwise turn this into a silent reset loop). No fallback to USB on the
 * HSI: full speed needs 12 Mb/s +-0.25% (USB 2.0 7.1.11), the HSI is
 * +-1% at best (DS5319 "HSI oscillator characteristics", factory trimmed
 * at 25 C) and worse over temperature. */
static void clock_failed(void) __attribute__((noreturn));
static void clock_failed(void)
{
    for (;;) {
        delay_ms(100, HSI_HZ);
        GPIO_ODR(BOARD_LED_PORT) ^= 1u << BOARD_LED_PIN;
    }
}

/* RM0008 7.2: the flash wait states must be set before SYSCLK rises
 * (3.3.3: two above 48 MHz); APB1 must stay at or below 36 MHz. Both waits
 * run on the HSI of the reset state. DS5319 gives tSU(HSE) 2 ms typical
 * and tLOCK 200 us maximum: 100 ms each leaves room for slow crystals. */
void clock_init_72mhz(void)
{
    RCC_CR |= RCC_CR_HSEON;
    bool ok = wait_cr(RCC_CR_HSERDY, START_TIMEOUT_MS, HSI_HZ / 1000u);
    if (ok) {
        FLASH_ACR = FLASH_ACR_PRFTBE | FLASH_ACR_LATENCY_2;
        RCC_CFGR = RCC_CFGR_PLLSRC_HSE | PLL_PREDIV | RCC_CFGR_PLLMUL(SYSCLK_HZ / PLL_IN_HZ) |
                   RCC_CFGR_PPRE1_DIV2;
        RCC_CR |= RCC_CR_PLLON;
        ok = wait_cr(RCC_CR_PLLRDY, START_TIMEOUT_MS, HSI_HZ / 1000u);
    }
    if (!ok)
        clock_failed();
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL)
        ; /* PLLRDY is set: the switch takes a few cycles (7.2.6) */
}
