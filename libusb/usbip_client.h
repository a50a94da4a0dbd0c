/*
 * usbip_client.h - the client side of the USB/IP wire protocol
 * (Linux Documentation/usb/usbip_protocol.rst): device list and import, and
 * vboard's host-side operations (HOSTDESC, HOSTOPEN, HOSTRESET; see
 * vboard/usbip_server.c). URBs are transfer.c's business. Knows nothing of
 * libusb objects, only its error codes.
 */
#ifndef LIBUSB_USBIP_CLIENT_H
#define LIBUSB_USBIP_CLIENT_H

#include <stdint.h>

struct usbip_server {
    char host[256];
    char port[16];
};

/* One exported device as OP_REP_DEVLIST / OP_REP_IMPORT describe it. */
struct usbip_devinfo {
    char path[257];
    char busid[33];
    uint32_t busnum, devnum, speed;
    uint16_t vid, pid, bcd;
    uint8_t cls, subcls, proto, cfgval, nconfigs, nifaces;
};

#define USBIP_MAX_STALE 8

/* An imported device: the TCP connection that carries its URBs. */
struct usbip_conn {
    int fd;          /* -1 when closed */
    uint32_t seqnum; /* last seqnum used */
    uint32_t devid;  /* busnum << 16 | devnum of the import reply */
    int debug;
    /* URBs we unlinked but whose RET_SUBMIT may still come: an IN reply
     * carries data we must consume to stay in step with the stream. */
    uint32_t stale_seq[USBIP_MAX_STALE];
    uint8_t stale_in[USBIP_MAX_STALE];
    int nstale;
};

/* Parses "host:port,host:port" (NULL or empty: 127.0.0.1:3240). Returns the
 * number of servers; *out is malloc'd. */
int usbip_parse_servers(const char *spec, struct usbip_server **out);

/* OP_REQ_DEVLIST. Returns the device count (*out malloc'd, may be NULL when
 * 0) or -1 when the server cannot be reached or answers nonsense. */
int usbip_devlist(const struct usbip_server *s, struct usbip_devinfo **out, int debug);

#define USBIP_IMPORT_OK 0
#define USBIP_IMPORT_REFUSED 1 /* server answered with a non-zero status */
#define USBIP_IMPORT_UNREACHABLE (-1)
#define USBIP_UNSUPPORTED (-2) /* the server hung up on the request: not vboard */
/* OP_REQ_IMPORT (host 0) or vboard's OP_REQ_HOSTOPEN (host 1) on a new
 * connection; on success c is ready for URBs and info (if not NULL) holds
 * the reply's device block. */
int usbip_import(const struct usbip_server *s, const char *busid, int host, struct usbip_conn *c,
                 struct usbip_devinfo *info, int debug);
void usbip_close(struct usbip_conn *c);

/* vboard's OP_REQ_HOSTDESC: the descriptors the host read at enumeration
 * (device descriptor, then each configuration). On USBIP_IMPORT_OK *desc is
 * malloc'd (*len bytes) and info holds the device block. */
int usbip_hostdesc(const struct usbip_server *s, const char *busid, struct usbip_devinfo *info,
                   uint8_t **desc, int *len, int debug);

/* vboard's OP_REQ_HOSTRESET: waits up to wait_ms for the reply. Returns the
 * server's status (0 done, 1 failed, 2 the device changed), or
 * USBIP_IMPORT_UNREACHABLE / USBIP_UNSUPPORTED. */
int usbip_hostreset(const struct usbip_server *s, const char *busid, int wait_ms, int debug);

#endif
