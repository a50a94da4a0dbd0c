/*
 * handle.c - open, close and reset. A handle is one TCP connection kept
 * until libusb_close: on vboard a host open (OP_REQ_HOSTOPEN: several may
 * coexist, closing causes no bus reset, as with usbfs on a native host) and
 * a reset is OP_REQ_HOSTRESET (a port reset, like USBDEVFS_RESET); on a
 * plain USB/IP server an import, and a reset is a re-import (the server
 * resets the device when an importer leaves, as usbip-host does).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "usbip_net.h"

#define RETRY_MS 20
#define RESET_POLL_MS 20
#define DESC_TIMEOUT_MS 1000

API int libusb_open(libusb_device *dev, libusb_device_handle **handle)
{
    struct libusb_context *ctx = dev->ctx;
    struct libusb_device_handle *h = calloc(1, sizeof *h);
    if (!h)
        return LIBUSB_ERROR_NO_MEM;
    /* A device being enumerated (again) is refused until that is done; on a
     * plain USB/IP server that happens right after a list (or a previous
     * close), while it resets the device. */
    int64_t give_up = net_now_ms() + ctx->open_wait_ms;
    struct usbip_devinfo info;
    int r;
    for (;;) {
        int host = ctx->server_ext[dev->server] != SERVER_EXT_NO;
        r = usbip_import(&ctx->servers[dev->server], dev->info.busid, host, &h->conn, &info,
                         ctx->debug);
        if (r == USBIP_UNSUPPORTED) {
            ctx->server_ext[dev->server] = SERVER_EXT_NO;
            continue;
        }
        if (r != USBIP_IMPORT_REFUSED || net_now_ms() >= give_up)
            break;
        net_sleep_ms(RETRY_MS);
    }
    if (r != USBIP_IMPORT_OK) {
        free(h);
        return r == USBIP_IMPORT_REFUSED ? LIBUSB_ERROR_BUSY : LIBUSB_ERROR_NO_DEVICE;
    }
    /* Another device now on that port is not this libusb_device. */
    if (info.vid != usbi_le16(dev->desc + 8) || info.pid != usbi_le16(dev->desc + 10)) {
        usbip_close(&h->conn);
        free(h);
        return LIBUSB_ERROR_NO_DEVICE;
    }
    h->dev = libusb_ref_device(dev);
    h->next = ctx->handles;
    ctx->handles = h;
    if (ctx->pollfd_added)
        ctx->pollfd_added(h->conn.fd, POLLIN, ctx->pollfd_user);
    *handle = h;
    return 0;
}

API void libusb_close(libusb_device_handle *h)
{
    if (!h)
        return;
    struct libusb_context *ctx = h->dev->ctx;
    usbi_handle_closing(h);
    if (h->conn.fd >= 0 && ctx->pollfd_removed)
        ctx->pollfd_removed(h->conn.fd, ctx->pollfd_user);
    usbip_close(&h->conn);
    for (struct libusb_device_handle **p = &h->dev->ctx->handles; *p; p = &(*p)->next)
        if (*p == h) {
            *p = h->next;
            break;
        }
    libusb_unref_device(h->dev);
    free(h);
}

API libusb_device *libusb_get_device(libusb_device_handle *h) { return h->dev; }

API libusb_device_handle *libusb_open_device_with_vid_pid(libusb_context *ctx, uint16_t vid,
                                                          uint16_t pid)
{
    libusb_device **list;
    libusb_device_handle *h = NULL;
    if (libusb_get_device_list(ctx, &list) < 0)
        return NULL;
    for (libusb_device **p = list; *p; p++)
        if (usbi_le16((*p)->desc + 8) == vid && usbi_le16((*p)->desc + 10) == pid) {
            if (libusb_open(*p, &h) != 0)
                h = NULL;
            break;
        }
    libusb_free_device_list(list, 1);
    return h;
}

/* Imports busid again if it is back and still the same device: 0 done,
 * 1 not back yet, LIBUSB_ERROR_NOT_FOUND a different device. */
static int reimport(libusb_device_handle *h)
{
    struct libusb_device *dev = h->dev;
    struct libusb_context *ctx = dev->ctx;
    struct usbip_devinfo info;
    struct libusb_device_handle tmp = {.dev = dev};
    if (usbip_import(&ctx->servers[dev->server], dev->info.busid, 0, &tmp.conn, &info,
                     ctx->debug) != USBIP_IMPORT_OK)
        return 1;
    uint8_t d[LIBUSB_DT_DEVICE_SIZE];
    uint8_t setup[8] = {0x80, LIBUSB_REQUEST_GET_DESCRIPTOR, 0, LIBUSB_DT_DEVICE, 0, 0,
                        sizeof d, 0};
    int r = usbi_control(&tmp, setup, d, DESC_TIMEOUT_MS);
    if (r < 0) {
        usbip_close(&tmp.conn);
        return 1; /* still coming up */
    }
    /* libusb reports a device whose descriptors changed as gone. */
    if (r != sizeof d || memcmp(d, dev->desc, sizeof d) != 0) {
        usbip_close(&tmp.conn);
        return LIBUSB_ERROR_NOT_FOUND;
    }
    h->conn = tmp.conn;
    dev->info.devnum = info.devnum;
    return 0;
}

/*
 * vboard: OP_REQ_HOSTRESET, answered once the device is enumerated again at
 * its address; the handle's connection stays (as a usbfs file does across
 * USBDEVFS_RESET). A device that came back different, or not at all, is
 * LIBUSB_ERROR_NOT_FOUND, as in libusb; its handle then fails NO_DEVICE.
 *
 * Plain USB/IP: closing the import makes the server reset and re-enumerate
 * the device (as Linux usbip-host does when its importer leaves); then the
 * same busid is imported again once it is listed and answers with the same
 * descriptor.
 */
API int libusb_reset_device(libusb_device_handle *h)
{
    struct libusb_context *ctx = h->dev->ctx;
    if (ctx->server_ext[h->dev->server] == SERVER_EXT_YES) {
        if (h->conn.fd < 0)
            return LIBUSB_ERROR_NOT_FOUND; /* the device went away */
        /* enumeration takes ~0.1 s of virtual time; a slow board more */
        int r = usbip_hostreset(&ctx->servers[h->dev->server], h->dev->info.busid,
                                ctx->reset_wait_ms + 5000, ctx->debug);
        if (r == 0)
            return 0;
        if (r > 0 || r == USBIP_IMPORT_UNREACHABLE) {
            usbi_handle_dead(h);
            return LIBUSB_ERROR_NOT_FOUND;
        }
    }
    usbi_handle_closing(h);
    usbip_close(&h->conn);
    int64_t give_up = net_now_ms() + h->dev->ctx->reset_wait_ms;
    do {
        net_sleep_ms(RESET_POLL_MS);
        int r = reimport(h);
        if (r <= 0)
            return r;
    } while (net_now_ms() < give_up);
    return LIBUSB_ERROR_NOT_FOUND;
}
