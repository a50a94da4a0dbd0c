/*
 * wire_fuzz.c - hostile control transfers to the real bootloader on a
 * virtual board, over USB/IP through our libusb (LIBUSB_USBIP_SERVERS).
 *
 *   wire_fuzz [--seed N] [--seconds S] [--count N] [--flash-kib K] [--app-base A]
 *
 * Random and mutated transfers: any SETUP (bad wLength, unknown requests,
 * every recipient), DfuSe commands with bad addresses and lengths, data
 * blocks and uploads out of order, GETSTATUS with odd wLength, CLRSTATUS /
 * ABORT / DETACH / zero-length DNLOAD at any time, bus resets. The seed is
 * printed first, so a failing run is repeated with --seed.
 *
 * Checked here: every GETSTATUS answer is min(6, wLength) bytes with a
 * legal state and status; no transfer overflows its wLength; the device
 * answers GET_DESCRIPTOR(device) with 0483:df11 every 40 transfers and at
 * the end (it may drop off the bus after DETACH or a leave: then it must
 * come back within 10 s). The caller (wire.sh) checks that vboard --strict
 * is still running, the bootloader bytes of the flash file, and that a
 * normal dfu-util update works afterwards. Exit status 0 = no violation.
 * WIRE_TRACE=1 prints every transfer and its result; WIRE_RESET_WHILE_BUSY=1
 * also resets the bus while the device may be busy with flash (see one()).
 */
#include <libusb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VID 0x0483
#define PID 0xDF11
#define TIMEOUT_MS 2000

static uint64_t rng;
static libusb_context *ctx;
static libusb_device_handle *dev;
static unsigned n_xfer, n_stall, n_err, n_reconnect, n_violation;
static uint32_t flash_kib = 64, app_base = 0x08002000;
static bool tracing; /* WIRE_TRACE=1: print every transfer */
static bool reset_while_busy;

static uint32_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t pick(const uint32_t *v, unsigned n)
{
    return v[rnd() % n];
}

static void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("VIOLATION after %u transfers: ", n_xfer);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    n_violation++;
}

static bool open_device(int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        dev = libusb_open_device_with_vid_pid(ctx, VID, PID);
        if (dev) {
            libusb_claim_interface(dev, 0);
            return true;
        }
        usleep(100000);
    }
    return false;
}

static void reconnect(void)
{
    if (dev)
        libusb_close(dev);
    dev = 0;
    n_reconnect++;
    usleep(300000); /* let it go away: DETACH / leave drop off the bus */
    if (!open_device(10))
        violation("the device did not come back within 10 s");
}

/* One control transfer; checks what any answer must satisfy. */
static int ctrl(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint8_t *data,
                uint16_t len)
{
    if (!dev)
        return LIBUSB_ERROR_NO_DEVICE;
    n_xfer++;
    int r = libusb_control_transfer(dev, bm, req, value, index, data, len, TIMEOUT_MS);
    if (tracing)
        printf("  #%u %02x %02x %04x %04x %u -> %d%s\n", n_xfer, bm, req, value, index, len, r,
               r < 0 ? libusb_error_name(r) : "");
    if (r == LIBUSB_ERROR_PIPE) {
        n_stall++;
    } else if (r == LIBUSB_ERROR_OVERFLOW) {
        violation("request %02x %02x wLength %u: the device sent more than wLength", bm, req, len);
    } else if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO) {
        n_err++;
        reconnect();
    } else if (r < 0) {
        n_err++;
    } else if (r > len) {
        violation("request %02x %02x: %d bytes for wLength %u", bm, req, r, len);
    }
    if (r >= 0 && bm == 0xA1 && req == 3 && index == 0) { /* GETSTATUS */
        int want = len < 6 ? len : 6;
        if (r != want)
            violation("GETSTATUS answered %d bytes for wLength %u", r, len);
        if (r >= 5 && (data[4] < 2 || data[4] > 10 || data[0] > 15))
            violation("GETSTATUS: state %u status %u", data[4], data[0]);
    }
    return r;
}

static void health(void)
{
    uint8_t d[18];
    for (int attempt = 0; attempt < 3; attempt++) {
        if (!dev)
            reconnect();
        int r = ctrl(0x80, 6, 0x0100, 0, d, sizeof d);
        if (r == 18 && d[8] == (VID & 0xFF) && d[9] == VID >> 8 && d[10] == (PID & 0xFF) &&
            d[11] == PID >> 8)
            return;
    }
    violation("GET_DESCRIPTOR(device) no longer answered with 0483:df11");
}

/* A transfer that never returns (libusb waits for a device that is gone
 * for good) ends the run with a message instead of a silent hang. */
static void stuck(int sig)
{
    (void)sig;
    static const char msg[] = "VIOLATION: no answer for 20 s: the device (or the USB/IP link) is stuck\n";
    ssize_t w = write(1, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static uint32_t pick_addr(void)
{
    uint32_t end = 0x08000000u + flash_kib * 1024u, page = flash_kib > 128 ? 2048 : 1024;
    const uint32_t v[] = {0x08000000u, 0x08000400u, app_base - page, app_base - 1, app_base,
                          app_base + 1, app_base + page, end - page, end - 1, end, end + page,
                          0, 0xFFFFFFFFu, 0x20000000u, 0x1FFFF000u, 0x1FFFF800u, 0xE000ED00u,
                          0x40022000u, 0x08010000u, 0x0801FC00u};
    if (rnd() % 8 == 0)
        return rnd();
    if (rnd() % 4 == 0)
        return app_base + (rnd() % (end - app_base)) ;
    return pick(v, sizeof v / sizeof v[0]);
}

static uint16_t pick_len(void)
{
    const uint32_t v[] = {0, 1, 2, 5, 6, 7, 8, 63, 64, 65, 127, 128, 255, 1023, 1024, 1025, 2048, 4096};
    return rnd() % 6 == 0 ? (uint16_t)(rnd() % 4097) : (uint16_t)pick(v, sizeof v / sizeof v[0]);
}

static void fill(uint8_t *b, unsigned n)
{
    unsigned how = rnd() % 3;
    for (unsigned i = 0; i < n; i++)
        b[i] = how == 0 ? 0xFF : how == 1 ? 0 : (uint8_t)rnd();
}

static void one(void)
{
    static uint8_t buf[4096];
    unsigned kind = rnd() % 110;
    if (kind >= 100) { /* a plausible write, so the flash writer is reached too */
        uint8_t st[6], c[5] = {0x21};
        uint32_t page = flash_kib > 128 ? 2048 : 1024;
        uint32_t a = app_base + (rnd() % ((flash_kib * 1024u - (app_base - 0x08000000u)) / page)) * page;
        ctrl(0x21, 4, 0, 0, 0, 0); /* CLRSTATUS (stalls unless in dfuERROR) */
        ctrl(0x21, 6, 0, 0, 0, 0); /* ABORT */
        c[0] = 0x41;
        memcpy(c + 1, &a, 4);
        ctrl(0x21, 1, 0, 0, c, 5);
        ctrl(0xA1, 3, 0, 0, st, 6);
        ctrl(0xA1, 3, 0, 0, st, 6);
        c[0] = 0x21;
        ctrl(0x21, 1, 0, 0, c, 5);
        ctrl(0xA1, 3, 0, 0, st, 6);
        ctrl(0xA1, 3, 0, 0, st, 6);
        uint16_t len = (uint16_t)(1 + rnd() % 1024);
        for (unsigned i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        ctrl(0x21, 1, 2, 0, buf, len);
        ctrl(0xA1, 3, 0, 0, st, 6);
        ctrl(0xA1, 3, 0, 0, st, 6);
    } else if (kind < 20) { /* any SETUP at all, except SET_ADDRESS: USB/IP never forwards it */
        const uint32_t bms[] = {0x00, 0x80, 0x01, 0x81, 0x02, 0x82, 0x21, 0xA1, 0x41, 0xC0, 0x22, 0xA2, 0x61, 0xE1};
        uint8_t bm = rnd() % 4 ? (uint8_t)pick(bms, 14) : (uint8_t)rnd();
        uint8_t req = rnd() % 3 ? (uint8_t)(rnd() % 16) : (uint8_t)rnd();
        if ((bm & 0x60) == 0 && req == 5)
            req = 0x55;
        uint16_t value = rnd() % 2 ? (uint16_t)(rnd() % 8) : (uint16_t)rnd();
        uint16_t index = rnd() % 2 ? 0 : (uint16_t)rnd();
        uint16_t len = pick_len();
        if (!(bm & 0x80))
            fill(buf, len);
        ctrl(bm, req, value, index, buf, len);
    } else if (kind < 45) { /* DfuSe command, then the statuses dfu-util reads */
        const uint32_t cmds[] = {0x21, 0x41, 0x41, 0x21, 0x92, 0x00};
        uint8_t c[16];
        fill(c, sizeof c);
        c[0] = rnd() % 8 ? (uint8_t)pick(cmds, 6) : (uint8_t)rnd();
        uint32_t a = pick_addr();
        memcpy(c + 1, &a, 4);
        const uint32_t lens[] = {5, 5, 5, 1, 1, 0, 2, 4, 6, 9, 16};
        uint16_t len = (uint16_t)pick(lens, 11);
        if (len == 1 && c[0] == 0x92 && rnd() % 4)
            c[0] = 0x41; /* READ UNPROTECT is refused anyway; mostly mass erase */
        ctrl(0x21, 1, 0, 0, c, len);
        for (unsigned i = rnd() % 4; i; i--) {
            uint8_t st[6];
            ctrl(0xA1, 3, 0, 0, st, 6);
        }
    } else if (kind < 60) { /* data block, any block number, odd lengths */
        const uint32_t blocks[] = {2, 2, 3, 4, 1, 0, 0xFFFF, 0x8000, 100};
        uint16_t block = rnd() % 5 ? (uint16_t)pick(blocks, 9) : (uint16_t)rnd();
        uint16_t len = pick_len();
        fill(buf, len);
        ctrl(0x21, 1, block, 0, buf, len);
        for (unsigned i = rnd() % 3; i; i--) {
            uint8_t st[6];
            ctrl(0xA1, 3, 0, 0, st, 6);
        }
    } else if (kind < 70) { /* upload */
        const uint32_t blocks[] = {0, 2, 3, 4, 1, 60, 0xFFFF};
        ctrl(0xA1, 2, rnd() % 4 ? (uint16_t)pick(blocks, 7) : (uint16_t)rnd(), 0, buf, pick_len());
    } else if (kind < 88) { /* the DFU control requests at any time */
        uint8_t st[256];
        switch (rnd() % 6) {
        case 0: ctrl(0xA1, 3, 0, 0, st, (uint16_t)(rnd() % 2 ? 6 : rnd() % 256)); break;
        case 1: ctrl(0xA1, 5, 0, 0, st, (uint16_t)(rnd() % 3)); break;
        case 2: ctrl(0x21, 4, 0, 0, 0, 0); break;
        case 3: ctrl(0x21, 6, 0, 0, 0, 0); break;
        case 4: ctrl(0x21, 4, 0, 0, st, (uint16_t)(rnd() % 8)); break;
        default: ctrl(0x21, 6, (uint16_t)rnd(), (uint16_t)(rnd() % 2), st, (uint16_t)(rnd() % 8)); break;
        }
    } else if (kind < 97) { /* standard and vendor requests */
        uint16_t len = pick_len();
        switch (rnd() % 8) {
        case 0: ctrl(0x80, 6, (uint16_t)(rnd() % 16 << 8 | rnd() % 8), 0, buf, len); break;
        case 1: ctrl(0x80, 6, (uint16_t)(0x0300 | rnd() % 256), 0x409, buf, len); break;
        case 2: ctrl(0x00, 9, (uint16_t)(rnd() % 3), 0, 0, 0); break;
        case 3: libusb_set_interface_alt_setting(dev, 0, (int)(rnd() % 2)); n_xfer++; break;
        case 4: ctrl((uint8_t)(0x80 | rnd() % 3), 0, 0, (uint16_t)(rnd() % 2 ? 0 : 0x80), buf, len); break;
        case 5: ctrl((uint8_t)(rnd() % 3), (uint8_t)(rnd() % 2 ? 1 : 3), (uint16_t)(rnd() % 3), (uint16_t)(rnd() % 2 ? 0 : 0x80), 0, 0); break;
        case 6: ctrl(0xC0, (uint8_t)(rnd() % 4), (uint16_t)(rnd() % 3), (uint16_t)(rnd() % 9), buf, len); break;
        default: ctrl(0x81, 10, 0, (uint16_t)(rnd() % 2), buf, len); break;
        }
    } else if (kind < 98) { /* the device leaves: DETACH or the zero-length DNLOAD */
        uint8_t st[6];
        if (rnd() % 2) {
            ctrl(0x21, 0, 1000, 0, 0, 0);
        } else {
            ctrl(0x21, 1, 2, 0, 0, 0);
            ctrl(0xA1, 3, 0, 0, st, 6);
        }
        usleep(200000);
        health();
    } else { /* a bus reset in the middle of whatever was going on */
        if (!reset_while_busy) {
            /* Known finding: a reset that lands in a blocking flash
             * operation (mass erase: 1.1 s on 64 KiB) goes unanswered and
             * vboard's host gives up enumerating. The second GETSTATUS
             * only completes once the flash work the first may have
             * started is over. WIRE_RESET_WHILE_BUSY=1 sends it anyway. */
            uint8_t st[6];
            ctrl(0xA1, 3, 0, 0, st, 6);
            ctrl(0xA1, 3, 0, 0, st, 6);
        }
        int r = dev ? libusb_reset_device(dev) : 0;
        if (tracing)
            printf("  bus reset -> %d\n", r);
        if (r < 0)
            reconnect();
    }
}

int main(int argc, char **argv)
{
    uint64_t seed = (uint64_t)time(0) ^ (uint64_t)getpid() << 16;
    unsigned seconds = 20, count = 1000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], 0, 0);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = (unsigned)strtoul(argv[i + 1], 0, 0);
        else if (!strcmp(argv[i], "--count"))
            count = (unsigned)strtoul(argv[i + 1], 0, 0);
        else if (!strcmp(argv[i], "--flash-kib"))
            flash_kib = (uint32_t)strtoul(argv[i + 1], 0, 0);
        else if (!strcmp(argv[i], "--app-base"))
            app_base = (uint32_t)strtoul(argv[i + 1], 0, 0);
        else {
            fprintf(stderr, "wire_fuzz: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    printf("wire_fuzz: seed %llu (repeat with --seed %llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    fflush(stdout);
    rng = seed ? seed : 1;
    tracing = getenv("WIRE_TRACE") != 0;
    reset_while_busy = getenv("WIRE_RESET_WHILE_BUSY") != 0;
    if (libusb_init(&ctx) < 0 || !open_device(10)) {
        printf("wire_fuzz: no %04x:%04x device (LIBUSB_USBIP_SERVERS=%s)\n", VID, PID,
               getenv("LIBUSB_USBIP_SERVERS") ? getenv("LIBUSB_USBIP_SERVERS") : "");
        return 2;
    }
    libusb_set_interface_alt_setting(dev, 0, 0);
    time_t t0 = time(0);
    unsigned i;
    signal(SIGALRM, stuck);
    for (i = 0; i < count && time(0) - t0 < (time_t)seconds && n_violation < 10; i++) {
        alarm(20);
        one();
        if (i % 40 == 39)
            health();
    }
    alarm(20);
    health();
    /* Leave it the way dfu-util expects to find a board. */
    ctrl(0x21, 4, 0, 0, 0, 0);
    ctrl(0x21, 6, 0, 0, 0, 0);
    printf("wire_fuzz: %u transfers in %ld s (%u stalled, %u errors, %u reconnects), %u violations\n",
           n_xfer, (long)(time(0) - t0), n_stall, n_err, n_reconnect, n_violation);
    if (dev)
        libusb_close(dev);
    libusb_exit(ctx);
    return n_violation ? 1 : 0;
}
