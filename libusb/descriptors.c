/*
 * descriptors.c - raw descriptors to libusb's structs. Configurations are
 * split the way libusb does it, because callers depend on where unknown
 * descriptors land: class descriptors before the first interface go to the
 * configuration's extra, those after an interface (dfu-util's DFU functional
 * descriptor) to that altsetting's extra, those after an endpoint to the
 * endpoint's extra.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A descriptor that ends a run of "extra" ones. */
static int is_structural(uint8_t type)
{
    return type == LIBUSB_DT_INTERFACE || type == LIBUSB_DT_ENDPOINT ||
           type == LIBUSB_DT_CONFIG || type == LIBUSB_DT_DEVICE;
}

/* Length of the run of non-structural descriptors at p (whole ones only);
 * -1 if a descriptor claims a length below 2. */
static int extra_run(const uint8_t *p, int size)
{
    int n = 0;
    while (size - n >= 2) {
        if (p[n] < 2)
            return -1;
        if (p[n] > size - n || is_structural(p[n + 1]))
            break;
        n += p[n];
    }
    return n;
}

static int dup_extra(const uint8_t *p, int len, const unsigned char **extra, int *extra_len)
{
    *extra = NULL;
    *extra_len = 0;
    if (len <= 0)
        return 0;
    unsigned char *e = malloc((size_t)len);
    if (!e)
        return LIBUSB_ERROR_NO_MEM;
    memcpy(e, p, (size_t)len);
    *extra = e;
    *extra_len = len;
    return 0;
}

/* Returns bytes consumed (0: not an endpoint here) or an error. */
static int parse_endpoint(struct libusb_endpoint_descriptor *ep, const uint8_t *p, int size)
{
    if (size < 2 || p[1] != LIBUSB_DT_ENDPOINT || p[0] > size)
        return 0;
    if (p[0] < LIBUSB_DT_ENDPOINT_SIZE)
        return LIBUSB_ERROR_IO;
    ep->bLength = p[0];
    ep->bDescriptorType = p[1];
    ep->bEndpointAddress = p[2];
    ep->bmAttributes = p[3];
    ep->wMaxPacketSize = usbi_le16(p + 4);
    ep->bInterval = p[6];
    if (p[0] >= LIBUSB_DT_ENDPOINT_AUDIO_SIZE) {
        ep->bRefresh = p[7];
        ep->bSynchAddress = p[8];
    }
    int used = p[0];
    int run = extra_run(p + used, size - used);
    if (run < 0)
        return LIBUSB_ERROR_IO;
    int r = dup_extra(p + used, run, &ep->extra, &ep->extra_length);
    return r < 0 ? r : used + run;
}

static void clear_interface(struct libusb_interface *itf)
{
    for (int a = 0; a < itf->num_altsetting; a++) {
        const struct libusb_interface_descriptor *alt = &itf->altsetting[a];
        for (int e = 0; alt->endpoint && e < alt->bNumEndpoints; e++)
            free((void *)alt->endpoint[e].extra);
        free((void *)alt->endpoint);
        free((void *)alt->extra);
    }
    free((void *)itf->altsetting);
    itf->altsetting = NULL;
    itf->num_altsetting = 0;
}

/* One interface: consecutive interface descriptors with the same number are
 * its altsettings. Returns bytes consumed (0: none here) or an error. */
static int parse_interface(struct libusb_interface *itf, const uint8_t *p, int size)
{
    int used = 0, number = -1;
    while (size - used >= LIBUSB_DT_INTERFACE_SIZE) {
        const uint8_t *d = p + used;
        if (d[1] != LIBUSB_DT_INTERFACE || (number >= 0 && d[2] != number) || d[0] > size - used)
            break;
        if (d[0] < LIBUSB_DT_INTERFACE_SIZE)
            return LIBUSB_ERROR_IO;
        struct libusb_interface_descriptor *alts =
            realloc((void *)itf->altsetting, sizeof *alts * (size_t)(itf->num_altsetting + 1));
        if (!alts)
            return LIBUSB_ERROR_NO_MEM;
        itf->altsetting = alts;
        struct libusb_interface_descriptor *alt = &alts[itf->num_altsetting++];
        memset(alt, 0, sizeof *alt);
        alt->bLength = d[0];
        alt->bDescriptorType = d[1];
        alt->bInterfaceNumber = d[2];
        alt->bAlternateSetting = d[3];
        alt->bNumEndpoints = d[4];
        alt->bInterfaceClass = d[5];
        alt->bInterfaceSubClass = d[6];
        alt->bInterfaceProtocol = d[7];
        alt->iInterface = d[8];
        number = d[2];
        used += d[0];
        int run = extra_run(p + used, size - used);
        if (run < 0)
            return LIBUSB_ERROR_IO;
        int r = dup_extra(p + used, run, &alt->extra, &alt->extra_length);
        if (r < 0)
            return r;
        used += run;
        if (alt->bNumEndpoints) {
            struct libusb_endpoint_descriptor *eps = calloc(alt->bNumEndpoints, sizeof *eps);
            if (!eps)
                return LIBUSB_ERROR_NO_MEM;
            alt->endpoint = eps;
            for (int e = 0; e < alt->bNumEndpoints; e++) {
                r = parse_endpoint(&eps[e], p + used, size - used);
                if (r < 0)
                    return r;
                if (r == 0) { /* fewer endpoints than announced: keep what is there */
                    alt->bNumEndpoints = (uint8_t)e;
                    break;
                }
                used += r;
            }
        }
    }
    return used;
}

int usbi_parse_config(const uint8_t *p, int size, struct libusb_config_descriptor **out)
{
    if (size < LIBUSB_DT_CONFIG_SIZE || p[1] != LIBUSB_DT_CONFIG ||
        p[0] < LIBUSB_DT_CONFIG_SIZE || p[0] > size)
        return LIBUSB_ERROR_IO;
    struct libusb_config_descriptor *c = calloc(1, sizeof *c);
    if (!c)
        return LIBUSB_ERROR_NO_MEM;
    c->bLength = p[0];
    c->bDescriptorType = p[1];
    c->wTotalLength = usbi_le16(p + 2);
    c->bNumInterfaces = p[4];
    c->bConfigurationValue = p[5];
    c->iConfiguration = p[6];
    c->bmAttributes = p[7];
    c->MaxPower = p[8];
    struct libusb_interface *itfs = calloc(c->bNumInterfaces ? c->bNumInterfaces : 1, sizeof *itfs);
    if (!itfs) {
        free(c);
        return LIBUSB_ERROR_NO_MEM;
    }
    c->interface = itfs;
    int used = p[0], r = 0;
    for (int i = 0; i < c->bNumInterfaces; i++) {
        /* Extra descriptors before each interface all go to the config. */
        int run = extra_run(p + used, size - used);
        if (run < 0) {
            r = LIBUSB_ERROR_IO;
            break;
        }
        if (run > 0) {
            unsigned char *e = realloc((void *)c->extra, (size_t)(c->extra_length + run));
            if (!e) {
                r = LIBUSB_ERROR_NO_MEM;
                break;
            }
            memcpy(e + c->extra_length, p + used, (size_t)run);
            c->extra = e;
            c->extra_length += run;
            used += run;
        }
        r = parse_interface(&itfs[i], p + used, size - used);
        if (r < 0)
            break;
        if (r == 0) { /* fewer interfaces than announced */
            c->bNumInterfaces = (uint8_t)i;
            break;
        }
        used += r;
        r = 0;
    }
    if (r < 0) {
        libusb_free_config_descriptor(c);
        return r;
    }
    *out = c;
    return 0;
}

API void libusb_free_config_descriptor(struct libusb_config_descriptor *c)
{
    if (!c)
        return;
    /* Interfaces the parser dropped still hold nothing; clear all allocated. */
    for (int i = 0; c->interface && i < c->bNumInterfaces; i++)
        clear_interface((struct libusb_interface *)&c->interface[i]);
    free((void *)c->interface);
    free((void *)c->extra);
    free(c);
}

API int libusb_get_device_descriptor(libusb_device *dev, struct libusb_device_descriptor *d)
{
    const uint8_t *p = dev->desc;
    d->bLength = p[0];
    d->bDescriptorType = p[1];
    d->bcdUSB = usbi_le16(p + 2);
    d->bDeviceClass = p[4];
    d->bDeviceSubClass = p[5];
    d->bDeviceProtocol = p[6];
    d->bMaxPacketSize0 = p[7];
    d->idVendor = usbi_le16(p + 8);
    d->idProduct = usbi_le16(p + 10);
    d->bcdDevice = usbi_le16(p + 12);
    d->iManufacturer = p[14];
    d->iProduct = p[15];
    d->iSerialNumber = p[16];
    d->bNumConfigurations = p[17];
    return 0;
}

API int libusb_get_config_descriptor(libusb_device *dev, uint8_t index,
                                     struct libusb_config_descriptor **config)
{
    if (index >= dev->nconfigs)
        return LIBUSB_ERROR_NOT_FOUND;
    return usbi_parse_config(dev->configs[index], dev->config_len[index], config);
}

const uint8_t *usbi_find_config(const struct libusb_device *dev, int value, int *len)
{
    for (int i = 0; i < dev->nconfigs; i++)
        if (dev->configs[i][5] == value) {
            *len = dev->config_len[i];
            return dev->configs[i];
        }
    return NULL;
}

API int libusb_get_config_descriptor_by_value(libusb_device *dev, uint8_t value,
                                              struct libusb_config_descriptor **config)
{
    int len;
    const uint8_t *p = usbi_find_config(dev, value, &len);
    if (!p)
        return LIBUSB_ERROR_NOT_FOUND;
    return usbi_parse_config(p, len, config);
}

API int libusb_get_active_config_descriptor(libusb_device *dev,
                                            struct libusb_config_descriptor **config)
{
    if (!dev->active_config)
        return LIBUSB_ERROR_NOT_FOUND; /* unconfigured */
    return libusb_get_config_descriptor_by_value(dev, dev->active_config, config);
}

API int libusb_get_max_packet_size(libusb_device *dev, unsigned char endpoint)
{
    struct libusb_config_descriptor *c;
    int r = libusb_get_active_config_descriptor(dev, &c);
    if (r < 0)
        return r;
    r = LIBUSB_ERROR_NOT_FOUND;
    for (int i = 0; i < c->bNumInterfaces && r < 0; i++)
        for (int a = 0; a < c->interface[i].num_altsetting && r < 0; a++) {
            const struct libusb_interface_descriptor *alt = &c->interface[i].altsetting[a];
            for (int e = 0; e < alt->bNumEndpoints; e++)
                if (alt->endpoint[e].bEndpointAddress == endpoint) {
                    r = alt->endpoint[e].wMaxPacketSize & 0x7FF;
                    break;
                }
        }
    libusb_free_config_descriptor(c);
    return r;
}
