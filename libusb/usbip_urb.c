/*
 * usbip_urb.c - one synchronous URB on an imported connection: CMD_SUBMIT,
 * wait for the RET_SUBMIT with our seqnum, and on timeout CMD_UNLINK.
 */
#include <errno.h>
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usbip_client.h"
#include "usbip_net.h"

#define CMD_SUBMIT 1
#define CMD_UNLINK 2
#define RET_SUBMIT 3
#define RET_UNLINK 4
#define HDR 48
#define URB_DIR_IN 0x0200 /* what Linux vhci puts in transfer_flags for IN */
#define REST_MS 5000      /* once a reply has started, the rest must follow */
#define UNLINK_MS 1000    /* how long we wait for the server to confirm an unlink */
#define MAX_REPLY (1 << 20)

static void debug_bytes(const char *what, const uint8_t *p, int n)
{
    fprintf(stderr, " %s", what);
    for (int i = 0; i < n && i < 16; i++)
        fprintf(stderr, " %02x", p[i]);
    if (n > 16)
        fprintf(stderr, " ...");
}

static void build_header(uint8_t *h, uint32_t cmd, const struct usbip_conn *c, int in, int epnum)
{
    memset(h, 0, HDR);
    put_be32(h, cmd);
    put_be32(h + 4, c->seqnum);
    put_be32(h + 8, c->devid);
    put_be32(h + 12, in ? 1 : 0);
    put_be32(h + 16, (uint32_t)epnum);
}

static int map_status(int32_t st)
{
    switch (-st) {
    case 0:
        return 0;
    case EPIPE:
        return LIBUSB_ERROR_PIPE;
    case ENODEV:
    case ESHUTDOWN:
        return LIBUSB_ERROR_NO_DEVICE;
    case EOVERFLOW:
        return LIBUSB_ERROR_OVERFLOW;
    case ETIMEDOUT:
        return LIBUSB_ERROR_TIMEOUT;
    default:
        return LIBUSB_ERROR_IO;
    }
}

/* Drops bytes we have no room for (a reply longer than asked). */
static int skip_bytes(int fd, uint32_t n, int64_t dl)
{
    uint8_t junk[256];
    while (n) {
        uint32_t k = n < sizeof junk ? n : sizeof junk;
        if (net_read_full(fd, junk, k, dl))
            return -1;
        n -= k;
    }
    return 0;
}

/* Index in the stale list of seqnum, or -1. */
static int stale_find(const struct usbip_conn *c, uint32_t seq)
{
    for (int i = 0; i < c->nstale; i++)
        if (c->stale_seq[i] == seq)
            return i;
    return -1;
}

static void stale_drop(struct usbip_conn *c, int i)
{
    c->nstale--;
    c->stale_seq[i] = c->stale_seq[c->nstale];
    c->stale_in[i] = c->stale_in[c->nstale];
}

/*
 * Reads one reply. For the RET_SUBMIT of want_seq the IN data goes to buf and
 * the result is returned with *done set; other replies (late answers to
 * unlinked URBs, RET_UNLINKs) are consumed. Returns 0, or a LIBUSB_ERROR.
 */
static int read_reply(struct usbip_conn *c, uint32_t want_seq, int want_in, uint8_t *buf,
                      int len, int64_t deadline, int *done, uint32_t *unlinked_seq)
{
    uint8_t h[HDR];
    int r = net_read_full(c->fd, h, 1, deadline);
    if (r == -2)
        return LIBUSB_ERROR_TIMEOUT;
    if (r == 0)
        r = net_read_full(c->fd, h + 1, HDR - 1, net_now_ms() + REST_MS);
    if (r)
        return LIBUSB_ERROR_NO_DEVICE; /* server went away (or stream broken) */
    uint32_t cmd = get_be32(h), seq = get_be32(h + 4);
    int32_t status = (int32_t)get_be32(h + 20);
    if (cmd == RET_UNLINK) {
        if (c->debug)
            fprintf(stderr, "libusb-usbip: RET_UNLINK seq=%u status=%d\n", seq, status);
        if (unlinked_seq)
            *unlinked_seq = seq;
        return 0;
    }
    if (cmd != RET_SUBMIT)
        return LIBUSB_ERROR_IO;
    uint32_t actual = get_be32(h + 24);
    int64_t rest = net_now_ms() + REST_MS;
    if (seq == want_seq) {
        if (actual > MAX_REPLY)
            return LIBUSB_ERROR_IO;
        uint32_t take = 0;
        if (want_in) {
            take = actual < (uint32_t)len ? actual : (uint32_t)len;
            if (net_read_full(c->fd, buf, take, rest) || skip_bytes(c->fd, actual - take, rest))
                return LIBUSB_ERROR_NO_DEVICE;
        }
        if (c->debug) {
            fprintf(stderr, "libusb-usbip: RET_SUBMIT seq=%u status=%d actual=%u", seq, status,
                    actual);
            if (want_in)
                debug_bytes("data", buf, (int)take);
            fprintf(stderr, "\n");
        }
        *done = 1;
        r = map_status(status);
        if (r)
            return r;
        return want_in ? (int)take : (int)(actual < (uint32_t)len ? actual : (uint32_t)len);
    }
    /* A late RET_SUBMIT of a URB we gave up on: its IN data must be eaten. */
    int i = stale_find(c, seq);
    if (c->debug)
        fprintf(stderr, "libusb-usbip: late RET_SUBMIT seq=%u dropped\n", seq);
    if (i >= 0) {
        if (c->stale_in[i] && skip_bytes(c->fd, actual, rest))
            return LIBUSB_ERROR_NO_DEVICE;
        stale_drop(c, i);
        return 0;
    }
    return actual ? LIBUSB_ERROR_IO : 0; /* unknown seqnum with data: out of step */
}

/* After a timeout: ask the server to drop URB seq and wait (bounded) for its
 * answer, so the connection stays usable for the next transfer. */
static void unlink_urb(struct usbip_conn *c, uint32_t seq, int in, int epnum)
{
    if (c->nstale == USBIP_MAX_STALE)
        stale_drop(c, 0);
    c->stale_seq[c->nstale] = seq;
    c->stale_in[c->nstale] = (uint8_t)in;
    c->nstale++;
    uint8_t h[HDR];
    c->seqnum++;
    build_header(h, CMD_UNLINK, c, in, epnum);
    put_be32(h + 20, seq);
    uint32_t unlink_seq = c->seqnum;
    if (c->debug)
        fprintf(stderr, "libusb-usbip: CMD_UNLINK seq=%u unlink_seqnum=%u\n", unlink_seq, seq);
    if (net_write_all(c->fd, h, HDR)) {
        usbip_close(c);
        return;
    }
    int64_t dl = net_now_ms() + UNLINK_MS;
    for (;;) {
        uint32_t got = 0;
        int done = 0;
        int r = read_reply(c, unlink_seq, 0, NULL, 0, dl, &done, &got);
        if (r == LIBUSB_ERROR_TIMEOUT)
            return; /* the late replies will be skipped by seqnum */
        if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO) {
            usbip_close(c);
            return;
        }
        if (got == unlink_seq)
            return;
    }
}

int usbip_urb(struct usbip_conn *c, uint8_t ep, const uint8_t *setup, uint8_t *buf, int len,
              unsigned timeout_ms)
{
    if (c->fd < 0)
        return LIBUSB_ERROR_NO_DEVICE;
    if (len < 0)
        return LIBUSB_ERROR_INVALID_PARAM;
    int in = (ep & 0x80) != 0, epnum = ep & 0x0F;
    uint8_t h[HDR];
    c->seqnum++;
    uint32_t seq = c->seqnum;
    build_header(h, CMD_SUBMIT, c, in, epnum);
    put_be32(h + 20, in ? URB_DIR_IN : 0);
    put_be32(h + 24, (uint32_t)len);
    put_be32(h + 32, 0xFFFFFFFF); /* not isochronous */
    if (setup)
        memcpy(h + 40, setup, 8);
    if (c->debug) {
        fprintf(stderr, "libusb-usbip: CMD_SUBMIT seq=%u ep=%d %s len=%d", seq, epnum,
                in ? "IN" : "OUT", len);
        if (setup)
            debug_bytes("setup", setup, 8);
        if (!in && len)
            debug_bytes("data", buf, len);
        fprintf(stderr, "\n");
    }
    if (net_write_all(c->fd, h, HDR) || (!in && len && net_write_all(c->fd, buf, (size_t)len))) {
        usbip_close(c);
        return LIBUSB_ERROR_NO_DEVICE;
    }
    int64_t deadline = timeout_ms ? net_now_ms() + timeout_ms : -1;
    for (;;) {
        int done = 0;
        int r = read_reply(c, seq, in, buf, len, deadline, &done, NULL);
        if (done)
            return r;
        if (r == LIBUSB_ERROR_TIMEOUT) {
            unlink_urb(c, seq, in, epnum);
            return LIBUSB_ERROR_TIMEOUT;
        }
        if (r < 0) {
            usbip_close(c);
            return r == LIBUSB_ERROR_IO ? LIBUSB_ERROR_IO : LIBUSB_ERROR_NO_DEVICE;
        }
    }
}
