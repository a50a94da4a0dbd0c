/*
 * test_usb_host.c - the host controller + root port (vboard/usb_host.c)
 * against the peripheral model, with a tiny C "firmware" (usb_testfw.h)
 * that answers through the registers between transactions.
 */
#include <errno.h>

#include "../../vboard/usb.h"
#include "../../vboard/usb_host_int.h"
#include "../testing.h"
#include "fake_vb.h"
#include "usb_testfw.h"

#define MS 1000000ull

static struct usb_model *m;
static struct usb_host *h;

static void boot(unsigned mps, const char *serial)
{
    fake_reset();
    if (h)
        usb_host_free(h);
    if (m)
        usb_model_free(m);
    m = usb_model_new(fake_vb);
    fw_defaults(mps, serial);
    fw_start();
    h = usb_host_new(fake_vb, m, NULL, 0);
}

/* Runs the bus for ns of virtual time; the firmware gets the CPU at least
 * every 20 us, as an interrupt-driven stack would. */
static void run_ns(uint64_t ns)
{
    uint64_t end = vb_now_ns(fake_vb) + ns;
    while (vb_now_ns(fake_vb) < end) {
        uint64_t next = usb_host_poll(h, 0);
        fw_poll();
        uint64_t now = vb_now_ns(fake_vb);
        uint64_t step = next > now ? next - now : 1000;
        if (step > 20000)
            step = 20000;
        if (now + step > end)
            step = end - now;
        fake_advance_ns(step);
    }
}

static struct usb_ctrl xfer;
static uint8_t xbuf[1024];
static int xdone;

static void on_done(struct usb_host *hh, struct usb_ctrl *c)
{
    (void)hh;
    (void)c;
    xdone++;
}

/* Runs one control transfer to completion (or 10 s); returns its status. */
static int control(uint8_t rt, uint8_t req, uint16_t value, uint16_t len, uint64_t *took)
{
    memset(&xfer, 0, sizeof xfer);
    uint8_t s[8] = {rt, req, (uint8_t)value, (uint8_t)(value >> 8), 0, 0, (uint8_t)len,
                    (uint8_t)(len >> 8)};
    memcpy(xfer.setup, s, 8);
    xfer.data = xbuf;
    xfer.done = on_done;
    xdone = 0;
    uint64_t t0 = vb_now_ns(fake_vb);
    if (!usb_host_submit(h, &xfer))
        return -ENODEV;
    for (int i = 0; i < 10000 && !xdone; i++)
        run_ns(MS);
    if (took)
        *took = vb_now_ns(fake_vb) - t0;
    return xdone ? xfer.status : -9999;
}

TEST(enumerates_like_linux)
{
    /* USB 2.0 9.1.2 / Linux hub_port_init: debounce 100 ms, reset,
     * GET_DESCRIPTOR(device, 64) at address 0, reset, SET_ADDRESS, then
     * descriptors at the new address, strings, SET_CONFIGURATION. */
    boot(64, "SER1");
    run_ns(90 * MS);
    CHECK_EQ(fake_events, 0); /* still debouncing */
    run_ns(400 * MS);
    CHECK(!strcmp(fake_last_event, "usb enumerated addr=1 0483:df11 \"SER1\""), "event: %s",
          fake_last_event);
    CHECK_EQ(fake_events, 4); /* connect, reset, reset, enumerated */
    CHECK_EQ(fw.resets, 2);
    static const uint8_t req[] = {6, 5, 6, 6, 6, 6, 6, 6, 6, 9};
    static const uint16_t val[] = {0x100, 1, 0x100, 0x200, 0x200, 0x300, 0x302, 0x301, 0x303, 1};
    CHECK_EQ(fw.setups, 10);
    for (int i = 0; i < 10 && i < fw.setups; i++) {
        CHECK(fw.log[i] == req[i] && fw.log_wvalue[i] == val[i],
              "setup %d: bRequest %u wValue 0x%04x, want %u 0x%04x", i, fw.log[i],
              fw.log_wvalue[i], req[i], val[i]);
        CHECK_EQ(fw.log_addr[i], i < 2 ? 0 : 1);
    }
    CHECK_EQ(fw.config, 1);
    const struct usb_devinfo *d = usb_host_exported(h);
    CHECK(d && d->addr == 1 && d->cfg_len == 27 && d->config_value == 1, "exported info");
}

TEST(mps8_multi_packet_and_early_status)
{
    /* USB 2.0 8.5.3.2 / 5.5.3: a short packet ends the data stage; with
     * bMaxPacketSize0 8 the first GET_DESCRIPTOR(64) ends after one packet
     * (as Linux does) and the 18-byte read takes three packets. */
    boot(8, "X");
    run_ns(500 * MS);
    const struct usb_devinfo *d = usb_host_exported(h);
    CHECK(d != NULL, "enumerated with an 8-byte EP0: %s", fake_last_event);
    if (d)
        CHECK(!memcmp(d->dev, fw.dev_desc, 18), "device descriptor read whole");
    CHECK_EQ(control(0xC0, 0x45, 0, 64, NULL), 0);
}

TEST(debounce_needs_100ms)
{
    /* USB 2.0 7.1.7.3: the host waits TATTDB = 100 ms of stable attach. */
    boot(64, "S");
    run_ns(60 * MS);
    fake_pullup = false;
    run_ns(5 * MS);
    fake_pullup = true;
    run_ns(60 * MS);
    CHECK_EQ(fake_events, 0);
    run_ns(50 * MS);
    CHECK(!strcmp(fake_last_event, "usb connect") || fake_events >= 1, "connect: %s",
          fake_last_event);
}

TEST(disconnect_and_reenumerate_new_address)
{
    boot(64, "S");
    run_ns(500 * MS);
    CHECK(usb_host_exported(h) != NULL, "enumerated");
    fake_pullup = false;
    run_ns(2 * MS);
    CHECK(!strcmp(fake_last_event, "usb disconnect"), "event: %s", fake_last_event);
    CHECK(usb_host_exported(h) == NULL, "removed");
    CHECK_EQ(control(0x80, 6, 0x100, 18, NULL), -ENODEV);
    fake_pullup = true;
    run_ns(500 * MS);
    CHECK(!strcmp(fake_last_event, "usb enumerated addr=2 0483:df11 \"S\""), "event: %s",
          fake_last_event);
}

TEST(out_and_in_data_stages)
{
    /* Control write of 100 bytes (two packets, DATA1 then DATA0), then a
     * control read of them back. */
    boot(64, "S");
    run_ns(500 * MS);
    for (int i = 0; i < 100; i++)
        xbuf[i] = (uint8_t)(i * 7);
    uint8_t want[100];
    memcpy(want, xbuf, 100);
    CHECK_EQ(control(0x40, 0x44, 0, 100, NULL), 0);
    CHECK_EQ(fw.stored_len, 100);
    memset(xbuf, 0, sizeof xbuf);
    CHECK_EQ(control(0xC0, 0x45, 0, 200, NULL), 0);
    CHECK_EQ(xfer.actual, 100);
    CHECK(!memcmp(xbuf, want, 100), "data read back");
    /* exactly a multiple of the packet size, shorter than wLength: ZLP */
    memcpy(xbuf, want, 64);
    CHECK_EQ(control(0x40, 0x44, 0, 64, NULL), 0);
    CHECK_EQ(control(0xC0, 0x45, 0, 200, NULL), 0);
    CHECK_EQ(xfer.actual, 64);
}

TEST(stall_is_epipe)
{
    /* USB 2.0 8.4.5: STALL -> the pipe is halted; Linux reports -EPIPE. */
    boot(64, "S");
    run_ns(500 * MS);
    CHECK_EQ(control(0xC0, 0x42, 0, 8, NULL), -EPIPE);
    CHECK_EQ(control(0x80, 6, 0x100, 18, NULL), 0); /* next SETUP clears it */
}

TEST(nak_forever_times_out_after_5s)
{
    /* Linux USB_CTRL_GET_TIMEOUT: 5000 ms; NAKs are retried until then. */
    boot(64, "S");
    run_ns(500 * MS);
    uint64_t took = 0;
    CHECK_EQ(control(0xC0, 0x43, 0, 8, &took), -ETIMEDOUT);
    CHECK(took >= 5000 * MS && took < 5100 * MS, "took %llu ms",
          (unsigned long long)(took / MS));
    CHECK_EQ(control(0x80, 6, 0x100, 18, NULL), 0);
}

TEST(system_reset_with_fixed_pullup_stops_answering)
{
    /* A board whose D+ pull-up is fixed stays attached across a system
     * reset: the device no longer answers at its address, and the host sees
     * transaction errors (3 strikes), not a new device. */
    boot(64, "S");
    run_ns(500 * MS);
    int events = fake_events;
    usb_model_reset(m);
    fw.mute = true;
    uint64_t took = 0;
    CHECK_EQ(control(0x80, 6, 0x100, 18, &took), -EPROTO);
    CHECK(took < 10 * MS, "fails fast: %llu ns", (unsigned long long)took);
    run_ns(300 * MS);
    CHECK_EQ(fake_events, events);
}

TEST(enumeration_waits_out_a_busy_device)
{
    /* A device that is deaf for a second (blocking flash erase) when the
     * host resets it is found on a later attempt, as Linux would. */
    boot(64, "S");
    fw.mute = true;
    run_ns(1200 * MS);
    fw.mute = false;
    run_ns(3000 * MS);
    CHECK(strstr(fake_last_event, "usb enumerated") != NULL, "event: %s", fake_last_event);
}

TEST(enumeration_gives_up_until_replug)
{
    /* A device that never answers: a few attempts, one failure line, then
     * nothing until it is unplugged and plugged again. */
    boot(64, "S");
    fw.mute = true;
    run_ns(5000 * MS); /* 6 attempts, 100 ms backoff doubling: ~3.2 s */
    CHECK(strstr(fake_last_event, "usb enumeration failed (GET_DESCRIPTOR device(64): "
                                  "no handshake)") != NULL,
          "event: %s", fake_last_event);
    int events = fake_events;
    run_ns(1000 * MS);
    CHECK_EQ(fake_events, events);
    fake_pullup = false;
    run_ns(5 * MS);
    fake_pullup = true;
    fw.mute = false;
    run_ns(500 * MS);
    CHECK(strstr(fake_last_event, "usb enumerated addr=2") != NULL, "event: %s",
          fake_last_event);
}

TEST(sof_every_ms)
{
    /* USB 2.0 8.4.3: a full-speed host sends an SOF every 1.00 ms. */
    boot(64, "S");
    run_ns(500 * MS);
    uint16_t f0 = fw_reg(USB_FNR) & 0x7FF;
    run_ns(10 * MS);
    uint16_t f1 = fw_reg(USB_FNR) & 0x7FF;
    CHECK(((f1 - f0) & 0x7FF) == 10, "%u SOFs in 10 ms", (f1 - f0) & 0x7FF);
}

TEST(reset_device_keeps_address)
{
    /* Linux usb_reset_device (what usbip-host does when its importer goes
     * away): bus reset and enumeration at the same address. */
    boot(64, "S");
    run_ns(500 * MS);
    usb_host_reset_device(h);
    CHECK(usb_host_exported(h) == NULL, "not exported while resetting");
    run_ns(300 * MS);
    CHECK(!strcmp(fake_last_event, "usb enumerated addr=1 0483:df11 \"S\""), "event: %s",
          fake_last_event);
    CHECK_EQ(fw.resets, 4);
}

TEST(cancel_active_transfer)
{
    boot(64, "S");
    run_ns(500 * MS);
    memset(&xfer, 0, sizeof xfer);
    const uint8_t s[8] = {0xC0, 0x43, 0, 0, 0, 0, 8, 0};
    memcpy(xfer.setup, s, 8);
    xfer.data = xbuf;
    xfer.done = on_done;
    xdone = 0;
    CHECK(usb_host_submit(h, &xfer), "submitted");
    run_ns(5 * MS);
    CHECK(usb_host_cancel(h, &xfer), "was pending");
    CHECK(!usb_host_cancel(h, &xfer), "no longer pending");
    run_ns(5 * MS);
    CHECK_EQ(xdone, 0);
    CHECK_EQ(control(0x80, 6, 0x100, 18, NULL), 0);
}

/* ---- The bus as an analyser sees it ------------------------------------- */

#define TAP_MAX 20000
static struct usb_tap_event taps[TAP_MAX];
static int ntaps;

static void on_tap(void *ctx, const struct usb_tap_event *e)
{
    (void)ctx;
    if (ntaps < TAP_MAX)
        taps[ntaps++] = *e;
}

static void boot_tapped(unsigned mps, const char *serial)
{
    boot(mps, serial);
    ntaps = 0;
    usb_host_set_tap(h, on_tap, NULL);
}

static bool is_token(const struct usb_tap_event *e)
{
    return e->kind == USB_TAP_SETUP || e->kind == USB_TAP_OUT || e->kind == USB_TAP_IN;
}

/* Index of the first event at or after i of that kind (-1: none). */
static int find_from(int i, enum usb_tap_kind kind)
{
    for (; i < ntaps; i++)
        if (taps[i].kind == kind)
            return i;
    return -1;
}

static int find_setup(int i, uint8_t request)
{
    for (; i < ntaps; i++)
        if (taps[i].kind == USB_TAP_SETUP && taps[i].hs == USB_HS_ACK && taps[i].setup[1] == request)
            return i;
    return -1;
}

static double ms_between(int a, int b) { return (double)(taps[b].t_ns - taps[a].t_ns) / 1e6; }

TEST(enumeration_gaps_follow_usb2)
{
    boot_tapped(64, "G");
    run_ns(600 * MS);
    CHECK(usb_host_exported(h) != NULL, "enumerated: %s", fake_last_event);
    int r1 = find_from(0, USB_TAP_RESET);
    int e1 = find_from(r1 + 1, USB_TAP_RESET_END);
    int r2 = find_from(e1 + 1, USB_TAP_RESET);
    int e2 = find_from(r2 + 1, USB_TAP_RESET_END);
    CHECK(r1 >= 0 && e1 > r1 && r2 > e1 && e2 > r2, "two resets seen: %d %d %d %d", r1, e1, r2, e2);
    if (!(r1 >= 0 && e1 > r1 && r2 > e1 && e2 > r2))
        return;
    /* USB 2.0 7.1.7.3: "a debounce interval of 100 ms (TATTDB)" from the
     * attach (time 0 here) before the port is reset. */
    CHECK(taps[r1].t_ns >= 100 * MS, "first reset at %.3f ms", taps[r1].t_ns / 1e6);
    /* USB 2.0 7.1.7.5: "It is required that resets from root ports have a
     * duration of at least 50 ms" (TDRSTR; TDRST >= 10 ms from a hub). */
    CHECK(ms_between(r1, e1) >= 50.0, "reset 1 lasts %.3f ms", ms_between(r1, e1));
    CHECK(ms_between(r2, e2) >= 50.0, "reset 2 lasts %.3f ms", ms_between(r2, e2));
    /* USB 2.0 9.2.6.2: "the USB System Software guarantees a minimum of
     * 10 ms for reset recovery" (TRSTRCY) before the first request. */
    int t1 = find_from(e1, USB_TAP_SETUP), t2 = find_from(e2, USB_TAP_SETUP);
    CHECK(t1 > 0 && ms_between(e1, t1) >= 10.0, "first request %.3f ms after reset 1",
          ms_between(e1, t1));
    CHECK(t2 > 0 && ms_between(e2, t2) >= 10.0, "first request %.3f ms after reset 2",
          ms_between(e2, t2));
    /* The status stage of GET_DESCRIPTOR(device, 64) is the last token
     * before the second reset; a frame-scheduled host reports it at frame
     * end and acts later: at least one 1-ms frame (USB 2.0 8.4.3.1). */
    int st = -1;
    for (int i = e1; i < r2; i++)
        if (is_token(&taps[i]))
            st = i;
    CHECK(st > 0 && taps[st].kind == USB_TAP_OUT && taps[st].len == 0 && taps[st].hs == USB_HS_ACK,
          "status OUT ends GET_DESCRIPTOR(64)");
    CHECK(st > 0 && ms_between(st, r2) >= 1.0, "status to second reset: %.3f ms",
          st > 0 ? ms_between(st, r2) : -1.0);
    /* USB 2.0 9.2.6.3: "After successful completion of the Status stage,
     * the device is allowed a SetAddress() recovery interval of 2 ms." */
    int sa = find_setup(e2, 5);
    int sa_status = sa > 0 ? find_from(sa + 1, USB_TAP_IN) : -1;
    while (sa_status > 0 && taps[sa_status].hs != USB_HS_ACK)
        sa_status = find_from(sa_status + 1, USB_TAP_IN);
    int next = sa_status > 0 ? find_from(sa_status + 1, USB_TAP_SETUP) : -1;
    CHECK(next > 0 && taps[next].addr == 1 && ms_between(sa_status, next) >= 2.0,
          "SET_ADDRESS status to next request: %.3f ms",
          next > 0 ? ms_between(sa_status, next) : -1.0);
    /* USB 2.0 8.4.3.1: SOFs every 1.000 ms +-0.0005 ms while enabled. */
    int sofs = 0, bad = 0;
    for (int i = e2; i < ntaps; i++) {
        if (taps[i].kind != USB_TAP_SOF)
            continue;
        int j = find_from(i + 1, USB_TAP_SOF);
        if (j < 0)
            break;
        sofs++;
        uint64_t d = taps[j].t_ns - taps[i].t_ns;
        if (d < 999500 || d > 1000500)
            bad++;
    }
    CHECK(sofs > 100 && bad == 0, "%d SOF intervals, %d not 1 ms", sofs, bad);
    /* No token while a reset is on the bus (SE0 is not a packet). */
    int during = 0;
    for (int i = r1; i < e1; i++)
        during += is_token(&taps[i]);
    CHECK_EQ(during, 0);
}

TEST(bos_read_after_device_descriptor_from_usb_2_01)
{
    /* Linux hub_port_init: usb_get_bos_descriptor "if bcdUSB >= 0x0201",
     * right after the 18-byte device descriptor and before the
     * configuration (usb_get_configuration runs in usb_new_device). The
     * test firmware STALLs the BOS; Linux goes on without it. */
    boot(64, "B");
    fw.dev_desc[2] = 0x01; /* bcdUSB 2.01 */
    run_ns(600 * MS);
    CHECK(usb_host_exported(h) != NULL, "enumerated: %s", fake_last_event);
    static const uint16_t val[] = {0x100, 1, 0x100, 0xF00, 0x200, 0x200, 0x300, 0x302, 0x301, 0x303, 1};
    CHECK_EQ(fw.setups, 11);
    for (int i = 0; i < 11 && i < fw.setups; i++)
        CHECK(fw.log_wvalue[i] == val[i], "setup %d: wValue 0x%04x, want 0x%04x", i,
              fw.log_wvalue[i], val[i]);
}

TEST(stack_with_ctr_rx_pending_across_reset_enumerates)
{
    /* Other authors' stacks leave a CTR_RX pending when a reset arrives
     * before they handled the status stage, and never answer again
     * (RM0008 23.4.2: a SETUP with CTR_RX pending is discarded without a
     * handshake). On a real host the status stage of GET_DESCRIPTOR(64)
     * and the second reset are at least a frame apart, so such a stack
     * handles the OUT first and enumerates. */
    boot(64, "Q");
    fw.stale_ctr_quirk = true;
    run_ns(700 * MS);
    CHECK(strstr(fake_last_event, "usb enumerated addr=1") != NULL, "event: %s", fake_last_event);
    CHECK_EQ(fw.config, 1);
}

TEST(quirk_firmware_really_hangs_on_a_stale_ctr_rx)
{
    /* The quirk above is a real failure mode, not a no-op: with a CTR_RX
     * pending at the reset the firmware never answers a SETUP again. */
    fake_reset();
    if (h)
        usb_host_free(h), h = NULL;
    if (m)
        usb_model_free(m);
    m = usb_model_new(fake_vb);
    fw_defaults(64, "Q");
    fw.stale_ctr_quirk = true;
    fw_start();
    fw_poll();
    fw_reg_write(USB_ISTR, 0);
    fw_init_ep0();
    static const uint8_t gd[8] = {0x80, 6, 0, 1, 0, 0, 64, 0};
    uint8_t b[64];
    size_t n;
    int pid;
    CHECK_EQ(usb_dev_setup(m, 0, gd), USB_HS_ACK);
    fw_poll();
    CHECK_EQ(usb_dev_in(m, 0, 0, b, 64, &n, &pid), USB_HS_ACK);
    fw_poll();
    CHECK_EQ(usb_dev_out(m, 0, 0, NULL, 0, 1), USB_HS_ACK); /* status */
    usb_dev_bus_reset(m);                                   /* same instant */
    for (int i = 0; i < 3; i++)
        fw_poll();
    CHECK_EQ(usb_dev_setup(m, 0, gd), USB_HS_NONE);
    h = usb_host_new(fake_vb, m, NULL, 0); /* for the next test's boot() */
}

TEST(nak_retried_in_a_later_frame)
{
    /* The device answers 0x46 3 ms after the SETUP and NAKs until then. A
     * NAKed IN is tried again in a later frame: an SOF between any two
     * NAKs; the data arrives after them (USB 2.0 8.5.3: the host retries
     * the same packet, same toggle). */
    boot_tapped(64, "S");
    run_ns(600 * MS);
    memcpy(fw.stored, "hello", 5);
    fw.stored_len = 5;
    int from = ntaps;
    CHECK_EQ(control(0xC0, 0x46, 0, 64, NULL), 0);
    CHECK_EQ(xfer.actual, 5);
    CHECK(!memcmp(xbuf, "hello", 5), "data after the NAKs");
    int naks = 0, same_frame = 0, last_nak = -1;
    for (int i = from; i < ntaps; i++) {
        if (taps[i].kind != USB_TAP_IN || taps[i].hs != USB_HS_NAK)
            continue;
        naks++;
        if (last_nak >= 0 && find_from(last_nak + 1, USB_TAP_SOF) > i)
            same_frame++;
        if (last_nak >= 0 && find_from(last_nak + 1, USB_TAP_SOF) < 0)
            same_frame++;
        last_nak = i;
    }
    CHECK(naks >= 2 && naks <= 4, "%d NAKs in 3 ms", naks);
    CHECK_EQ(same_frame, 0);
}

TEST(transactions_take_bus_time)
{
    /* USB 2.0 5.11.3, full-speed non-isochronous transaction (handshake
     * included): 9107 + 83.54 x floor(3.167 + BitStuffTime(n)) ns +
     * Host_Delay, BitStuffTime(n) = 1.1667 x 8 x n. Each transaction of a
     * 512-byte control write starts no earlier than the previous one plus
     * that time (Host_Delay >= 0), and each fits in its 1-ms frame. */
    boot_tapped(64, "S");
    run_ns(600 * MS);
    memset(xbuf, 0x5A, 512);
    int from = ntaps;
    CHECK_EQ(control(0x40, 0x44, 0, 512, NULL), 0);
    CHECK_EQ(fw.stored_len, 512);
    int prev = -1, checked = 0, bad = 0;
    for (int i = from; i < ntaps; i++) {
        if (taps[i].kind == USB_TAP_SOF) {
            prev = -1;
            continue;
        }
        if (!is_token(&taps[i]))
            continue;
        if (prev >= 0) {
            double n = (double)taps[prev].len;
            double ns = 9107 + 83.54 * (double)(long)(3.167 + 1.1667 * 8 * n);
            checked++;
            if ((double)(taps[i].t_ns - taps[prev].t_ns) < ns)
                bad++;
        }
        prev = i;
    }
    CHECK(checked >= 9, "%d back-to-back transactions", checked);
    CHECK_EQ(bad, 0);
}


/* While the device is not ready: after each NAK the next two transactions
 * are lost (NAK, lost, lost, NAK, lost, lost, ...). */
static int alternate_losses, to_lose;
static void lose_after_nak(void *ctx, const struct usb_tap_event *e)
{
    on_tap(ctx, e);
    if (e->kind == USB_TAP_SOF)
        return;
    if (e->kind == USB_TAP_IN && e->hs == USB_HS_NAK)
        to_lose = 2;
    else if (e->lost)
        alternate_losses++, to_lose--;
    usb_host_set_errors(h, to_lose > 0 ? 1.0 : 0, 1);
}

TEST(three_strikes_means_three_in_a_row)
{
    /* Three strikes are three consecutive errors: a NAK is a valid answer
     * and starts the count again (EHCI reloads Cerr on a transaction that
     * "completes without an error"). NAK, lost, lost, NAK, ... then the
     * data: four or more losses, never three in a row; the transfer
     * succeeds. */
    boot_tapped(64, "S");
    run_ns(600 * MS);
    memcpy(fw.stored, "abc", 3);
    fw.stored_len = 3;
    alternate_losses = to_lose = 0;
    usb_host_set_tap(h, lose_after_nak, NULL);
    CHECK_EQ(control(0xC0, 0x46, 0, 64, NULL), 0);
    usb_host_set_tap(h, on_tap, NULL);
    CHECK(alternate_losses >= 4, "%d losses between NAKs", alternate_losses);
    CHECK_EQ(xfer.actual, 3);
}

/* ---- Noisy cable ------------------------------------------------------------ */

static int lost_taps(int from)
{
    int n = 0;
    for (int i = from; i < ntaps; i++)
        n += taps[i].lost;
    return n;
}

TEST(noisy_cable_transfers_stay_exact)
{
    /* --usb-errors: 2% of packets lost; USB 2.0 8.5/8.6: the host retries
     * each failed transaction, a lost ACK is resolved by the data toggle.
     * 200 control writes and reads of 100 bytes: none may come back with
     * wrong data; a transfer may only fail as a whole (-EPROTO) after three
     * losses in a row. With p = 1 - 0.98^3 per transaction and about 8
     * transactions per round trip that is ~8 x p^3 = 0.16% per round trip:
     * at most 2 of 200. */
    boot_tapped(64, "N");
    usb_host_set_errors(h, 0.02, 7);
    run_ns(1500 * MS);
    CHECK(usb_host_exported(h) != NULL, "enumerated through the noise: %s", fake_last_event);
    int failures = 0, wrong = 0;
    for (int k = 0; k < 200 && usb_host_exported(h); k++) {
        uint8_t want[100];
        for (int i = 0; i < 100; i++)
            want[i] = xbuf[i] = (uint8_t)(i * 13 + k);
        int st = control(0x40, 0x44, 0, 100, NULL);
        if (st != 0) {
            failures += st == -EPROTO;
            wrong += st != -EPROTO;
            continue;
        }
        CHECK(fw.stored_len == 100 && !memcmp(fw.stored, want, 100), "write %d stored", k);
        memset(xbuf, 0, 100);
        st = control(0xC0, 0x45, 0, 100, NULL);
        if (st != 0) {
            failures += st == -EPROTO;
            wrong += st != -EPROTO;
        } else if (xfer.actual != 100 || memcmp(xbuf, want, 100) != 0) {
            wrong++;
        }
    }
    CHECK_EQ(wrong, 0);
    CHECK(failures <= 2, "%d of 400 transfers failed", failures);
    int lost = lost_taps(0), out_ack_lost = 0, resent_in = 0;
    for (int i = 0; i < ntaps; i++) {
        if (taps[i].kind == USB_TAP_OUT && taps[i].lost && taps[i].len > 0)
            out_ack_lost++;
        if (taps[i].kind == USB_TAP_IN && taps[i].lost && taps[i].hs == USB_HS_ACK)
            resent_in++;
    }
    CHECK(lost > 40, "%d transactions hit by noise", lost);
    CHECK(out_ack_lost > 0 && resent_in > 0, "OUT lost %d, IN ACK lost %d", out_ack_lost,
          resent_in);
}

TEST(noise_is_repeatable_from_its_seed)
{
    uint64_t t[2];
    int lost[2];
    for (int run = 0; run < 2; run++) {
        boot_tapped(64, "R");
        usb_host_set_errors(h, 0.1, 12345);
        run_ns(1500 * MS);
        lost[run] = lost_taps(0);
        t[run] = ntaps ? taps[ntaps - 1].t_ns : 0;
    }
    CHECK(strstr(fake_last_event, "usb") != NULL, "%s", fake_last_event);
    CHECK(lost[0] > 0 && lost[0] == lost[1], "lost %d then %d", lost[0], lost[1]);
    CHECK_EQ(t[0], t[1]);
}

TEST(three_strikes_fail_the_transfer)
{
    /* Every packet lost: the SETUP is tried exactly three times, then the
     * transfer fails (-EPROTO, Linux's "no response" status). */
    boot_tapped(64, "S");
    run_ns(600 * MS);
    usb_host_set_errors(h, 1.0, 1);
    int from = ntaps;
    CHECK_EQ(control(0x80, 6, 0x100, 18, NULL), -EPROTO);
    int setups = 0;
    for (int i = from; i < ntaps; i++)
        setups += taps[i].kind == USB_TAP_SETUP;
    CHECK_EQ(setups, 3);
    usb_host_set_errors(h, 0, 0);
    CHECK_EQ(control(0x80, 6, 0x100, 18, NULL), 0);
}

int main(void) { return run_tests(); }
