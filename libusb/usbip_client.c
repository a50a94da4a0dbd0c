/*
 * usbip_client.c - the operations before import: server list, OP_REQ_DEVLIST
 * and OP_REQ_IMPORT (layout in /work/shared/notes/usbip.md), and vboard's
 * OP_REQ_HOSTDESC / HOSTOPEN / HOSTRESET (vboard/usbip_server.c).
 */
#include "usbip_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usbip_net.h"

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
#define MAX_DESC 65536
#define DEV_BLOCK 0x138 /* path .. bNumInterfaces */
#define CONNECT_MS 2000
#define REPLY_MS 5000   /* a server that stays silent this long is skipped */

int usbip_parse_servers(const char *spec, struct usbip_server **out)
{
    if (!spec || !*spec)
        spec = "127.0.0.1:3240";
    char *copy = strdup(spec);
    int n = 0, cap = 4;
    struct usbip_server *v = calloc((size_t)cap, sizeof *v);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        char *colon = strrchr(tok, ':');
        const char *port = colon ? colon + 1 : "3240";
        if (colon)
            *colon = 0;
        /* "[::1]:3240" */
        if (tok[0] == '[' && tok[strlen(tok) - 1] == ']') {
            tok[strlen(tok) - 1] = 0;
            tok++;
        }
        if (n == cap)
            v = realloc(v, sizeof *v * (size_t)(cap *= 2));
        snprintf(v[n].host, sizeof v[n].host, "%s", *tok ? tok : "127.0.0.1");
        snprintf(v[n].port, sizeof v[n].port, "%s", *port ? port : "3240");
        n++;
    }
    free(copy);
    *out = v;
    return n;
}

static void parse_devblock(const uint8_t *b, struct usbip_devinfo *d)
{
    memset(d, 0, sizeof *d);
    memcpy(d->path, b, 256);
    memcpy(d->busid, b + 0x100, 32);
    d->busnum = get_be32(b + 0x120);
    d->devnum = get_be32(b + 0x124);
    d->speed = get_be32(b + 0x128);
    d->vid = get_be16(b + 0x12C);
    d->pid = get_be16(b + 0x12E);
    d->bcd = get_be16(b + 0x130);
    d->cls = b[0x132];
    d->subcls = b[0x133];
    d->proto = b[0x134];
    d->cfgval = b[0x135];
    d->nconfigs = b[0x136];
    d->nifaces = b[0x137];
}

static int send_op(int fd, uint16_t code, const char *busid)
{
    uint8_t req[8 + 32] = {0};
    put_be16(req, USBIP_VERSION);
    put_be16(req + 2, code);
    size_t len = 8;
    if (busid) {
        strncpy((char *)req + 8, busid, 31);
        len += 32;
    }
    return net_write_all(fd, req, len);
}

int usbip_devlist(const struct usbip_server *s, struct usbip_devinfo **out, int debug)
{
    *out = NULL;
    int fd = net_connect(s, CONNECT_MS);
    if (fd < 0) {
        if (debug)
            fprintf(stderr, "libusb-usbip: %s:%s unreachable\n", s->host, s->port);
        return -1;
    }
    int64_t dl = net_now_ms() + REPLY_MS;
    uint8_t hdr[12];
    int n = -1;
    if (send_op(fd, OP_REQ_DEVLIST, NULL) || net_read_full(fd, hdr, sizeof hdr, dl) ||
        get_be16(hdr + 2) != OP_REP_DEVLIST || get_be32(hdr + 4) != 0)
        goto out;
    uint32_t count = get_be32(hdr + 8);
    if (count > 256)
        goto out;
    struct usbip_devinfo *v = calloc(count ? count : 1, sizeof *v);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t blk[DEV_BLOCK], ifs[4];
        if (net_read_full(fd, blk, sizeof blk, dl)) {
            free(v);
            goto out;
        }
        parse_devblock(blk, &v[i]);
        for (int k = 0; k < v[i].nifaces; k++)
            if (net_read_full(fd, ifs, 4, dl)) {
                free(v);
                goto out;
            }
        if (debug)
            fprintf(stderr, "libusb-usbip: %s:%s lists %s %04x:%04x devnum %u\n", s->host,
                    s->port, v[i].busid, v[i].vid, v[i].pid, v[i].devnum);
    }
    *out = v;
    n = (int)count;
out:
    close(fd);
    return n;
}

/* Connects, sends op with busid and reads the 8-byte reply header: the
 * socket, or USBIP_IMPORT_UNREACHABLE / USBIP_UNSUPPORTED (the server
 * closed the connection without a word, as usbipd does on an unknown code). */
static int op_start(const struct usbip_server *s, uint16_t code, const char *busid,
                    uint16_t reply, int wait_ms, uint8_t hdr[8])
{
    int fd = net_connect(s, CONNECT_MS);
    if (fd < 0)
        return USBIP_IMPORT_UNREACHABLE;
    int r = send_op(fd, code, busid) ? -1 : net_read_full(fd, hdr, 8, net_now_ms() + wait_ms);
    if (r || get_be16(hdr + 2) != reply) {
        close(fd);
        return r == -1 && (code & 0xFFF0) == 0x80A0 ? USBIP_UNSUPPORTED : USBIP_IMPORT_UNREACHABLE;
    }
    return fd;
}

int usbip_import(const struct usbip_server *s, const char *busid, int host, struct usbip_conn *c,
                 struct usbip_devinfo *info, int debug)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->debug = debug;
    uint8_t hdr[8], blk[DEV_BLOCK];
    int fd = op_start(s, host ? OP_REQ_HOSTOPEN : OP_REQ_IMPORT, busid, OP_REP_IMPORT, REPLY_MS,
                      hdr);
    if (fd < 0)
        return fd;
    int64_t dl = net_now_ms() + REPLY_MS;
    /* A refusal carries no device block (Linux usbipd sends the header only). */
    if (get_be32(hdr + 4) != 0) {
        close(fd);
        if (debug)
            fprintf(stderr, "libusb-usbip: %s of %s refused\n", host ? "open" : "import", busid);
        return USBIP_IMPORT_REFUSED;
    }
    if (net_read_full(fd, blk, sizeof blk, dl)) {
        close(fd);
        return USBIP_IMPORT_UNREACHABLE;
    }
    struct usbip_devinfo d;
    parse_devblock(blk, &d);
    if (info)
        *info = d;
    c->fd = fd;
    c->devid = d.busnum << 16 | (d.devnum & 0xFFFF);
    if (debug)
        fprintf(stderr, "libusb-usbip: %s %s devid 0x%08x\n", host ? "opened" : "imported", busid,
                c->devid);
    return USBIP_IMPORT_OK;
}

int usbip_hostdesc(const struct usbip_server *s, const char *busid, struct usbip_devinfo *info,
                   uint8_t **desc, int *len, int debug)
{
    *desc = NULL;
    *len = 0;
    uint8_t hdr[8], blk[DEV_BLOCK], lb[4];
    int fd = op_start(s, OP_REQ_HOSTDESC, busid, OP_REP_HOSTDESC, REPLY_MS, hdr);
    if (fd < 0)
        return fd;
    int r = USBIP_IMPORT_UNREACHABLE;
    int64_t dl = net_now_ms() + REPLY_MS;
    if (get_be32(hdr + 4) != 0) {
        r = USBIP_IMPORT_REFUSED;
    } else if (net_read_full(fd, blk, sizeof blk, dl) == 0 &&
               net_read_full(fd, lb, 4, dl) == 0 && get_be32(lb) <= MAX_DESC) {
        uint32_t n = get_be32(lb);
        uint8_t *p = malloc(n ? n : 1);
        if (p && net_read_full(fd, p, n, dl) == 0) {
            parse_devblock(blk, info);
            *desc = p;
            *len = (int)n;
            r = USBIP_IMPORT_OK;
        } else {
            free(p);
        }
    }
    close(fd);
    if (debug)
        fprintf(stderr, "libusb-usbip: host descriptors of %s: %s, %d bytes\n", busid,
                r == USBIP_IMPORT_OK ? "ok" : "failed", *len);
    return r;
}

int usbip_hostreset(const struct usbip_server *s, const char *busid, int wait_ms, int debug)
{
    uint8_t hdr[8];
    int fd = op_start(s, OP_REQ_HOSTRESET, busid, OP_REP_HOSTRESET, wait_ms, hdr);
    if (fd < 0)
        return fd;
    close(fd);
    int st = (int)get_be32(hdr + 4);
    if (debug)
        fprintf(stderr, "libusb-usbip: reset of %s: status %d\n", busid, st);
    return st;
}

void usbip_close(struct usbip_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        if (c->debug)
            fprintf(stderr, "libusb-usbip: connection closed\n");
    }
    c->fd = -1;
}
