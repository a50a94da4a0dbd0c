/*
 * usbip_server.c - exports the enumerated device over USB/IP
 * (Linux Documentation/usb/usbip_protocol.rst; /work/shared/notes/usbip.md).
 *
 * Two kinds of client, because a remote `usbip attach` and a program on the
 * machine the device is plugged into see a device differently:
 *
 * - Standard USB/IP, as Linux usbip-host serves it: OP_REQ_DEVLIST,
 *   OP_REQ_IMPORT (one importer at a time), then CMD_SUBMIT / CMD_UNLINK.
 *   When the importer leaves, the device is reset and enumerated again
 *   (stub_dev.c calls usb_reset_device when its importer goes away).
 *
 * - vboard extensions for "a local program" (what usbfs gives a libusb
 *   program on a native Linux host), used by the replacement libusb:
 *   OP_REQ_HOSTDESC  the descriptors the host read at enumeration, as Linux's
 *                    sysfs `descriptors` file holds them: no bus traffic.
 *   OP_REQ_HOSTOPEN  like OP_REQ_IMPORT (same reply), then URBs; any number
 *                    at once, like several opens of /dev/bus/usb/BBB/DDD.
 *                    Closing one unlinks its own URBs and nothing else: no
 *                    bus reset, as closing a usbfs file causes none.
 *   OP_REQ_HOSTRESET a port reset and re-enumeration at the same address,
 *                    as Linux usb_reset_device (USBDEVFS_RESET); the reply
 *                    comes once it is done or failed.
 *   On a host open's connection, besides CMD_SUBMIT / CMD_UNLINK:
 *   CMD_VB_CLAIM     claim (direction 1) or release (0) interface number
 *                    `ep`, answered by RET_VB_CLAIM with status 0 or -EBUSY
 *                    when another host open holds it (usbfs claimintf:
 *                    one owner per interface); a close releases its claims.
 *   An import is refused while host opens exist, and a host open while the
 *   device is imported: usbip-host holds the device exclusively.
 *   The request layout is OP_REQ_IMPORT's (version, code, status, busid[32]).
 *   Codes 0x80A0..0x80A2 are unused by USB/IP (Linux usbip_network.h
 *   defines 0x8002..0x8007); Linux usbipd answers an unknown code by
 *   closing the connection ("received an unknown opcode"), which the
 *   replacement libusb takes as "not vboard" and falls back to imports.
 *
 * URBs on endpoint 0 are run as control transfers by usb_host.c.
 * Non-blocking sockets, served from usb_host_poll; nothing global, so
 * several vboard processes can serve several ports.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "usb_host_int.h"

#define MAX_CONNS 16
#define HDR 48
#define DEV_BLOCK 0x138
#define BUSID "1-1"
#define USBIP_VERSION 0x0111
#define OP_REQ_DEVLIST 0x8005
#define OP_REP_DEVLIST 0x0005
#define OP_REQ_IMPORT 0x8003
#define OP_REP_IMPORT 0x0003
#define OP_REQ_HOSTOPEN 0x80A0
#define OP_REQ_HOSTDESC 0x80A1
#define OP_REP_HOSTDESC 0x00A1
#define OP_REQ_HOSTRESET 0x80A2
#define OP_REP_HOSTRESET 0x00A2
#define HOSTRESET_OK 0
#define HOSTRESET_FAILED 1  /* no device, imported, or enumeration failed */
#define HOSTRESET_CHANGED 2 /* it came back as another device (new descriptors) */
#define CMD_VB_CLAIM 0x80A3 /* vboard: claim/release an interface (host opens) */
#define RET_VB_CLAIM 0x00A3
#define CMD_SUBMIT 1
#define CMD_UNLINK 2
#define RET_SUBMIT 3
#define RET_UNLINK 4
#define MAX_IN (HDR + 65536)

/* What a connection is, once its first request is read. */
enum conn_mode {
    C_OP,       /* before (or without) an import: DEVLIST, HOSTDESC */
    C_IMPORTED, /* OP_REQ_IMPORT: the one remote importer */
    C_HOSTOPEN, /* OP_REQ_HOSTOPEN: a local program's open handle */
    C_RESETTING /* OP_REQ_HOSTRESET: waiting for the re-enumeration */
};

struct urb {
    struct usbip_server *s;
    struct conn *conn; /* who submitted it and gets the RET_SUBMIT */
    uint32_t seqnum, devid, dir, ep, buflen;
    struct usb_ctrl c;
    uint8_t *buf;
    struct urb *next;
};

struct conn {
    int fd; /* -1: free slot */
    enum conn_mode mode;
    bool close_after_flush;
    uint8_t reset_dev[18]; /* C_RESETTING: the device descriptor before */
    uint32_t claimed;      /* C_HOSTOPEN: interfaces it claimed, bit per number */
    uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_cap;
};

struct usbip_server {
    struct usb_host *h;
    struct vb *vb;
    int lfd;
    uint16_t port;
    struct conn conns[MAX_CONNS];
    struct urb *urbs; /* submitted by the importer or host opens, not yet answered */
};

static void put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, v >> 16);
    put_be16(p + 2, v & 0xFFFF);
}
static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* ---- Output ---------------------------------------------------------------- */

static void conn_close(struct usbip_server *s, struct conn *c);

static void conn_flush(struct usbip_server *s, struct conn *c)
{
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(s, c);
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    if (c->close_after_flush)
        conn_close(s, c);
}

static void conn_send(struct conn *c, const void *p, size_t n)
{
    if (c->fd < 0)
        return;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *o = realloc(c->out, cap);
        if (!o)
            return;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static int count_mode(const struct usbip_server *s, enum conn_mode m)
{
    int n = 0;
    for (int i = 0; i < MAX_CONNS; i++)
        n += s->conns[i].fd >= 0 && s->conns[i].mode == m;
    return n;
}

/* ---- Before import ------------------------------------------------------- */

/* The device block of OP_REP_DEVLIST / OP_REP_IMPORT, from the descriptors
 * read during enumeration. */
static void dev_block(const struct usb_devinfo *d, uint8_t b[DEV_BLOCK])
{
    memset(b, 0, DEV_BLOCK);
    snprintf((char *)b, 256, "/sys/devices/platform/vboard/usb1/" BUSID);
    snprintf((char *)b + 0x100, 32, BUSID);
    put_be32(b + 0x120, 1);
    put_be32(b + 0x124, d->addr);
    put_be32(b + 0x128, 2); /* USB_SPEED_FULL */
    put_be16(b + 0x12C, d->dev[8] | d->dev[9] << 8);
    put_be16(b + 0x12E, d->dev[10] | d->dev[11] << 8);
    put_be16(b + 0x130, d->dev[12] | d->dev[13] << 8);
    b[0x132] = d->dev[4];
    b[0x133] = d->dev[5];
    b[0x134] = d->dev[6];
    b[0x135] = d->config_value;
    b[0x136] = d->dev[17];
    b[0x137] = d->cfg_len >= 5 ? d->cfg[4] : 0;
}

/* Class/subclass/protocol of alternate setting 0 of each interface. */
static void send_interfaces(struct conn *c, const struct usb_devinfo *d)
{
    unsigned sent = 0, want = d->cfg_len >= 5 ? d->cfg[4] : 0;
    for (size_t i = 0; i + 1 < d->cfg_len && d->cfg[i] >= 2 && sent < want; i += d->cfg[i]) {
        const uint8_t *x = d->cfg + i;
        if (x[1] == 4 && x[0] >= 9 && i + 9 <= d->cfg_len && x[3] == 0) {
            uint8_t e[4] = {x[5], x[6], x[7], 0};
            conn_send(c, e, 4);
            sent++;
        }
    }
    for (; sent < want; sent++) {
        uint8_t e[4] = {0};
        conn_send(c, e, 4);
    }
}

static void op_devlist(struct usbip_server *s, struct conn *c)
{
    const struct usb_devinfo *d = usb_host_listed(s->h);
    uint8_t hdr[12];
    put_be16(hdr, USBIP_VERSION);
    put_be16(hdr + 2, OP_REP_DEVLIST);
    put_be32(hdr + 4, 0);
    put_be32(hdr + 8, d ? 1 : 0);
    conn_send(c, hdr, sizeof hdr);
    if (d) {
        uint8_t b[DEV_BLOCK];
        dev_block(d, b);
        conn_send(c, b, sizeof b);
        send_interfaces(c, d);
    }
    c->close_after_flush = true;
}

static void op_header(struct conn *c, uint16_t code, uint32_t status)
{
    uint8_t hdr[8];
    put_be16(hdr, USBIP_VERSION);
    put_be16(hdr + 2, code);
    put_be32(hdr + 4, status);
    conn_send(c, hdr, sizeof hdr);
}

/* OP_REQ_IMPORT, or OP_REQ_HOSTOPEN (host): the same reply. A remote
 * importer holds the device alone; local opens share it with each other. */
static void op_import(struct usbip_server *s, struct conn *c, const char *busid, bool host)
{
    const struct usb_devinfo *d = usb_host_exported(s->h);
    bool ok = d && !count_mode(s, C_IMPORTED) && (host || !count_mode(s, C_HOSTOPEN)) &&
              !strncmp(busid, BUSID, 32);
    op_header(c, OP_REP_IMPORT, ok ? 0 : 1);
    vb_trace(s->vb, "usbip", "%s of %.32s %s", host ? "host open" : "import", busid,
             ok ? "accepted" : "refused");
    if (!ok) {
        c->close_after_flush = true;
        return;
    }
    uint8_t b[DEV_BLOCK];
    dev_block(d, b);
    conn_send(c, b, sizeof b);
    c->mode = host ? C_HOSTOPEN : C_IMPORTED;
}

/* OP_REQ_HOSTDESC: header, the device block, a be32 length, then the device
 * descriptor followed by the configuration, as read at enumeration (Linux
 * sysfs `descriptors`: "the raw device descriptor followed by the raw
 * configuration descriptors"). The device may be imported or re-enumerating:
 * the host's copy stays readable, as sysfs does. */
static void op_hostdesc(struct usbip_server *s, struct conn *c, const char *busid)
{
    const struct usb_devinfo *d = usb_host_listed(s->h);
    bool ok = d && !strncmp(busid, BUSID, 32);
    op_header(c, OP_REP_HOSTDESC, ok ? 0 : 1);
    vb_trace(s->vb, "usbip", "host descriptors of %.32s %s", busid, ok ? "sent" : "refused");
    c->close_after_flush = true;
    if (!ok)
        return;
    uint8_t b[DEV_BLOCK], len[4];
    dev_block(d, b);
    conn_send(c, b, sizeof b);
    put_be32(len, (uint32_t)(sizeof d->dev + d->cfg_len));
    conn_send(c, len, 4);
    conn_send(c, d->dev, sizeof d->dev);
    conn_send(c, d->cfg, d->cfg_len);
}

static void reset_reply(struct usbip_server *s, struct conn *c, uint32_t status)
{
    static const char *const what[] = {"done", "failed", "device changed"};
    vb_trace(s->vb, "usbip", "host reset %s", what[status]);
    op_header(c, OP_REP_HOSTRESET, status);
    c->close_after_flush = true;
    c->mode = C_OP;
}

/* OP_REQ_HOSTRESET: the reply waits for the re-enumeration (reset_poll). */
static void op_hostreset(struct usbip_server *s, struct conn *c, const char *busid)
{
    const struct usb_devinfo *d = usb_host_exported(s->h);
    if (!d || count_mode(s, C_IMPORTED) || strncmp(busid, BUSID, 32)) {
        reset_reply(s, c, HOSTRESET_FAILED);
        return;
    }
    vb_trace(s->vb, "usbip", "host reset of %.32s", busid);
    memcpy(c->reset_dev, d->dev, sizeof c->reset_dev);
    c->mode = C_RESETTING;
    usb_host_reset_device(s->h);
}

static void drop_host_opens(struct usbip_server *s);

/* Answers the resets whose re-enumeration is over. Linux usb_reset_device
 * reports a device whose descriptors changed as gone (its open files then
 * fail with ENODEV): the host opens are closed. */
static void reset_poll(struct usbip_server *s)
{
    const struct usb_devinfo *d = usb_host_exported(s->h);
    bool failed = !d && !usb_host_listed(s->h);
    bool changed = false;
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &s->conns[i];
        if (c->fd < 0 || c->mode != C_RESETTING || (!d && !failed))
            continue;
        uint32_t st = HOSTRESET_FAILED;
        if (d)
            st = memcmp(d->dev, c->reset_dev, sizeof c->reset_dev) ? HOSTRESET_CHANGED
                                                                    : HOSTRESET_OK;
        changed |= st == HOSTRESET_CHANGED;
        reset_reply(s, c, st);
        conn_flush(s, c);
    }
    if (changed)
        drop_host_opens(s);
}

/* Consumes one request of a connection not yet imported; the bytes used, 0
 * when more are needed, -1 on a protocol error. */
static long handle_op(struct usbip_server *s, struct conn *c)
{
    if (c->in_len < 8)
        return 0;
    uint16_t code = get_be16(c->in + 2);
    if (code == OP_REQ_DEVLIST) {
        op_devlist(s, c);
        return 8;
    }
    if (code == OP_REQ_IMPORT || code == OP_REQ_HOSTOPEN || code == OP_REQ_HOSTDESC ||
        code == OP_REQ_HOSTRESET) {
        if (c->in_len < 8 + 32)
            return 0;
        char busid[33];
        memcpy(busid, c->in + 8, 32);
        busid[32] = 0;
        if (code == OP_REQ_HOSTDESC)
            op_hostdesc(s, c, busid);
        else if (code == OP_REQ_HOSTRESET)
            op_hostreset(s, c, busid);
        else
            op_import(s, c, busid, code == OP_REQ_HOSTOPEN);
        return 8 + 32;
    }
    return -1;
}

/* ---- URBs ---------------------------------------------------------------- */

static void ret_header(uint8_t *h, uint32_t cmd, uint32_t seqnum, int32_t status)
{
    memset(h, 0, HDR);
    put_be32(h, cmd);
    put_be32(h + 4, seqnum);
    put_be32(h + 0x14, (uint32_t)status);
}

static void ret_submit(struct usbip_server *s, struct conn *c, uint32_t seqnum, int32_t status,
                       bool in, const uint8_t *data, uint32_t len)
{
    uint8_t h[HDR];
    ret_header(h, RET_SUBMIT, seqnum, status);
    put_be32(h + 0x18, len);
    conn_send(c, h, HDR);
    if (in && len)
        conn_send(c, data, len);
    vb_trace(s->vb, "usbip", "RET_SUBMIT seq=%u status=%d len=%u", seqnum, status, len);
}

static void urb_unlist(struct usbip_server *s, struct urb *u)
{
    for (struct urb **p = &s->urbs; *p; p = &(*p)->next)
        if (*p == u) {
            *p = u->next;
            break;
        }
    free(u->buf);
    free(u);
}

/* Linux usb_set_interface(): a STALL of SET_INTERFACE to an interface that
 * has a single alternate setting is not an error (message.c). */
static bool single_alt(const struct usb_devinfo *d, unsigned ifnum)
{
    int alts = 0;
    for (size_t i = 0; i + 1 < d->cfg_len && d->cfg[i] >= 2; i += d->cfg[i])
        if (d->cfg[i + 1] == 4 && i + 3 < d->cfg_len && d->cfg[i + 2] == ifnum)
            alts++;
    return alts == 1;
}

static void urb_done(struct usb_host *h, struct usb_ctrl *c)
{
    struct urb *u = c->ctx;
    struct usbip_server *s = u->s;
    int status = c->status;
    const struct usb_devinfo *d = usb_host_exported(h);
    if (status == -EPIPE && c->setup[0] == 0x01 && c->setup[1] == 0x0B && d &&
        single_alt(d, c->setup[4]))
        status = 0;
    if (!status && c->setup[0] == 0x00 && c->setup[1] == 9)
        usb_host_note_config(h, c->setup[2]);
    uint32_t len = (uint32_t)c->actual;
    if (len > u->buflen)
        len = u->buflen;
    ret_submit(s, u->conn, u->seqnum, status, u->dir == 1, u->buf, len);
    urb_unlist(s, u);
}

static void cmd_submit(struct usbip_server *s, struct conn *c, const uint8_t *p,
                       const uint8_t *out_data)
{
    uint32_t seqnum = get_be32(p + 4), dir = get_be32(p + 0x0C), ep = get_be32(p + 0x10);
    uint32_t buflen = get_be32(p + 0x18);
    const uint8_t *setup = p + 0x28;
    vb_trace(s->vb, "usbip", "CMD_SUBMIT seq=%u ep=%u dir=%u len=%u setup %02x %02x", seqnum,
             ep, dir, buflen, setup[0], setup[1]);
    if (ep != 0) {
        /* Only the default control pipe is served: DFU needs no other. */
        ret_submit(s, c, seqnum, -EPIPE, false, NULL, 0);
        return;
    }
    if (setup[0] == 0x00 && setup[1] == 5) {
        /* SET_ADDRESS is the host controller's business (vhci does it
         * locally); the device keeps the address we gave it. */
        ret_submit(s, c, seqnum, 0, false, NULL, 0);
        return;
    }
    size_t wlen = (size_t)(setup[6] | setup[7] << 8);
    struct urb *u = calloc(1, sizeof *u);
    uint8_t *buf = calloc(1, wlen ? wlen : 1);
    if (!u || !buf) {
        free(u);
        free(buf);
        ret_submit(s, c, seqnum, -ENOMEM, false, NULL, 0);
        return;
    }
    *u = (struct urb){.s = s, .conn = c, .seqnum = seqnum, .dir = dir, .ep = ep, .buflen = buflen, .buf = buf};
    if (dir == 0 && out_data)
        memcpy(buf, out_data, buflen < wlen ? buflen : wlen);
    memcpy(u->c.setup, setup, 8);
    u->c.data = buf;
    u->c.done = urb_done;
    u->c.ctx = u;
    u->next = s->urbs;
    s->urbs = u;
    if (!usb_host_submit(s->h, &u->c)) {
        ret_submit(s, c, seqnum, -ENODEV, false, NULL, 0);
        urb_unlist(s, u);
    }
}

static void cmd_unlink(struct usbip_server *s, struct conn *c, const uint8_t *p)
{
    uint32_t seqnum = get_be32(p + 4), victim = get_be32(p + 0x14);
    int32_t status = 0;
    for (struct urb *u = s->urbs; u; u = u->next)
        if (u->conn == c && u->seqnum == victim) {
            usb_host_cancel(s->h, &u->c);
            urb_unlist(s, u);
            status = -ECONNRESET;
            break;
        }
    vb_trace(s->vb, "usbip", "CMD_UNLINK seq=%u of %u -> %d", seqnum, victim, status);
    uint8_t h[HDR];
    ret_header(h, RET_UNLINK, seqnum, status);
    conn_send(c, h, HDR);
}

static void cmd_claim(struct usbip_server *s, struct conn *c, const uint8_t *p)
{
    uint32_t seqnum = get_be32(p + 4), claim = get_be32(p + 0x0C), ifnum = get_be32(p + 0x10);
    int32_t status = 0;
    if (ifnum >= 32) {
        status = -EINVAL;
    } else if (claim) {
        for (int i = 0; i < MAX_CONNS; i++)
            if (&s->conns[i] != c && s->conns[i].fd >= 0 && s->conns[i].mode == C_HOSTOPEN &&
                (s->conns[i].claimed >> ifnum & 1))
                status = -EBUSY;
        if (!status)
            c->claimed |= 1u << ifnum;
    } else {
        c->claimed &= ~(1u << ifnum);
    }
    vb_trace(s->vb, "usbip", "%s interface %u -> %d", claim ? "claim" : "release", ifnum, status);
    uint8_t h[HDR];
    ret_header(h, RET_VB_CLAIM, seqnum, status);
    conn_send(c, h, HDR);
}

static long handle_urb(struct usbip_server *s, struct conn *c)
{
    if (c->in_len < HDR)
        return 0;
    uint32_t cmd = get_be32(c->in);
    if (cmd == CMD_VB_CLAIM && c->mode == C_HOSTOPEN) {
        cmd_claim(s, c, c->in);
        return HDR;
    }
    if (cmd == CMD_UNLINK) {
        cmd_unlink(s, c, c->in);
        return HDR;
    }
    if (cmd != CMD_SUBMIT)
        return -1;
    uint32_t dir = get_be32(c->in + 0x0C), len = get_be32(c->in + 0x18);
    size_t need = HDR + (dir == 0 ? len : 0);
    if (need > MAX_IN)
        return -1;
    if (c->in_len < need)
        return 0;
    cmd_submit(s, c, c->in, c->in + HDR);
    return (long)need;
}

/* ---- Connections ----------------------------------------------------------- */

/* Takes back the URBs of connection c (NULL: of every connection). */
static void drop_urbs(struct usbip_server *s, struct conn *c)
{
    for (struct urb *u = s->urbs, *next; u; u = next) {
        next = u->next;
        if (c && u->conn != c)
            continue;
        usb_host_cancel(s->h, &u->c);
        urb_unlist(s, u);
    }
}

static void conn_close(struct usbip_server *s, struct conn *c)
{
    bool was_importer = c->mode == C_IMPORTED;
    /* A local program's close unlinks its URBs and nothing more (usbfs
     * usbdev_release kills the file's URBs; no bus traffic). */
    if (c->mode == C_HOSTOPEN)
        vb_trace(s->vb, "usbip", "host open closed (no bus reset)");
    drop_urbs(s, c);
    close(c->fd);
    free(c->in);
    free(c->out);
    *c = (struct conn){.fd = -1};
    if (was_importer) {
        /* usbip-host (stub_dev.c) resets the device when its importer goes
         * away; it can be imported again once enumerated anew. */
        vb_trace(s->vb, "usbip", "importer gone: resetting the device");
        usb_host_reset_device(s->h);
    }
}

static void conn_read(struct usbip_server *s, struct conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, MAX_IN - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(s, c);
        return;
    }
    c->in_len += (size_t)n;
    while (c->fd >= 0 && !c->close_after_flush) {
        if (c->mode == C_RESETTING)
            break; /* nothing more is read until the reset is answered */
        long used = c->mode == C_IMPORTED || c->mode == C_HOSTOPEN ? handle_urb(s, c)
                                                                  : handle_op(s, c);
        if (used < 0) {
            vb_trace(s->vb, "usbip", "protocol error: closing the connection");
            conn_close(s, c);
            return;
        }
        if (used == 0)
            break;
        memmove(c->in, c->in + used, c->in_len - (size_t)used);
        c->in_len -= (size_t)used;
    }
    if (c->fd >= 0)
        conn_flush(s, c);
}

static void accept_all(struct usbip_server *s)
{
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return;
        struct conn *c = NULL;
        for (int i = 0; i < MAX_CONNS && !c; i++)
            if (s->conns[i].fd < 0)
                c = &s->conns[i];
        uint8_t *in = c ? malloc(MAX_IN) : NULL;
        if (!in) {
            close(fd);
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        *c = (struct conn){.fd = fd, .in = in};
    }
}

void usbip_server_poll(struct usbip_server *s, int wait_ms)
{
    reset_poll(s);
    struct pollfd p[MAX_CONNS + 1];
    struct conn *who[MAX_CONNS + 1];
    int n = 0;
    p[n] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    who[n++] = NULL;
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i].fd >= 0) {
            struct conn *c = &s->conns[i];
            p[n] = (struct pollfd){.fd = c->fd, .events = (short)(POLLIN | (c->out_len ? POLLOUT : 0))};
            who[n++] = c;
        }
    if (poll(p, (nfds_t)n, wait_ms) <= 0)
        return;
    if (p[0].revents & POLLIN)
        accept_all(s);
    for (int i = 1; i < n; i++) {
        struct conn *c = who[i];
        if (c->fd != p[i].fd)
            continue; /* closed meanwhile */
        if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
            conn_read(s, c);
        if (c->fd == p[i].fd && (p[i].revents & POLLOUT))
            conn_flush(s, c);
    }
}

/* Hangs up on the importer and the host opens without resetting anything:
 * send what the socket takes of their queued replies, then close. */
static void hang_up(struct usbip_server *s)
{
    drop_urbs(s, NULL);
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &s->conns[i];
        if (c->fd < 0 || (c->mode != C_IMPORTED && c->mode != C_HOSTOPEN))
            continue;
        c->mode = C_OP; /* no device reset: it is gone */
        conn_flush(s, c);
        if (c->fd >= 0)
            conn_close(s, c);
    }
}

static void drop_host_opens(struct usbip_server *s)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        struct conn *c = &s->conns[i];
        if (c->fd >= 0 && c->mode == C_HOSTOPEN)
            conn_close(s, c);
    }
}

void usbip_server_device_gone(struct usbip_server *s)
{
    /* The host failed every pending URB (their RET_SUBMITs are queued);
     * hang up as usbip-host does when its device is unplugged, and as usbfs
     * files of an unplugged device fail with ENODEV. A pending host reset
     * is answered by reset_poll. */
    hang_up(s);
    reset_poll(s);
}

uint16_t usbip_server_port(const struct usbip_server *s) { return s->port; }

struct usbip_server *usbip_server_new(struct usb_host *h, const char *bind_addr, uint16_t port)
{
    struct usbip_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->h = h;
    s->vb = usb_host_vb(h);
    for (int i = 0; i < MAX_CONNS; i++)
        s->conns[i].fd = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    int one = 1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || inet_pton(AF_INET, bind_addr, &a.sin_addr) != 1 ||
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 8)) {
        fprintf(stderr, "vboard: usbip: cannot listen on %s:%u: %s\n", bind_addr, port,
                strerror(errno));
        if (s->lfd >= 0)
            close(s->lfd);
        free(s);
        return NULL;
    }
    s->port = port;
    return s;
}

void usbip_server_free(struct usbip_server *s)
{
    if (!s)
        return;
    drop_urbs(s, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i].fd >= 0) {
            s->conns[i].mode = C_OP; /* shutting down: no device reset */
            conn_close(s, &s->conns[i]);
        }
    close(s->lfd);
    free(s);
}
