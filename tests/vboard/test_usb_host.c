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

TEST(nak_retried_until_answered)
{
    /* USB 2.0 8.5.3: NAK means "not ready yet"; the host retries the same
     * packet (same data toggle) until the device answers. */
    boot(64, "S");
    run_ns(500 * MS);
    memcpy(fw.stored, "hello", 5);
    fw.stored_len = 5;
    uint64_t took = 0;
    CHECK_EQ(control(0xC0, 0x46, 0, 64, &took), 0);
    CHECK_EQ(xfer.actual, 5);
    CHECK(!memcmp(xbuf, "hello", 5), "data after the NAKs");
    CHECK(took >= 3 * MS && took <= 4 * MS, "took %llu us", (unsigned long long)(took / 1000));
}

TEST(transactions_take_bus_time)
{
    /* One packet per >= 50 us: SETUP + 8 x 64-byte DATA + STATUS of a
     * 512-byte control write take at least 10 x 50 us. */
    boot(64, "S");
    run_ns(500 * MS);
    memset(xbuf, 0x5A, 512);
    uint64_t took = 0;
    CHECK_EQ(control(0x40, 0x44, 0, 512, &took), 0);
    CHECK_EQ(fw.stored_len, 512);
    CHECK(took >= 450000 && took < 2 * MS, "took %llu us", (unsigned long long)(took / 1000));
}

int main(void) { return run_tests(); }
