/*
 * blinky.c - the dfuboot demo application: toggles the board LED every
 * 250 ms from the SysTick interrupt, on the 8 MHz HSI the chip resets to.
 * Toggling from the interrupt (not a delay loop) proves VTOR points at this
 * image's vector table.
 *
 * Built with -DBLINKY_REBOOT_AFTER=N (variant "reboot"), it calls
 * dfuboot_reboot_to_bootloader() from kit/dfuboot_app.h after the N-th
 * toggle, so tests can watch the bootloader's entry by the application's
 * magic. The LED macros come from fw/boards/<board>.h (-include).
 */
#include <stdint.h>

#include "dfuboot_app.h"

#if !defined(BOARD_LED_PORT) || !defined(BOARD_LED_PIN) || !defined(BOARD_LED_ACTIVE_LOW)
#error "BOARD_LED_PORT/PIN/ACTIVE_LOW missing: build with -include fw/boards/<board>.h"
#endif
_Static_assert(BOARD_LED_PORT >= 'A' && BOARD_LED_PORT <= 'E', "LED port is A..E");
_Static_assert(BOARD_LED_PIN >= 0 && BOARD_LED_PIN <= 15, "LED pin is 0..15");

#define HSI_HZ 8000000u
#define TOGGLE_MS 250u

/* RM0008 7.3.7, 9.2; PM0056 4.5 (SysTick). */
#define RCC_APB2ENR (*(volatile uint32_t *)0x40021018u)
#define GPIO_BASE(port) (0x40010800u + 0x400u * (uint32_t)((port) - 'A'))
#define GPIO_CR(port, pin) (*(volatile uint32_t *)(GPIO_BASE(port) + ((pin) < 8 ? 0x00u : 0x04u)))
#define GPIO_BSRR(port) (*(volatile uint32_t *)(GPIO_BASE(port) + 0x10u))
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#define LED_BIT (1u << BOARD_LED_PIN)

/* In .data on purpose: the start-up copy must have run for it to be right. */
static volatile uint32_t toggle_period_ms = TOGGLE_MS;
static volatile uint32_t toggles; /* .bss */
static volatile uint32_t led_on;

void SysTick_Handler(void);

static void led_set(uint32_t on)
{
    uint32_t high = BOARD_LED_ACTIVE_LOW ? !on : on;
    /* BSRR: low half sets the pin, high half resets it; no read-modify-write. */
    GPIO_BSRR(BOARD_LED_PORT) = high ? LED_BIT : LED_BIT << 16;
    led_on = on;
}

static void led_init(void)
{
    unsigned shift = (BOARD_LED_PIN % 8) * 4;
    RCC_APB2ENR |= 1u << (2 + (BOARD_LED_PORT - 'A')); /* IOPxEN */
    led_set(1);
    /* MODE = 10 (output, 2 MHz), CNF = 00 (push-pull). */
    GPIO_CR(BOARD_LED_PORT, BOARD_LED_PIN) =
        (GPIO_CR(BOARD_LED_PORT, BOARD_LED_PIN) & ~(0xFu << shift)) | (0x2u << shift);
}

void SysTick_Handler(void)
{
    led_set(!led_on);
    toggles++;
}

int main(void)
{
    led_init();
    /* Processor clock (CLKSOURCE), interrupt (TICKINT), enable. */
    SYST_RVR = HSI_HZ / 1000u * toggle_period_ms - 1u;
    SYST_CVR = 0;
    SYST_CSR = 0x7u;
    for (;;) {
#ifdef BLINKY_REBOOT_AFTER
        if (toggles >= BLINKY_REBOOT_AFTER)
            dfuboot_reboot_to_bootloader();
#endif
    }
}
