/* main.c - boot decision, then the DFU device until the host lets go. */
#include "boot.h"
#include "config.h"
#include "dfu.h"
#include "memmap.h"
#include "port.h"
#include "port_stm32f1.h"
#include "regs.h"

/* Right after reset, on the HSI, nothing configured: every register read
 * here is back at its reset value before the jump. */
static void start_app_if_wanted(void)
{
    struct boot_inputs in;
    in.magic = bkp_take_magic();
    in.pin = entry_pin_active();
    in.double_reset = !in.magic && !in.pin && bkp_double_reset();
    enum boot_reason why = boot_decide(&in, CFG_STRICT);
    RCC_AHBENR = RCC_AHBENR_RESET; /* the CRC unit's clock */
    if (why == BOOT_APP)
        jump_to_app(CFG_APP_BASE);
}

/* The host must see a new device: off the bus for >= 10 ms. */
static void usb_fresh_connect(void)
{
    usb_bus_detach();
    delay_ms(20, 72000000u);
    usb_start();
    usb_bus_attach();
}

static void leave(void) __attribute__((noreturn));
static void leave(void)
{
    usb_bus_detach(); /* stops the USB block first */
    delay_ms(20, 72000000u);
    system_reset();
}

int main(void)
{
    memmap_init(port_flash_kib(), CFG_APP_BASE);
    option_bytes_apply();
    start_app_if_wanted();
    led_on();
    clock_init_72mhz();
    usb_fresh_connect();
    ticks_start(); /* after the delays: they use SysTick too */
    dfu_reset();
    for (;;) {
        watchdog_kick();
        port_ms(); /* counts SysTick wraps (ticks.c) */
        usb_poll();
        if (dfu_leave_requested())
            leave();
    }
}
