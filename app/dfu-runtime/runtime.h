/*
 * runtime.h - what the files of the dfu-runtime demo offer each other.
 *
 * The application's USB device reuses the bootloader's control pipeline
 * (fw/core/usb_ctrl.c) and STM32F1 USB driver (fw/port/stm32f1/usb.c) as
 * they are: usb_ctrl.c calls desc_get()/desc_vendor() (descriptors.c here)
 * and the dfu_*() class hooks of fw/core/dfu.h (dfu_runtime.c here, a DFU
 * runtime interface instead of the bootloader's DFU mode).
 */
#ifndef RUNTIME_H
#define RUNTIME_H

#include <stdbool.h>

#define RUNTIME_SYSCLK_HZ 72000000u

#ifndef RUNTIME_VERSION
#define RUNTIME_VERSION 1 /* bcdDevice major, product string "v1" */
#endif
#ifndef APP_VID
#define APP_VID 0x1209 /* pid.codes; APP_PID 0x0001 is a test ID: use your own */
#endif
#ifndef APP_PID
#define APP_PID 0x0001
#endif

/* The DFU runtime interface is interface 0, the only one. */
#define RUNTIME_DFU_INTERFACE 0u

/* dfu_runtime.c: set once DFU_DETACH's status stage is over. */
bool runtime_detach_requested(void);

/* detach.c: off the bus, then into the bootloader. Does not return. */
void runtime_leave(void) __attribute__((noreturn));

#endif
