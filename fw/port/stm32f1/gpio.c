/* gpio.c - the board's LED, entry pin and D+ pull-up (fw/boards/<name>.h). */
#include "port_stm32f1.h"
#include "regs.h"

#define USB_DP_PORT 'A'
#define USB_DP_PIN 12

static void port_clock_on(char port)
{
    RCC_APB2ENR |= RCC_APB2ENR_IOPAEN << (port - 'A');
}

static void pin_mode(char port, unsigned pin, uint32_t mode)
{
    volatile uint32_t *cr = pin < 8 ? &GPIO_CRL(port) : &GPIO_CRH(port);
    unsigned shift = (pin & 7u) * 4u;
    *cr = (*cr & ~(0xFu << shift)) | mode << shift;
}

static void pin_write(char port, unsigned pin, bool high)
{
    GPIO_BSRR(port) = high ? 1u << pin : 1u << (pin + 16);
}

/* Read before anything is set up: the pin keeps its reset configuration
 * (floating input) and the port clock goes back off. */
bool entry_pin_active(void)
{
#ifndef BOARD_ENTRY_PORT
    return false; /* a board whose only button is BOOT0 (maple_mini.h) */
#else
    uint32_t saved = RCC_APB2ENR;
    port_clock_on(BOARD_ENTRY_PORT);
    (void)GPIO_IDR(BOARD_ENTRY_PORT); /* first read after the clock starts */
    bool high = GPIO_IDR(BOARD_ENTRY_PORT) >> BOARD_ENTRY_PIN & 1u;
    RCC_APB2ENR = saved;
    return high == (BOARD_ENTRY_ACTIVE_HIGH != 0);
#endif
}

void led_on(void)
{
    port_clock_on(BOARD_LED_PORT);
    pin_write(BOARD_LED_PORT, BOARD_LED_PIN, !BOARD_LED_ACTIVE_LOW);
    pin_mode(BOARD_LED_PORT, BOARD_LED_PIN, GPIO_MODE_OUTPUT_2MHZ_PP);
}

#ifdef BOARD_USB_PULLUP_PORT
static void pullup(bool on)
{
    port_clock_on(BOARD_USB_PULLUP_PORT);
    pin_write(BOARD_USB_PULLUP_PORT, BOARD_USB_PULLUP_PIN, on != (BOARD_USB_PULLUP_ACTIVE_LOW != 0));
    pin_mode(BOARD_USB_PULLUP_PORT, BOARD_USB_PULLUP_PIN, GPIO_MODE_OUTPUT_2MHZ_PP);
}

void usb_bus_detach(void)
{
    usb_stop();
    pullup(false);
}

void usb_bus_attach(void)
{
    pullup(true);
}
#else
/* Fixed pull-up: hold D+ low as a GPIO output, so the host sees SE0 (a
 * disconnect). usb_stop first: PA12 is a GPIO only while the USB block is
 * off (see usb_stop). */
void usb_bus_detach(void)
{
    usb_stop();
    port_clock_on(USB_DP_PORT);
    pin_write(USB_DP_PORT, USB_DP_PIN, false);
    pin_mode(USB_DP_PORT, USB_DP_PIN, GPIO_MODE_OUTPUT_2MHZ_PP);
}

void usb_bus_attach(void)
{
    pin_mode(USB_DP_PORT, USB_DP_PIN, GPIO_MODE_INPUT_FLOATING);
}
#endif
