/*
 * fake_usbip.h - a USB/IP server on 127.0.0.1 for the libusb tests. It
 * exports one canned DFU-like device, speaks vboard's host-side extensions
 * unless told not to (host_ops), (DfuSe layout strings, a serial, a DFU
 * functional descriptor, a BOS) and has knobs to misbehave: refuse imports,
 * delay or drop on a request, vanish or change after an importer leaves.
 * One thread accepts, one thread per connection; fields marked (knob) may be
 * set between tests, counters read at any time.
 */
#ifndef FAKE_USBIP_H
#define FAKE_USBIP_H

#include <pthread.h>
#include <stdint.h>

#define FAKE_SERIAL "FAKE0123ABCD"
#define FAKE_LAYOUT0 "@Internal Flash  /0x08000000/8*001Ka,56*001Kg"
#define FAKE_LAYOUT1 "@Option Bytes  /0x1FFFF800/01*016 e"
#define FAKE_VID 0x0483
#define FAKE_PID 0xDF11

struct fake_usbip {
    uint16_t port;          /* bound port (ephemeral) */
    char busid[32];         /* (knob) default "1-1" */
    uint32_t devnum;        /* (knob) default 5 */
    char serial[32];        /* (knob) string 3, default FAKE_SERIAL */
    /* knobs */
    int refuse_import;      /* every import is refused */
    int delay_request;      /* class request number whose reply is delayed (-1: none) */
    int delay_ms;
    int drop_request;       /* class request number that closes the connection (-1: none) */
    int absent_ms;          /* after an importer leaves: unlisted this long */
    int busy_ms;            /* after an importer leaves: listed, import refused this long */
    int gone_after_close;   /* after an importer leaves: never listed again */
    int change_after_close; /* after an importer leaves: other serial index */
    int no_bos;             /* BOS request stalls */
    int unlink_mode;        /* 0 unlink the URB; 1 it had completed: RET_SUBMIT, then
                               RET_UNLINK 0; 2 ignore CMD_UNLINK, answer the URB late */
    int host_ops;           /* 1 (default): vboard's HOSTDESC/HOSTOPEN/HOSTRESET;
                               0: hang up on them, as Linux usbipd does */
    int reset_ms;           /* HOSTRESET takes this long (default 50); gone_after_close
                               and change_after_close apply to it too */
    /* counters */
    int imports, refused, closes, submits, unlinks, devlists;
    int hostdescs, hostopens, hostresets, claims;
    int host_open_now;      /* host opens connected now */
    int imported;           /* an importer is connected now */
    uint8_t last_setup[8];
    int alt;                /* last SET_INTERFACE value */
    int config;             /* last SET_CONFIGURATION value */
    /* private */
    int listen_fd, stop, changed, gone;
    long long absent_until, busy_until;
    pthread_t thread;
    pthread_mutex_t mu;
    int live;               /* connection threads running (detached) */
    int conn_fd[64];        /* their sockets, -1 for a free slot */
    int claim_fd[32];       /* host open owning each interface, -1 none */
};

/* Starts a server on an ephemeral port; NULL on failure. */
struct fake_usbip *fake_usbip_start(void);
/* Closes every connection and the listener, joins the threads. */
void fake_usbip_stop(struct fake_usbip *f);
/* Puts the knobs back to their defaults and zeroes the counters. */
void fake_usbip_reset_knobs(struct fake_usbip *f);
/* Waits up to ms for no importer to be connected (after a client close). */
int fake_usbip_wait_idle(struct fake_usbip *f, int ms);

/* What a DfuSe UPLOAD returns for address addr. */
uint8_t fake_flash_byte(uint32_t addr);

/* The canned descriptors, for checks. */
extern const uint8_t fake_device_desc[18];
extern const uint8_t fake_config_desc[];
extern const int fake_config_len;
extern const uint8_t fake_dfu_status[6];

#endif
