/*
 * usbip_client.c - the operations before import: server list, OP_REQ_DEVLIST
 * and OP_REQ_IMPORT (layout in /work/shared/notes/usbip.md).
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

int usbip_import(const struct usbip_server *s, const char *busid, struct usbip_conn *c,
                 struct usbip_devinfo *info, int debug)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->debug = debug;
    int fd = net_connect(s, CONNECT_MS);
    if (fd < 0)
        return USBIP_IMPORT_UNREACHABLE;
    int64_t dl = net_now_ms() + REPLY_MS;
    uint8_t hdr[8], blk[DEV_BLOCK];
    if (send_op(fd, OP_REQ_IMPORT, busid) || net_read_full(fd, hdr, sizeof hdr, dl) ||
        get_be16(hdr + 2) != OP_REP_IMPORT) {
        close(fd);
        return USBIP_IMPORT_UNREACHABLE;
    }
    /* A refusal carries no device block (Linux usbipd sends the header only). */
    if (get_be32(hdr + 4) != 0) {
        close(fd);
        if (debug)
            fprintf(stderr, "libusb-usbip: import of %s refused\n", busid);
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
        fprintf(stderr, "libusb-usbip: imported %s devid 0x%08x\n", busid, c->devid);
    return USBIP_IMPORT_OK;
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
