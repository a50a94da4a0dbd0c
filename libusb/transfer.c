/*
 * transfer.c - libusb's asynchronous transfer API over USB/IP, and the event
 * handling that completes transfers. The synchronous calls (io.c) are built
 * on it, as in libusb (sync.c).
 *
 * A submitted transfer is one CMD_SUBMIT on its handle's connection, written
 * at once; it is "flying" until the RET_SUBMIT with its seqnum is read by
 * event handling. Cancelling, or reaching the transfer's timeout, sends
 * CMD_UNLINK; the transfer then completes when the server answers
 * (RET_UNLINK, or a RET_SUBMIT that crossed the unlink: CANCELLED or
 * TIMED_OUT either way, as libusb reports it). A server that never answers the unlink is given
 * UNLINK_MS; a RET_SUBMIT arriving later is skipped by seqnum (the stale
 * list of the connection), so the stream stays in step.
 *
 * Callbacks run from libusb_handle_events*() only, never from submit or
 * cancel, in the order the completions were read. Isochronous and stream
 * transfers answer LIBUSB_ERROR_NOT_SUPPORTED.
 *
 * Event handling reads one whole reply at a time from a connection that
 * poll() found readable (the rest of a started reply must follow within
 * REST_MS). The pollfds libusb_get_pollfds gives are the open handles'
 * sockets; timeouts are not on an fd (libusb_pollfds_handle_timeouts is 0),
 * so an application with its own poll loop asks libusb_get_next_timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "internal.h"
#include "usbip_net.h"

#define CMD_SUBMIT 1
#define CMD_UNLINK 2
#define RET_SUBMIT 3
#define RET_UNLINK 4
#define CMD_VB_CLAIM 0x80A3 /* vboard: claim/release an interface (usbip_server.c) */
#define RET_VB_CLAIM 0x00A3
#define HDR 48
#define URB_DIR_IN 0x0200 /* what Linux vhci puts in transfer_flags for IN */
#define REST_MS 5000      /* once a reply has started, the rest must follow */
#define UNLINK_MS 1000    /* how long we wait for the server to confirm an unlink */
#define EVENTS_MS 60000   /* libusb_handle_events: libusb waits 60 s too */
#define MAX_REPLY (1 << 20)
#define MAX_FDS 64

struct libusb_transfer *usbi_transfer_of(struct usbi_transfer *it)
{
    return (struct libusb_transfer *)((char *)it + sizeof *it);
}

static struct usbi_transfer *itransfer(struct libusb_transfer *t)
{
    return (struct usbi_transfer *)((char *)t - sizeof(struct usbi_transfer));
}

API struct libusb_transfer *libusb_alloc_transfer(int iso_packets)
{
    if (iso_packets < 0)
        return NULL;
    size_t size = sizeof(struct usbi_transfer) + sizeof(struct libusb_transfer) +
                  (size_t)iso_packets * sizeof(struct libusb_iso_packet_descriptor);
    struct usbi_transfer *it = calloc(1, size);
    if (!it)
        return NULL;
    struct libusb_transfer *t = usbi_transfer_of(it);
    t->num_iso_packets = iso_packets;
    return t;
}

static void unlist(struct usbi_transfer **head, struct usbi_transfer *it)
{
    for (struct usbi_transfer **p = head; *p; p = &(*p)->next)
        if (*p == it) {
            *p = it->next;
            break;
        }
    it->next = NULL;
}

static void stale_add(struct usbip_conn *c, uint32_t seq, int in)
{
    if (c->nstale == USBIP_MAX_STALE) {
        memmove(c->stale_seq, c->stale_seq + 1, sizeof c->stale_seq[0] * (USBIP_MAX_STALE - 1));
        memmove(c->stale_in, c->stale_in + 1, sizeof c->stale_in[0] * (USBIP_MAX_STALE - 1));
        c->nstale--;
    }
    c->stale_seq[c->nstale] = seq;
    c->stale_in[c->nstale] = (uint8_t)in;
    c->nstale++;
}

API void libusb_free_transfer(struct libusb_transfer *t)
{
    if (!t)
        return;
    struct usbi_transfer *it = itransfer(t);
    if (it->state != T_IDLE && it->ctx) {
        /* libusb forbids it; we at least leave no dangling pointer, and
         * skip its reply if it comes. */
        unlist(it->state == T_DONE ? &it->ctx->done : &it->ctx->flying, it);
        if (it->state != T_DONE && it->handle && it->handle->conn.fd >= 0)
            stale_add(&it->handle->conn, it->seq, it->in);
    }
    if (t->flags & LIBUSB_TRANSFER_FREE_BUFFER)
        free(t->buffer);
    free(it);
}

/* libusb: the packet size times the transactions per microframe, for an
 * isochronous endpoint; other endpoints give their wMaxPacketSize. */
API int libusb_get_max_iso_packet_size(libusb_device *dev, unsigned char endpoint)
{
    int len;
    const uint8_t *p = usbi_find_config(dev, dev->active_config, &len);
    if (!p && dev->nconfigs)
        p = dev->configs[0], len = dev->config_len[0];
    if (!p)
        return LIBUSB_ERROR_NOT_FOUND;
    for (int i = 0; i + 1 < len && p[i] >= 2; i += p[i])
        if (p[i + 1] == LIBUSB_DT_ENDPOINT && p[i] >= 7 && i + 7 <= len &&
            p[i + 2] == endpoint) {
            int v = usbi_le16(p + i + 4);
            int type = p[i + 3] & 3;
            if (type == LIBUSB_TRANSFER_TYPE_ISOCHRONOUS || type == LIBUSB_TRANSFER_TYPE_INTERRUPT)
                return (v & 0x7FF) * (1 + ((v >> 11) & 3));
            return v & 0x7FF;
        }
    return LIBUSB_ERROR_NOT_FOUND;
}

/* ---- Completion ------------------------------------------------------------ */

/* Moves a flying transfer to the done queue with its result. */
static void complete(struct usbi_transfer *it, enum libusb_transfer_status status, int actual)
{
    struct libusb_context *ctx = it->ctx;
    struct libusb_transfer *t = usbi_transfer_of(it);
    unlist(&ctx->flying, it);
    if (status == LIBUSB_TRANSFER_COMPLETED && (t->flags & LIBUSB_TRANSFER_SHORT_NOT_OK) &&
        actual < it->len)
        status = LIBUSB_TRANSFER_ERROR;
    t->status = status;
    t->actual_length = actual;
    it->state = T_DONE;
    struct usbi_transfer **p = &ctx->done;
    while (*p)
        p = &(*p)->next;
    *p = it;
}

/* Runs the callbacks of the completed transfers; returns how many. */
static int deliver(struct libusb_context *ctx)
{
    int n = 0;
    while (ctx->done) {
        struct usbi_transfer *it = ctx->done;
        ctx->done = it->next;
        it->next = NULL;
        it->state = T_IDLE;
        struct libusb_transfer *t = usbi_transfer_of(it);
        uint8_t flags = t->flags; /* the callback may change or free it */
        if (t->callback)
            t->callback(t);
        if (flags & LIBUSB_TRANSFER_FREE_TRANSFER)
            libusb_free_transfer(t);
        n++;
    }
    return n;
}

/* The connection of h is gone: every transfer on it ends with NO_DEVICE. */
void usbi_handle_dead(struct libusb_device_handle *h)
{
    struct libusb_context *ctx = h->dev->ctx;
    for (struct libusb_device_handle *o = ctx->handles; o && h->conn.fd >= 0; o = o->next)
        if (o == h && ctx->pollfd_removed)
            ctx->pollfd_removed(h->conn.fd, ctx->pollfd_user);
    usbip_close(&h->conn);
    for (struct usbi_transfer *it = ctx->flying, *next; it; it = next) {
        next = it->next;
        if (it->handle == h)
            complete(it, LIBUSB_TRANSFER_NO_DEVICE, 0);
    }
}

/* libusb_close with transfers still flying (libusb warns about it): they
 * are unlinked on the wire by the close and reported CANCELLED now, so no
 * callback sees a freed handle later. */
void usbi_handle_closing(struct libusb_device_handle *h)
{
    struct libusb_context *ctx = h->dev->ctx;
    int any = 0;
    for (struct usbi_transfer *it = ctx->flying, *next; it; it = next) {
        next = it->next;
        if (it->handle == h) {
            complete(it, LIBUSB_TRANSFER_CANCELLED, 0);
            any = 1;
        }
    }
    if (any)
        deliver(ctx);
}

static enum libusb_transfer_status map_status(int32_t st)
{
    switch (-st) {
    case 0:
    case EREMOTEIO: /* short packet with URB_SHORT_NOT_OK: we check ourselves */
        return LIBUSB_TRANSFER_COMPLETED;
    case EPIPE:
        return LIBUSB_TRANSFER_STALL;
    case ENODEV:
    case ESHUTDOWN:
        return LIBUSB_TRANSFER_NO_DEVICE;
    case EOVERFLOW:
        return LIBUSB_TRANSFER_OVERFLOW;
    case ETIMEDOUT:
        return LIBUSB_TRANSFER_TIMED_OUT;
    case ECONNRESET:
    case ENOENT:
        return LIBUSB_TRANSFER_CANCELLED;
    default:
        return LIBUSB_TRANSFER_ERROR;
    }
}

/* ---- Submit and cancel --------------------------------------------------- */

static void header(uint8_t *h, uint32_t cmd, const struct usbip_conn *c, uint32_t seq, int in,
                   int epnum)
{
    memset(h, 0, HDR);
    put_be32(h, cmd);
    put_be32(h + 4, seq);
    put_be32(h + 8, c->devid);
    put_be32(h + 12, in ? 1 : 0);
    put_be32(h + 16, (uint32_t)epnum);
}

static void debug_bytes(const char *what, const uint8_t *p, int n)
{
    fprintf(stderr, " %s", what);
    for (int i = 0; i < n && i < 16; i++)
        fprintf(stderr, " %02x", p[i]);
    if (n > 16)
        fprintf(stderr, " ...");
}

/* A transfer, or (claim = 1 release, 2 claim) vboard's CMD_VB_CLAIM of
 * interface t->endpoint, which travels and completes like one. */
static int submit(struct libusb_transfer *t, int claim)
{
    struct usbi_transfer *it = itransfer(t);
    struct libusb_device_handle *h = t->dev_handle;
    if (!h)
        return LIBUSB_ERROR_INVALID_PARAM;
    if (it->state != T_IDLE)
        return LIBUSB_ERROR_BUSY;
    const uint8_t *setup = NULL;
    uint8_t ep;
    int len;
    uint8_t *data;
    switch (claim ? -1 : t->type) {
    case -1:
        ep = t->endpoint; /* the interface number */
        len = 0;
        data = NULL;
        break;
    case LIBUSB_TRANSFER_TYPE_CONTROL:
        if (t->length < (int)LIBUSB_CONTROL_SETUP_SIZE || !t->buffer)
            return LIBUSB_ERROR_INVALID_PARAM;
        setup = t->buffer;
        len = usbi_le16(setup + 6);
        if (len > t->length - (int)LIBUSB_CONTROL_SETUP_SIZE)
            return LIBUSB_ERROR_INVALID_PARAM;
        ep = setup[0] & LIBUSB_ENDPOINT_IN;
        data = t->buffer + LIBUSB_CONTROL_SETUP_SIZE;
        break;
    case LIBUSB_TRANSFER_TYPE_BULK:
    case LIBUSB_TRANSFER_TYPE_INTERRUPT:
        if ((t->endpoint & 0x0F) == 0 || t->length < 0 || (t->length && !t->buffer))
            return LIBUSB_ERROR_INVALID_PARAM;
        ep = t->endpoint;
        len = t->length;
        data = t->buffer;
        break;
    default:
        return LIBUSB_ERROR_NOT_SUPPORTED; /* isochronous, bulk streams */
    }
    struct usbip_conn *c = &h->conn;
    if (c->fd < 0)
        return LIBUSB_ERROR_NO_DEVICE;
    int in = (ep & 0x80) != 0, epnum = ep & 0x0F;
    uint32_t seq = ++c->seqnum;
    uint8_t hd[HDR];
    if (claim) {
        in = 0;
        header(hd, CMD_VB_CLAIM, c, seq, claim == 2, ep);
    } else {
        header(hd, CMD_SUBMIT, c, seq, in, epnum);
        put_be32(hd + 20, in ? URB_DIR_IN : 0);
        put_be32(hd + 24, (uint32_t)len);
        put_be32(hd + 32, 0xFFFFFFFF); /* not isochronous */
    }
    if (setup)
        memcpy(hd + 40, setup, 8);
    if (c->debug && claim) {
        fprintf(stderr, "libusb-usbip: CMD_VB_CLAIM seq=%u interface %d %s\n", seq, ep,
                claim == 2 ? "claim" : "release");
    } else if (c->debug) {
        fprintf(stderr, "libusb-usbip: CMD_SUBMIT seq=%u ep=%d %s len=%d", seq, epnum,
                in ? "IN" : "OUT", len);
        if (setup)
            debug_bytes("setup", setup, 8);
        if (!in && len)
            debug_bytes("data", data, len);
        fprintf(stderr, "\n");
    }
    struct libusb_context *ctx = h->dev->ctx;
    *it = (struct usbi_transfer){.ctx = ctx, .handle = h, .seq = seq, .in = in, .data = data,
                                 .len = len, .state = T_FLYING,
                                 .deadline = t->timeout ? net_now_ms() + t->timeout : -1};
    it->next = ctx->flying;
    ctx->flying = it;
    t->actual_length = 0;
    if (net_write_all(c->fd, hd, HDR) || (!in && len && net_write_all(c->fd, data, (size_t)len))) {
        /* Submitting to a device that is gone fails; its other transfers
         * end with NO_DEVICE at the next event handling. */
        unlist(&ctx->flying, it);
        it->state = T_IDLE;
        usbi_handle_dead(h);
        return LIBUSB_ERROR_NO_DEVICE;
    }
    return 0;
}

API int libusb_submit_transfer(struct libusb_transfer *t) { return submit(t, 0); }

int usbi_submit_claim(struct libusb_transfer *t, int on) { return submit(t, on ? 2 : 1); }

int usbi_claim_errno(struct libusb_transfer *t) { return itransfer(t)->claim_errno; }

/* Sends CMD_UNLINK for a flying transfer; it completes with `reason` when
 * the server confirms (or UNLINK_MS later). */
static void unlink_transfer(struct usbi_transfer *it, enum libusb_transfer_status reason)
{
    struct usbip_conn *c = &it->handle->conn;
    it->state = T_UNLINKING;
    it->reason = reason;
    it->unlink_deadline = net_now_ms() + UNLINK_MS;
    it->unlink_seq = ++c->seqnum;
    uint8_t hd[HDR];
    header(hd, CMD_UNLINK, c, it->unlink_seq, it->in, 0);
    put_be32(hd + 20, it->seq);
    if (c->debug)
        fprintf(stderr, "libusb-usbip: CMD_UNLINK seq=%u unlink_seqnum=%u\n", it->unlink_seq,
                it->seq);
    if (net_write_all(c->fd, hd, HDR))
        usbi_handle_dead(it->handle);
}

API int libusb_cancel_transfer(struct libusb_transfer *t)
{
    struct usbi_transfer *it = itransfer(t);
    if (it->state == T_UNLINKING)
        return 0; /* already being cancelled (or timing out) */
    if (it->state != T_FLYING)
        return LIBUSB_ERROR_NOT_FOUND;
    unlink_transfer(it, LIBUSB_TRANSFER_CANCELLED);
    return 0;
}

API void libusb_transfer_set_stream_id(struct libusb_transfer *t, uint32_t stream_id)
{
    (void)t;
    (void)stream_id;
}

API uint32_t libusb_transfer_get_stream_id(struct libusb_transfer *t)
{
    (void)t;
    return 0;
}

/* ---- Reading replies ------------------------------------------------------- */

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

static struct usbi_transfer *find(struct libusb_context *ctx, struct libusb_device_handle *h,
                                  uint32_t seq, int unlink)
{
    for (struct usbi_transfer *it = ctx->flying; it; it = it->next)
        if (it->handle == h &&
            (unlink ? it->state == T_UNLINKING && it->unlink_seq == seq : it->seq == seq))
            return it;
    return NULL;
}

/* Reads and handles one reply on h's connection; -1 when the connection
 * is dead or out of step (its transfers then end with NO_DEVICE). */
static int read_one(struct libusb_context *ctx, struct libusb_device_handle *h)
{
    struct usbip_conn *c = &h->conn;
    uint8_t hd[HDR];
    int64_t rest = net_now_ms() + REST_MS;
    if (net_read_full(c->fd, hd, HDR, rest))
        return -1;
    uint32_t cmd = get_be32(hd), seq = get_be32(hd + 4);
    int32_t status = (int32_t)get_be32(hd + 20);
    if (cmd == RET_UNLINK) {
        if (c->debug)
            fprintf(stderr, "libusb-usbip: RET_UNLINK seq=%u status=%d\n", seq, status);
        struct usbi_transfer *it = find(ctx, h, seq, 1);
        if (it) {
            /* Status 0: the URB had completed and its RET_SUBMIT went out
             * first, so we would have seen it; if a server sends it later
             * anyway, it is skipped as stale. */
            if (status == 0)
                stale_add(c, it->seq, it->in);
            complete(it, it->reason, 0);
        }
        return 0;
    }
    if (cmd == RET_VB_CLAIM) {
        struct usbi_transfer *it = find(ctx, h, seq, 0);
        if (c->debug)
            fprintf(stderr, "libusb-usbip: RET_VB_CLAIM seq=%u status=%d\n", seq, status);
        if (it) {
            it->claim_errno = -status;
            complete(it, status ? LIBUSB_TRANSFER_ERROR : LIBUSB_TRANSFER_COMPLETED, 0);
        }
        return 0;
    }
    if (cmd != RET_SUBMIT)
        return -1;
    uint32_t actual = get_be32(hd + 24);
    if (actual > MAX_REPLY)
        return -1;
    struct usbi_transfer *it = find(ctx, h, seq, 0);
    if (!it) {
        for (int i = 0; i < c->nstale; i++)
            if (c->stale_seq[i] == seq) {
                int in = c->stale_in[i];
                c->nstale--;
                c->stale_seq[i] = c->stale_seq[c->nstale];
                c->stale_in[i] = c->stale_in[c->nstale];
                if (c->debug)
                    fprintf(stderr, "libusb-usbip: late RET_SUBMIT seq=%u dropped\n", seq);
                return in && skip_bytes(c->fd, actual, rest) ? -1 : 0;
            }
        return actual ? -1 : 0; /* an unknown seqnum with data: out of step */
    }
    uint32_t take = actual < (uint32_t)it->len ? actual : (uint32_t)it->len;
    if (it->in && (net_read_full(c->fd, it->data, take, rest) ||
                   skip_bytes(c->fd, actual - take, rest)))
        return -1;
    if (c->debug) {
        fprintf(stderr, "libusb-usbip: RET_SUBMIT seq=%u status=%d actual=%u", seq, status, actual);
        if (it->in)
            debug_bytes("data", it->data, (int)take);
        fprintf(stderr, "\n");
    }
    enum libusb_transfer_status st = map_status(status);
    int got = st == LIBUSB_TRANSFER_COMPLETED ? (int)take : 0;
    /* libusb (usbi_handle_transfer_cancellation) reports a transfer being
     * cancelled as cancelled or timed out even when the URB completed
     * meanwhile; what it moved is still counted. */
    if (it->state == T_UNLINKING)
        st = it->reason;
    complete(it, st, got);
    return 0;
}

/* Timeouts due now become unlinks; unlinks the server never confirmed
 * complete. Returns the next deadline (-1: none). */
static int64_t expire(struct libusb_context *ctx)
{
    int64_t now = net_now_ms(), next = -1;
    for (struct usbi_transfer *it = ctx->flying, *n; it; it = n) {
        n = it->next;
        if (it->state == T_FLYING && it->deadline >= 0 && now >= it->deadline)
            unlink_transfer(it, LIBUSB_TRANSFER_TIMED_OUT);
        if (it->state == T_UNLINKING && now >= it->unlink_deadline) {
            stale_add(&it->handle->conn, it->seq, it->in);
            complete(it, it->reason, 0);
            continue;
        }
        int64_t d = it->state == T_FLYING ? it->deadline : it->state == T_UNLINKING ? it->unlink_deadline : -1;
        if (d >= 0 && (next < 0 || d < next))
            next = d;
    }
    return next;
}

/* One round of event handling: completions due, then one poll of the
 * connections for at most timeout_ms (-1: until something happens). */
static int handle_once(struct libusb_context *ctx, int timeout_ms)
{
    if (ctx->done)
        return deliver(ctx), 0;
    int64_t next = expire(ctx);
    if (ctx->done)
        return deliver(ctx), 0;
    struct pollfd pf[MAX_FDS];
    struct libusb_device_handle *who[MAX_FDS];
    int n = 0;
    /* Open handles, and the short-lived ones device.c uses for descriptors
     * (not in ctx->handles) while they have transfers flying. */
    for (struct libusb_device_handle *h = ctx->handles; h && n < MAX_FDS; h = h->next)
        if (h->conn.fd >= 0)
            who[n] = h, pf[n++] = (struct pollfd){.fd = h->conn.fd, .events = POLLIN};
    for (struct usbi_transfer *it = ctx->flying; it && n < MAX_FDS; it = it->next) {
        int seen = it->handle->conn.fd < 0;
        for (int i = 0; i < n && !seen; i++)
            seen = who[i] == it->handle;
        if (!seen)
            who[n] = it->handle, pf[n++] = (struct pollfd){.fd = it->handle->conn.fd, .events = POLLIN};
    }
    if (next >= 0) {
        int64_t left = next - net_now_ms();
        int ms = left > 0 ? (int)left : 0;
        if (timeout_ms < 0 || ms < timeout_ms)
            timeout_ms = ms;
    }
    int r = poll(pf, (nfds_t)n, timeout_ms);
    if (r < 0)
        return errno == EINTR ? LIBUSB_ERROR_INTERRUPTED : LIBUSB_ERROR_IO;
    for (int i = 0; i < n && r > 0; i++) {
        if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)) || who[i]->conn.fd != pf[i].fd)
            continue;
        if (read_one(ctx, who[i]) < 0)
            usbi_handle_dead(who[i]);
    }
    expire(ctx);
    deliver(ctx);
    return 0;
}

static int tv_ms(const struct timeval *tv)
{
    if (!tv)
        return -1;
    if (tv->tv_sec < 0 || tv->tv_usec < 0)
        return 0;
    long long ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
    return ms > 0x7FFFFFFF ? 0x7FFFFFFF : (int)ms;
}

/* ---- Event entry points ------------------------------------------------------ */
/* One thread handles events at a time (events_lock); others wait for it to
 * finish a round (libusb's "event waiters"), as libusb arranges it. */

API int libusb_try_lock_events(libusb_context *ctx)
{
    ctx = usbi_ctx(ctx);
    if (pthread_mutex_trylock(&ctx->events_lock))
        return 1;
    ctx->event_handler_active = 1;
    return 0;
}

API void libusb_lock_events(libusb_context *ctx)
{
    ctx = usbi_ctx(ctx);
    pthread_mutex_lock(&ctx->events_lock);
    ctx->event_handler_active = 1;
}

API void libusb_unlock_events(libusb_context *ctx)
{
    ctx = usbi_ctx(ctx);
    ctx->event_handler_active = 0;
    pthread_mutex_unlock(&ctx->events_lock);
    pthread_mutex_lock(&ctx->waiters_lock);
    pthread_cond_broadcast(&ctx->waiters_cond);
    pthread_mutex_unlock(&ctx->waiters_lock);
}

API int libusb_event_handling_ok(libusb_context *ctx)
{
    (void)ctx;
    return 1;
}

API int libusb_event_handler_active(libusb_context *ctx)
{
    return usbi_ctx(ctx)->event_handler_active;
}

API void libusb_interrupt_event_handler(libusb_context *ctx)
{
    (void)ctx; /* rounds are bounded by the caller's timeout anyway */
}

API void libusb_lock_event_waiters(libusb_context *ctx)
{
    pthread_mutex_lock(&usbi_ctx(ctx)->waiters_lock);
}

API void libusb_unlock_event_waiters(libusb_context *ctx)
{
    pthread_mutex_unlock(&usbi_ctx(ctx)->waiters_lock);
}

API int libusb_wait_for_event(libusb_context *ctx, struct timeval *tv)
{
    ctx = usbi_ctx(ctx);
    if (!tv) {
        pthread_cond_wait(&ctx->waiters_cond, &ctx->waiters_lock);
        return 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (int64_t)tv->tv_usec * 1000;
    ts.tv_sec += tv->tv_sec + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    return pthread_cond_timedwait(&ctx->waiters_cond, &ctx->waiters_lock, &ts) ? 1 : 0;
}

API int libusb_handle_events_locked(libusb_context *ctx, struct timeval *tv)
{
    return handle_once(usbi_ctx(ctx), tv_ms(tv));
}

API int libusb_handle_events_timeout_completed(libusb_context *ctx, struct timeval *tv,
                                               int *completed)
{
    ctx = usbi_ctx(ctx);
    if (!ctx)
        return LIBUSB_ERROR_INVALID_PARAM;
    if (libusb_try_lock_events(ctx) == 0) {
        int r = 0;
        if (!completed || !*completed)
            r = handle_once(ctx, tv_ms(tv));
        libusb_unlock_events(ctx);
        return r;
    }
    /* Another thread handles events: wait for it to finish a round. */
    libusb_lock_event_waiters(ctx);
    if (!completed || !*completed)
        libusb_wait_for_event(ctx, tv);
    libusb_unlock_event_waiters(ctx);
    return 0;
}

API int libusb_handle_events_timeout(libusb_context *ctx, struct timeval *tv)
{
    return libusb_handle_events_timeout_completed(ctx, tv, NULL);
}

API int libusb_handle_events_completed(libusb_context *ctx, int *completed)
{
    struct timeval tv = {EVENTS_MS / 1000, 0};
    return libusb_handle_events_timeout_completed(ctx, &tv, completed);
}

API int libusb_handle_events(libusb_context *ctx)
{
    return libusb_handle_events_completed(ctx, NULL);
}

/* ---- Poll integration ---------------------------------------------------- */

API int libusb_pollfds_handle_timeouts(libusb_context *ctx)
{
    (void)ctx;
    return 0;
}

API int libusb_get_next_timeout(libusb_context *ctx, struct timeval *tv)
{
    ctx = usbi_ctx(ctx);
    int64_t next = -1;
    for (struct usbi_transfer *it = ctx->flying; it; it = it->next) {
        int64_t d = it->state == T_FLYING ? it->deadline : it->unlink_deadline;
        if (d >= 0 && (next < 0 || d < next))
            next = d;
    }
    if (ctx->done)
        next = net_now_ms();
    if (next < 0)
        return 0;
    int64_t left = next - net_now_ms();
    if (left < 0)
        left = 0;
    tv->tv_sec = (time_t)(left / 1000);
    tv->tv_usec = (suseconds_t)(left % 1000 * 1000);
    return 1;
}

API const struct libusb_pollfd **libusb_get_pollfds(libusb_context *ctx)
{
    ctx = usbi_ctx(ctx);
    int n = 0;
    for (struct libusb_device_handle *h = ctx->handles; h; h = h->next)
        n += h->conn.fd >= 0;
    /* One block: the pointer array, then the structs. */
    const struct libusb_pollfd **v = calloc(1, (size_t)(n + 1) * sizeof *v +
                                                   (size_t)n * sizeof(struct libusb_pollfd));
    if (!v)
        return NULL;
    struct libusb_pollfd *p = (struct libusb_pollfd *)(v + n + 1);
    int i = 0;
    for (struct libusb_device_handle *h = ctx->handles; h; h = h->next)
        if (h->conn.fd >= 0) {
            p[i] = (struct libusb_pollfd){.fd = h->conn.fd, .events = POLLIN};
            v[i] = &p[i];
            i++;
        }
    return v;
}

API void libusb_free_pollfds(const struct libusb_pollfd **pollfds)
{
    free((void *)pollfds);
}

API void libusb_set_pollfd_notifiers(libusb_context *ctx, libusb_pollfd_added_cb added,
                                     libusb_pollfd_removed_cb removed, void *user_data)
{
    ctx = usbi_ctx(ctx);
    ctx->pollfd_added = added;
    ctx->pollfd_removed = removed;
    ctx->pollfd_user = user_data;
}
