/*
 * test_usbip.c - the USB/IP server (vboard/usbip_server.c) with a client on
 * a real loopback socket, the device enumerated by usb_host.c and answered
 * by the tiny firmware of usb_testfw.h. Wire format: Linux
 * Documentation/usb/usbip_protocol.rst.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../vboard/usb.h"
#include "../../vboard/usb_host_int.h"
#include "../testing.h"
#include "fake_vb.h"
#include "usb_testfw.h"

#define MS 1000000ull

static struct usb_model *m;
static struct usb_host *h;
static uint16_t port;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

/* One step of the board: bus work, firmware, 20 us of virtual time. */
static void pump(void)
{
    usb_host_poll(h, 0);
    fw_poll();
    fake_advance_ns(20000);
}

/* Lets the server read what the client sent (it looks at its sockets at
 * most every 100 us of wall time). */
static void settle(void)
{
    for (int i = 0; i < 5; i++) {
        usleep(200);
        pump();
    }
}

static void run_ns(uint64_t ns)
{
    uint64_t end = vb_now_ns(fake_vb) + ns;
    while (vb_now_ns(fake_vb) < end)
        pump();
}

static void boot(void)
{
    fake_reset();
    if (h)
        usb_host_free(h);
    if (m)
        usb_model_free(m);
    m = usb_model_new(fake_vb);
    fw_defaults(64, "USBIP1");
    fw_start();
    port = free_port();
    h = usb_host_new(fake_vb, m, "127.0.0.1", port);
}

static int client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads exactly n bytes while the board runs; returns bytes read (short on
 * EOF or after ~2 s of virtual time). */
static size_t recv_n(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    for (int i = 0; i < 100000 && got < n; i++) {
        ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
        if (r == 0)
            break;
        if (r > 0)
            got += (size_t)r;
        else
            pump();
    }
    return got;
}

/* True when the server closed the connection. */
static bool closed_by_server(int fd)
{
    uint8_t b;
    for (int i = 0; i < 20000; i++) {
        ssize_t r = recv(fd, &b, 1, MSG_DONTWAIT);
        if (r == 0)
            return true;
        if (r > 0)
            return false;
        pump();
    }
    return false;
}

static void op(int fd, uint16_t code, const char *busid)
{
    uint8_t req[40] = {0x01, 0x11, (uint8_t)(code >> 8), (uint8_t)code};
    size_t len = 8;
    if (busid) {
        strncpy((char *)req + 8, busid, 31);
        len = 40;
    }
    CHECK_EQ(send(fd, req, len, 0), (long)len);
}

/* OP_REQ_IMPORT (or vboard's OP_REQ_HOSTOPEN, same reply); returns the
 * connection or -1 when refused. */
static int import_op(uint16_t code, const char *busid)
{
    int fd = client();
    op(fd, code, busid);
    uint8_t hdr[8], blk[0x138];
    if (recv_n(fd, hdr, 8) != 8 || get16(hdr + 2) != 0x0003 || get32(hdr + 4) != 0) {
        close(fd);
        return -1;
    }
    CHECK_EQ(recv_n(fd, blk, sizeof blk), sizeof blk);
    CHECK_EQ(get32(blk + 0x124), 1); /* devnum */
    return fd;
}

static int import(const char *busid) { return import_op(0x8003, busid); }
static int host_open(const char *busid) { return import_op(0x80A0, busid); }

static void submit(int fd, uint32_t seq, int in, const uint8_t setup[8], const uint8_t *out,
                   uint32_t len)
{
    uint8_t hdr[48] = {0};
    put32(hdr, 1);
    put32(hdr + 4, seq);
    put32(hdr + 8, 1u << 16 | 1);
    put32(hdr + 0x0C, (uint32_t)in);
    put32(hdr + 0x18, len);
    put32(hdr + 0x20, 0xFFFFFFFF);
    memcpy(hdr + 0x28, setup, 8);
    CHECK_EQ(send(fd, hdr, 48, 0), 48);
    if (!in && len)
        CHECK_EQ(send(fd, out, len, 0), (long)len);
}

/* Reads one reply header (and IN data of a RET_SUBMIT): command, seq,
 * status, actual length. */
struct reply {
    uint32_t cmd, seq, len;
    int32_t status;
    uint8_t data[1024];
};

static bool reply(int fd, struct reply *r, bool in)
{
    uint8_t hdr[48];
    memset(r, 0, sizeof *r);
    if (recv_n(fd, hdr, 48) != 48)
        return false;
    r->cmd = get32(hdr);
    r->seq = get32(hdr + 4);
    r->status = (int32_t)get32(hdr + 0x14);
    r->len = r->cmd == 3 ? get32(hdr + 0x18) : 0;
    if (in && r->len && r->len <= sizeof r->data)
        return recv_n(fd, r->data, r->len) == r->len;
    return true;
}

static const uint8_t get_dev[8] = {0x80, 6, 0, 1, 0, 0, 18, 0};

TEST(devlist_empty_then_device)
{
    /* usbip_protocol.rst OP_REP_DEVLIST: number of exported devices, then
     * per device the usb_device block and 4 bytes per interface. */
    boot();
    int fd = client();
    CHECK(fd >= 0, "connect to 127.0.0.1:%u", port);
    op(fd, 0x8005, NULL);
    uint8_t hdr[12];
    CHECK_EQ(recv_n(fd, hdr, 12), 12);
    CHECK_EQ(get16(hdr + 2), 0x0005);
    CHECK_EQ(get32(hdr + 8), 0);
    CHECK(closed_by_server(fd), "server closes after the reply");
    close(fd);
    run_ns(500 * MS);
    fd = client();
    op(fd, 0x8005, NULL);
    uint8_t blk[0x138], ifs[4];
    CHECK_EQ(recv_n(fd, hdr, 12), 12);
    CHECK_EQ(get32(hdr + 8), 1);
    CHECK_EQ(recv_n(fd, blk, sizeof blk), sizeof blk);
    CHECK(!strcmp((char *)blk + 0x100, "1-1"), "busid %s", (char *)blk + 0x100);
    CHECK_EQ(get32(blk + 0x120), 1);
    CHECK_EQ(get32(blk + 0x124), 1);
    CHECK_EQ(get32(blk + 0x128), 2);
    CHECK_EQ(get16(blk + 0x12C), 0x0483);
    CHECK_EQ(get16(blk + 0x12E), 0xDF11);
    CHECK_EQ(get16(blk + 0x130), 0x2200);
    CHECK_EQ(blk[0x135], 1);
    CHECK_EQ(blk[0x136], 1);
    CHECK_EQ(blk[0x137], 1);
    CHECK_EQ(recv_n(fd, ifs, 4), 4);
    CHECK(ifs[0] == 0xFE && ifs[1] == 1 && ifs[2] == 2, "interface %02x/%02x/%02x", ifs[0],
          ifs[1], ifs[2]);
    close(fd);
}

TEST(import_control_urbs)
{
    boot();
    run_ns(500 * MS);
    int fd = import("1-1");
    CHECK(fd >= 0, "import accepted");
    struct reply r;
    submit(fd, 7, 1, get_dev, NULL, 18);
    CHECK(reply(fd, &r, true), "RET_SUBMIT");
    CHECK(r.cmd == 3 && r.seq == 7 && r.status == 0 && r.len == 18, "cmd %u seq %u st %d len %u",
          r.cmd, r.seq, r.status, r.len);
    CHECK(!memcmp(r.data, fw.dev_desc, 18), "device descriptor");
    /* control write with data, then read it back */
    uint8_t d[70];
    for (int i = 0; i < 70; i++)
        d[i] = (uint8_t)(0xA0 ^ i);
    const uint8_t wr[8] = {0x40, 0x44, 0, 0, 0, 0, 70, 0};
    submit(fd, 8, 0, wr, d, 70);
    CHECK(reply(fd, &r, false) && r.seq == 8 && r.status == 0 && r.len == 70, "write: %d %u",
          r.status, r.len);
    const uint8_t rd[8] = {0xC0, 0x45, 0, 0, 0, 0, 0, 1};
    submit(fd, 9, 1, rd, NULL, 256);
    CHECK(reply(fd, &r, true) && r.seq == 9 && r.len == 70 && !memcmp(r.data, d, 70),
          "read back %u bytes", r.len);
    /* STALL -> -EPIPE */
    const uint8_t st[8] = {0xC0, 0x42, 0, 0, 0, 0, 8, 0};
    submit(fd, 10, 1, st, NULL, 8);
    CHECK(reply(fd, &r, true) && r.seq == 10 && r.status == -EPIPE, "stall: %d", r.status);
    /* SET_ADDRESS is answered by the server, never reaches the device */
    int setups = fw.setups;
    const uint8_t sa[8] = {0x00, 5, 9, 0, 0, 0, 0, 0};
    submit(fd, 11, 0, sa, NULL, 0);
    CHECK(reply(fd, &r, false) && r.seq == 11 && r.status == 0, "set address: %d", r.status);
    CHECK_EQ(fw.setups, setups);
    close(fd);
}

TEST(one_importer_at_a_time)
{
    boot();
    run_ns(500 * MS);
    CHECK_EQ(import("2-1"), -1);
    int fd = import("1-1");
    CHECK(fd >= 0, "first import");
    CHECK_EQ(import("1-1"), -1); /* busy: status 1 */
    close(fd);
}

TEST(unlink_pending_and_done)
{
    /* usbip_protocol.rst: RET_UNLINK status -ECONNRESET when the URB was
     * unlinked (it gets no RET_SUBMIT), 0 when it had completed. */
    boot();
    run_ns(500 * MS);
    int fd = import("1-1");
    struct reply r;
    const uint8_t nak[8] = {0xC0, 0x43, 0, 0, 0, 0, 8, 0};
    submit(fd, 20, 1, nak, NULL, 8);
    settle();
    run_ns(3 * MS);
    uint8_t un[48] = {0};
    put32(un, 2);
    put32(un + 4, 21);
    put32(un + 0x14, 20);
    CHECK_EQ(send(fd, un, 48, 0), 48);
    CHECK(reply(fd, &r, false), "reply");
    CHECK(r.cmd == 4 && r.seq == 21 && r.status == -ECONNRESET, "cmd %u seq %u status %d", r.cmd,
          r.seq, r.status);
    submit(fd, 22, 1, get_dev, NULL, 18);
    CHECK(reply(fd, &r, true), "reply");
    CHECK(r.cmd == 3 && r.seq == 22 && r.status == 0, "next URB: cmd %u seq %u", r.cmd, r.seq);
    put32(un + 4, 23);
    put32(un + 0x14, 22);
    CHECK_EQ(send(fd, un, 48, 0), 48);
    CHECK(reply(fd, &r, false) && r.cmd == 4 && r.status == 0, "late unlink: %d", r.status);
    close(fd);
}

TEST(device_disconnect_while_imported)
{
    boot();
    run_ns(500 * MS);
    int fd = import("1-1");
    const uint8_t nak[8] = {0xC0, 0x43, 0, 0, 0, 0, 8, 0};
    submit(fd, 30, 1, nak, NULL, 8);
    settle();
    run_ns(3 * MS);
    fake_pullup = false;
    struct reply r;
    CHECK(reply(fd, &r, true), "reply");
    CHECK(r.cmd == 3 && r.seq == 30 && r.status == -ESHUTDOWN, "pending URB failed: %d",
          r.status);
    CHECK(closed_by_server(fd), "connection closed");
    close(fd);
    fd = client();
    op(fd, 0x8005, NULL);
    uint8_t hdr[12];
    CHECK_EQ(recv_n(fd, hdr, 12), 12);
    CHECK_EQ(get32(hdr + 8), 0);
    close(fd);
}

TEST(importer_gone_resets_device)
{
    /* Linux usbip-host, stub_dev.c: when the importer's connection ends the
     * device is reset (usb_reset_device) and may be imported again. */
    boot();
    run_ns(500 * MS);
    int fd = import("1-1");
    int resets = fw.resets;
    close(fd);
    run_ns(5 * MS);
    CHECK_EQ(import("1-1"), -1); /* refused while it is being reset */
    run_ns(400 * MS);
    CHECK_EQ(fw.resets, resets + 2);
    CHECK(!strcmp(fake_last_event, "usb enumerated addr=1 0483:df11 \"USBIP1\""), "event: %s",
          fake_last_event);
    fd = import("1-1");
    CHECK(fd >= 0, "imported again");
    struct reply r;
    submit(fd, 1, 1, get_dev, NULL, 18);
    CHECK(reply(fd, &r, true) && r.status == 0 && r.len == 18, "works: %d", r.status);
    close(fd);
}

TEST(other_endpoints_and_bad_commands)
{
    /* Only the default control pipe exists on a DFU device: a URB for
     * another endpoint fails with -EPIPE; an unknown command ends the
     * connection (and, the importer being gone, resets the device). */
    boot();
    run_ns(500 * MS);
    int fd = import("1-1");
    struct reply r;
    uint8_t hdr[48] = {0};
    put32(hdr, 1);
    put32(hdr + 4, 5);
    put32(hdr + 0x0C, 1);
    put32(hdr + 0x10, 1);
    put32(hdr + 0x18, 64);
    CHECK_EQ(send(fd, hdr, 48, 0), 48);
    CHECK(reply(fd, &r, true) && r.seq == 5 && r.status == -EPIPE, "ep1: %d", r.status);
    /* SET_CONFIGURATION from the importer shows in later devlists */
    const uint8_t sc[8] = {0x00, 9, 0, 0, 0, 0, 0, 0};
    submit(fd, 6, 0, sc, NULL, 0);
    CHECK(reply(fd, &r, false) && r.seq == 6 && r.status == 0, "set config 0: %d", r.status);
    CHECK_EQ(fw.config, 0);
    int lf = client();
    op(lf, 0x8005, NULL);
    uint8_t blk[12 + 0x138];
    CHECK_EQ(recv_n(lf, blk, sizeof blk), sizeof blk);
    CHECK_EQ(blk[12 + 0x135], 0);
    close(lf);
    put32(hdr, 77);
    CHECK_EQ(send(fd, hdr, 48, 0), 48);
    CHECK(closed_by_server(fd), "closed on an unknown command");
    close(fd);
}

/* ---- vboard extensions: a program on the machine the device is plugged
 * into (usbfs-like), see usbip_server.c ---------------------------------- */

TEST(host_descriptors_without_bus_traffic)
{
    /* Linux sysfs `descriptors`: the device descriptor followed by the
     * configuration descriptors, as read at enumeration; reading it sends
     * nothing to the device. */
    boot();
    run_ns(500 * MS);
    int setups = fw.setups;
    int fd = client();
    op(fd, 0x80A1, "1-1");
    uint8_t hdr[8], blk[0x138], len[4], d[1024];
    CHECK_EQ(recv_n(fd, hdr, 8), 8);
    CHECK(get16(hdr + 2) == 0x00A1 && get32(hdr + 4) == 0, "reply %04x status %u",
          get16(hdr + 2), get32(hdr + 4));
    CHECK_EQ(recv_n(fd, blk, sizeof blk), sizeof blk);
    CHECK_EQ(get16(blk + 0x12C), 0x0483);
    CHECK_EQ(recv_n(fd, len, 4), 4);
    uint32_t n = get32(len);
    /* 18-byte device descriptor (USB 2.0 Table 9-8) + wTotalLength of the
     * configuration (Table 9-10, bytes 2..3). */
    uint32_t total = fw.cfg_desc[2] | fw.cfg_desc[3] << 8;
    CHECK_EQ(n, 18 + total);
    CHECK_EQ(recv_n(fd, d, n), n);
    CHECK(!memcmp(d, fw.dev_desc, 18), "device descriptor");
    CHECK(!memcmp(d + 18, fw.cfg_desc, total), "configuration descriptor");
    CHECK(closed_by_server(fd), "server closes after the reply");
    close(fd);
    CHECK_EQ(fw.setups, setups);
    /* an unknown busid is refused with the header alone */
    fd = client();
    op(fd, 0x80A1, "2-1");
    CHECK_EQ(recv_n(fd, hdr, 8), 8);
    CHECK_EQ(get32(hdr + 4), 1);
    CHECK(closed_by_server(fd), "closed after a refusal");
    close(fd);
}

TEST(host_opens_share_the_device_and_close_without_reset)
{
    /* Opening and closing /dev/bus/usb/BBB/DDD on a native Linux host
     * causes no bus traffic; several programs may have it open at once. */
    boot();
    run_ns(500 * MS);
    int resets = fw.resets;
    int a = host_open("1-1"), b = host_open("1-1");
    CHECK(a >= 0 && b >= 0, "two host opens: %d %d", a, b);
    CHECK_EQ(import("1-1"), -1); /* usbip-host would need the device alone */
    struct reply r;
    submit(a, 1, 1, get_dev, NULL, 18);
    submit(b, 1, 1, get_dev, NULL, 18); /* the same seqnum on another handle */
    CHECK(reply(a, &r, true) && r.seq == 1 && r.status == 0 && r.len == 18, "a: %d", r.status);
    CHECK(reply(b, &r, true) && r.seq == 1 && r.status == 0 && r.len == 18, "b: %d", r.status);
    /* a closes with a URB pending (NAKed forever): it is taken back */
    const uint8_t nak[8] = {0xC0, 0x43, 0, 0, 0, 0, 8, 0};
    submit(a, 2, 1, nak, NULL, 8);
    settle();
    run_ns(3 * MS);
    close(a);
    settle();
    submit(b, 2, 1, get_dev, NULL, 18);
    CHECK(reply(b, &r, true) && r.seq == 2 && r.status == 0 && r.len == 18,
          "b after a's close: cmd %u seq %u status %d", r.cmd, r.seq, r.status);
    close(b);
    settle();
    run_ns(400 * MS);
    CHECK_EQ(fw.resets, resets);
    /* no host open left: a real import is possible, and refuses host opens */
    int fd = import("1-1");
    CHECK(fd >= 0, "import after the host opens closed");
    CHECK_EQ(host_open("1-1"), -1);
    close(fd);
}

/* vboard's CMD_VB_CLAIM on a host open: the RET_VB_CLAIM status. */
static int32_t claim(int fd, uint32_t seq, uint32_t ifnum, int on)
{
    uint8_t hdr[48] = {0};
    put32(hdr, 0x80A3);
    put32(hdr + 4, seq);
    put32(hdr + 0x0C, (uint32_t)on);
    put32(hdr + 0x10, ifnum);
    CHECK_EQ(send(fd, hdr, 48, 0), 48);
    struct reply r;
    if (!reply(fd, &r, false) || r.cmd != 0x00A3 || r.seq != seq)
        return 99;
    return r.status;
}

TEST(host_open_claims_are_exclusive_per_interface)
{
    /* Linux usbfs (devio.c claimintf): an interface has one owner; another
     * file claiming it gets EBUSY until the owner releases it or closes. */
    boot();
    run_ns(500 * MS);
    int a = host_open("1-1"), b = host_open("1-1");
    CHECK_EQ(claim(a, 1, 0, 1), 0);
    CHECK_EQ(claim(b, 1, 0, 1), -EBUSY);
    CHECK_EQ(claim(b, 2, 1, 1), 0); /* another interface number is free */
    CHECK_EQ(claim(a, 2, 0, 0), 0);
    CHECK_EQ(claim(b, 3, 0, 1), 0);
    CHECK_EQ(claim(a, 3, 0, 1), -EBUSY);
    close(b);
    settle();
    CHECK_EQ(claim(a, 4, 0, 1), 0); /* the close released b's claims */
    CHECK_EQ(claim(a, 5, 32, 1), -EINVAL);
    close(a);
}

static uint32_t host_reset(const char *busid)
{
    int fd = client();
    op(fd, 0x80A2, busid);
    uint8_t hdr[8];
    uint32_t st = 99;
    if (recv_n(fd, hdr, 8) == 8 && get16(hdr + 2) == 0x00A2)
        st = get32(hdr + 4);
    close(fd);
    return st;
}

TEST(host_reset_reenumerates_at_the_same_address)
{
    /* Linux usb_reset_device (USBDEVFS_RESET): a port reset, then the
     * device is set up again at the address it had; open files stay valid
     * when its descriptors did not change. */
    boot();
    run_ns(500 * MS);
    int fd = host_open("1-1");
    int resets = fw.resets;
    CHECK_EQ(host_reset("1-1"), 0);
    CHECK(fw.resets > resets, "bus reset: %d -> %d", resets, fw.resets);
    CHECK(!strcmp(fake_last_event, "usb enumerated addr=1 0483:df11 \"USBIP1\""), "event: %s",
          fake_last_event);
    struct reply r;
    submit(fd, 3, 1, get_dev, NULL, 18);
    CHECK(reply(fd, &r, true) && r.seq == 3 && r.status == 0 && r.len == 18,
          "the open handle works after the reset: %d", r.status);
    close(fd);
    /* refused while imported, or for another busid */
    fd = import("1-1");
    CHECK_EQ(host_reset("1-1"), 1);
    close(fd);
    CHECK_EQ(host_reset("2-1"), 1);
}

TEST(host_reset_of_a_changed_device_closes_host_opens)
{
    /* usb_reset_and_verify_device: a device whose descriptors changed is
     * re-enumerated as a new device; the old handles get ENODEV. */
    boot();
    run_ns(500 * MS);
    int fd = host_open("1-1");
    fw.dev_desc[12] ^= 1; /* bcdDevice, as after a firmware update */
    CHECK_EQ(host_reset("1-1"), 2);
    CHECK(closed_by_server(fd), "the host open is closed");
    close(fd);
}

int main(void) { return run_tests(); }
