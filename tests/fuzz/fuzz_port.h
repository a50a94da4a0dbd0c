/*
 * fuzz_port.h - the fuzz harness's side of fw/core/port.h: a simulated
 * STM32F1 flash and endpoint 0, a host that drives them packet by packet,
 * and the invariant checks that watch both (see fuzz_dfu.c).
 *
 * Its own port rather than tests/unit/sim.c: the fuzzer needs single
 * packets (sim.c only runs whole transfers), checks at the moment of each
 * flash operation, and a flash block of exactly the part's size so ASan
 * sees any read past its end.
 */
#ifndef FUZZ_PORT_H
#define FUZZ_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "usb_ctrl.h"

struct fz {
    uint32_t kib, app_base, flash_end, page_size;
    uint8_t *flash; /* exactly kib * 1024 bytes */
    unsigned fault; /* enum fault, for the next flash operation */
    bool chip_reset; /* READ UNPROTECT took the chip away: input over */
};
extern struct fz fz;

/* The transfer the host is in (the last SETUP it sent). */
struct host {
    bool valid; /* the last SETUP had 8 bytes */
    struct usb_setup setup;
    unsigned in_total, out_total;
};
extern struct host host;

/* Return -1 when the device STALLs or NAKs, else bytes moved. */
int host_setup(const uint8_t *pkt, unsigned len);
int host_out(const uint8_t *data, unsigned len);
int host_in(uint8_t *buf); /* buf: EP0_SIZE bytes */
void host_bus_reset(void);

void fuzz_begin(uint8_t config);
void fuzz_after_op(void);
void fuzz_end(void);

void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
