/* descriptors.h - device, configuration, string, BOS and vendor descriptors. */
#ifndef DESCRIPTORS_H
#define DESCRIPTORS_H

#include <stdbool.h>

#include "usb_ctrl.h"

enum {
    STR_LANGID = 0,
    STR_MANUFACTURER,
    STR_PRODUCT,
    STR_SERIAL,
    STR_LAYOUT,
    STR_COUNT,
};

#define VENDOR_CODE_WEBUSB 0x01
#define VENDOR_CODE_MSOS 0x02

/* GET_DESCRIPTOR; false = not supported (STALL). */
bool desc_get(const struct usb_setup *s);
/* Vendor requests announced in the BOS (WebUSB URL, MS OS 2.0 set). */
bool desc_vendor(const struct usb_setup *s);

#endif
