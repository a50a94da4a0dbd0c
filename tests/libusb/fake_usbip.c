/*
 * fake_usbip.c - the test USB/IP server (see fake_usbip.h). It speaks the
 * protocol as Linux usbip-host does: one importer per device, RET_SUBMIT data
 * only for IN, an unlinked URB answered by RET_UNLINK -ECONNRESET and never
 * by RET_SUBMIT, a reset and re-enumeration after the importer leaves.
 */
#include "fake_usbip.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* bcdUSB 2.01: lsusb reads the BOS only then (the bootloader has WebUSB). */
const uint8_t fake_device_desc[18] = {18,   1,    0x01, 0x02, 0, 0, 0, 64, 0x83,
                                      0x04, 0x11, 0xDF, 0x00, 0x22, 1, 2, 3, 1};
/* Two altsettings of a DfuSe interface, the functional descriptor after the
 * last one, as ST's bootloaders have it. */
const uint8_t fake_config_desc[] = {
    9, 2, 36, 0, 1, 1, 0, 0xC0, 0x32,         /* configuration 1 */
    9, 4, 0, 0, 0, 0xFE, 1, 2, 4,             /* interface 0 alt 0 */
    9, 4, 0, 1, 0, 0xFE, 1, 2, 5,             /* interface 0 alt 1 */
    9, 0x21, 0x0B, 0xFF, 0, 0x00, 0x08, 0x1A, 0x01, /* DFU functional, 2048, DfuSe */
};
const int fake_config_len = sizeof fake_config_desc;
const uint8_t fake_dfu_status[6] = {0, 0, 0, 0, 2 /* dfuIDLE */, 0};
static const uint8_t bos_desc[] = {5, 0x0F, 12, 0, 1, 7, 0x10, 2, 0x02, 0, 0, 0};
static const char *const strings[] = {NULL, "STMicroelectronics", "DFU in FS Mode", FAKE_SERIAL,
                                      FAKE_LAYOUT0, FAKE_LAYOUT1, "OTHER0000000"};

uint8_t fake_flash_byte(uint32_t addr)
{
    return (uint8_t)(addr ^ addr >> 11); /* differs between 2 KiB blocks */
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* Caller holds mu. */
static int listed(struct fake_usbip *f) { return !f->gone && now_ms() >= f->absent_until; }

static void dev_block(struct fake_usbip *f, uint8_t *b)
{
    memset(b, 0, 0x138);
    strcpy((char *)b, "/sys/devices/platform/vboard/usb1/1-1");
    memcpy(b + 0x100, f->busid, strlen(f->busid));
    be32(b + 0x120, 1);
    be32(b + 0x124, f->devnum);
    be32(b + 0x128, 2); /* full speed */
    be16(b + 0x12C, FAKE_VID);
    be16(b + 0x12E, FAKE_PID);
    be16(b + 0x130, 0x2200);
    b[0x135] = 1; /* bConfigurationValue */
    b[0x136] = 1; /* bNumConfigurations */
    b[0x137] = 1; /* bNumInterfaces */
}

/* Just enough DfuSe for dfu-util's upload: SET ADDRESS POINTER answers
 * dfuDNBUSY once, then dfuDNLOAD-IDLE; UPLOAD block n (n >= 2) returns the
 * fake_flash_byte()s from pointer + (n - 2) * 2048. Per connection. */
struct dfu_state {
    int state; /* 2 dfuIDLE, 4 dfuDNBUSY, 5 dfuDNLOAD-IDLE, 9 dfuUPLOAD-IDLE */
    int busy_once;
    uint32_t pointer;
};

static int handle_dfu(struct dfu_state *d, const uint8_t *s, const uint8_t *data, uint8_t *out,
                      int max)
{
    int type = s[0], req = s[1], value = s[2] | s[3] << 8, len = s[6] | s[7] << 8;
    if (type == 0x21 && req == 1) { /* DNLOAD */
        if (value == 0 && len == 5 && data[0] == 0x21)
            d->pointer = (uint32_t)data[1] | data[2] << 8 | data[3] << 16 | (uint32_t)data[4] << 24;
        d->busy_once = 1;
        d->state = 5;
        return 0;
    }
    if (type == 0x21 && (req == 4 || req == 6)) { /* CLRSTATUS, ABORT */
        d->state = 2;
        return 0;
    }
    if (type == 0xA1 && req == 3) { /* GETSTATUS */
        uint8_t st[6];
        memcpy(st, fake_dfu_status, 6);
        st[4] = (uint8_t)(d->busy_once ? 4 : d->state);
        d->busy_once = 0;
        int n = max < 6 ? max : 6;
        memcpy(out, st, (size_t)n);
        return n;
    }
    if (type == 0xA1 && req == 5 && max >= 1) { /* GETSTATE */
        out[0] = (uint8_t)d->state;
        return 1;
    }
    if (type == 0xA1 && req == 2 && value >= 2) { /* UPLOAD */
        uint32_t addr = d->pointer + (uint32_t)(value - 2) * 2048;
        for (int i = 0; i < max; i++)
            out[i] = fake_flash_byte(addr + (uint32_t)i);
        d->state = 9;
        return max;
    }
    return -1;
}

/* Standard and DFU requests. Returns the reply length, or -1 to stall. */
static int handle_setup(struct fake_usbip *f, struct dfu_state *dfu, const uint8_t *s,
                        const uint8_t *data, uint8_t *out, int max)
{
    int type = s[0], req = s[1], value = s[2] | s[3] << 8;
    const uint8_t *src = NULL;
    uint8_t tmp[256];
    int len = 0;
    if (type == 0x80 && req == 6) {
        int dt = value >> 8, idx = value & 0xFF;
        if (dt == 1) {
            memcpy(tmp, fake_device_desc, 18);
            pthread_mutex_lock(&f->mu);
            if (f->changed)
                tmp[16] = 6;
            pthread_mutex_unlock(&f->mu);
            src = tmp, len = 18;
        } else if (dt == 2 && idx == 0) {
            src = fake_config_desc, len = fake_config_len;
        } else if (dt == 3 && idx == 0) {
            static const uint8_t langs[4] = {4, 3, 0x09, 0x04};
            src = langs, len = 4;
        } else if (dt == 3 && idx < (int)(sizeof strings / sizeof strings[0])) {
            char serial[32];
            pthread_mutex_lock(&f->mu);
            memcpy(serial, f->serial, sizeof serial);
            pthread_mutex_unlock(&f->mu);
            const char *str = idx == 3 ? serial : strings[idx];
            len = 2 + 2 * (int)strlen(str);
            tmp[0] = (uint8_t)len;
            tmp[1] = 3;
            for (size_t i = 0; str[i]; i++)
                tmp[2 + 2 * i] = (uint8_t)str[i], tmp[3 + 2 * i] = 0;
            src = tmp;
        } else if (dt == 0x0F && !f->no_bos) {
            src = bos_desc, len = sizeof bos_desc;
        } else {
            return -1;
        }
    } else if ((type == 0x00 && req == 9) || (type == 0x01 && req == 11)) {
        pthread_mutex_lock(&f->mu);
        *(req == 9 ? &f->config : &f->alt) = value;
        pthread_mutex_unlock(&f->mu);
        return 0;
    } else if (type == 0x80 && req == 8) {
        tmp[0] = 1, src = tmp, len = 1;
    } else if (type == 0x80 && req == 0) {
        tmp[0] = tmp[1] = 0, src = tmp, len = 2;
    } else if ((type & 0x60) == 0x20) {
        return handle_dfu(dfu, s, data, out, max);
    } else {
        return -1;
    }
    if (len > max)
        len = max;
    memcpy(out, src, (size_t)len);
    return len;
}

struct pending {
    int active;
    uint32_t seq;
    long long due;
    uint8_t hdr[48];
    uint8_t data[4096];
    int len;
};

static int send_ret_submit(int fd, uint32_t seq, int status, const uint8_t *data, int len, int in)
{
    uint8_t h[48] = {0};
    be32(h, 3);
    be32(h + 4, seq);
    be32(h + 20, (uint32_t)status);
    be32(h + 24, (uint32_t)len);
    if (write_all(fd, h, 48))
        return -1;
    return in && len > 0 ? write_all(fd, data, (size_t)len) : 0;
}

/* vboard's CMD_VB_CLAIM (host opens only): one owner per interface. */
static int claim_cmd(struct fake_usbip *f, int fd, const uint8_t *h)
{
    uint32_t seq = rd32(h + 4), on = rd32(h + 12), ifnum = rd32(h + 16);
    int st = 0;
    pthread_mutex_lock(&f->mu);
    f->claims++;
    if (ifnum >= 32)
        st = -22; /* -EINVAL */
    else if (on && f->claim_fd[ifnum] >= 0 && f->claim_fd[ifnum] != fd)
        st = -16; /* -EBUSY */
    else
        f->claim_fd[ifnum] = on ? fd : -1;
    pthread_mutex_unlock(&f->mu);
    uint8_t u[48] = {0};
    be32(u, 0x00A3);
    be32(u + 4, seq);
    be32(u + 20, (uint32_t)st);
    return write_all(fd, u, 48);
}

/* The URB phase of an imported (or host-opened) connection; returns when
 * it ends. */
static void serve_urbs(struct fake_usbip *f, int fd, int host)
{
    struct pending p = {0};
    struct dfu_state dfu = {.state = 2};
    for (;;) {
        int wait = -1;
        if (p.active) {
            long long left = p.due - now_ms();
            wait = left > 0 ? (int)left : 0;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll(&pf, 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && p.active) {
            p.active = 0;
            if (send_ret_submit(fd, p.seq, p.len < 0 ? -32 : 0, p.data, p.len < 0 ? 0 : p.len, 1))
                return;
            continue;
        }
        uint8_t h[48];
        if (read_full(fd, h, 48))
            return;
        uint32_t cmd = rd32(h), seq = rd32(h + 4), dir = rd32(h + 12);
        if (cmd == 2) { /* CMD_UNLINK */
            uint32_t victim = rd32(h + 20);
            int hit = p.active && p.seq == victim;
            pthread_mutex_lock(&f->mu);
            f->unlinks++;
            int mode = f->unlink_mode;
            pthread_mutex_unlock(&f->mu);
            if (mode == 2)
                continue;
            if (hit && mode == 1) {
                if (send_ret_submit(fd, p.seq, p.len < 0 ? -32 : 0, p.data, p.len < 0 ? 0 : p.len, 1))
                    return;
                hit = 0; /* too late to unlink: status 0 */
            }
            if (p.active && p.seq == victim)
                p.active = 0;
            uint8_t u[48] = {0};
            be32(u, 4);
            be32(u + 4, seq);
            be32(u + 20, hit ? (uint32_t)-104 /* -ECONNRESET */ : 0);
            if (write_all(fd, u, 48))
                return;
            continue;
        }
        if (cmd == 0x80A3 && host) {
            if (claim_cmd(f, fd, h))
                return;
            continue;
        }
        if (cmd != 1)
            return;
        uint32_t len = rd32(h + 24);
        uint8_t out[4096], in_data[4096];
        if (len > sizeof out)
            return;
        if (dir == 0 && len && read_full(fd, in_data, len))
            return;
        const uint8_t *setup = h + 40;
        pthread_mutex_lock(&f->mu);
        f->submits++;
        memcpy(f->last_setup, setup, 8);
        int drop = (setup[0] & 0x60) == 0x20 && setup[1] == f->drop_request;
        int delay = (setup[0] & 0x60) == 0x20 && setup[1] == f->delay_request ? f->delay_ms : 0;
        pthread_mutex_unlock(&f->mu);
        if (drop)
            return;
        int n = rd32(h + 16) == 0 ? handle_setup(f, &dfu, setup, in_data, out, (int)len) : -1;
        if (delay) {
            p.active = 1;
            p.seq = seq;
            p.due = now_ms() + delay;
            p.len = n;
            if (n > 0)
                memcpy(p.data, out, (size_t)n);
            continue;
        }
        if (n == 0 && dir == 0)
            n = (int)len; /* OUT: actual_length is what the device took */
        if (send_ret_submit(fd, seq, n < 0 ? -32 /* -EPIPE: stall */ : 0, out, n < 0 ? 0 : n,
                            dir == 1))
            return;
    }
}

struct conn_arg {
    struct fake_usbip *f;
    int fd, slot;
};

static void *conn_main(void *arg)
{
    struct conn_arg a = *(struct conn_arg *)arg;
    free(arg);
    struct fake_usbip *f = a.f;
    uint8_t op[8];
    if (read_full(a.fd, op, 8))
        goto out;
    int code = op[2] << 8 | op[3];
    uint8_t rep[8 + 4 + 0x138 + 4] = {0};
    be16(rep, 0x0111);
    if (code == 0x8005) {
        be16(rep + 2, 0x0005);
        pthread_mutex_lock(&f->mu);
        f->devlists++;
        int n = listed(f);
        if (n)
            dev_block(f, rep + 12);
        pthread_mutex_unlock(&f->mu);
        be32(rep + 8, (uint32_t)n);
        rep[12 + 0x138] = 0xFE, rep[12 + 0x139] = 1, rep[12 + 0x13A] = 2;
        write_all(a.fd, rep, n ? sizeof rep : 12);
    } else if ((code & 0xFFF0) == 0x80A0 && !f->host_ops) {
        pthread_mutex_lock(&f->mu);
        f->hostdescs += code == 0x80A1; /* asked, and hung up on */
        pthread_mutex_unlock(&f->mu);
        goto out; /* usbipd: "unknown op code", connection closed */
    } else if (code == 0x80A1) { /* HOSTDESC */
        char busid[33] = {0};
        if (read_full(a.fd, busid, 32))
            goto out;
        uint8_t d[8 + 0x138 + 4 + 18 + 64] = {0};
        be16(d, 0x0111);
        be16(d + 2, 0x00A1);
        pthread_mutex_lock(&f->mu);
        f->hostdescs++;
        int ok = listed(f) && strcmp(busid, f->busid) == 0;
        if (ok) {
            dev_block(f, d + 8);
            be32(d + 8 + 0x138, (uint32_t)(18 + fake_config_len));
            memcpy(d + 12 + 0x138, fake_device_desc, 18);
            if (f->changed)
                d[12 + 0x138 + 16] = 6;
            memcpy(d + 12 + 0x138 + 18, fake_config_desc, (size_t)fake_config_len);
        }
        pthread_mutex_unlock(&f->mu);
        be32(d + 4, ok ? 0 : 1);
        write_all(a.fd, d, ok ? 12 + 0x138 + 18 + (size_t)fake_config_len : 8);
    } else if (code == 0x80A2) { /* HOSTRESET */
        char busid[33] = {0};
        if (read_full(a.fd, busid, 32))
            goto out;
        pthread_mutex_lock(&f->mu);
        f->hostresets++;
        int ms = f->reset_ms, st = 0;
        if (f->gone_after_close)
            f->gone = 1, st = 1;
        else if (f->change_after_close)
            f->changed = 1, st = 2;
        if (f->imported || strcmp(busid, f->busid) != 0)
            st = 1;
        pthread_mutex_unlock(&f->mu);
        usleep((useconds_t)ms * 1000);
        uint8_t d[8] = {0x01, 0x11, 0x00, 0xA2};
        be32(d + 4, (uint32_t)st);
        write_all(a.fd, d, 8);
    } else if (code == 0x8003 || code == 0x80A0) {
        int host = code == 0x80A0;
        char busid[33] = {0};
        if (read_full(a.fd, busid, 32))
            goto out;
        be16(rep + 2, 0x0003);
        pthread_mutex_lock(&f->mu);
        int ok = !f->refuse_import && !f->imported && (host || !f->host_open_now) && listed(f) &&
                 now_ms() >= f->busy_until && strcmp(busid, f->busid) == 0;
        if (ok && host) {
            f->host_open_now++;
            f->hostopens++;
            dev_block(f, rep + 8);
        } else if (ok) {
            f->imported = 1;
            f->imports++;
            dev_block(f, rep + 8);
        } else {
            f->refused++;
        }
        pthread_mutex_unlock(&f->mu);
        if (!ok) {
            be32(rep + 4, 1);
            write_all(a.fd, rep, 8);
            goto out;
        }
        if (write_all(a.fd, rep, 8 + 0x138) == 0)
            serve_urbs(f, a.fd, host);
        if (host) { /* a local program's close: nothing happens to the device */
            pthread_mutex_lock(&f->mu);
            for (int i = 0; i < 32; i++) /* its claims go with it */
                if (f->claim_fd[i] == a.fd)
                    f->claim_fd[i] = -1;
            f->host_open_now--;
            pthread_mutex_unlock(&f->mu);
            goto out;
        }
        /* The importer left: reset and re-enumerate, like usbip-host. */
        pthread_mutex_lock(&f->mu);
        f->imported = 0;
        f->closes++;
        f->absent_until = now_ms() + f->absent_ms;
        f->busy_until = now_ms() + f->busy_ms;
        if (f->gone_after_close)
            f->gone = 1;
        if (f->change_after_close)
            f->changed = 1;
        pthread_mutex_unlock(&f->mu);
    }
out:
    pthread_mutex_lock(&f->mu);
    close(a.fd);
    f->conn_fd[a.slot] = -1;
    f->live--;
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct fake_usbip *f = arg;
    while (!f->stop) {
        struct pollfd pf = {.fd = f->listen_fd, .events = POLLIN};
        if (poll(&pf, 1, 20) <= 0)
            continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_mutex_lock(&f->mu);
        int slot = -1;
        for (int i = 0; i < 64 && slot < 0; i++)
            if (f->conn_fd[i] < 0)
                slot = i;
        if (slot < 0) {
            pthread_mutex_unlock(&f->mu);
            close(fd);
            continue;
        }
        f->conn_fd[slot] = fd;
        f->live++;
        pthread_mutex_unlock(&f->mu);
        struct conn_arg *a = malloc(sizeof *a);
        a->f = f, a->fd = fd, a->slot = slot;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, conn_main, a) != 0) {
            pthread_mutex_lock(&f->mu);
            close(fd);
            f->conn_fd[slot] = -1;
            f->live--;
            pthread_mutex_unlock(&f->mu);
            free(a);
        }
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

void fake_usbip_reset_knobs(struct fake_usbip *f)
{
    pthread_mutex_lock(&f->mu);
    strcpy(f->busid, "1-1");
    strcpy(f->serial, FAKE_SERIAL);
    f->devnum = 5;
    f->refuse_import = 0;
    f->delay_request = f->drop_request = -1;
    f->delay_ms = f->absent_ms = f->busy_ms = 0;
    f->gone_after_close = f->change_after_close = f->no_bos = f->unlink_mode = 0;
    f->imports = f->refused = f->closes = f->submits = f->unlinks = f->devlists = 0;
    f->hostdescs = f->hostopens = f->hostresets = f->claims = 0;
    for (int i = 0; i < 32; i++)
        f->claim_fd[i] = -1;
    f->host_ops = 1;
    f->reset_ms = 50;
    f->changed = f->gone = 0;
    f->absent_until = f->busy_until = 0;
    f->alt = f->config = -1;
    pthread_mutex_unlock(&f->mu);
}

struct fake_usbip *fake_usbip_start(void)
{
    struct fake_usbip *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    for (int i = 0; i < 64; i++)
        f->conn_fd[i] = -1;
    fake_usbip_reset_knobs(f);
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa) ||
        listen(f->listen_fd, 16) || getsockname(f->listen_fd, (struct sockaddr *)&sa, &sl) ||
        pthread_create(&f->thread, NULL, accept_main, f)) {
        if (f->listen_fd >= 0)
            close(f->listen_fd);
        free(f);
        return NULL;
    }
    f->port = ntohs(sa.sin_port);
    return f;
}

int fake_usbip_wait_idle(struct fake_usbip *f, int ms)
{
    long long end = now_ms() + ms;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        int busy = f->imported || f->host_open_now;
        pthread_mutex_unlock(&f->mu);
        if (!busy)
            return 0;
        if (now_ms() > end)
            return -1;
        usleep(1000);
    }
}

void fake_usbip_stop(struct fake_usbip *f)
{
    if (!f)
        return;
    f->stop = 1;
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    for (;;) {
        pthread_mutex_lock(&f->mu);
        for (int i = 0; i < 64; i++)
            if (f->conn_fd[i] >= 0)
                shutdown(f->conn_fd[i], SHUT_RDWR);
        int live = f->live;
        pthread_mutex_unlock(&f->mu);
        if (!live)
            break;
        usleep(1000);
    }
    pthread_mutex_destroy(&f->mu);
    free(f);
}
