#include "descriptors.h"

#include "config.h"
#include "dfu_defs.h"
#include "layout.h"
#include "memmap.h"
#include "port.h"

#define LO(x) ((uint8_t)((x) & 0xFF))
#define HI(x) ((uint8_t)(((x) >> 8) & 0xFF))

enum { DT_DEVICE = 1, DT_CONFIG = 2, DT_STRING = 3, DT_BOS = 15, DT_DFU_FUNCTIONAL = 0x21 };

static const uint8_t device_desc[18] = {
    18, DT_DEVICE, LO(0x0210), HI(0x0210), /* USB 2.1: BOS follows */
    0, 0, 0, EP0_SIZE, LO(CFG_VID), HI(CFG_VID), LO(CFG_PID), HI(CFG_PID),
    LO(0x0200), HI(0x0200), STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, 1,
};

/* bitCanDnload | bitCanUpload (build option) | bitWillDetach: after DETACH
 * and after manifestation the device drops off the bus by itself. Not
 * manifestation tolerant: it resets into the new application. */
#define DFU_ATTRIBUTES (0x01 | (CFG_UPLOAD && !CFG_RDP ? 0x02 : 0) | 0x08)
#define CONFIG_TOTAL (9 + 9 + 9)

static const uint8_t config_desc[CONFIG_TOTAL] = {
    9, DT_CONFIG, CONFIG_TOTAL, 0, 1, 1, 0, 0x80, 50,
    9, 4, 0, 0, 0, 0xFE, 1, 2, STR_LAYOUT, /* DFU mode interface */
    9, DT_DFU_FUNCTIONAL, DFU_ATTRIBUTES, LO(255), HI(255),
    0, 0 /* wTransferSize: the page size, see config_reply */, LO(0x011A), HI(0x011A),
};
#define CONFIG_XFER_HI 24 /* offset of wTransferSize's high byte */

/* wTransferSize is the page size, known at run time (F_SIZE): one block
 * per page, so dfu-util needs one SET ADDRESS + DNLOAD per page (issue 10
 * item 3: half the round trips on 2 KiB-page parts). */
static void config_reply(void)
{
    for (unsigned i = 0; i < CONFIG_TOTAL; i++)
        usbc_buf[i] = config_desc[i];
    usbc_buf[CONFIG_XFER_HI] = (uint8_t)(memmap.page_size >> 8);
    usbc_reply(usbc_buf, CONFIG_TOTAL);
}

/* ---- Microsoft OS 2.0: Windows binds WinUSB without an INF ---------- */
/* Descriptor set header + compatible ID "WINUSB" for the whole device. No
 * DeviceInterfaceGUIDs property: libusb (dfu-util) does not need one, and
 * it would cost 132 bytes of the 4 KiB. */
#define MSOS_SET_LEN 30u

static const uint8_t msos_set[MSOS_SET_LEN] = {
    10, 0, 0x00, 0x00, 0x00, 0x00, 0x03, 0x06, LO(MSOS_SET_LEN), HI(MSOS_SET_LEN),
    20, 0, 3, 0, 'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* ---- BOS: MS OS 2.0 platform capability, WebUSB (build option) ------- */
#define BOS_MSOS_LEN 28
#define BOS_WEBUSB_LEN (CFG_WEBUSB ? 24 : 0)
#define BOS_TOTAL (5 + BOS_MSOS_LEN + BOS_WEBUSB_LEN)

static const uint8_t bos_desc[BOS_TOTAL] = {
    5, DT_BOS, BOS_TOTAL, 0, CFG_WEBUSB ? 2 : 1,
    BOS_MSOS_LEN, 16, 5, 0, /* platform capability {D8DD60DF-4589-4CC7-9CD2-659D9E648A9F} */
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
    0x00, 0x00, 0x03, 0x06, LO(MSOS_SET_LEN), HI(MSOS_SET_LEN), VENDOR_CODE_MSOS, 0,
#if CFG_WEBUSB
    24, 16, 5, 0, /* platform capability {3408B638-09A9-47A0-8BFD-A0768815B665} */
    0x38, 0xB6, 0x08, 0x34, 0xA9, 0x09, 0xA0, 0x47, 0x8B, 0xFD, 0xA0, 0x76, 0x88, 0x15, 0xB6, 0x65,
    0x00, 0x01, VENDOR_CODE_WEBUSB, 1, /* bcdVersion 1.0, landing page = URL 1 */
#endif
};

#if CFG_WEBUSB
struct __attribute__((packed)) webusb_url {
    uint8_t head[3];
    char url[sizeof(CFG_WEBUSB_URL) - 1];
};
static const struct webusb_url webusb_url = {
    {3 + sizeof(CFG_WEBUSB_URL) - 1, 3, 1 /* https:// */}, CFG_WEBUSB_URL};
#endif

/* ---- Strings --------------------------------------------------------- */
static void string_begin(unsigned chars)
{
    usbc_buf[0] = (uint8_t)(2 + 2 * chars);
    usbc_buf[1] = DT_STRING;
}

static void put_char(unsigned i, char c)
{
    usbc_buf[2 + 2 * i] = (uint8_t)c;
    usbc_buf[3 + 2 * i] = 0;
}

static void reply_ascii(const char *s)
{
    unsigned n = 0;
    while (s[n] && n < (USBC_BUF_SIZE - 2) / 2) {
        put_char(n, s[n]);
        n++;
    }
    string_begin(n);
    usbc_reply(usbc_buf, usbc_buf[0]);
}

/* The 96-bit unique ID, byte at the lowest address first, upper-case hex:
 * the same 24 digits the virtual board's --uid takes. */
static void serial_string(char out[25])
{
    const uint8_t *uid = port_unique_id();
    char *p = out;
    for (unsigned i = 0; i < 12; i++)
        p = put_hex(p, uid[i], 2);
    *p = 0;
}

static bool reply_string(uint8_t index)
{
    static const uint8_t langid[4] = {4, DT_STRING, LO(0x0409), HI(0x0409)};
    char text[LAYOUT_MAX];

    switch (index) {
    case STR_LANGID:
        usbc_reply(langid, sizeof langid);
        return true;
    case STR_MANUFACTURER:
        reply_ascii("dfuboot");
        return true;
    case STR_PRODUCT:
        reply_ascii("dfuboot " CFG_BOARD_NAME);
        return true;
    case STR_SERIAL:
        serial_string(text);
        reply_ascii(text);
        return true;
    case STR_LAYOUT:
        /* Build options only: a chip read-protected by other means still
         * refuses every upload (dfu_readable), at 56 bytes less flash. */
        layout_string(text, CFG_UPLOAD && !CFG_RDP);
        reply_ascii(text);
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
        config_reply();
        return index == 0;
    case DT_STRING:
        return reply_string(index);
    case DT_BOS:
        usbc_reply(bos_desc, sizeof bos_desc);
        return true;
    default:
        return false;
    }
}

bool desc_vendor(const struct usb_setup *s)
{
    if (s->bmRequestType != 0xC0)
        return false;
    if (s->bRequest == VENDOR_CODE_MSOS && s->wIndex == 7) {
        usbc_reply(msos_set, MSOS_SET_LEN);
        return true;
    }
#if CFG_WEBUSB
    if (s->bRequest == VENDOR_CODE_WEBUSB && s->wIndex == 2 && s->wValue == 1) {
        usbc_reply(webusb_url.head, sizeof webusb_url);
        return true;
    }
#endif
    return false;
}
