#include "dfu.h"

#include "config.h"
#include "dfu_defs.h"
#include "flash_writer.h"
#include "memmap.h"
#include "port.h"

/* The commit rule (README "Updating an application with dfu-util"): the
 * held-back first 8 bytes are written only for the session that wrote the
 * blocks, when its ABORT, zero-length DNLOAD or DETACH follows its last
 * block directly: nothing but GETSTATUS, GETSTATE or SET ADDRESS POINTER
 * in between, no bus reset, SET_CONFIGURATION or SET_INTERFACE (they end
 * a host's session: another client starts with one of them), and within
 * this time of the block's completion. dfu-util's gap is the rest of the
 * block's bwPollTimeout plus two requests (milliseconds); a client that
 * starts after another died takes longer, and is told errNOTDONE. */
#define COMMIT_WINDOW_MS 1000u

/* A mass erase runs in slices of this many pages, one per GETSTATUS (each
 * answered dfuDNBUSY with the slice's time, DFU 1.1 6.1.2): 8 x 40 ms max
 * keeps every request far below a host's control timeout (dfu-util: 5 s)
 * where one piece for 252 pages of a 512 KiB part could take 10 s. */
#define ERASE_SLICE_PAGES 8u
#define STILL_BUSY 0xFFu /* run_op: more slices to go */

/* What the block waiting in DNLOAD-SYNC asks for. */
enum op { OP_NONE, OP_NOP, OP_SET_ADDRESS, OP_ERASE, OP_MASS_ERASE, OP_UNPROTECT, OP_WRITE };

/* In a section of its own (like usbc_buf), after the small state objects:
 * these share one section anchor, and an offset from it past 31 (bytes)
 * or 62 (half-words) needs 32-bit loads and stores. Saves 20 bytes. */
static uint8_t dnload_buf[FLASH_PAGE_MAX]
    __attribute__((section(".bss.dnload_buf"), aligned(4)));

static struct {
    uint8_t state;
    uint8_t status;
    uint8_t op;
    bool leaving;
    uint16_t block; /* wValue of the pending DNLOAD */
    uint16_t len;
    uint16_t xfer;    /* wTransferSize of the block sequence; 0: not known yet */
    uint32_t pointer; /* DfuSe address pointer */
    uint32_t op_addr;
    bool fresh;       /* the last op was a data block that completed... */
    uint32_t done_ms; /* ...at this port_ms() */
    bool cut;         /* an update was dropped: errNOTDONE until CLRSTATUS */
} d;

uint8_t dfu_state(void)
{
    return d.state;
}

uint8_t dfu_status(void)
{
    return d.status;
}

/* The port's RDP check too: a chip protected by other means than RDP=1. */
static bool dfu_readable(void)
{
    return CFG_UPLOAD && !CFG_RDP && !port_read_protected();
}

bool dfu_leave_requested(void)
{
    return d.state == dfuMANIFEST_WAIT_RESET; /* entered only to leave */
}

static bool fail(uint8_t status);

/* A new host session (bus reset, SET_CONFIGURATION, SET_INTERFACE) drops
 * an unfinished update, whose image then never starts, and says so at
 * GETSTATUS: dfuERROR, errNOTDONE (DFU 1.1: "the device does not think it
 * has all of the data yet") until a CLRSTATUS, through further resets (a
 * USB/IP import resets the device again). dfu-util and pydfu clear it. */
void dfu_reset(void)
{
    d.cut |= flash_holding();
    flash_drop();
    d.state = dfuIDLE;
    d.status = DFU_OK;
    d.fresh = false;
    d.leaving = false;
    d.xfer = 0;
    d.pointer = memmap.app_base;
    if (d.cut)
        fail(errNOTDONE);
}

/* An error keeps the first reason until CLRSTATUS. */
static bool fail(uint8_t status)
{
    if (d.state != dfuERROR)
        d.status = status;
    d.state = dfuERROR;
    d.fresh = false;
    return false;
}

/* ABORT, zero-length DNLOAD, DETACH: the end of a session. Commits under
 * the rule above; otherwise an update that holds the first 8 bytes is
 * dropped (the image never starts) and the end reports errNOTDONE. */
static uint8_t end_session(void)
{
    bool ok = d.fresh && port_ms() - d.done_ms <= COMMIT_WINDOW_MS;
    d.fresh = false;
    if (!ok && flash_holding()) {
        flash_drop();
        d.cut = true;
        return errNOTDONE;
    }
    return flash_commit();
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* AN3156: block n is at ((n - 2) * wTransferSize) + Address_Pointer, where
 * wTransferSize is "the length of the requested data buffer": the host's
 * choice (dfu-util -t), not ours. Only a sequence's last block may be
 * shorter (dfu-util's upload), so the first block after the pointer was
 * set (block 2, or any block if the host starts later) fixes the size and
 * a shorter block after it keeps it. A sum past 4 GiB gives 0: no flash. */
static uint32_t block_address(uint16_t block, uint16_t wlength)
{
    if (block == 2 || d.xfer == 0)
        d.xfer = wlength;
    uint32_t addr = d.pointer + (uint32_t)(block - 2u) * d.xfer;
    return addr < d.pointer ? 0 : addr;
}

/* DfuSe command in dnload_buf: which op, and is it allowed at all. */
static uint8_t decode_command(void)
{
    uint8_t cmd = dnload_buf[0];
    /* a mass erase's first slice starts at the application */
    d.op_addr = d.len == 5 ? le32(dnload_buf + 1) : memmap.app_base;
    if (cmd == DFUSE_GET && d.len == 1)
        d.op = OP_NOP;
    else if (cmd == DFUSE_SET_ADDRESS && d.len == 5)
        d.op = OP_SET_ADDRESS;
    else if (cmd == DFUSE_ERASE && d.len == 1)
        d.op = OP_MASS_ERASE;
    else if (cmd == DFUSE_ERASE && d.len == 5)
        d.op = OP_ERASE;
    else if (cmd == DFUSE_READ_UNPROTECT && d.len == 1)
        d.op = OP_UNPROTECT;
    else
        return errUNKNOWN;
    if (d.op == OP_ERASE)
        return flash_check_range(d.op_addr, 1);
    if (d.op == OP_UNPROTECT && !CFG_UNPROTECT)
        return errTARGET;
    return DFU_OK;
}

static uint8_t decode_pending(void)
{
    if (d.block == 0)
        return decode_command();
    d.op = OP_WRITE;
    d.op_addr = block_address(d.block, d.len);
    return flash_check_range(d.op_addr, d.len);
}

static uint32_t op_poll_ms(void)
{
    if (d.op == OP_WRITE)
        return flash_write_ms(d.op_addr, dnload_buf, d.len);
    if (d.op == OP_MASS_ERASE) {
        uint32_t left = (memmap.flash_end - d.op_addr) / memmap.page_size;
        return flash_erase_ms(left < ERASE_SLICE_PAGES ? left : ERASE_SLICE_PAGES);
    }
    /* ERASE is only noted (flash_writer.h); UNPROTECT (decoded in
     * UNPROTECT=1 builds only) erases one page; the others touch no flash */
    return CFG_UNPROTECT && d.op == OP_UNPROTECT ? flash_erase_ms(1) : 0;
}

static uint8_t run_op(void)
{
    switch (d.op) {
    case OP_SET_ADDRESS:
        d.pointer = d.op_addr;
        d.xfer = 0;
        return DFU_OK;
    case OP_ERASE:
        return flash_erase(d.op_addr);
    case OP_MASS_ERASE: {
        uint8_t st = flash_mass_erase(d.op_addr, ERASE_SLICE_PAGES);
        d.op_addr += ERASE_SLICE_PAGES * memmap.page_size;
        return st || d.op_addr >= memmap.flash_end ? st : STILL_BUSY;
    }
    case OP_UNPROTECT:
        if (CFG_UNPROTECT)
            port_read_unprotect(); /* does not return: the chip resets */
        return errTARGET;
    case OP_WRITE:
        return flash_write(d.op_addr, dnload_buf, d.len);
    default:
        return DFU_OK;
    }
}

static void put_status(uint8_t *r, uint32_t poll_ms)
{
    r[0] = d.status;
    r[1] = (uint8_t)poll_ms;
    r[2] = (uint8_t)(poll_ms >> 8);
    r[3] = (uint8_t)(poll_ms >> 16);
    r[4] = d.state;
    r[5] = 0;
}

/* The first GETSTATUS after a block answers dfuDNBUSY with the expected
 * duration; the flash work runs once that answer has been delivered. */
static bool get_status(void)
{
    uint32_t poll_ms = 0;
    if (d.state == dfuDNLOAD_SYNC) {
        uint8_t st = decode_pending();
        if (st)
            fail(st);
        else
            d.state = dfuDNBUSY;
    }
    if (d.state == dfuDNBUSY) { /* the op, or its next slice, runs next */
        poll_ms = op_poll_ms();
    } else if (d.state == dfuMANIFEST_SYNC) {
        d.state = dfuMANIFEST;
        d.leaving = true;
    }
    put_status(usbc_buf, poll_ms);
    usbc_reply(usbc_buf, 6);
    return true;
}

/* Zero-length DNLOAD: the host is done; commit the held-back vectors. */
static bool dnload_end(void)
{
    uint8_t st = end_session();
    if (st)
        return fail(st);
    d.state = dfuMANIFEST_SYNC;
    return true;
}

static bool dnload(const struct usb_setup *s)
{
    if (d.state != dfuIDLE && d.state != dfuDNLOAD_IDLE)
        return fail(errSTALLEDPKT);
    if (s->wLength == 0)
        return dnload_end();
    if (s->wLength > memmap.page_size || s->wValue == 1)
        return fail(errSTALLEDPKT);
    d.block = s->wValue;
    usbc_receive(dnload_buf);
    return true;
}

bool dfu_data(unsigned len)
{
    d.len = (uint16_t)len;
    d.state = dfuDNLOAD_SYNC;
    return true;
}

static bool upload_commands(const struct usb_setup *s)
{
    /* AN3156 GET: the commands this build accepts, nothing more. */
    static const uint8_t commands[] = {DFUSE_GET, DFUSE_SET_ADDRESS, DFUSE_ERASE,
#if CFG_UNPROTECT
                                       DFUSE_READ_UNPROTECT,
#endif
    };
    usbc_reply(commands, sizeof commands);
    d.state = s->wLength > sizeof commands ? dfuIDLE : dfuUPLOAD_IDLE;
    return true;
}

static bool upload(const struct usb_setup *s)
{
    if (d.state != dfuIDLE && d.state != dfuUPLOAD_IDLE)
        return fail(errSTALLEDPKT);
    if (s->wLength > memmap.page_size || s->wValue == 1)
        return fail(errSTALLEDPKT);
    if (s->wValue == 0)
        return upload_commands(s);
    /* Read-out protection means no read-out through DFU either: under
     * level 1 code running from flash (this) still reads flash. */
    if (!dfu_readable())
        return fail(errTARGET);
    uint32_t addr = block_address(s->wValue, s->wLength);
    /* Starting exactly at the end: a zero-length (short) frame, which
     * ends the upload like any short one (DFU 1.1 6.2). */
    if (addr < FLASH_BASE_ADDR || addr > memmap.flash_end)
        return fail(errADDRESS);
    uint32_t len = memmap.flash_end - addr;
    if (len > s->wLength)
        len = s->wLength;
    usbc_reply(port_mem(addr), len);
    d.state = len < s->wLength ? dfuIDLE : dfuUPLOAD_IDLE;
    return true;
}

/* The states ABORT is valid in (DFU 1.1 state diagram, appendix A.2).
 * DNLOAD-SYNC and MANIFEST-SYNC take GETSTATUS and GETSTATE only; ST's
 * own stack also takes ABORT there, but no client needs it: dfu-util 0.11
 * and pydfu answer every DNLOAD with GETSTATUS, and start a session with
 * GETSTATUS before any ABORT. */
#define ABORT_STATES (1u << dfuIDLE | 1u << dfuDNLOAD_IDLE | 1u << dfuUPLOAD_IDLE)

static bool abort_request(void)
{
    if (!(ABORT_STATES >> d.state & 1u))
        return fail(errSTALLEDPKT);
    uint8_t st = end_session();
    if (st) {
        fail(st);
        return st == errNOTDONE; /* accepted: the next GETSTATUS says why */
    }
    d.state = dfuIDLE;
    d.xfer = 0;
    return true;
}

static bool in_request(const struct usb_setup *s)
{
    switch (s->bRequest) {
    case DFU_GETSTATUS:
        return get_status();
    case DFU_GETSTATE:
        usbc_buf[0] = d.state;
        usbc_reply(usbc_buf, 1);
        return true;
    case DFU_UPLOAD:
        return upload(s);
    default:
        return fail(errSTALLEDPKT);
    }
}

static bool out_request(const struct usb_setup *s)
{
    switch (s->bRequest) {
    case DFU_DNLOAD:
        return dnload(s);
    case DFU_ABORT:
        return s->wLength == 0 && abort_request();
    case DFU_CLRSTATUS:
        if (d.state != dfuERROR || s->wLength)
            return fail(errSTALLEDPKT);
        d.state = dfuIDLE;
        d.status = DFU_OK;
        d.cut = false;
        return true;
    case DFU_DETACH: /* dfu-util -R after :will-reset: the end of a session */
        if (s->wLength)
            return false;
        end_session(); /* dropped or not, the device leaves (no status) */
        d.leaving = true;
        return true;
    default:
        return fail(errSTALLEDPKT);
    }
}

bool dfu_request(const struct usb_setup *s)
{
    if (s->wIndex != 0 || (s->bmRequestType & 0x1F) != 1)
        return false;
    if (d.state == dfuMANIFEST || d.state == dfuMANIFEST_WAIT_RESET) {
        if (s->bRequest != DFU_GETSTATUS && s->bRequest != DFU_GETSTATE)
            return false;
    }
    return s->bmRequestType & 0x80 ? in_request(s) : out_request(s);
}

/* The op runs only if nothing came between the dfuDNBUSY answer and its
 * status stage (an error, a reset). */
void dfu_status_done(void)
{
    /* Only get_status enters dfuDNBUSY and only this leaves it (or fail,
     * a reset), so the state alone says an op is due. d.op is left as is:
     * nothing but this reads it before the next decode sets it. */
    if (d.state == dfuDNBUSY) {
        uint8_t st = run_op();
        if (st == STILL_BUSY) {
            /* the next GETSTATUS answers dfuDNBUSY again */
        } else if (st) {
            fail(st);
        } else {
            d.state = dfuDNLOAD_IDLE;
            if (d.op == OP_WRITE) {
                d.fresh = true;
                d.done_ms = port_ms();
            } else if (d.op != OP_SET_ADDRESS) {
                d.fresh = false;
            }
        }
    }
    if (d.leaving) { /* even from dfuERROR (DETACH): no error status here */
        d.state = dfuMANIFEST_WAIT_RESET;
        d.status = DFU_OK;
    }
}
