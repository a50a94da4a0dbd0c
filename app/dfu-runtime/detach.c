/*
 * detach.c - leaving the bus after DFU_DETACH, then the bootloader.
 *
 * The host must see a disconnect, or it keeps talking to a device that is
 * gone (bitWillDetach in the functional descriptor, DFU 1.1 4.1.3, promises
 * a detach-attach sequence). The kit does it, the same code a user copies
 * (kit/dfuboot_app.h dfuboot_detach_and_reboot()): USB macrocell in reset
 * and unclocked, D+ (PA12) driven low for 20 ms, then the BKP_DR1 request
 * and a system reset. A board with a pull-up switch (Maple Mini PB9, Olimex
 * H103 PC11) switches its pull-up off first, its own way to disconnect
 * (fw/port/stm32f1/gpio.c usb_bus_detach()). The bootloader then enumerates
 * as the DFU-mode device with the same serial number, which is how dfu-util
 * pairs the two (-S SERIAL, or its re-probe).
 */
#include "dfuboot_app.h"
#include "port_stm32f1.h"
#include "runtime.h"

void runtime_leave(void)
{
#ifdef BOARD_USB_PULLUP_PORT
    usb_bus_detach();
#endif
    dfuboot_detach_and_reboot(RUNTIME_SYSCLK_HZ);
}
