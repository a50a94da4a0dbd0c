/*
 * usb_host.c - the host controller and root port vboard plays toward the
 * device model, in virtual time: attach/detach detection from the D+
 * pull-up, bus resets, 1-ms frames with SOFs, control transfers run as
 * separate SETUP / DATA / STATUS transactions that take their USB 2.0 bus
 * time inside frames, with the data toggles, NAK retries and error counts
 * of a real host, completions given back at frame end, Linux's enumeration
 * sequence and waits, and an optional noisy cable (--usb-errors). The
 * enumerated device is exported by usbip_server.c. README "The USB host"
 * lists each number with its source and test.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "usb_host_int.h"

#define MS 1000000ull
/* USB 2.0 8.4.3.1: a full-speed host sends an SOF every 1.000 ms. */
#define FRAME_NS MS
/* Timing of Linux's hub driver (drivers/usb/core/hub.c) on a root port.
 * Each is at or above the USB 2.0 minimum the device may rely on. */
/* USB 2.0 7.1.7.3 TATTDB: 100 ms of stable attach before the reset
 * (hub.c hub_port_debounce: HUB_DEBOUNCE_STABLE 100). */
#define DEBOUNCE_NS (100 * MS)
/* USB 2.0 7.1.7.5 TDRSTR: a reset from a root port lasts at least 50 ms
 * (TDRST >= 10 ms from a hub). */
#define RESET_NS (50 * MS)
/* hub.c hub_port_init: delay = HUB_ROOT_RESET_TIME (60) for a root port;
 * hub_port_wait_reset sleeps that long before it looks at the port, so
 * Linux notices the end of the reset 60 ms after starting it. */
#define RESET_SEEN_NS (60 * MS)
/* hub.c hub_port_reset: "TRSTRCY = 10 ms; plus some extra",
 * reset_recovery_time = 10 + 40, slept before the first request (USB 2.0
 * 7.1.7.5 / 9.2.6.2 TRSTRCY: at least 10 ms). */
#define RECOVERY_NS (50 * MS)
/* hub.c hub_port_init: msleep(10) after hub_set_address ("let SET_ADDRESS
 * settle"); USB 2.0 9.2.6.3 TDSETADDR allows the device 2 ms. */
#define SET_ADDRESS_NS (10 * MS)
/* SOF token: SYNC, PID, 11-bit frame number, CRC5, EOP, about 35 bit
 * times at 12 Mb/s, with the inter-packet gap. */
#define SOF_NS 3000ull
/* USB 2.0 5.11.3 Host_Delay, implementation specific: Linux's estimate
 * (hcd.h BW_HOST_DELAY, 1000 ns). */
#define HOST_DELAY_NS 1000ull
#define XFER_TIMEOUT_NS (5000 * MS) /* Linux USB_CTRL_GET/SET_TIMEOUT */
/* Three strikes: a transaction that fails (no handshake, corrupted) three
 * times in a row ends the transfer with an error (UHCI TD C_ERR and EHCI
 * qTD CErr, which Linux programs to 3; USB 2.0 8.5 retries, 10.2.6). */
#define MAX_ERRORS 3
/* Linux (hub_port_init) keeps resetting a silent device for several
 * seconds before "unable to enumerate USB device"; a device busy erasing
 * flash for a second must survive that, so the attempts back off. */
#define ENUM_ATTEMPTS 6
#define ENUM_BACKOFF_NS (100 * MS) /* doubled after each failed attempt */

enum port_state { P_DETACHED, P_DEBOUNCE, P_RESET, P_ENABLED };
enum stage { ST_SETUP, ST_DATA, ST_STATUS };

/* Enumeration steps, in the order Linux runs them for a full-speed device
 * (new scheme): hub_port_init (reset, GET_DESCRIPTOR(device, 64) at
 * address 0, reset, SET_ADDRESS, GET_DESCRIPTOR(device, 18), the BOS from
 * bcdUSB 0x0201 on: 5 bytes then whole), then usb_new_device ->
 * usb_enumerate_device (usb_get_configuration: 9 bytes then
 * wTotalLength; usb_cache_string for iProduct, iManufacturer,
 * iSerialNumber, the first one reading string 0 for the language), then
 * the generic driver's SET_CONFIGURATION. */
enum step {
    E_RESET1, E_DEV64, E_RESET2, E_SETADDR, E_DEV18, E_BOS5, E_BOS, E_CFG9, E_CFG, E_STR0,
    E_STR_PRODUCT, E_STR_MANUF, E_STR_SERIAL, E_SETCFG, E_DONE
};
static const char *const step_name[] = {
    "reset", "GET_DESCRIPTOR device(64)", "reset", "SET_ADDRESS", "GET_DESCRIPTOR device",
    "GET_DESCRIPTOR BOS(5)", "GET_DESCRIPTOR BOS", "GET_DESCRIPTOR config(9)",
    "GET_DESCRIPTOR config", "GET_DESCRIPTOR string 0", "GET_DESCRIPTOR iProduct",
    "GET_DESCRIPTOR iManufacturer", "GET_DESCRIPTOR iSerialNumber", "SET_CONFIGURATION", "done",
};

/* --usb-errors: every packet on the wire is lost (corrupted: the receiver
 * ignores it) with probability rate, from a seeded generator so that a run
 * can be repeated. */
struct noise {
    double rate;
    uint64_t seed, state;
    unsigned long packets, lost;
};

struct usb_host {
    struct vb *vb;
    struct usb_model *dev;
    struct usbip_server *srv;
    enum port_state port;
    uint64_t since;          /* pull-up seen since / reset ends at */
    uint64_t reset_seen;     /* when the hub driver notices the end of the reset */
    /* Frames: next_sof is the end of the current frame. A transaction
     * starts when the bus is free (bus_free) and must end within the
     * frame; next_txn is when the active transfer may try again. */
    uint64_t next_sof, bus_free, next_txn;
    uint8_t addr, last_addr; /* the device's address; last one handed out */
    uint8_t mps0;            /* bMaxPacketSize0 the host uses */
    /* enumeration */
    bool enumerating, gave_up, exported, ex_busy, step_running;
    /* Re-enumerating after its importer left: still listed, as usbip-host
     * keeps a device bound while it resets it. */
    bool relisting;
    enum step step;
    int attempt;
    uint64_t step_at;        /* a timed step (reset, settle) runs then */
    uint16_t langid;
    struct usb_ctrl ex;      /* the enumeration's own transfer */
    uint8_t exbuf[1024];
    struct usb_devinfo info;
    /* transfers */
    struct usb_ctrl *active, *queue;
    /* Finished on the bus, given to the driver at deliver_at. A
     * frame-scheduled host controller reports completions at the end of
     * the frame (UHCI: IOC interrupts "at the end of the frame in which
     * the TD completed"; OHCI writes the done queue back at frame end);
     * the driver (hub_wq, usb_control_msg waking its caller) then acts,
     * which the model counts as one more frame. So at least one whole
     * frame separates a transfer's last packet from the next request or
     * port reset the driver makes: the gap whose absence made other
     * stacks fail (a reset in the same instant as a status stage). */
    struct usb_ctrl *finished;
    uint64_t deliver_at;
    struct noise noise;
    usb_tap_fn tap;
    void *tap_ctx;
    uint64_t last_serve_ns; /* wall clock */
};

struct vb *usb_host_vb(const struct usb_host *h) { return h->vb; }

static const char *err_name(int st)
{
    switch (-st) {
    case 0: return "ok";
    case EPIPE: return "stall";
    case EPROTO: return "no handshake";
    case ETIMEDOUT: return "timeout";
    case EOVERFLOW: return "babble";
    case ESHUTDOWN: return "disconnected";
    default: return "error";
    }
}

/* ---- Wire: transactions, noise, the tap --------------------------------- */

static void tap(struct usb_host *h, enum usb_tap_kind kind, uint8_t ep, const uint8_t *setup,
                size_t len, enum usb_hs hs, bool lost)
{
    if (!h->tap)
        return;
    struct usb_tap_event e = {kind, vb_now_ns(h->vb), h->addr, ep, {0}, len, hs, lost};
    if (setup)
        memcpy(e.setup, setup, 8);
    h->tap(h->tap_ctx, &e);
}

/* xorshift64*: small, seeded, the same sequence on every machine. */
static uint64_t noise_next(struct noise *n)
{
    n->state ^= n->state >> 12;
    n->state ^= n->state << 25;
    n->state ^= n->state >> 27;
    return n->state * 0x2545F4914F6CDD1Dull;
}

/* Whether the next packet on the wire is lost (not yet reported). */
static bool noise_draw(struct usb_host *h)
{
    struct noise *n = &h->noise;
    if (n->rate <= 0)
        return false;
    n->packets++;
    return (double)(noise_next(n) >> 11) * (1.0 / 9007199254740992.0) < n->rate;
}

static void noise_report(struct usb_host *h, const char *what)
{
    h->noise.lost++;
    vb_event(h->vb, "usb noise: %s lost (%lu of %lu packets)", what, h->noise.lost,
             h->noise.packets);
}

static bool packet_lost(struct usb_host *h, const char *what)
{
    if (!noise_draw(h))
        return false;
    noise_report(h, what);
    return true;
}

/* USB 2.0 5.11.3, full-speed non-isochronous transaction, handshake
 * included: 9107 + 83.54 x floor(3.167 + BitStuffTime(bytes)) + Host_Delay
 * ns, BitStuffTime = 1.1667 x 8 x bytes (worst-case bit stuffing). */
static uint64_t txn_ns(size_t bytes)
{
    uint64_t bits = (3167 + 9333 * (uint64_t)bytes) / 1000;
    return 9107 + bits * 8354 / 100 + HOST_DELAY_NS;
}

/* Each wrapper is one transaction on the wire: token, data, handshake,
 * each of which the noisy cable may lose. Returns what the host saw. */
static enum usb_hs wire_setup(struct usb_host *h, const uint8_t setup[8])
{
    enum usb_hs hs = USB_HS_NONE;
    bool lost = packet_lost(h, "SETUP token") || packet_lost(h, "SETUP DATA0");
    if (!lost) {
        hs = usb_dev_setup(h->dev, h->addr, setup);
        if (hs != USB_HS_NONE && packet_lost(h, "SETUP handshake"))
            lost = true, hs = USB_HS_NONE;
    } /* a lost token or data packet: the device ignores the transaction */
    tap(h, USB_TAP_SETUP, 0, setup, 8, hs, lost);
    return hs;
}

static enum usb_hs wire_out(struct usb_host *h, uint8_t ep, const uint8_t *data, size_t len,
                            int pid)
{
    enum usb_hs hs = USB_HS_NONE;
    bool lost = packet_lost(h, "OUT token") || packet_lost(h, pid ? "OUT DATA1" : "OUT DATA0");
    if (!lost) {
        hs = usb_dev_out(h->dev, h->addr, ep, data, len, pid);
        /* A lost ACK: the device has the data and toggled; the host sends
         * the same packet again and the device, seeing the old toggle,
         * ACKs and drops it (USB 2.0 8.6.4). */
        if (hs != USB_HS_NONE && packet_lost(h, "OUT handshake"))
            lost = true, hs = USB_HS_NONE;
    }
    tap(h, USB_TAP_OUT, ep, NULL, len, hs, lost);
    return hs;
}

static enum usb_hs wire_in(struct usb_host *h, uint8_t ep, uint8_t *buf, size_t max,
                           size_t *len, int *pid)
{
    enum usb_hs hs = USB_HS_NONE;
    *len = 0;
    bool lost = packet_lost(h, "IN token");
    if (!lost) {
        /* Drawn before the device answers: its packet (data or NAK/STALL)
         * may be corrupted, and the host's ACK may be lost. Either way the
         * device does not see the ACK and keeps its data for the retry
         * (RM0008 23.4.2). */
        bool back_lost = noise_draw(h);
        bool ack_lost = !back_lost && noise_draw(h);
        hs = usb_dev_in_acked(h->dev, h->addr, ep, buf, max, len, pid, !back_lost && !ack_lost);
        if (back_lost && hs != USB_HS_NONE) {
            noise_report(h, hs == USB_HS_ACK ? "IN data" : "IN handshake from the device");
            lost = true, hs = USB_HS_NONE;
        }
        if (ack_lost && hs == USB_HS_ACK)
            noise_report(h, "IN ACK from the host");
        /* ack_lost: the host got good data and goes on; the device will
         * send it again and the host drops it by its toggle (8.6.4). */
        lost = lost || (ack_lost && hs == USB_HS_ACK);
    }
    tap(h, USB_TAP_IN, ep, NULL, *len, hs, lost);
    return hs;
}

/* ---- Control transfers as transactions ---------------------------------- */

static size_t wlength(const struct usb_ctrl *c) { return (size_t)(c->setup[6] | c->setup[7] << 8); }
static bool dir_in(const struct usb_ctrl *c) { return c->setup[0] & 0x80; }

static void deliver(struct usb_host *h)
{
    while (h->finished) {
        struct usb_ctrl *c = h->finished;
        h->finished = c->next;
        c->next = NULL;
        if (c->done)
            c->done(h, c);
    }
}

static void xfer_finish(struct usb_host *h, int status)
{
    struct usb_ctrl *c = h->active;
    h->active = NULL;
    c->status = status;
    vb_trace(h->vb, "usb", "control %02x %02x len %zu -> %s, %zu bytes", c->setup[0],
             c->setup[1], wlength(c), err_name(status), c->actual);
    struct usb_ctrl **p = &h->finished;
    while (*p)
        p = &(*p)->next;
    c->next = NULL;
    *p = c;
    /* See struct usb_host: reported at the end of this frame, acted on by
     * the driver one frame later. Without frames (port not enabled) at
     * once. */
    h->deliver_at = h->port == P_ENABLED ? h->next_sof + FRAME_NS : vb_now_ns(h->vb);
}

static void xfer_start_next(struct usb_host *h)
{
    uint64_t now = vb_now_ns(h->vb);
    if (h->active || !h->queue || h->port != P_ENABLED || h->finished || now < h->deliver_at)
        return;
    struct usb_ctrl *c = h->queue;
    h->queue = c->next;
    c->next = NULL;
    c->stage = ST_SETUP;
    c->toggle = 0;
    c->errors = 0;
    c->actual = 0;
    c->deadline = now + XFER_TIMEOUT_NS;
    h->active = c;
    if (h->next_txn < now)
        h->next_txn = now;
}

static void queue_xfer(struct usb_host *h, struct usb_ctrl *c)
{
    struct usb_ctrl **p = &h->queue;
    while (*p)
        p = &(*p)->next;
    c->next = NULL;
    *p = c;
    xfer_start_next(h);
}

/* Handshake bookkeeping common to every stage: true when the stage may go
 * on (ACK), false when it stays (NAK, no answer) or the transfer ended. */
static bool handshake_ok(struct usb_host *h, enum usb_hs hs)
{
    struct usb_ctrl *c = h->active;
    /* Three strikes count consecutive errors: a transaction that ended
     * with a valid handshake (ACK or NAK) starts the count again (EHCI:
     * Cerr is reloaded when a transaction "completes without an error"). */
    if (hs == USB_HS_ACK || hs == USB_HS_NAK)
        c->errors = 0;
    if (hs == USB_HS_ACK)
        return true;
    if (hs == USB_HS_STALL) {
        xfer_finish(h, -EPIPE);
    } else if (hs == USB_HS_NONE && ++c->errors >= MAX_ERRORS) {
        if (h->noise.rate > 0) /* say so: a test tells this from a firmware bug */
            vb_event(h->vb, "usb noise: control %02x %02x failed: three transactions in a row "
                            "without an answer", c->setup[0], c->setup[1]);
        xfer_finish(h, -EPROTO);
    } else if (vb_now_ns(h->vb) >= c->deadline) {
        xfer_finish(h, -ETIMEDOUT);
    }
    return false;
}

static enum usb_hs stage_data_in(struct usb_host *h, struct usb_ctrl *c)
{
    uint8_t buf[64];
    size_t n = 0;
    int pid = 0;
    enum usb_hs hs = wire_in(h, 0, buf, h->mps0, &n, &pid);
    if (!handshake_ok(h, hs))
        return hs;
    if (pid != c->toggle) { /* USB 2.0 8.6.4: a retransmission, already have it */
        vb_trace(h->vb, "usb", "IN DATA%d, expected DATA%d: discarded", pid, c->toggle);
        return hs;
    }
    c->toggle ^= 1;
    if (n > wlength(c) - c->actual) {
        xfer_finish(h, -EOVERFLOW);
        return hs;
    }
    memcpy(c->data + c->actual, buf, n);
    c->actual += n;
    if (n < h->mps0 || c->actual == wlength(c)) {
        c->stage = ST_STATUS;
        c->toggle = 1;
    }
    return hs;
}

static enum usb_hs stage_data_out(struct usb_host *h, struct usb_ctrl *c)
{
    size_t n = wlength(c) - c->actual;
    if (n > h->mps0)
        n = h->mps0;
    enum usb_hs hs = wire_out(h, 0, c->data + c->actual, n, c->toggle);
    if (!handshake_ok(h, hs))
        return hs;
    c->toggle ^= 1;
    c->actual += n;
    if (c->actual == wlength(c)) {
        c->stage = ST_STATUS;
        c->toggle = 1;
    }
    return hs;
}

static enum usb_hs stage_status(struct usb_host *h, struct usb_ctrl *c)
{
    enum usb_hs hs;
    if (dir_in(c) && wlength(c)) {
        hs = wire_out(h, 0, NULL, 0, 1);
        if (handshake_ok(h, hs))
            xfer_finish(h, 0);
        return hs;
    }
    uint8_t buf[64];
    size_t n = 0;
    int pid = 0;
    hs = wire_in(h, 0, buf, h->mps0, &n, &pid);
    if (handshake_ok(h, hs))
        xfer_finish(h, n ? -EPROTO : 0); /* the status stage is a zero-length DATA1 */
    return hs;
}

/* Bytes of data the active transfer's next transaction carries. */
static size_t next_txn_bytes(const struct usb_host *h)
{
    const struct usb_ctrl *c = h->active;
    if (c->stage == ST_SETUP)
        return 8;
    if (c->stage == ST_STATUS)
        return 0;
    size_t left = wlength(c) - c->actual;
    return dir_in(c) || left > h->mps0 ? h->mps0 : left;
}

static enum usb_hs xfer_step(struct usb_host *h)
{
    struct usb_ctrl *c = h->active;
    if (c->stage == ST_SETUP) {
        enum usb_hs hs = wire_setup(h, c->setup);
        if (handshake_ok(h, hs)) {
            c->stage = wlength(c) ? ST_DATA : ST_STATUS;
            c->toggle = 1;
        }
        return hs;
    }
    if (c->stage == ST_DATA)
        return dir_in(c) ? stage_data_in(h, c) : stage_data_out(h, c);
    return stage_status(h, c);
}

static void fail_all(struct usb_host *h, int status)
{
    deliver(h);
    if (h->active)
        xfer_finish(h, status);
    while (h->queue) {
        struct usb_ctrl *c = h->queue;
        h->queue = c->next;
        h->active = c;
        xfer_finish(h, status);
    }
    deliver(h);
    h->deliver_at = 0;
}

bool usb_host_submit(struct usb_host *h, struct usb_ctrl *c)
{
    if (!h->exported)
        return false;
    queue_xfer(h, c);
    return true;
}

bool usb_host_cancel(struct usb_host *h, struct usb_ctrl *c)
{
    if (h->active == c) {
        /* The host stops scheduling it; the device is left mid-transfer
         * until the next SETUP, as on a real bus. */
        h->active = NULL;
        xfer_start_next(h);
        return true;
    }
    /* Done on the bus but not given back yet: Linux gives an unlinked URB
     * back as unlinked, so it is not reported. */
    for (struct usb_ctrl **p = &h->finished; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return true;
        }
    for (struct usb_ctrl **p = &h->queue; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return true;
        }
    return false;
}

void usb_host_note_config(struct usb_host *h, uint8_t value) { h->info.config_value = value; }

void usb_host_set_tap(struct usb_host *h, usb_tap_fn fn, void *ctx)
{
    h->tap = fn;
    h->tap_ctx = ctx;
}

void usb_host_set_errors(struct usb_host *h, double rate, uint64_t seed)
{
    h->noise.rate = rate;
    h->noise.seed = seed;
    h->noise.state = seed ? seed : 0x9E3779B97F4A7C15ull; /* xorshift needs a nonzero state */
    h->noise.packets = h->noise.lost = 0;
    if (rate > 0)
        vb_event(h->vb, "usb noise: %.4g%% of packets lost, seed %llu (--usb-errors %g,%llu "
                        "repeats it)",
                 rate * 100, (unsigned long long)seed, rate, (unsigned long long)seed);
}

const struct usb_devinfo *usb_host_exported(const struct usb_host *h)
{
    return h->exported ? &h->info : NULL;
}

const struct usb_devinfo *usb_host_listed(const struct usb_host *h)
{
    return h->exported || h->relisting ? &h->info : NULL;
}

/* ---- Port: reset, SOF ------------------------------------------------------ */

static void bus_reset(struct usb_host *h)
{
    uint64_t now = vb_now_ns(h->vb);
    vb_event(h->vb, "usb reset");
    usb_dev_bus_reset(h->dev);
    h->port = P_RESET;
    h->addr = 0;
    h->since = now + RESET_NS;
    h->reset_seen = now + RESET_SEEN_NS;
    tap(h, USB_TAP_RESET, 0, NULL, 0, USB_HS_NONE, false);
}

/* ---- Enumeration ------------------------------------------------------------- */

static void enum_xfer_done(struct usb_host *h, struct usb_ctrl *c)
{
    (void)c;
    h->ex_busy = false;
}

static void enum_ctrl(struct usb_host *h, uint8_t rt, uint8_t req, uint16_t value,
                      uint16_t index, uint16_t len)
{
    struct usb_ctrl *c = &h->ex;
    memset(c, 0, sizeof *c);
    const uint8_t s[8] = {rt, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                          (uint8_t)(index >> 8), (uint8_t)len, (uint8_t)(len >> 8)};
    memcpy(c->setup, s, 8);
    c->data = h->exbuf;
    c->done = enum_xfer_done;
    h->ex_busy = true;
    queue_xfer(h, c);
}

static void get_desc(struct usb_host *h, uint8_t type, uint8_t idx, uint16_t lang, uint16_t len)
{
    enum_ctrl(h, 0x80, 6, (uint16_t)(type << 8 | idx), lang, len);
}

static void enum_fail(struct usb_host *h, const char *why)
{
    h->attempt++;
    vb_trace(h->vb, "usb", "enumeration attempt %d failed (%s: %s)", h->attempt,
             step_name[h->step], why);
    h->step_running = false;
    if (h->attempt < ENUM_ATTEMPTS) {
        h->step = E_RESET1;
        h->step_at = vb_now_ns(h->vb) + (ENUM_BACKOFF_NS << (h->attempt - 1));
        return;
    }
    vb_event(h->vb, "usb enumeration failed (%s: %s)", step_name[h->step], why);
    h->enumerating = false;
    h->relisting = false;
    h->gave_up = true;
}

static void string_ascii(const uint8_t *d, size_t len, char *out, size_t cap)
{
    size_t k = 0;
    if (len >= 2 && d[0] <= len)
        len = d[0];
    for (size_t i = 2; i + 1 < len && k + 1 < cap; i += 2)
        out[k++] = d[i + 1] || d[i] > 0x7E || d[i] < 0x20 ? '?' : (char)d[i];
    out[k] = 0;
}

static void enum_done(struct usb_host *h)
{
    const uint8_t *d = h->info.dev;
    h->enumerating = false;
    h->relisting = false;
    h->exported = true;
    vb_event(h->vb, "usb enumerated addr=%u %04x:%04x \"%s\"", h->addr, d[8] | d[9] << 8,
             d[10] | d[11] << 8, h->info.serial);
}

/* Checks the transfer of the step just finished; an error text when the
 * enumeration cannot go on. BOS and strings are optional, as for Linux. */
static const char *enum_check(struct usb_host *h)
{
    struct usb_ctrl *c = &h->ex;
    const uint8_t *b = h->exbuf;
    bool optional = h->step >= E_BOS5 && h->step <= E_STR_SERIAL;
    if (c->status && !optional)
        return err_name(c->status);
    switch (h->step) {
    case E_DEV64:
        if (c->actual < 8 || b[1] != 1)
            return "short or bad device descriptor";
        h->mps0 = b[7] == 8 || b[7] == 16 || b[7] == 32 || b[7] == 64 ? b[7] : 64;
        break;
    case E_DEV18:
        if (c->actual != 18 || b[0] != 18 || b[1] != 1)
            return "bad device descriptor";
        memcpy(h->info.dev, b, 18);
        break;
    case E_CFG9:
    case E_CFG:
        if (c->actual < 9 || b[1] != 2)
            return "bad configuration descriptor";
        h->info.cfg_len = c->actual;
        memcpy(h->info.cfg, b, c->actual);
        break;
    case E_STR0:
        h->langid = !c->status && c->actual >= 4 ? (uint16_t)(b[2] | b[3] << 8) : 0;
        break;
    case E_STR_SERIAL:
        if (!c->status)
            string_ascii(b, c->actual, h->info.serial, sizeof h->info.serial);
        break;
    default:
        break;
    }
    return NULL;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Starts the transfer (or bus reset) of h->step; false when the step does
 * not apply to this device and is skipped. */
static bool enum_issue(struct usb_host *h)
{
    const uint8_t *d = h->info.dev;
    uint16_t total = le16(h->info.cfg + 2);
    switch (h->step) {
    case E_RESET1:
    case E_RESET2: bus_reset(h); return true;
    case E_DEV64: h->mps0 = 64; get_desc(h, 1, 0, 0, 64); return true;
    case E_SETADDR: enum_ctrl(h, 0x00, 5, h->info.addr, 0, 0); return true;
    case E_DEV18: get_desc(h, 1, 0, 0, 18); return true;
    case E_CFG9: get_desc(h, 2, 0, 0, 9); return true;
    case E_CFG: get_desc(h, 2, 0, 0, total > sizeof h->exbuf ? sizeof h->exbuf : total); return true;
    case E_BOS5:
        if (le16(d + 2) < 0x0201) /* Linux reads the BOS from USB 2.01 on */
            return false;
        get_desc(h, 15, 0, 0, 5);
        return true;
    case E_BOS: {
        uint16_t len = le16(h->exbuf + 2);
        if (le16(d + 2) < 0x0201 || h->ex.status || h->ex.actual < 5 || h->exbuf[1] != 15 ||
            len < 5)
            return false;
        get_desc(h, 15, 0, 0, len > sizeof h->exbuf ? sizeof h->exbuf : len);
        return true;
    }
    case E_STR0:
        h->langid = 0;
        h->info.serial[0] = 0;
        /* usb_string -> usb_get_langid: read with the first string. */
        if (!d[14] && !d[15] && !d[16])
            return false;
        get_desc(h, 3, 0, 0, 255);
        return true;
    case E_STR_PRODUCT:
    case E_STR_MANUF:
    case E_STR_SERIAL: {
        uint8_t idx = d[h->step == E_STR_PRODUCT ? 15 : h->step == E_STR_MANUF ? 14 : 16];
        if (!idx || !h->langid)
            return false;
        get_desc(h, 3, idx, h->langid, 255);
        return true;
    }
    case E_SETCFG:
        h->info.config_value = h->info.cfg[5];
        enum_ctrl(h, 0x00, 9, h->info.config_value, 0, 0);
        return true;
    case E_DONE: enum_done(h); return true;
    }
    return false;
}

static void enum_start(struct usb_host *h, bool keep_addr)
{
    h->enumerating = true;
    h->exported = false;
    h->attempt = 0;
    h->step = E_RESET1;
    h->step_running = false;
    h->step_at = vb_now_ns(h->vb);
    if (!keep_addr || !h->info.addr) {
        h->last_addr = h->last_addr >= 127 ? 1 : (uint8_t)(h->last_addr + 1);
        h->info.addr = h->last_addr;
    }
}

/* Finishes the running step when its transfer or reset is over. */
static void enum_finish_step(struct usb_host *h, uint64_t now)
{
    bool reset = h->step == E_RESET1 || h->step == E_RESET2;
    if (reset ? h->port == P_RESET || now < h->reset_seen : h->ex_busy)
        return;
    h->step_running = false;
    if (reset) {
        h->step_at = now + RECOVERY_NS; /* TRSTRCY: the device gets ready */
    } else {
        const char *why = enum_check(h);
        if (why) {
            enum_fail(h, why);
            return;
        }
        if (h->step == E_SETADDR) {
            h->addr = h->info.addr;
            h->step_at = now + SET_ADDRESS_NS;
        }
    }
    h->step++;
}

static void enum_run(struct usb_host *h)
{
    uint64_t now = vb_now_ns(h->vb);
    if (h->enumerating && h->step_running)
        enum_finish_step(h, now);
    if (!h->enumerating || h->step_running || now < h->step_at)
        return;
    while (!enum_issue(h))
        h->step++;
    h->step_running = h->enumerating;
}

/* ---- Port state ---------------------------------------------------------- */

static void port_disconnect(struct usb_host *h)
{
    vb_event(h->vb, "usb disconnect");
    bool was = h->exported;
    h->port = P_DETACHED;
    h->exported = h->enumerating = h->gave_up = h->relisting = false;
    fail_all(h, -ESHUTDOWN);
    h->ex_busy = false;
    if (was && h->srv)
        usbip_server_device_gone(h->srv);
}

static void port_poll(struct usb_host *h, uint64_t now)
{
    bool up = vb_dplus_pulled_up(h->vb);
    if (h->port == P_DETACHED) {
        if (up) {
            h->port = P_DEBOUNCE;
            h->since = now;
        }
    } else if (!up) {
        if (h->port == P_DEBOUNCE)
            h->port = P_DETACHED;
        else
            port_disconnect(h);
    } else if (h->port == P_DEBOUNCE && now - h->since >= DEBOUNCE_NS) {
        vb_event(h->vb, "usb connect");
        h->port = P_ENABLED;
        h->next_sof = now;
        enum_start(h, false);
    } else if (h->port == P_RESET && now >= h->since) {
        h->port = P_ENABLED; /* reset over: SOFs resume */
        h->next_sof = now;
        tap(h, USB_TAP_RESET_END, 0, NULL, 0, USB_HS_NONE, false);
    }
}

void usb_host_reset_device(struct usb_host *h)
{
    if (h->port != P_ENABLED && h->port != P_RESET)
        return;
    fail_all(h, -ESHUTDOWN);
    h->ex_busy = false;
    enum_start(h, true);
    h->relisting = true;
}

/* ---- Bus schedule -------------------------------------------------------- */

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static void frame_start(struct usb_host *h, uint64_t now)
{
    usb_dev_sof(h->dev);
    tap(h, USB_TAP_SOF, 0, NULL, 0, USB_HS_NONE, false);
    /* On time the frame begins at next_sof; a late poll (the board ran
     * past it) begins it now. */
    uint64_t begin = now < h->next_sof + FRAME_NS ? h->next_sof : now;
    h->next_sof = begin + FRAME_NS;
    h->bus_free = max64(h->bus_free, begin + SOF_NS);
}

/* One transaction of the active transfer if it is due and fits in what is
 * left of the frame. One that was NAKed or failed (no handshake, lost
 * packet) is tried again in the next frame: the host controller goes on
 * with its schedule and comes back to the endpoint later (EHCI: on a
 * timeout it "decrements Cerr and proceeds to the next queue head"; a
 * UHCI TD is visited once per frame without bandwidth reclamation). The
 * model takes the next frame for both, which also gives a firmware the
 * time a real host gives it to handle a SETUP whose ACK was lost before
 * the SETUP comes again. */
static void bus_transaction(struct usb_host *h, uint64_t now)
{
    if (!h->active || h->port != P_ENABLED)
        return;
    uint64_t t = max64(h->bus_free, h->next_txn);
    if (now < t)
        return;
    uint64_t d = txn_ns(next_txn_bytes(h));
    if (now + d > h->next_sof) {
        h->next_txn = h->next_sof; /* does not fit: next frame */
        return;
    }
    enum usb_hs hs = xfer_step(h);
    h->bus_free = now + d;
    h->next_txn = hs == USB_HS_ACK ? h->bus_free : h->next_sof;
}

static void bus_work(struct usb_host *h)
{
    uint64_t now = vb_now_ns(h->vb);
    port_poll(h, now);
    if (h->port == P_ENABLED && now >= h->next_sof)
        frame_start(h, now);
    if (h->finished && now >= h->deliver_at)
        deliver(h);
    enum_run(h);
    xfer_start_next(h);
    bus_transaction(h, now);
    if (h->finished && now >= h->deliver_at)
        deliver(h);
    enum_run(h);
    xfer_start_next(h);
}

static uint64_t next_due(const struct usb_host *h)
{
    uint64_t now = vb_now_ns(h->vb);
    uint64_t t = now + MS; /* sample the pull-up at least every 1 ms */
    if (h->port == P_ENABLED)
        t = min64(t, h->next_sof);
    if (h->port == P_RESET)
        t = min64(t, h->since);
    if (h->port == P_DEBOUNCE)
        t = min64(t, h->since + DEBOUNCE_NS);
    if (h->active && h->port == P_ENABLED)
        t = min64(t, max64(h->bus_free, h->next_txn));
    if (h->finished)
        t = min64(t, h->deliver_at);
    if (h->queue && !h->active && h->port == P_ENABLED)
        t = min64(t, max64(h->deliver_at, now));
    if (h->enumerating && !h->step_running)
        t = min64(t, h->step_at);
    if (h->enumerating && h->step_running && (h->step == E_RESET1 || h->step == E_RESET2))
        t = min64(t, h->reset_seen);
    return t;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t usb_host_poll(struct usb_host *h, int wait_ms)
{
    /* The board may call this between every CPU slice: look at the sockets
     * at most every 100 us of wall time unless asked to wait. */
    uint64_t wall = wall_ns();
    if (h->srv && wall - h->last_serve_ns >= 100000) {
        h->last_serve_ns = wall;
        usbip_server_poll(h->srv, 0);
    }
    bus_work(h);
    uint64_t now = vb_now_ns(h->vb);
    uint64_t t = next_due(h);
    if (t > now && wait_ms > 0) {
        /* The board waits here for wall time to pass; with no listener there
         * is nothing that could end the wait early. */
        if (h->srv)
            usbip_server_poll(h->srv, wait_ms);
        else
            poll(NULL, 0, wait_ms);
        xfer_start_next(h);
        t = next_due(h);
    }
    return t > now ? t : now;
}

struct usb_host *usb_host_new(struct vb *vb, struct usb_model *dev, const char *bind_addr,
                              uint16_t port)
{
    struct usb_host *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->vb = vb;
    h->dev = dev;
    h->mps0 = 64;
    if (port) {
        h->srv = usbip_server_new(h, bind_addr ? bind_addr : "127.0.0.1", port);
        if (!h->srv) {
            free(h);
            return NULL;
        }
    }
    return h;
}

void usb_host_free(struct usb_host *h)
{
    if (!h)
        return;
    if (h->srv)
        usbip_server_free(h->srv);
    h->srv = NULL;
    fail_all(h, -ESHUTDOWN);
    free(h);
}
