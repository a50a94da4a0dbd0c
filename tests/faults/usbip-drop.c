/*
 * usbip-drop - a USB/IP client that pulls the cable in the middle of a DfuSe
 * download: imports the device (bus id 1-1), selects alternate setting 0,
 * erases the first application page, sets the address pointer, then sends
 * the DNLOAD of block 2 (1024 bytes) and closes the connection at MODE:
 *
 *   usbip-drop HOST PORT header|half|data|late [APP_BASE]
 *
 *   header  after the 48-byte CMD_SUBMIT header, before any data
 *   half    after the header and half of the data
 *   data    after the whole URB, without waiting for its answer
 *   late    after the answer and a GETSTATUS that starts the programming,
 *           without waiting for that answer
 *
 * Exit status 0 when every step before the drop was answered as expected.
 *
 *   usbip-drop HOST PORT upload ADDR
 *
 * instead reads 1024 bytes at ADDR with a raw DfuSe UPLOAD (SET ADDRESS
 * POINTER, then UPLOAD block 2), bypassing dfu-util's own check of the
 * layout; prints what the device answered; exit status 0 when it refused
 * (STALL or no data), 3 when it returned data.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd;
static uint32_t seq, devid, last_len;

static void die(const char *m)
{
    fprintf(stderr, "usbip-drop: %s\n", m);
    exit(1);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void xwrite(const void *b, size_t n)
{
    const uint8_t *p = b;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r <= 0)
            die("write failed");
        p += r;
        n -= (size_t)r;
    }
}

static void xread(void *b, size_t n)
{
    uint8_t *p = b;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            die("connection closed by the server");
        p += r;
        n -= (size_t)r;
    }
}

/* Builds a CMD_SUBMIT header for a control transfer. */
static void header(uint8_t *h, int in, uint8_t bmrt, uint8_t breq, uint16_t wval, uint16_t widx,
                   uint16_t wlen)
{
    memset(h, 0, 48);
    put32(h, 1);
    put32(h + 4, ++seq);
    put32(h + 8, devid);
    put32(h + 12, (uint32_t)in);
    put32(h + 16, 0);
    put32(h + 24, wlen);
    put32(h + 32, 0xFFFFFFFFu);
    uint8_t s[8] = {bmrt, breq, (uint8_t)wval, (uint8_t)(wval >> 8), (uint8_t)widx,
                    (uint8_t)(widx >> 8), (uint8_t)wlen, (uint8_t)(wlen >> 8)};
    memcpy(h + 40, s, 8);
}

/* One control transfer; returns the status, IN data into buf. */
static int32_t control(int in, uint8_t bmrt, uint8_t breq, uint16_t wval, uint16_t widx,
                       uint8_t *buf, uint16_t wlen)
{
    uint8_t h[48], r[48];
    header(h, in, bmrt, breq, wval, widx, wlen);
    xwrite(h, 48);
    if (!in && wlen)
        xwrite(buf, wlen);
    xread(r, 48);
    if (get32(r) != 3 || get32(r + 4) != seq)
        die("unexpected answer");
    int32_t st = (int32_t)get32(r + 20);
    uint32_t len = get32(r + 24);
    last_len = len;
    if (in && len) {
        if (len > wlen)
            die("answer longer than wLength");
        xread(buf, len);
    }
    return st;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* GETSTATUS until the device leaves dfuDNBUSY; returns the state. */
static int settle(void)
{
    for (int i = 0; i < 200; i++) {
        uint8_t s[6];
        if (control(1, 0xA1, 3, 0, 0, s, 6))
            die("GETSTATUS stalled");
        if (s[4] != 4) /* dfuDNBUSY */
            return s[4];
        sleep_ms(s[1] | s[2] << 8 | s[3] << 16);
    }
    die("device stays busy");
    return -1;
}

static void command(uint8_t cmd, uint32_t addr)
{
    uint8_t d[5] = {cmd, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                    (uint8_t)(addr >> 24)};
    if (control(0, 0x21, 1, 0, 0, d, 5))
        die("DfuSe command stalled");
    if (settle() != 5) /* dfuDNLOAD-IDLE */
        die("DfuSe command failed");
}

int main(int argc, char **argv)
{
    if (argc < 4)
        die("usage: usbip-drop HOST PORT header|half|data|late [APP_BASE]");
    const char *mode = argv[3];
    uint32_t base = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 0) : 0x08002000u;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a))
        die("cannot connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    uint8_t req[40] = {0x01, 0x11, 0x80, 0x03};
    memcpy(req + 8, "1-1", 3);
    xwrite(req, 40);
    uint8_t rep[8 + 312];
    xread(rep, 8);
    if (get32(rep + 4) != 0)
        die("import refused");
    xread(rep + 8, 312);
    devid = get32(rep + 8 + 288) << 16 | get32(rep + 8 + 292);

    if (control(0, 0x01, 11, 0, 0, NULL, 0)) /* SET_INTERFACE alt 0 */
        die("SET_INTERFACE stalled");
    uint8_t s[6];
    control(1, 0xA1, 3, 0, 0, s, 6);
    if (s[4] == 10) { /* dfuERROR */
        control(0, 0x21, 4, 0, 0, NULL, 0); /* CLRSTATUS */
    }
    if (!strcmp(mode, "upload")) {
        command(0x21, base);
        control(0, 0x21, 6, 0, 0, NULL, 0); /* ABORT: back to dfuIDLE */
        static uint8_t buf[1024];
        int32_t st = control(1, 0xA1, 2, 2, 0, buf, sizeof buf);
        uint32_t got = st ? 0 : last_len;
        control(1, 0xA1, 3, 0, 0, s, 6);
        printf("usbip-drop: UPLOAD at 0x%08x: status %d, %u bytes, then DFU state %u, bStatus %u\n",
               base, (int)st, got, s[4], s[0]);
        return got ? 3 : 0;
    }
    command(0x41, base); /* erase the first application page */
    command(0x21, base); /* address pointer */

    uint8_t data[1024], h[48];
    for (int i = 0; i < 1024; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    header(h, 0, 0x21, 1, 2, 0, sizeof data);
    if (!strcmp(mode, "header")) {
        xwrite(h, 48);
    } else if (!strcmp(mode, "half")) {
        xwrite(h, 48);
        xwrite(data, 512);
    } else if (!strcmp(mode, "data")) {
        xwrite(h, 48);
        xwrite(data, sizeof data);
    } else if (!strcmp(mode, "late")) {
        if (control(0, 0x21, 1, 2, 0, data, sizeof data))
            die("DNLOAD stalled");
        header(h, 1, 0xA1, 3, 0, 0, 6);
        xwrite(h, 48);
    } else {
        die("unknown mode");
    }
    /* Pull the cable: an abortive close (RST), as a dying host does. */
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
    printf("usbip-drop: closed at %s\n", mode);
    return 0;
}
