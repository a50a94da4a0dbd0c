/*
 * internal.h - state shared by the files of the USB/IP libusb replacement.
 *
 * There is no backend and no event loop: every libusb_device is a device
 * exported by a USB/IP server, and every libusb_device_handle owns one TCP
 * connection on which the device is imported. Transfers are synchronous.
 */
#ifndef LIBUSB_USBIP_INTERNAL_H
#define LIBUSB_USBIP_INTERNAL_H

#include <libusb-1.0/libusb.h>
#include <stddef.h>
#include <stdint.h>

#include "usbip_client.h"

#define API __attribute__((visibility("default")))

struct libusb_context {
    struct usbip_server *servers;
    int nservers;
    int debug;                            /* LIBUSB_USBIP_DEBUG: print URBs */
    int users;                            /* libusb_init calls on the default context */
    int open_wait_ms;                     /* how long open waits for a re-enumerating device */
    int reset_wait_ms;                    /* how long reset waits for the device to return */
    int list_wait_ms;                     /* how long a list retries a refused import */
    int empty_wait_ms;                    /* how long a list re-asks a server listing nothing */
    struct libusb_device_handle *handles; /* open handles, newest first */
    struct libusb_device *devices;        /* every live device, freed by libusb_exit */
};

struct libusb_device {
    int refcnt;
    struct libusb_context *ctx;
    int server;                  /* index into ctx->servers */
    struct usbip_devinfo info;   /* as the devlist (or import) reported it */
    uint8_t bus_number;          /* 1 + server index */
    uint8_t ports[7];            /* from the busid "B-P.P..." */
    int nports;
    uint8_t desc[LIBUSB_DT_DEVICE_SIZE]; /* raw device descriptor */
    int nconfigs;                /* raw configurations held (0 if unreadable) */
    uint8_t **configs;
    int *config_len;
    uint8_t active_config;       /* bConfigurationValue */
    struct libusb_device *next;  /* in ctx->devices */
};

struct libusb_device_handle {
    struct libusb_device *dev;
    struct usbip_conn conn;
    uint32_t claimed;            /* bit per interface number < 32 */
    struct libusb_device_handle *next;
};

/* core.c */
struct libusb_context *usbi_ctx(struct libusb_context *ctx);

/* device.c */
/* Frees a device whatever its count (libusb_exit). */
void usbi_free_device(struct libusb_device *dev);
/* Copies the raw descriptors of src into dst (replacing what dst held). */
int usbi_copy_descriptors(struct libusb_device *dst, const struct libusb_device *src);
void usbi_free_descriptors(struct libusb_device *dev);
/* Reads device and configuration descriptors over an imported connection. */
int usbi_read_descriptors(struct libusb_device *dev, struct usbip_conn *c);

/* descriptors.c */
int usbi_parse_config(const uint8_t *p, int size, struct libusb_config_descriptor **out);
const uint8_t *usbi_find_config(const struct libusb_device *dev, int value, int *len);

static inline uint16_t usbi_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

#endif
