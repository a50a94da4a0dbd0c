/*
 * detach.c - leaving the bus after DFU_DETACH, then the bootloader.
 *
 * The host must see a disconnect, or it keeps talking to a device that is
 * gone (bitWillDetach in the functional descriptor, DFU 1.1 4.1.3, promises a
 * detach-attach sequence):
 *  - the USB macrocell goes to reset and power-down, and its clock off: the
 *    transceiver then lets go of PA11/PA12 (RM0008 23.4.2; the pins belong
 *    to the USB cell while it is enabled, so a GPIO drive only counts with
 *    the cell off);
 *  - a board with a pull-up switch (Maple Mini PB9, Olimex H103 PC11)
 *    switches its D+ pull-up off; a board with a fixed pull-up (blue pill)
 *    drives D+ (PA12) low as a GPIO output, which the host sees as SE0, a
 *    disconnect (fw/port/stm32f1/gpio.c usb_bus_detach());
 *  - 20 ms of that, far above the 2.5 us a hub needs to see a disconnect
 *    (USB 2.0 7.1.7.3 TDDIS), the same as the bootloader's own;
 *  - then the kit's reboot-to-bootloader: BKP_DR1 magic and a system reset.
 *    The bootloader enumerates as the DFU-mode device, with the same serial
 *    number, which is how dfu-util pairs the two (-S, or its re-probe).
 */
#include "dfuboot_app.h"
#include "port_stm32f1.h"
#include "regs.h"
#include "runtime.h"

void runtime_leave(void)
{
    usb_stop();
    RCC_APB1ENR &= ~RCC_APB1ENR_USBEN;
    usb_bus_detach();
    delay_ms(20, RUNTIME_SYSCLK_HZ);
    dfuboot_reboot_to_bootloader();
}
