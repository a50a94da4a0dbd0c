/*
 * usb.c - the STM32F1 USB full-speed device, endpoint 0 only, polled
 * (RM0008 chapter 23). Packet memory layout (USB-local addresses):
 * buffer table at 0, EP0 TX buffer at 0x40, EP0 RX buffer at 0x80.
 */
#include "config.h"
#include "port.h"
#include "port_stm32f1.h"
#include "regs.h"
#include "usb_ctrl.h"

#define BT_ADDR0_TX 0x00u
#define BT_COUNT0_TX 0x02u
#define BT_ADDR0_RX 0x04u
#define BT_COUNT0_RX 0x06u
#define EP0_TX_BUF 0x40u
#define EP0_RX_BUF 0x80u

/* Word-sized: a byte this far from the RAM section anchor costs 32-bit
 * instructions (12 bytes). */
static unsigned rx_pending; /* CTR_RX seen, packet not yet read */

/* One EP0R write: the CTR bits named in clear go to 0, the other CTR bit
 * is written 1 (unchanged); STAT bits inside mask are toggled towards
 * stat; DTOG bits are written 0 (unchanged). */
static void ep0_write(uint32_t clear, uint32_t stat, uint32_t mask)
{
    uint32_t r = USB_EP0R;
    uint32_t w = (r & (USB_EP_TYPE_MASK | USB_EP_KIND | USB_EP_EA)) |
                 ((USB_EP_CTR_RX | USB_EP_CTR_TX) & ~clear);
    USB_EP0R = w | ((r ^ stat) & mask);
}

static void endpoints_reset(void)
{
    USB_PMA(BT_ADDR0_TX) = EP0_TX_BUF;
    USB_PMA(BT_COUNT0_TX) = 0;
    USB_PMA(BT_ADDR0_RX) = EP0_RX_BUF;
    USB_PMA(BT_COUNT0_RX) = USB_COUNT_RX_64;
    uint32_t r = USB_EP0R;
    /* CTR_RX/CTR_TX written 0: a transfer from before the reset is over. */
    USB_EP0R = USB_EP_TYPE_CONTROL |
               ((r ^ (USB_EP_RX_VALID | USB_EP_TX_NAK)) & (USB_EP_STAT_RX | USB_EP_STAT_TX));
    USB_DADDR = USB_DADDR_EF;
    rx_pending = false;
}

unsigned port_ep0_read(uint8_t *dst, unsigned max)
{
    unsigned n = USB_PMA(BT_COUNT0_RX) & 0x3FFu;
    if (n > max)
        n = max;
    for (unsigned i = 0; i < n; i += 2) {
        uint32_t w = USB_PMA(EP0_RX_BUF + i);
        dst[i] = (uint8_t)w;
        if (i + 1 < n)
            dst[i + 1] = (uint8_t)(w >> 8);
    }
    if (rx_pending) {
        rx_pending = false;
        ep0_write(USB_EP_CTR_RX, 0, 0);
    }
    return n;
}

void port_ep0_send(const uint8_t *src, unsigned len)
{
    for (unsigned i = 0; i < len; i += 2) {
        uint32_t w = src[i];
        if (i + 1 < len)
            w |= (uint32_t)src[i + 1] << 8;
        USB_PMA(EP0_TX_BUF + i) = w;
    }
    USB_PMA(BT_COUNT0_TX) = len;
    ep0_write(0, USB_EP_TX_VALID, USB_EP_STAT_TX);
}

void port_ep0_receive(void)
{
    ep0_write(0, USB_EP_RX_VALID, USB_EP_STAT_RX);
}

void port_ep0_stall(void)
{
    ep0_write(0, USB_EP_RX_STALL | USB_EP_TX_STALL, USB_EP_STAT_RX | USB_EP_STAT_TX);
}

void port_usb_set_address(uint8_t address)
{
    USB_DADDR = USB_DADDR_EF | address;
}

/* RM0008 23.4.2: clock on, leave power-down, wait tSTARTUP (1 us), then
 * release the reset. The macrocell stays powered down until the host has
 * seen the D+ disconnect. */
void usb_start(void)
{
    RCC_APB1RSTR = 0; /* usb_stop held the block in reset */
    RCC_APB1ENR |= RCC_APB1ENR_USBEN;
    USB_CNTR = USB_CNTR_FRES;
    delay_ms(1, 72000000u);
    USB_CNTR = 0;
    USB_ISTR = 0;
    USB_BTABLE = 0;
}

/* RM0008 9.1.11, table "USB": "As soon as the USB is enabled, these pins
 * [PA11/PA12] are automatically connected to the internal USB
 * transceiver." So the block is powered down, held in reset and its clock
 * stopped before anyone drives D+ as a GPIO (usb_bus_detach). */
void usb_stop(void)
{
    /* The peripheral reset (RCC 7.3.5) also puts CNTR back to FRES|PDWN,
     * and needs no clock: safe on entry, when the clock is still off. */
    RCC_APB1RSTR = RCC_APB1RSTR_USBRST;
    RCC_APB1ENR &= ~RCC_APB1ENR_USBEN;
}

static void endpoint0_events(void)
{
    uint32_t r = USB_EP0R;
    if (r & USB_EP_CTR_TX) {
        ep0_write(USB_EP_CTR_TX, 0, 0);
        /* RM0008 23.4.2: a SETUP sets STAT_TX and STAT_RX to NAK "to let
         * software decide" what follows. An IN completion seen with it is
         * the old transfer's: another data packet armed now would lift
         * that NAK with stale data. usbc_on_setup completes a status
         * stage the host took (USB 2.0 8.5.3.3) and drops the rest. */
        if ((r & (USB_EP_CTR_RX | USB_EP_SETUP)) != (USB_EP_CTR_RX | USB_EP_SETUP))
            usbc_on_in();
    }
    if (r & USB_EP_CTR_RX) {
        rx_pending = true;
        if (r & USB_EP_SETUP)
            usbc_on_setup();
        else
            usbc_on_out();
        if (rx_pending) {
            rx_pending = false;
            ep0_write(USB_EP_CTR_RX, 0, 0);
        }
    }
}

void usb_poll(void)
{
    uint32_t istr = USB_ISTR;
    if (istr & USB_ISTR_RESET) {
        USB_ISTR = 0xFFFFu & ~USB_ISTR_RESET; /* rc_w0: clears RESET only */
        endpoints_reset();
        usbc_on_reset();
        return; /* CTR seen with it is from before the reset: drop it */
    }
    if (istr & USB_ISTR_CTR)
        endpoint0_events();
}
