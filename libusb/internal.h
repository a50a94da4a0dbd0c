/*
 * internal.h - state shared by the files of the USB/IP libusb replacement.
 *
 * There is no backend: every libusb_device is a device exported by a USB/IP
 * server, and every libusb_device_handle owns one TCP connection on which
 * the device is opened (vboard's OP_REQ_HOSTOPEN, or a standard import on
 * other servers). Transfers are asynchronous (transfer.c); the synchronous
 * calls wait for them by handling events, as libusb does.
 */
#ifndef LIBUSB_USBIP_INTERNAL_H
#define LIBUSB_USBIP_INTERNAL_H

#include <libusb-1.0/libusb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "usbip_client.h"

#define API __attribute__((visibility("default")))

struct usbi_transfer;

/* What a server offers (found out by the first list that asks it). */
#define SERVER_EXT_UNKNOWN 0
#define SERVER_EXT_YES 1 /* vboard: HOSTDESC / HOSTOPEN / HOSTRESET */
#define SERVER_EXT_NO 2  /* plain USB/IP (usbipd): imports only */

struct libusb_context {
    struct usbip_server *servers;
    int nservers;
    int *server_ext;                      /* SERVER_EXT_* per server */
    int debug;                            /* LIBUSB_USBIP_DEBUG: print URBs */
    int users;                            /* libusb_init calls on the default context */
    int open_wait_ms;                     /* how long open waits for a re-enumerating device */
    int reset_wait_ms;                    /* how long reset waits for the device to return */
    int list_wait_ms;                     /* how long a list retries a refused import */
    int empty_wait_ms;                    /* how long a list re-asks a server listing nothing */
    struct libusb_device_handle *handles; /* open handles, newest first */
    struct libusb_device *devices;        /* every live device, freed by libusb_exit */
    /* transfers */
    struct usbi_transfer *flying;         /* submitted, no result yet */
    struct usbi_transfer *done;           /* result known, callback not yet run */
    pthread_mutex_t events_lock, waiters_lock;
    pthread_cond_t waiters_cond;
    int event_handler_active;
    libusb_pollfd_added_cb pollfd_added;
    libusb_pollfd_removed_cb pollfd_removed;
    void *pollfd_user;
};

/* The private part of a transfer, allocated just before the libusb_transfer
 * (and its iso packet descriptors). */
enum { T_IDLE, T_FLYING, T_UNLINKING, T_DONE };
struct usbi_transfer {
    struct libusb_context *ctx;
    struct libusb_device_handle *handle;
    struct usbi_transfer *next;  /* in ctx->flying or ctx->done */
    uint32_t seq, unlink_seq;
    int state, in, len;          /* len: data bytes (wLength for control) */
    uint8_t *data;               /* where IN data lands */
    enum libusb_transfer_status reason; /* what an unlink ends as */
    int64_t deadline, unlink_deadline;  /* net_now_ms(), -1 none */
    int claim_errno;             /* CMD_VB_CLAIM: the server's answer (errno) */
} __attribute__((aligned(16)));

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

/* transfer.c */
struct libusb_transfer *usbi_transfer_of(struct usbi_transfer *it);
/* The handle's connection broke: close it, its transfers end NO_DEVICE. */
void usbi_handle_dead(struct libusb_device_handle *h);
/* libusb_close: its flying transfers end CANCELLED (callbacks run now). */
void usbi_handle_closing(struct libusb_device_handle *h);
/* vboard's interface claim (on 1) or release (on 0) of interface
 * t->endpoint, sent on t->dev_handle's connection; completes like a
 * transfer, usbi_claim_errno then tells the server's answer. */
int usbi_submit_claim(struct libusb_transfer *t, int on);
int usbi_claim_errno(struct libusb_transfer *t);

/* io.c */
/* A control transfer on h, waited for (libusb_control_transfer without the
 * errno bookkeeping). */
int usbi_control(struct libusb_device_handle *h, const uint8_t setup[8], uint8_t *data,
                 unsigned timeout);

/* device.c */
/* Frees a device whatever its count (libusb_exit). */
void usbi_free_device(struct libusb_device *dev);
/* Copies the raw descriptors of src into dst (replacing what dst held). */
int usbi_copy_descriptors(struct libusb_device *dst, const struct libusb_device *src);
void usbi_free_descriptors(struct libusb_device *dev);
/* Reads device and configuration descriptors over an open handle (which may
 * be a short-lived one not in ctx->handles). */
int usbi_read_descriptors(struct libusb_device *dev, struct libusb_device_handle *h);
/* Fills dev's descriptors from a HOSTDESC blob (device + configurations). */
int usbi_set_descriptors(struct libusb_device *dev, const uint8_t *p, int len);

/* descriptors.c */
int usbi_parse_config(const uint8_t *p, int size, struct libusb_config_descriptor **out);
const uint8_t *usbi_find_config(const struct libusb_device *dev, int value, int *len);

static inline uint16_t usbi_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

#endif
