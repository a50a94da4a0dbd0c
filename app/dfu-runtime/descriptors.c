/*
 * descriptors.c - the dfu-runtime demo's own USB identity: its VID:PID, one
 * configuration with one interface, the DFU runtime interface (class 0xFE,
 * subclass 1, protocol 1) and its DFU functional descriptor.
 *
 * The serial number is the bootloader's, from the kit (dfuboot_app.h
 * dfuboot_serial_string(): the chip's 96-bit unique ID as 24 upper-case hex
 * digits, as fw/core/descriptors.c formats it). dfu-util -S SERIAL then
 * matches the board before and after the detach.
 */
#include "config.h"
#include "descriptors.h"
#include "dfuboot_app.h"
#include "runtime.h"

#define LO(x) ((uint8_t)((x) & 0xFF))
#define HI(x) ((uint8_t)(((x) >> 8) & 0xFF))

enum { DT_DEVICE = 1, DT_CONFIG = 2, DT_STRING = 3, DT_DFU_FUNCTIONAL = 0x21 };
enum { STR_INTERFACE = STR_LAYOUT }; /* string 4: the interface name */

static const uint8_t device_desc[18] = {
    18, DT_DEVICE, LO(0x0200), HI(0x0200), /* USB 2.0, no BOS */
    0, 0, 0, EP0_SIZE, LO(APP_VID), HI(APP_VID), LO(APP_PID), HI(APP_PID),
    0x00, RUNTIME_VERSION, /* bcdDevice: the version, so dfu-util -l shows it */
    STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, 1,
};

/* bmAttributes describe the DFU-mode device the host will find after the
 * detach (DFU 1.1 4.1.3): bitCanDnload, bitCanUpload, bitWillDetach (the
 * device leaves the bus by itself after DFU_DETACH: no host reset needed).
 * wDetachTimeOut 1000 ms: the longest the device waits for a reset after
 * DETACH; this one does not wait at all. bcdDFUVersion 0x011A: DfuSe, as the
 * bootloader. */
#define DFU_ATTRIBUTES (0x01 | 0x02 | 0x08)
#define CONFIG_TOTAL (9 + 9 + 9)

static const uint8_t config_desc[CONFIG_TOTAL] = {
    9, DT_CONFIG, CONFIG_TOTAL, 0, 1, 1, 0, 0x80, 50,
    9, 4, RUNTIME_DFU_INTERFACE, 0, 0, 0xFE, 1, 1, STR_INTERFACE, /* runtime protocol */
    9, DT_DFU_FUNCTIONAL, DFU_ATTRIBUTES, LO(1000), HI(1000), LO(1024), HI(1024),
    LO(0x011A), HI(0x011A),
};

#define STR(x) #x
#define XSTR(x) STR(x)

static void reply_ascii(const char *s)
{
    unsigned n = 0;
    while (s[n] && n < (USBC_BUF_SIZE - 2) / 2) {
        usbc_buf[2 + 2 * n] = (uint8_t)s[n];
        usbc_buf[3 + 2 * n] = 0;
        n++;
    }
    usbc_buf[0] = (uint8_t)(2 + 2 * n);
    usbc_buf[1] = DT_STRING;
    usbc_reply(usbc_buf, usbc_buf[0]);
}

static bool reply_string(uint8_t index)
{
    static const uint8_t langid[4] = {4, DT_STRING, LO(0x0409), HI(0x0409)};
    char serial[25];
    switch (index) {
    case STR_LANGID:
        usbc_reply(langid, sizeof langid);
        return true;
    case STR_MANUFACTURER:
        reply_ascii("dfuboot");
        return true;
    case STR_PRODUCT:
        reply_ascii("dfuboot runtime demo v" XSTR(RUNTIME_VERSION));
        return true;
    case STR_SERIAL:
        dfuboot_serial_string(serial);
        reply_ascii(serial);
        return true;
    case STR_INTERFACE:
        reply_ascii("dfuboot runtime");
        return true;
    default:
        return false;
    }
}

bool desc_get(const struct usb_setup *s)
{
    uint8_t index = LO(s->wValue);
    switch (HI(s->wValue)) {
    case DT_DEVICE:
        usbc_reply(device_desc, sizeof device_desc);
        return true;
    case DT_CONFIG:
        usbc_reply(config_desc, sizeof config_desc);
        return index == 0;
    case DT_STRING:
        return reply_string(index);
    default:
        return false;
    }
}

/* No vendor requests (no BOS: no WebUSB/MS OS 2.0 here). */
bool desc_vendor(const struct usb_setup *s)
{
    (void)s;
    return false;
}
