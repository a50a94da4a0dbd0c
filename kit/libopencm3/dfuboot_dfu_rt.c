/*
 * dfuboot_dfu_rt.c - libopencm3: `dfu-util -e` and one-command updates for
 * an STM32F103 application behind dfuboot that already has a USB device
 * (CDC, HID...). Add this file and:
 *
 * 1. Descriptors: one more interface (bNumInterfaces + 1 in the
 *    configuration; dfuboot_dfu_rt_iface below, with the number
 *    DFUBOOT_DFU_RT_IFACE you give it) in your `ifaces[]`:
 *        { .num_altsetting = 1, .altsetting = &dfuboot_dfu_rt_iface },
 *    Serial number string: dfuboot_serial_string() of dfuboot_app.h, the
 *    bootloader's, so dfu-util -S SERIAL finds the board in both modes.
 * 2. In your set-configuration callback:
 *        dfuboot_dfu_rt_register(usbd_dev);
 * 3. Nothing in the main loop: the reboot happens in the request's
 *    completion callback, which libopencm3 runs after the status stage.
 *
 * What the host sees: your device with a DFU runtime interface (dfu-util -l:
 * "Found Runtime"); after DFU_DETACH it disconnects (bitWillDetach: no host
 * reset), and 0483:df11 appears with the same serial number. D+ is driven
 * low, which disconnects any board, blue pill included.
 */
#include <stdint.h>

#include <libopencm3/usb/dfu.h>
#include <libopencm3/usb/usbd.h>

#include "dfuboot_app.h"

#ifndef DFUBOOT_DFU_RT_IFACE
#define DFUBOOT_DFU_RT_IFACE 1 /* after a one-interface device; change to yours */
#endif
#ifndef DFUBOOT_CPU_HZ
#define DFUBOOT_CPU_HZ 72000000u /* rcc_ahb_frequency after rcc_clock_setup_pll() */
#endif

static const struct usb_dfu_descriptor dfu_function = {
    .bLength = sizeof(struct usb_dfu_descriptor),
    .bDescriptorType = DFU_FUNCTIONAL,
    /* What the bootloader can do, and: it leaves the bus by itself. */
    .bmAttributes = USB_DFU_CAN_DOWNLOAD | USB_DFU_CAN_UPLOAD | USB_DFU_WILL_DETACH,
    .wDetachTimeout = 1000,
    .wTransferSize = 1024,
    .bcdDFUVersion = 0x011A,
};

const struct usb_interface_descriptor dfuboot_dfu_rt_iface = {
    .bLength = USB_DT_INTERFACE_SIZE,
    .bDescriptorType = USB_DT_INTERFACE,
    .bInterfaceNumber = DFUBOOT_DFU_RT_IFACE,
    .bAlternateSetting = 0,
    .bNumEndpoints = 0,
    .bInterfaceClass = 0xFE, /* application specific */
    .bInterfaceSubClass = 1, /* DFU */
    .bInterfaceProtocol = 1, /* runtime */
    .iInterface = 0,
    .extra = &dfu_function,
    .extralen = sizeof(dfu_function),
};

static void detach_complete(usbd_device *dev, struct usb_setup_data *req)
{
    (void)dev;
    (void)req;
    dfuboot_detach_and_reboot(DFUBOOT_CPU_HZ);
}

static enum usbd_request_return_codes dfu_rt_request(usbd_device *dev,
        struct usb_setup_data *req, uint8_t **buf, uint16_t *len,
        usbd_control_complete_callback *complete)
{
    static uint8_t status[6]; /* OK, bwPollTimeout 0, appIDLE, iString 0 */
    (void)dev;
    if (req->wIndex != DFUBOOT_DFU_RT_IFACE)
        return USBD_REQ_NEXT_CALLBACK; /* your other class interfaces */
    switch (req->bRequest) {
    case DFU_DETACH:
        *complete = detach_complete;
        return USBD_REQ_HANDLED;
    case DFU_GETSTATUS:
        *buf = status;
        *len = sizeof status;
        return USBD_REQ_HANDLED;
    case DFU_GETSTATE:
        *buf = &status[4];
        *len = 1;
        return USBD_REQ_HANDLED;
    default:
        return USBD_REQ_NOTSUPP;
    }
}

void dfuboot_dfu_rt_register(usbd_device *dev)
{
    usbd_register_control_callback(dev, USB_REQ_TYPE_CLASS | USB_REQ_TYPE_INTERFACE,
                                   USB_REQ_TYPE_TYPE | USB_REQ_TYPE_RECIPIENT, dfu_rt_request);
}
