/* main.c - boot decision, then the DFU device until the host lets go. */
#include "boot.h"
#include "config.h"
#include "dfu.h"
#include "memmap.h"
#include "port.h"
#include "port_stm32f1.h"
#include "regs.h"

/* Right after reset, on the HSI, nothing configured. The inputs are read
 * on the HSI (the double-reset window counts its cycles), the image is
 * checked at 64 MHz, and every register touched here is back at its reset
 * value before the jump (tests/stamp/boot_clocks.sh). */
static void start_app_if_wanted(void)
{
    struct boot_inputs in;
    in.magic = bkp_take_magic();
    in.pin = entry_pin_active();
    in.double_reset = !in.magic && !in.pin && bkp_double_reset();
    clock_boot_fast();
    if (boot_decide(&in, CFG_STRICT) == BOOT_APP) {
        clock_reset();
        jump_to_app(CFG_APP_BASE);
    }
    clock_reset();
}

/* The host must see a disconnect: off the bus for >= 10 ms. The USB block
 * stops first (usb_bus_detach). */
static __attribute__((noinline)) void usb_off_20ms(void)
{
    usb_bus_detach();
    delay_ms(20, 72000000u);
}

/* The host must see a new device. */
static void usb_fresh_connect(void)
{
    usb_off_20ms();
    usb_start();
    usb_bus_attach();
}

static void leave(void) __attribute__((noreturn));
static void leave(void)
{
    usb_off_20ms();
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
