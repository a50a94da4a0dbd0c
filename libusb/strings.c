/* strings.c - libusb_get_string_descriptor_ascii: the first language, UTF-16LE
 * to ASCII with '?' for anything beyond 7-bit ASCII, as libusb does. */
#include "internal.h"

#define STR_TIMEOUT_MS 1000

API int libusb_get_string_descriptor_ascii(libusb_device_handle *h, uint8_t index,
                                           unsigned char *data, int length)
{
    unsigned char buf[255];
    if (index == 0)
        return LIBUSB_ERROR_INVALID_PARAM; /* string 0 is the language table */
    if (length <= 0)
        return LIBUSB_ERROR_INVALID_PARAM;
    int r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                    LIBUSB_DT_STRING << 8, 0, buf, sizeof buf, STR_TIMEOUT_MS);
    if (r < 0)
        return r;
    if (r < 4)
        return LIBUSB_ERROR_IO;
    uint16_t langid = usbi_le16(buf + 2);
    r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                (uint16_t)(LIBUSB_DT_STRING << 8 | index), langid, buf,
                                sizeof buf, STR_TIMEOUT_MS);
    if (r < 0)
        return r;
    if (r < 2 || buf[1] != LIBUSB_DT_STRING || buf[0] > r)
        return LIBUSB_ERROR_IO;
    int di = 0;
    for (int si = 2; si + 1 < buf[0] && di < length - 1; si += 2)
        data[di++] = buf[si + 1] || (buf[si] & 0x80) ? '?' : buf[si];
    data[di] = 0;
    return di;
}
