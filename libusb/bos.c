/*
 * bos.c - the Binary Object Store (read from the device on each call, as
 * libusb does) and the device capability parsers lsusb -v style tools use.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BOS_TIMEOUT_MS 1000

static int get_bos(libusb_device_handle *h, uint8_t *buf, int len)
{
    return libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                   LIBUSB_DT_BOS << 8, 0, buf, (uint16_t)len, BOS_TIMEOUT_MS);
}

API int libusb_get_bos_descriptor(libusb_device_handle *h, struct libusb_bos_descriptor **bos)
{
    uint8_t head[LIBUSB_DT_BOS_SIZE];
    int r = get_bos(h, head, sizeof head);
    if (r < 0)
        return r; /* a USB 2.0 device without BOS stalls: LIBUSB_ERROR_PIPE */
    if (r < LIBUSB_DT_BOS_SIZE || head[1] != LIBUSB_DT_BOS)
        return LIBUSB_ERROR_IO;
    int total = usbi_le16(head + 2);
    if (total < LIBUSB_DT_BOS_SIZE)
        return LIBUSB_ERROR_IO;
    uint8_t *buf = malloc((size_t)total);
    if (!buf)
        return LIBUSB_ERROR_NO_MEM;
    int size = get_bos(h, buf, total);
    if (size < LIBUSB_DT_BOS_SIZE) {
        free(buf);
        return size < 0 ? size : LIBUSB_ERROR_IO;
    }
    int ncaps = buf[4];
    struct libusb_bos_descriptor *b =
        calloc(1, sizeof *b + (size_t)ncaps * sizeof b->dev_capability[0]);
    if (!b) {
        free(buf);
        return LIBUSB_ERROR_NO_MEM;
    }
    b->bLength = buf[0];
    b->bDescriptorType = buf[1];
    b->wTotalLength = usbi_le16(buf + 2);
    int off = buf[0] < size ? buf[0] : size, n = 0;
    /* Capabilities that do not fit in what was read are left out. */
    while (n < ncaps && size - off >= LIBUSB_DT_DEVICE_CAPABILITY_SIZE) {
        const uint8_t *d = buf + off;
        if (d[1] != LIBUSB_DT_DEVICE_CAPABILITY || d[0] < LIBUSB_DT_DEVICE_CAPABILITY_SIZE ||
            d[0] > size - off)
            break;
        struct libusb_bos_dev_capability_descriptor *cap = malloc(sizeof *cap + d[0]);
        if (!cap) {
            b->bNumDeviceCaps = (uint8_t)n;
            libusb_free_bos_descriptor(b);
            free(buf);
            return LIBUSB_ERROR_NO_MEM;
        }
        memcpy(cap, d, d[0]);
        b->dev_capability[n++] = cap;
        off += d[0];
    }
    b->bNumDeviceCaps = (uint8_t)n;
    free(buf);
    *bos = b;
    return 0;
}

API void libusb_free_bos_descriptor(struct libusb_bos_descriptor *bos)
{
    if (!bos)
        return;
    for (int i = 0; i < bos->bNumDeviceCaps; i++)
        free(bos->dev_capability[i]);
    free(bos);
}

API int libusb_get_usb_2_0_extension_descriptor(
    libusb_context *ctx, struct libusb_bos_dev_capability_descriptor *cap,
    struct libusb_usb_2_0_extension_descriptor **out)
{
    (void)ctx;
    const uint8_t *d = (const uint8_t *)cap;
    if (d[2] != LIBUSB_BT_USB_2_0_EXTENSION || d[0] < LIBUSB_BT_USB_2_0_EXTENSION_SIZE)
        return LIBUSB_ERROR_INVALID_PARAM;
    struct libusb_usb_2_0_extension_descriptor *e = calloc(1, sizeof *e);
    if (!e)
        return LIBUSB_ERROR_NO_MEM;
    e->bLength = d[0];
    e->bDescriptorType = d[1];
    e->bDevCapabilityType = d[2];
    e->bmAttributes = (uint32_t)d[3] | (uint32_t)d[4] << 8 | (uint32_t)d[5] << 16 |
                      (uint32_t)d[6] << 24;
    *out = e;
    return 0;
}

API void libusb_free_usb_2_0_extension_descriptor(struct libusb_usb_2_0_extension_descriptor *e)
{
    free(e);
}

API int libusb_get_ss_usb_device_capability_descriptor(
    libusb_context *ctx, struct libusb_bos_dev_capability_descriptor *cap,
    struct libusb_ss_usb_device_capability_descriptor **out)
{
    (void)ctx;
    const uint8_t *d = (const uint8_t *)cap;
    if (d[2] != LIBUSB_BT_SS_USB_DEVICE_CAPABILITY ||
        d[0] < LIBUSB_BT_SS_USB_DEVICE_CAPABILITY_SIZE)
        return LIBUSB_ERROR_INVALID_PARAM;
    struct libusb_ss_usb_device_capability_descriptor *s = calloc(1, sizeof *s);
    if (!s)
        return LIBUSB_ERROR_NO_MEM;
    s->bLength = d[0];
    s->bDescriptorType = d[1];
    s->bDevCapabilityType = d[2];
    s->bmAttributes = d[3];
    s->wSpeedSupported = usbi_le16(d + 4);
    s->bFunctionalitySupport = d[6];
    s->bU1DevExitLat = d[7];
    s->bU2DevExitLat = usbi_le16(d + 8);
    *out = s;
    return 0;
}

API void libusb_free_ss_usb_device_capability_descriptor(
    struct libusb_ss_usb_device_capability_descriptor *s)
{
    free(s);
}

API int libusb_get_container_id_descriptor(libusb_context *ctx,
                                           struct libusb_bos_dev_capability_descriptor *cap,
                                           struct libusb_container_id_descriptor **out)
{
    (void)ctx;
    const uint8_t *d = (const uint8_t *)cap;
    if (d[2] != LIBUSB_BT_CONTAINER_ID || d[0] < LIBUSB_BT_CONTAINER_ID_SIZE)
        return LIBUSB_ERROR_INVALID_PARAM;
    struct libusb_container_id_descriptor *c = calloc(1, sizeof *c);
    if (!c)
        return LIBUSB_ERROR_NO_MEM;
    c->bLength = d[0];
    c->bDescriptorType = d[1];
    c->bDevCapabilityType = d[2];
    c->bReserved = d[3];
    memcpy(c->ContainerID, d + 4, 16);
    *out = c;
    return 0;
}

API void libusb_free_container_id_descriptor(struct libusb_container_id_descriptor *c)
{
    free(c);
}

/* USB 2.0 full-speed devices have no SuperSpeed endpoint companions. */
API int libusb_get_ss_endpoint_companion_descriptor(
    libusb_context *ctx, const struct libusb_endpoint_descriptor *endpoint,
    struct libusb_ss_endpoint_companion_descriptor **out)
{
    (void)ctx;
    for (int off = 0; endpoint->extra && off + 2 <= endpoint->extra_length;) {
        const uint8_t *d = endpoint->extra + off;
        if (d[0] < 2)
            break;
        if (d[1] == LIBUSB_DT_SS_ENDPOINT_COMPANION &&
            d[0] >= LIBUSB_DT_SS_ENDPOINT_COMPANION_SIZE &&
            off + d[0] <= endpoint->extra_length) {
            struct libusb_ss_endpoint_companion_descriptor *c = calloc(1, sizeof *c);
            if (!c)
                return LIBUSB_ERROR_NO_MEM;
            c->bLength = d[0];
            c->bDescriptorType = d[1];
            c->bMaxBurst = d[2];
            c->bmAttributes = d[3];
            c->wBytesPerInterval = usbi_le16(d + 4);
            *out = c;
            return 0;
        }
        off += d[0];
    }
    return LIBUSB_ERROR_NOT_FOUND;
}

API void libusb_free_ss_endpoint_companion_descriptor(
    struct libusb_ss_endpoint_companion_descriptor *c)
{
    free(c);
}
