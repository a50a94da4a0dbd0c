/*
 * main.c - dfu-runtime, the demo application with a DFU runtime interface:
 * it blinks the board LED (every 500 ms in version 1, 250 ms in version 2,
 * so an update is visible) and is a USB device of its own that dfu-util
 * can send to the bootloader:
 *   dfu-util -e                                      (detach only)
 *   dfu-util -d 1209:0001,0483:df11 -a 0 -s :leave -D dfu-runtime.dfu
 * USB is polled in the main loop, as in the bootloader; the LED runs from
 * the SysTick interrupt.
 */
#include <stdint.h>

#include "port_stm32f1.h"
#include "regs.h"
#include "runtime.h"

#define LED_PERIOD_MS (500u / RUNTIME_VERSION)
#define SYST_CSR_TICKINT (1u << 1)

void SysTick_Handler(void);

static volatile uint32_t ms;
static uint32_t led_lit;

static void led_set(uint32_t on)
{
    uint32_t high = BOARD_LED_ACTIVE_LOW ? !on : on;
    GPIO_BSRR(BOARD_LED_PORT) = high ? 1u << BOARD_LED_PIN : 1u << (BOARD_LED_PIN + 16);
    led_lit = on;
}

void SysTick_Handler(void)
{
    if (++ms % LED_PERIOD_MS == 0)
        led_set(!led_lit);
}

int main(void)
{
    clock_init_72mhz(); /* USB needs 48 MHz: PLL 72 MHz / 1.5 */
    led_on();
    led_lit = 1;
    /* A fresh connection, as the bootloader makes one: the host must not
     * mistake this device for the one that was there before the reset. */
    usb_bus_detach();
    delay_ms(20, RUNTIME_SYSCLK_HZ);
    usb_start();
    usb_bus_attach();
    /* 1 ms ticks (delay_ms above used SysTick without its interrupt). */
    SYST_RVR = RUNTIME_SYSCLK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    for (;;) {
        usb_poll();
        if (runtime_detach_requested())
            runtime_leave();
    }
}
