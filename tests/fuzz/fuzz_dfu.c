/*
 * fuzz_dfu.c - libFuzzer target over the portable core (fw/core: usb_ctrl,
 * dfu, flash_writer, descriptors, layout, memmap) built for the host, with
 * its own port (fuzz_port.c: simulated NOR flash + endpoint 0 that behave
 * like the STM32F1 USB peripheral: SETUP always accepted, OUT packets only
 * when reception is armed, IN packets only when armed, STALL until the
 * next SETUP).
 *
 * Input encoding (fuzz_ops.h has the numbers):
 *   byte 0   configuration: bits 0-2 F_SIZE (64,128,256,64,128,32,512,384
 *            KiB), bits 3-4 APP_BASE (0x08002000, 0x08001000, 0x08008000,
 *            0x08002000), bits 5-6 what the application region holds
 *            (erased, an old image, every other page erased, old data
 *            with erased half-words). Compile-time options (UPLOAD,
 *            UNPROTECT, WEBUSB, STRICT) make separate binaries.
 *   then     opcodes: low 5 bits = op (mod OP_COUNT), high 3 bits = flags,
 *            followed by the op's argument bytes; missing bytes read 0.
 *     SETUP 8 raw bytes | SETUP_ODD n, n bytes (wrong-size SETUP) |
 *     OUT n, n bytes (one packet, NAKed unless armed) | IN (take one
 *     packet) | FINISH (complete the current transfer politely) | RESET |
 *     SET_INTF | TIME | GETSTATUS [wLength] | GETSTATE | CLRSTATUS | ABORT |
 *     CMD cmd-sel addr-sel [k | 4 bytes] (DfuSe command as dfu-util sends
 *     it, addresses from an interesting set) | BLOCK block-sel len-sel
 *     pattern (DNLOAD data block) | UPLOAD block-sel len-sel | LEAVE
 *     (zero-length DNLOAD) | STD req-sel wlen-sel (descriptors, addresses,
 *     configurations, vendor requests) | FAULT kind (next flash op fails)
 *     | DETACH.
 *   Flash work is synchronous in this core (port.h: "complete when they
 *   return"), so "time passes" only gives the invariant checks a turn.
 *
 * Invariants (any violation prints "INVARIANT VIOLATED: ..." and aborts,
 * which libFuzzer records as a crash):
 *   - no crash, no ASan/UBSan report (flash is a heap block of exactly the
 *     part's size; descriptors and buffers are ASan-guarded globals);
 *   - no IN packet over 64 bytes, no IN data beyond wLength, no IN data in
 *     answer to an OUT or no-data request;
 *   - GETSTATUS answers exactly min(6, wLength) bytes, GETSTATE 1;
 *   - the DFU state is a DFU-mode state (dfuIDLE..dfuERROR), bStatus is
 *     0x00..0x0F, and bStatus != OK exactly in dfuERROR (checked after
 *     every operation through dfu_state()/dfu_status() and in every
 *     GETSTATUS answer);
 *   - the bootloader pages (below APP_BASE) never change, and no erase or
 *     program is ever aimed at them;
 *   - every erase/program hits the target of the DfuSe command that is
 *     running: a page erase only its page, a mass erase only application
 *     pages, a data block only [pointer + (n-2)*1024, +wLength) for some
 *     pointer the host could have set, the held-back vector words only
 *     during ABORT / the zero-length DNLOAD, and the old image's stack
 *     pointer only zeroed by an erase/write. A command "runs" only between
 *     a GETSTATUS that answered dfuDNBUSY and the next answer saying
 *     anything else, so a refused command (dfuERROR) touches nothing;
 *   - a data block the device reports done (dfuDNBUSY, then
 *     dfuDNLOAD-IDLE with status OK) is in flash byte for byte, apart from
 *     the held-back vector words;
 *   - UPLOAD data is the flash at the pointer (nothing else leaks), and in
 *     UPLOAD=0 builds no UPLOAD block returns data; READ UNPROTECT reaches
 *     the option bytes only in UNPROTECT=1 builds and only when asked.
 *
 * FUZZ_TRACE=1 in the environment prints every operation (for minimised
 * crash inputs). FUZZ_STATS=file appends counters at exit (short.sh uses
 * them to prove the deep states were reached).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dfu.h"
#include "dfu_defs.h"
#include "fuzz_ops.h"
#include "fuzz_port.h"
#include "usb_ctrl.h"

/* ---- input cursor ------------------------------------------------------ */
static const uint8_t *in_p;
static size_t in_left;

static uint8_t next(void)
{
    if (!in_left)
        return 0;
    in_left--;
    return *in_p++;
}

static uint32_t next32(void)
{
    uint32_t v = next();
    v |= (uint32_t)next() << 8;
    v |= (uint32_t)next() << 16;
    return v | (uint32_t)next() << 24;
}

/* ---- well-behaved host transfers -------------------------------------- */
static void put_setup(uint8_t *p, uint8_t bm, uint8_t req, uint16_t value, uint16_t index,
                      uint16_t length)
{
    p[0] = bm;
    p[1] = req;
    p[2] = (uint8_t)value;
    p[3] = (uint8_t)(value >> 8);
    p[4] = (uint8_t)index;
    p[5] = (uint8_t)(index >> 8);
    p[6] = (uint8_t)length;
    p[7] = (uint8_t)(length >> 8);
}

/* The rest of the current transfer as a correct host does it: the IN data
 * until a short packet or wLength, then the status OUT; or the OUT data
 * (from data, or 0xA5 filler) then the status IN. skip_status leaves the
 * status stage out (the host went away or timed out). Returns the IN
 * bytes received, or -1 on STALL / NAK. */
static int finish_transfer(const uint8_t *data, uint8_t *in_buf, bool skip_status)
{
    if (!host.valid)
        return -1;
    const struct usb_setup *s = &host.setup;
    if (s->bmRequestType & 0x80) {
        unsigned got = host.in_total;
        while (got < s->wLength) {
            uint8_t pkt[EP0_SIZE];
            int n = host_in(pkt);
            if (n < 0)
                return -1;
            if (in_buf && got + (unsigned)n <= 64)
                memcpy(in_buf + got, pkt, (size_t)n);
            got += (unsigned)n;
            if (n < (int)EP0_SIZE)
                break;
        }
        if (!skip_status && host_out(0, 0) < 0)
            return -1;
        return (int)got;
    }
    for (unsigned sent = host.out_total; sent < s->wLength;) {
        unsigned n = s->wLength - sent < EP0_SIZE ? s->wLength - sent : EP0_SIZE;
        uint8_t pkt[EP0_SIZE];
        for (unsigned i = 0; i < n; i++)
            pkt[i] = data ? data[sent + i] : 0xA5;
        if (host_out(pkt, n) < 0)
            return -1;
        sent += n;
    }
    if (skip_status)
        return 0;
    uint8_t zlp[EP0_SIZE];
    return host_in(zlp) == 0 ? 0 : -1;
}

static int xfer(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                const uint8_t *data, uint8_t *in_buf, bool skip_status)
{
    uint8_t p[8];
    put_setup(p, bm, req, value, index, length);
    if (host_setup(p, 8) < 0)
        return -1;
    return finish_transfer(data, in_buf, skip_status);
}

static void getstatus(bool skip_status)
{
    uint8_t st[64];
    xfer(0xA1, DFU_GETSTATUS, 0, 0, 6, 0, st, skip_status);
}

/* ---- interesting values ------------------------------------------------ */
static uint32_t pick_addr(unsigned sel)
{
    uint32_t ps = fz.page_size, base = fz.app_base, end = fz.flash_end;
    switch (sel % SEL_COUNT) {
    case SEL_APP_BASE: return base;
    case SEL_APP_BASE_PLUS_PAGE: return base + ps;
    case SEL_APP_BASE_MINUS_PAGE: return base - ps;
    case SEL_APP_BASE_MINUS_1: return base - 1;
    case SEL_APP_BASE_PLUS_1: return base + 1;
    case SEL_FLASH_BASE: return 0x08000000u;
    case SEL_FLASH_PLUS_PAGE: return 0x08000000u + ps;
    case SEL_END_MINUS_PAGE: return end - ps;
    case SEL_END_MINUS_1: return end - 1;
    case SEL_END: return end;
    case SEL_END_PLUS_PAGE: return end + ps;
    case SEL_ZERO: return 0;
    case SEL_ALL_ONES: return 0xFFFFFFFFu;
    case SEL_TOP_KIB: return 0xFFFFFC00u;
    case SEL_SRAM: return 0x20000000u;
    case SEL_SYSMEM: return 0x1FFFF000u;
    case SEL_APP_PAGE_K: return base + next() * ps;
    case SEL_APP_PAGE_K_ODD: return base + next() * ps + 1;
    case SEL_END_MINUS_K: return end - 1 - next();
    case SEL_64K_BOUNDARY: return 0x08010000u - 1024u;
    case SEL_128K_BOUNDARY: return 0x08020000u - 1024u;
    case SEL_END_MINUS_1024: return end - 1024u;
    case SEL_WRAP: return 0xFFFFF800u;
    default: return next32();
    }
}

/* ---- operations -------------------------------------------------------- */
static void op_cmd(unsigned flags)
{
    unsigned sel = next() % 8u;
    uint8_t cmd[5] = {fuzz_cmds[sel], 0, 0, 0, 0};
    uint16_t len = 5;
    if (sel == CMD_MASS || sel == CMD_UNPROTECT || sel == CMD_GET)
        len = 1;
    if (sel == CMD_RAW) {
        cmd[0] = next();
        len = (uint16_t)(next() % 7u); /* 0..6: wrong lengths too */
    }
    uint32_t a = pick_addr(next());
    for (int i = 0; i < 4; i++)
        cmd[1 + i] = (uint8_t)(a >> (8 * i));
    trace("CMD 0x%02x len %u addr 0x%08x", cmd[0], len, a);
    uint8_t six[6] = {0};
    memcpy(six, cmd, 5);
    if (xfer(0x21, DFU_DNLOAD, 0, 0, len, six, 0, false) < 0)
        return;
    if (flags & FL_STATUSES) {
        getstatus(flags & FL_ABANDON);
        getstatus(false);
    }
}

static void op_block(unsigned flags)
{
    static uint8_t data[0x10000];
    uint16_t block = (uint16_t)fuzz_blocks[next() % 16u];
    uint16_t len = (uint16_t)fuzz_lens[next() % 16u];
    uint8_t pat = next();
    /* Patterns: all 0xFF (nothing to program), all 0 (programs over
     * anything), or a ramp that a plausible vector table can come from. */
    unsigned n = len < 2048u ? len : 2048u;
    for (unsigned i = 0; i < n; i++)
        data[i] = pat == 0xFF ? 0xFF : pat == 0 ? 0 : (uint8_t)(i * pat + (i >> 8));
    if (n >= 8 && pat == 1) { /* SP 0x20005000, reset handler in the app */
        uint32_t v[2] = {0x20005000u, (fz.app_base + 0x101u)};
        memcpy(data, v, 8);
    }
    trace("BLOCK %u len %u pattern 0x%02x", block, len, pat);
    if (xfer(0x21, DFU_DNLOAD, block, 0, len, data, 0, false) < 0)
        return;
    if (flags & FL_STATUSES) {
        getstatus(flags & FL_ABANDON);
        getstatus(false);
    }
}

static void op_std(void)
{
    unsigned sel = next() % 16u;
    uint16_t wl = (uint16_t)fuzz_wlens[next() % 8u];
    uint8_t buf[64];
    trace("STD %u wLength %u", sel, wl);
    switch (sel) {
    case 0: xfer(0x80, 6, 0x0100, 0, wl, 0, buf, false); break;  /* device */
    case 1: xfer(0x80, 6, 0x0200, 0, wl, 0, buf, false); break;  /* configuration */
    case 2: xfer(0x80, 6, 0x0300, 0, wl, 0, buf, false); break;  /* LANGIDs */
    case 3: xfer(0x80, 6, 0x0301, 0x409, wl, 0, buf, false); break;
    case 4: xfer(0x80, 6, 0x0302, 0x409, wl, 0, buf, false); break;
    case 5: xfer(0x80, 6, 0x0303, 0x409, wl, 0, buf, false); break; /* serial */
    case 6: xfer(0x80, 6, 0x0304, 0x409, wl, 0, buf, false); break; /* layout */
    case 7: xfer(0x80, 6, 0x0F00, 0, wl, 0, buf, false); break;  /* BOS */
    case 8: xfer(0x00, 5, next() & 0x7F, 0, 0, 0, 0, false); break; /* SET_ADDRESS */
    case 9: xfer(0x00, 9, 1, 0, 0, 0, 0, false); break;           /* SET_CONFIGURATION */
    case 10: xfer(0x80, 8, 0, 0, wl, 0, buf, false); break;       /* GET_CONFIGURATION */
    case 11: xfer(0x80, 0, 0, 0, wl, 0, buf, false); break;       /* GET_STATUS */
    case 12: xfer(0xC0, 2, 0, 7, wl, 0, buf, false); break;       /* MS OS 2.0 set */
    case 13: xfer(0xC0, 1, 1, 2, wl, 0, buf, false); break;       /* WebUSB URL */
    case 14: xfer(0x81, 10, 0, 0, wl, 0, buf, false); break;      /* GET_INTERFACE */
    default: xfer(0x80, 6, (uint16_t)(next() << 8 | next()), 0, wl, 0, buf, false); break;
    }
}

static void run_op(uint8_t opcode)
{
    unsigned op = (opcode & 0x1Fu) % OP_COUNT, flags = opcode >> 5;
    switch (op) {
    case OP_SETUP: {
        uint8_t p[8];
        for (int i = 0; i < 8; i++)
            p[i] = next();
        trace("SETUP %02x %02x %02x%02x %02x%02x %02x%02x", p[0], p[1], p[3], p[2], p[5], p[4],
              p[7], p[6]);
        host_setup(p, 8);
        break;
    }
    case OP_SETUP_ODD: {
        uint8_t p[12];
        unsigned n = next() % 13u;
        for (unsigned i = 0; i < n; i++)
            p[i] = next();
        trace("SETUP of %u bytes", n);
        host_setup(p, n);
        break;
    }
    case OP_OUT: {
        uint8_t p[EP0_SIZE];
        unsigned n = next() % (EP0_SIZE + 1u);
        for (unsigned i = 0; i < n; i++)
            p[i] = next();
        trace("OUT %u bytes", n);
        host_out(p, n);
        break;
    }
    case OP_IN: {
        uint8_t p[EP0_SIZE];
        trace("IN");
        host_in(p);
        break;
    }
    case OP_FINISH:
        trace("FINISH");
        finish_transfer(0, 0, false);
        break;
    case OP_RESET:
        trace("RESET");
        host_bus_reset();
        break;
    case OP_SET_INTF:
        trace("SET_INTERFACE alt %u", flags);
        xfer(0x01, 11, (uint16_t)flags, 0, 0, 0, 0, false);
        break;
    case OP_TIME:
        trace("TIME");
        break;
    case OP_GETSTATUS: {
        uint16_t wl = flags & 1 ? next() : 6;
        uint8_t st[64];
        trace("GETSTATUS wLength %u%s", wl, flags & 2 ? " (no status stage)" : "");
        xfer(0xA1, DFU_GETSTATUS, 0, 0, wl, 0, st, flags & 2);
        break;
    }
    case OP_GETSTATE: {
        uint8_t st[64];
        trace("GETSTATE");
        xfer(0xA1, DFU_GETSTATE, 0, 0, 1, 0, st, false);
        break;
    }
    case OP_CLRSTATUS:
        trace("CLRSTATUS");
        xfer(0x21, DFU_CLRSTATUS, 0, 0, 0, 0, 0, false);
        break;
    case OP_ABORT:
        trace("ABORT");
        xfer(0x21, DFU_ABORT, 0, 0, 0, 0, 0, false);
        break;
    case OP_CMD:
        op_cmd(flags);
        break;
    case OP_BLOCK:
        op_block(flags);
        break;
    case OP_UPLOAD: {
        uint16_t block = (uint16_t)fuzz_blocks[next() % 16u];
        uint16_t len = (uint16_t)fuzz_lens[next() % 16u];
        trace("UPLOAD %u len %u", block, len);
        xfer(0xA1, DFU_UPLOAD, block, 0, len, 0, 0, false);
        break;
    }
    case OP_LEAVE:
        trace("LEAVE (zero-length DNLOAD)");
        xfer(0x21, DFU_DNLOAD, flags & 4 ? 0 : 2, 0, 0, 0, 0, false);
        break;
    case OP_STD:
        op_std();
        break;
    case OP_FAULT:
        fz.fault = next() % FAULT_COUNT;
        trace("FAULT %u", fz.fault);
        break;
    case OP_DETACH:
        trace("DETACH");
        xfer(0x21, DFU_DETACH, 1000, 0, 0, 0, 0, false);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    in_p = data;
    in_left = size;
    fuzz_begin(next());
    while (in_left && !fz.chip_reset) {
        run_op(next());
        fuzz_after_op();
    }
    fuzz_end();
    return 0;
}
