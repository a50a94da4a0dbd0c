/*
 * io.c - requests on an open handle: the synchronous transfers (an
 * asynchronous transfer waited for, as libusb's sync.c does), the standard
 * requests libusb wraps, interface bookkeeping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STD_TIMEOUT_MS 1000

static void LIBUSB_CALL sync_done(struct libusb_transfer *t) { *(int *)t->user_data = 1; }

/* Submits t (claim: as vboard's interface claim, 1 release, 2 claim) and
 * handles events until it completes; the libusb error code of its status
 * (0 when completed). */
static int sync_run(struct libusb_transfer *t, int claim)
{
    int completed = 0;
    t->callback = sync_done;
    t->user_data = &completed;
    int r = claim ? usbi_submit_claim(t, claim == 2) : libusb_submit_transfer(t);
    if (r < 0)
        return r;
    libusb_context *ctx = t->dev_handle->dev->ctx;
    while (!completed) {
        r = libusb_handle_events_completed(ctx, &completed);
        if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED) {
            libusb_cancel_transfer(t);
            while (!completed)
                if (libusb_handle_events_completed(ctx, &completed) < 0 &&
                    libusb_cancel_transfer(t) == LIBUSB_ERROR_NOT_FOUND)
                    break;
        }
    }
    switch (t->status) {
    case LIBUSB_TRANSFER_COMPLETED: return 0;
    case LIBUSB_TRANSFER_TIMED_OUT: return LIBUSB_ERROR_TIMEOUT;
    case LIBUSB_TRANSFER_STALL: return LIBUSB_ERROR_PIPE;
    case LIBUSB_TRANSFER_NO_DEVICE: return LIBUSB_ERROR_NO_DEVICE;
    case LIBUSB_TRANSFER_OVERFLOW: return LIBUSB_ERROR_OVERFLOW;
    default: return LIBUSB_ERROR_IO;
    }
}

static int sync_wait(struct libusb_transfer *t) { return sync_run(t, 0); }

/* vboard (host opens): the server keeps the claims, so that two programs
 * cannot both hold an interface, as usbfs has it (EBUSY). */
static int server_claim(libusb_device_handle *h, int n, int on)
{
    if (h->dev->ctx->server_ext[h->dev->server] != SERVER_EXT_YES)
        return 0; /* a plain USB/IP importer owns the whole device anyway */
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    if (!t)
        return LIBUSB_ERROR_NO_MEM;
    t->dev_handle = h;
    t->endpoint = (unsigned char)n;
    t->timeout = STD_TIMEOUT_MS;
    int r = sync_run(t, on ? 2 : 1);
    if (r == LIBUSB_ERROR_IO) /* libusb's op_claim_interface mapping */
        r = usbi_claim_errno(t) == EBUSY ? LIBUSB_ERROR_BUSY : LIBUSB_ERROR_OTHER;
    libusb_free_transfer(t);
    return r;
}

int usbi_control(struct libusb_device_handle *h, const uint8_t setup[8], uint8_t *data,
                 unsigned timeout)
{
    int len = usbi_le16(setup + 6);
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    uint8_t *buf = malloc((size_t)LIBUSB_CONTROL_SETUP_SIZE + (size_t)len);
    if (!t || !buf) {
        libusb_free_transfer(t);
        free(buf);
        return LIBUSB_ERROR_NO_MEM;
    }
    memcpy(buf, setup, 8);
    if (!(setup[0] & LIBUSB_ENDPOINT_IN) && len)
        memcpy(buf + 8, data, (size_t)len);
    libusb_fill_control_transfer(t, h, buf, NULL, NULL, timeout);
    int r = sync_wait(t);
    if (r == 0) {
        r = t->actual_length;
        if (setup[0] & LIBUSB_ENDPOINT_IN)
            memcpy(data, buf + 8, (size_t)r);
    }
    libusb_free_transfer(t);
    free(buf);
    return r;
}

API int libusb_control_transfer(libusb_device_handle *h, uint8_t request_type, uint8_t request,
                                uint16_t value, uint16_t index, unsigned char *data,
                                uint16_t length, unsigned int timeout)
{
    uint8_t setup[8] = {request_type,         request,
                        (uint8_t)value,       (uint8_t)(value >> 8),
                        (uint8_t)index,       (uint8_t)(index >> 8),
                        (uint8_t)length,      (uint8_t)(length >> 8)};
    if (length && !data)
        return LIBUSB_ERROR_INVALID_PARAM;
    int r = usbi_control(h, setup, data, timeout);
    /* errno as usbfs leaves it: lsusb tells an expected stall (EPIPE) from
     * a real failure by errno, not by the return value. */
    if (r == LIBUSB_ERROR_PIPE)
        errno = EPIPE;
    else if (r == LIBUSB_ERROR_TIMEOUT)
        errno = ETIMEDOUT;
    else if (r == LIBUSB_ERROR_NO_DEVICE)
        errno = ENODEV;
    else if (r < 0)
        errno = EIO;
    return r;
}

static int data_transfer(libusb_device_handle *h, unsigned char endpoint, unsigned char *data,
                         int length, int *transferred, unsigned int timeout, unsigned char type)
{
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    if (!t)
        return LIBUSB_ERROR_NO_MEM;
    libusb_fill_bulk_transfer(t, h, endpoint, data, length, NULL, NULL, timeout);
    t->type = type;
    int r = sync_wait(t);
    /* libusb reports what moved even when the transfer then failed. */
    if (transferred)
        *transferred = t->actual_length;
    libusb_free_transfer(t);
    return r;
}

API int libusb_bulk_transfer(libusb_device_handle *h, unsigned char endpoint, unsigned char *data,
                             int length, int *transferred, unsigned int timeout)
{
    return data_transfer(h, endpoint, data, length, transferred, timeout,
                         LIBUSB_TRANSFER_TYPE_BULK);
}

API int libusb_interrupt_transfer(libusb_device_handle *h, unsigned char endpoint,
                                  unsigned char *data, int length, int *transferred,
                                  unsigned int timeout)
{
    return data_transfer(h, endpoint, data, length, transferred, timeout,
                         LIBUSB_TRANSFER_TYPE_INTERRUPT);
}

/* 1 if the active configuration has interface number n, 0 if not, 1 also
 * when we could not read the configuration (nothing to check against). */
static int has_interface(struct libusb_device *dev, int n)
{
    int len;
    const uint8_t *p = usbi_find_config(dev, dev->active_config, &len);
    if (!p && dev->nconfigs)
        p = dev->configs[0], len = dev->config_len[0];
    if (!p)
        return 1;
    struct libusb_config_descriptor *c;
    if (usbi_parse_config(p, len, &c) < 0)
        return 1;
    int found = 0;
    for (int i = 0; i < c->bNumInterfaces && !found; i++)
        found = c->interface[i].num_altsetting &&
                c->interface[i].altsetting[0].bInterfaceNumber == n;
    libusb_free_config_descriptor(c);
    return found;
}

/* Claiming is local: a USB/IP importer already owns the whole device. */
API int libusb_claim_interface(libusb_device_handle *h, int n)
{
    if (n < 0 || n >= 32)
        return LIBUSB_ERROR_INVALID_PARAM;
    if (!has_interface(h->dev, n))
        return LIBUSB_ERROR_NOT_FOUND;
    if (h->conn.fd < 0)
        return LIBUSB_ERROR_NO_DEVICE;
    if (h->claimed & 1u << n)
        return 0; /* libusb: claiming twice is fine */
    int r = server_claim(h, n, 1);
    if (r < 0)
        return r;
    h->claimed |= 1u << n;
    return 0;
}

API int libusb_release_interface(libusb_device_handle *h, int n)
{
    if (n < 0 || n >= 32)
        return LIBUSB_ERROR_INVALID_PARAM;
    if (!(h->claimed & 1u << n))
        return LIBUSB_ERROR_NOT_FOUND;
    h->claimed &= ~(1u << n);
    int r = server_claim(h, n, 0);
    return r == LIBUSB_ERROR_NO_DEVICE ? r : 0;
}

API int libusb_set_interface_alt_setting(libusb_device_handle *h, int n, int alt)
{
    if (n < 0 || n >= 32 || alt < 0 || alt > 255)
        return LIBUSB_ERROR_INVALID_PARAM;
    if (!(h->claimed & 1u << n))
        return LIBUSB_ERROR_NOT_FOUND;
    int r = libusb_control_transfer(h, LIBUSB_RECIPIENT_INTERFACE, LIBUSB_REQUEST_SET_INTERFACE,
                                    (uint16_t)alt, (uint16_t)n, NULL, 0, STD_TIMEOUT_MS);
    return r < 0 ? r : 0;
}

API int libusb_set_configuration(libusb_device_handle *h, int config)
{
    /* -1 is libusb's "unconfigured", which is configuration value 0 on the wire. */
    uint16_t v = config < 0 ? 0 : (uint16_t)config;
    int r = libusb_control_transfer(h, LIBUSB_RECIPIENT_DEVICE, LIBUSB_REQUEST_SET_CONFIGURATION,
                                    v, 0, NULL, 0, STD_TIMEOUT_MS);
    if (r < 0)
        return r;
    h->dev->active_config = (uint8_t)v;
    return 0;
}

API int libusb_get_configuration(libusb_device_handle *h, int *config)
{
    uint8_t v = 0;
    int r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_CONFIGURATION, 0, 0,
                                    &v, 1, STD_TIMEOUT_MS);
    if (r == LIBUSB_ERROR_NO_DEVICE)
        return r;
    *config = r == 1 ? v : h->dev->active_config; /* fall back on what the server said */
    return 0;
}

API int libusb_clear_halt(libusb_device_handle *h, unsigned char endpoint)
{
    int r = libusb_control_transfer(h, LIBUSB_RECIPIENT_ENDPOINT, LIBUSB_REQUEST_CLEAR_FEATURE,
                                    0 /* ENDPOINT_HALT */, endpoint, NULL, 0, STD_TIMEOUT_MS);
    return r < 0 ? r : 0;
}

/* No kernel drivers on the far side of USB/IP that we could see or move. */
API int libusb_kernel_driver_active(libusb_device_handle *h, int n)
{
    (void)h;
    (void)n;
    return 0;
}

API int libusb_detach_kernel_driver(libusb_device_handle *h, int n)
{
    (void)h;
    (void)n;
    return LIBUSB_ERROR_NOT_FOUND;
}

API int libusb_attach_kernel_driver(libusb_device_handle *h, int n)
{
    (void)h;
    (void)n;
    return LIBUSB_ERROR_NOT_FOUND;
}

API int libusb_set_auto_detach_kernel_driver(libusb_device_handle *h, int enable)
{
    (void)h;
    (void)enable;
    return 0;
}
