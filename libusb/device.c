/*
 * device.c - device discovery: the device list built from the servers'
 * OP_REP_DEVLIST plus the descriptors the host read at enumeration (vboard's
 * OP_REQ_HOSTDESC: no bus traffic, like libusb reading sysfs on Linux), or,
 * from a plain USB/IP server, read through a short import; and the
 * reference counting of the devices.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "usbip_net.h"

#define DESC_TIMEOUT_MS 1000
#define RETRY_MS 20

void usbi_free_descriptors(struct libusb_device *dev)
{
    for (int i = 0; i < dev->nconfigs; i++)
        free(dev->configs[i]);
    free(dev->configs);
    free(dev->config_len);
    dev->configs = NULL;
    dev->config_len = NULL;
    dev->nconfigs = 0;
}

int usbi_copy_descriptors(struct libusb_device *dst, const struct libusb_device *src)
{
    usbi_free_descriptors(dst);
    memcpy(dst->desc, src->desc, sizeof dst->desc);
    if (!src->nconfigs)
        return 0;
    dst->configs = calloc((size_t)src->nconfigs, sizeof *dst->configs);
    dst->config_len = calloc((size_t)src->nconfigs, sizeof *dst->config_len);
    if (!dst->configs || !dst->config_len)
        return LIBUSB_ERROR_NO_MEM;
    for (int i = 0; i < src->nconfigs; i++) {
        dst->configs[i] = malloc((size_t)src->config_len[i]);
        if (!dst->configs[i])
            return LIBUSB_ERROR_NO_MEM;
        memcpy(dst->configs[i], src->configs[i], (size_t)src->config_len[i]);
        dst->config_len[i] = src->config_len[i];
        dst->nconfigs = i + 1;
    }
    return 0;
}

int usbi_set_descriptors(struct libusb_device *dev, const uint8_t *p, int len)
{
    if (len < LIBUSB_DT_DEVICE_SIZE || p[0] < LIBUSB_DT_DEVICE_SIZE || p[1] != LIBUSB_DT_DEVICE)
        return LIBUSB_ERROR_IO;
    usbi_free_descriptors(dev);
    memcpy(dev->desc, p, LIBUSB_DT_DEVICE_SIZE);
    int n = p[17];
    if (!n)
        return 0;
    dev->configs = calloc((size_t)n, sizeof *dev->configs);
    dev->config_len = calloc((size_t)n, sizeof *dev->config_len);
    if (!dev->configs || !dev->config_len)
        return LIBUSB_ERROR_NO_MEM;
    int off = LIBUSB_DT_DEVICE_SIZE;
    /* Each configuration is wTotalLength bytes, or what is left of the blob
     * (a short one is kept, as Linux keeps what the device gave). */
    for (int i = 0; i < n && len - off >= LIBUSB_DT_CONFIG_SIZE; i++) {
        const uint8_t *c = p + off;
        if (c[1] != LIBUSB_DT_CONFIG)
            break;
        int total = usbi_le16(c + 2);
        if (total < LIBUSB_DT_CONFIG_SIZE)
            break;
        if (total > len - off)
            total = len - off;
        dev->configs[i] = malloc((size_t)total);
        if (!dev->configs[i])
            return LIBUSB_ERROR_NO_MEM;
        memcpy(dev->configs[i], c, (size_t)total);
        dev->config_len[i] = total;
        dev->nconfigs = i + 1;
        off += total;
    }
    return 0;
}

static int get_desc(struct libusb_device_handle *h, uint8_t type, uint8_t index, uint8_t *buf,
                    int len)
{
    uint8_t setup[8] = {0x80, LIBUSB_REQUEST_GET_DESCRIPTOR, index, type, 0, 0,
                        (uint8_t)len, (uint8_t)(len >> 8)};
    return usbi_control(h, setup, buf, DESC_TIMEOUT_MS);
}

int usbi_read_descriptors(struct libusb_device *dev, struct libusb_device_handle *c)
{
    uint8_t d[LIBUSB_DT_DEVICE_SIZE];
    int r = get_desc(c, LIBUSB_DT_DEVICE, 0, d, sizeof d);
    if (r < 0)
        return r;
    if (r < LIBUSB_DT_DEVICE_SIZE || d[1] != LIBUSB_DT_DEVICE)
        return LIBUSB_ERROR_IO;
    usbi_free_descriptors(dev);
    memcpy(dev->desc, d, sizeof d);
    int n = d[17];
    if (!n)
        return 0;
    dev->configs = calloc((size_t)n, sizeof *dev->configs);
    dev->config_len = calloc((size_t)n, sizeof *dev->config_len);
    if (!dev->configs || !dev->config_len)
        return LIBUSB_ERROR_NO_MEM;
    for (int i = 0; i < n; i++) {
        /* The 9-byte header first: it tells the full length (wTotalLength). */
        uint8_t h[LIBUSB_DT_CONFIG_SIZE];
        r = get_desc(c, LIBUSB_DT_CONFIG, (uint8_t)i, h, sizeof h);
        if (r < 0)
            return r;
        if (r < LIBUSB_DT_CONFIG_SIZE || h[1] != LIBUSB_DT_CONFIG)
            return LIBUSB_ERROR_IO;
        int total = usbi_le16(h + 2);
        if (total < LIBUSB_DT_CONFIG_SIZE)
            return LIBUSB_ERROR_IO;
        uint8_t *buf = malloc((size_t)total);
        if (!buf)
            return LIBUSB_ERROR_NO_MEM;
        r = get_desc(c, LIBUSB_DT_CONFIG, (uint8_t)i, buf, total);
        if (r < LIBUSB_DT_CONFIG_SIZE) {
            free(buf);
            return r < 0 ? r : LIBUSB_ERROR_IO;
        }
        dev->configs[i] = buf;
        dev->config_len[i] = r; /* a short answer is kept as real libusb does */
        dev->nconfigs = i + 1;
    }
    return 0;
}

/* What the devlist says, for a device we cannot import to ask. */
static void synthesize_descriptor(struct libusb_device *dev)
{
    const struct usbip_devinfo *i = &dev->info;
    uint8_t d[LIBUSB_DT_DEVICE_SIZE] = {
        LIBUSB_DT_DEVICE_SIZE, LIBUSB_DT_DEVICE, 0x00, 0x02, i->cls, i->subcls, i->proto, 64,
        (uint8_t)i->vid, (uint8_t)(i->vid >> 8), (uint8_t)i->pid, (uint8_t)(i->pid >> 8),
        (uint8_t)i->bcd, (uint8_t)(i->bcd >> 8), 0, 0, 0, i->nconfigs};
    memcpy(dev->desc, d, sizeof d);
}

/* "1-1.2" -> ports 1, 2. A busid without that form gets port 1. */
static void parse_ports(struct libusb_device *dev)
{
    const char *p = strchr(dev->info.busid, '-');
    dev->nports = 0;
    while (p && dev->nports < (int)sizeof dev->ports) {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v <= 0 || v > 255)
            break;
        dev->ports[dev->nports++] = (uint8_t)v;
        p = *end == '.' ? end : NULL;
    }
    if (!dev->nports) {
        dev->ports[0] = 1;
        dev->nports = 1;
    }
}

static struct libusb_device_handle *find_open_handle(struct libusb_context *ctx, int server,
                                                     const char *busid)
{
    for (struct libusb_device_handle *h = ctx->handles; h; h = h->next)
        if (h->dev->server == server && strcmp(h->dev->info.busid, busid) == 0)
            return h;
    return NULL;
}

/* vboard: the host's copy of the descriptors. 1 done, 0 refused (listed
 * but gone meanwhile), -1 the server does not know the request. */
static int host_descriptors(struct libusb_context *ctx, int server, struct libusb_device *dev)
{
    if (ctx->server_ext[server] == SERVER_EXT_NO)
        return -1;
    struct usbip_devinfo info;
    uint8_t *p;
    int len;
    int r = usbip_hostdesc(&ctx->servers[server], dev->info.busid, &info, &p, &len, ctx->debug);
    if (r == USBIP_UNSUPPORTED) {
        ctx->server_ext[server] = SERVER_EXT_NO;
        return -1;
    }
    ctx->server_ext[server] = SERVER_EXT_YES;
    if (r != USBIP_IMPORT_OK)
        return 0;
    r = usbi_set_descriptors(dev, p, len);
    free(p);
    if (r)
        usbi_free_descriptors(dev);
    return r == 0;
}

/* A short-lived handle for reading descriptors over an import; not in
 * ctx->handles (event handling finds it through its transfers). */
static int read_over_import(struct libusb_device *dev,
                            struct usbip_conn *c)
{
    struct libusb_device_handle h = {.dev = dev, .conn = *c};
    int r = usbi_read_descriptors(dev, &h);
    usbip_close(&h.conn);
    return r;
}

/*
 * From vboard, the host's copy of the descriptors (HOSTDESC). From a plain
 * USB/IP server, whose devlist lacks most descriptor fields, each device is
 * imported on a short-lived connection and asked for them. A refused import is retried for
 * a while (ctx->list_wait_ms): a server that is resetting the device after
 * the previous importer left (usbip-host does) refuses until it is done, and
 * back-to-back dfu-util runs hit exactly that. A device that stays refused
 * (another importer holds it) is still listed: with the descriptors of our
 * own open handle when the holder is us (dfu-util re-lists while it holds
 * one), otherwise with a device descriptor made from the devlist fields and
 * no configurations. Listing it keeps `lsusb` truthful; dfu-util skips a
 * device whose configuration it cannot read.
 */
static struct libusb_device *make_device(struct libusb_context *ctx, int server,
                                         const struct usbip_devinfo *info)
{
    struct libusb_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return NULL;
    dev->refcnt = 1;
    dev->ctx = ctx;
    dev->server = server;
    dev->info = *info;
    dev->bus_number = (uint8_t)(1 + server);
    dev->active_config = info->cfgval;
    parse_ports(dev);
    dev->next = ctx->devices;
    ctx->devices = dev;
    int host = host_descriptors(ctx, server, dev);
    if (host > 0)
        return dev;
    struct libusb_device_handle *mine = find_open_handle(ctx, server, info->busid);
    if (mine && usbi_copy_descriptors(dev, mine->dev) == 0)
        return dev;
    if (host == 0) {
        synthesize_descriptor(dev);
        return dev;
    }
    int64_t give_up = net_now_ms() + ctx->list_wait_ms;
    for (;;) {
        struct usbip_conn c;
        int r = usbip_import(&ctx->servers[server], info->busid, 0, &c, NULL, ctx->debug);
        if (r == USBIP_IMPORT_OK) {
            int ok = read_over_import(dev, &c) == 0;
            if (ok)
                return dev;
            usbi_free_descriptors(dev);
            break;
        }
        if (r == USBIP_IMPORT_UNREACHABLE) {
            usbi_free_device(dev);
            return NULL;
        }
        if (net_now_ms() >= give_up)
            break;
        net_sleep_ms(RETRY_MS);
    }
    synthesize_descriptor(dev);
    return dev;
}

API ssize_t libusb_get_device_list(libusb_context *ctx, libusb_device ***list)
{
    ctx = usbi_ctx(ctx);
    if (!ctx || !list)
        return LIBUSB_ERROR_INVALID_PARAM;
    size_t n = 0, cap = 8;
    struct libusb_device **v = malloc(cap * sizeof *v);
    if (!v)
        return LIBUSB_ERROR_NO_MEM;
    for (int s = 0; s < ctx->nservers; s++) {
        struct usbip_devinfo *infos;
        int count = usbip_devlist(&ctx->servers[s], &infos, ctx->debug);
        /* A server resets and re-enumerates its device whenever an importer
         * leaves, and does not list it meanwhile: a list right after the
         * previous dfu-util exited would miss the board. A reachable server
         * with nothing to list is asked again for a short while. */
        int64_t give_up = net_now_ms() + ctx->empty_wait_ms;
        while (count == 0 && net_now_ms() < give_up) {
            free(infos);
            net_sleep_ms(RETRY_MS);
            count = usbip_devlist(&ctx->servers[s], &infos, ctx->debug);
        }
        for (int i = 0; i < count; i++) {
            struct libusb_device *dev = make_device(ctx, s, &infos[i]);
            if (!dev)
                continue;
            if (n + 1 >= cap) {
                cap *= 2;
                v = realloc(v, cap * sizeof *v);
            }
            v[n++] = dev;
        }
        free(infos);
    }
    v[n] = NULL;
    *list = v;
    return (ssize_t)n;
}

API void libusb_free_device_list(libusb_device **list, int unref_devices)
{
    if (!list)
        return;
    if (unref_devices)
        for (libusb_device **p = list; *p; p++)
            libusb_unref_device(*p);
    free(list);
}

API libusb_device *libusb_ref_device(libusb_device *dev)
{
    dev->refcnt++;
    return dev;
}

void usbi_free_device(struct libusb_device *dev)
{
    for (struct libusb_device **p = &dev->ctx->devices; *p; p = &(*p)->next)
        if (*p == dev) {
            *p = dev->next;
            break;
        }
    usbi_free_descriptors(dev);
    free(dev);
}

API void libusb_unref_device(libusb_device *dev)
{
    if (dev && --dev->refcnt == 0)
        usbi_free_device(dev);
}

