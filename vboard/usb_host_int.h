/*
 * usb_host_int.h - between the host controller (usb_host.c) and the USB/IP
 * server (usbip_server.c). Not for the board: it uses usb.h only.
 */
#ifndef VB_USB_HOST_INT_H
#define VB_USB_HOST_INT_H

#include "usb.h"

/* Status of a finished control transfer, as Linux reports it in urb->status. */
#define USBH_OK 0

struct usb_host;

/* One control transfer on endpoint 0, run as SETUP / DATA / STATUS
 * transactions. The caller owns the struct until done() is called (or it is
 * cancelled). */
struct usb_ctrl {
    uint8_t setup[8];
    uint8_t *data; /* wLength bytes: IN data lands here, OUT data is read here */
    size_t actual;
    int status;    /* 0, -EPIPE, -EPROTO, -ETIMEDOUT, -EOVERFLOW, -ESHUTDOWN */
    void (*done)(struct usb_host *h, struct usb_ctrl *c);
    void *ctx;
    /* engine state */
    int stage, toggle, errors;
    uint64_t deadline;
    struct usb_ctrl *next;
};

/* What the device said about itself during enumeration. */
struct usb_devinfo {
    uint8_t addr;
    uint8_t dev[18];
    uint8_t cfg[1024];
    size_t cfg_len;
    uint8_t config_value;  /* the configuration set (bConfigurationValue) */
    char serial[128];
};

/* Queues c for the exported device; false (and c untouched) when there is
 * no exported device. */
bool usb_host_submit(struct usb_host *h, struct usb_ctrl *c);
/* Takes c back if it has not completed; returns whether it was pending. */
bool usb_host_cancel(struct usb_host *h, struct usb_ctrl *c);
/* The enumerated, configured device, or NULL (none, or being reset). */
const struct usb_devinfo *usb_host_exported(const struct usb_host *h);
/* What OP_REQ_DEVLIST shows: the exported device, or the one being reset
 * after its importer left (import is refused until it is ready again). */
const struct usb_devinfo *usb_host_listed(const struct usb_host *h);
/* What Linux usbip-host does when its importer goes away (stub_dev.c:
 * usb_reset_device): bus reset and enumerate again at the same address. */
void usb_host_reset_device(struct usb_host *h);
struct vb *usb_host_vb(const struct usb_host *h);
/* A SET_CONFIGURATION from the importer succeeded: what devlists show. */
void usb_host_note_config(struct usb_host *h, uint8_t value);

/* A bus analyser on the cable, for tests: one call per SOF, reset, and
 * transaction, at the virtual time it happens. hs is what the host saw
 * (USB_HS_NONE for a transaction that got no valid answer); lost is true
 * when the noisy cable corrupted one of its packets. */
enum usb_tap_kind { USB_TAP_SOF, USB_TAP_RESET, USB_TAP_RESET_END, USB_TAP_SETUP, USB_TAP_OUT,
                    USB_TAP_IN };
struct usb_tap_event {
    enum usb_tap_kind kind;
    uint64_t t_ns;
    uint8_t addr, ep;
    uint8_t setup[8]; /* USB_TAP_SETUP */
    size_t len;       /* data bytes (IN: what the device sent) */
    enum usb_hs hs;
    bool lost;
};
typedef void (*usb_tap_fn)(void *ctx, const struct usb_tap_event *e);
void usb_host_set_tap(struct usb_host *h, usb_tap_fn fn, void *ctx);

/* ---- usbip_server.c ------------------------------------------------------ */
struct usbip_server;
struct usbip_server *usbip_server_new(struct usb_host *h, const char *bind_addr, uint16_t port);
/* Serves the sockets, waiting up to wait_ms for activity. */
void usbip_server_poll(struct usbip_server *s, int wait_ms);
/* The device went away: fail pending URBs, drop the importer. */
void usbip_server_device_gone(struct usbip_server *s);
void usbip_server_free(struct usbip_server *s);
/* The bound port (useful with port 0 -> ephemeral in tests); 0 if none. */
uint16_t usbip_server_port(const struct usbip_server *s);

#endif
