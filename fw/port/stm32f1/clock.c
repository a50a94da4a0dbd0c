/* clock.c - HSE -> PLL 72 MHz (USB 48 MHz); PLL from the HSI for the boot
 * check and back to the reset state; SysTick delays. */
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

/* Waits until RCC_CR has bit set or SYSCLK has run cycles cycles, the
 * watchdog fed throughout; returns the bit, 0 when the time ran out. A
 * zero bit never comes: that is delay_ms. SysTick's reload value has 24
 * bits (PM0056 4.5.2): at most 2^24 cycles, 2.09 s on the HSI, 233 ms at
 * 72 MHz. It counts real clock cycles, which vboard models too, and is
 * left stopped, as at reset (RVR and CVR have no defined reset value). */
static uint32_t wait_cr(uint32_t cycles, uint32_t bit)
{
    SYST_RVR = cycles - 1u;
    SYST_CVR = 0; /* clears COUNTFLAG; it sets after RVR + 1 cycles */
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_ENABLE;
    uint32_t ready;
    while (!(ready = RCC_CR & bit) && !(SYST_CSR & SYST_CSR_COUNTFLAG))
        IWDG_KR = IWDG_KR_RELOAD;
    SYST_CSR = 0;
    return ready;
}

void delay_ms(uint32_t ms, uint32_t sysclk_hz)
{
    (void)wait_cr(ms * (sysclk_hz / 1000u), 0);
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

/* RM0008 3.3.3: the flash wait states go up before SYSCLK does (two above
 * 48 MHz, up to 72); the PLL is configured while it is off (7.3.2), then
 * started. cfgr selects the PLL as SYSCLK (SW) at once: "If a clock source
 * which is not yet ready is selected, the switch will occur when the clock
 * source will be ready" (7.2.6), so nothing has to switch after the lock.
 * cfgr also halves APB1 (at most 36 MHz, 7.2). */
static __attribute__((noinline)) void pll_start(uint32_t cfgr)
{
    FLASH_ACR = FLASH_ACR_PRFTBE | FLASH_ACR_LATENCY_2;
    RCC_CFGR = cfgr;
    RCC_CR |= RCC_CR_PLLON;
}

/* The HSE or the PLL ready within 100 ms on the HSI of the reset state,
 * or clock_failed. DS5319 gives tSU(HSE) 2 ms typical and tLOCK 200 us
 * maximum: 100 ms leaves room for slow crystals. */
static __attribute__((noinline)) void wait_ready(uint32_t bit)
{
    if (!wait_cr(START_TIMEOUT_MS * (HSI_HZ / 1000u), bit))
        clock_failed();
}

/* SYSCLK follows PLLRDY within a few cycles (SW, pll_start); the 20 ms
 * delays that come next do not need those cycles counted. A PLL that
 * locked only after its 100 ms (500 times tLOCK) would take SYSCLK to
 * 72 MHz during clock_failed: the LED would blink faster, still blinking. */
void clock_init_72mhz(void)
{
    RCC_CR |= RCC_CR_HSEON;
    wait_ready(RCC_CR_HSERDY);
    pll_start(RCC_CFGR_PLLSRC_HSE | PLL_PREDIV | RCC_CFGR_PLLMUL(SYSCLK_HZ / PLL_IN_HZ) |
              RCC_CFGR_PPRE1_DIV2 | RCC_CFGR_SW_PLL);
    wait_ready(RCC_CR_PLLRDY);
}

/* The boot check's CRC at 64 MHz instead of the 8 MHz HSI: PLL from
 * HSI / 2 x 16, the most the HSI gives (RM0008 7.2.3: the PLL input is
 * HSI / 2 or the HSE; x16 is the largest PLLMUL, 7.3.2). No HSE: its
 * start-up (DS5319 tSU(HSE) 2 ms) alone would exceed the boot budget.
 * The wait states go up before the clock does (3.3.3: two above 48 MHz),
 * APB1 is halved (at most 36 MHz, 7.2). SW selects the PLL before it
 * locks: "If a clock source which is not yet ready is selected, the
 * switch will occur when the clock source will be ready" (7.2.6), so
 * nothing waits for tLOCK (DS5319: 200 us max): the CRC starts on the
 * HSI and speeds up when the PLL takes over. */
#define BOOT_CFGR (RCC_CFGR_PLLMUL(16) | RCC_CFGR_PPRE1_DIV2) /* PLLSRC = 0: HSI / 2 */

void clock_boot_fast(void)
{
    pll_start(BOOT_CFGR | RCC_CFGR_SW_PLL);
}

/* Every clock register clock_boot_fast and the CRC changed, back to its
 * reset value (RM0008 7.3.1, 7.3.2, 7.3.6, 3.3.3; APB1ENR and APB2ENR
 * are put back by bkp.c and gpio.c themselves), in the order the
 * manual asks: SYSCLK back on the HSI, confirmed by SWS (7.2.6: a source
 * in use cannot be stopped); then the PLL off, and its configuration
 * cleared only once it has stopped (7.3.2: PLLMUL and PLLSRC "can be
 * written only when PLL is disabled"); the wait states last, after the
 * clock went down (3.3.3). RCC_CR is written whole: HSION and HSITRIM at
 * their reset values, everything else off; HSICAL is read-only. */
void clock_reset(void)
{
    RCC_CFGR = BOOT_CFGR; /* SW = HSI, APB1 still halved until SWS follows */
    while (RCC_CFGR & RCC_CFGR_SWS_MASK)
        ;
    RCC_CR = RCC_CR_HSION | RCC_CR_HSITRIM_RESET;
    while (RCC_CR & RCC_CR_PLLRDY)
        ;
    RCC_CFGR = 0;
    RCC_AHBENR = RCC_AHBENR_RESET; /* the CRC unit's clock off */
    FLASH_ACR = FLASH_ACR_RESET;
}
