/* fuzz_port.c - see fuzz_port.h. */
#include "fuzz_port.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crc32_soft.h"
#include "dfu.h"
#include "dfu_defs.h"
#include "fuzz_ops.h"
#include "memmap.h"
#include "port.h"

#ifndef FUZZ_BREAK
#define FUZZ_BREAK 0 /* 1: the harness corrupts a bootloader byte (self-test) */
#endif

struct fz fz;
struct host host;

static struct {
    uint8_t rx[EP0_SIZE];
    unsigned rx_len;
    bool rx_armed, rx_stall;
    uint8_t tx[EP0_SIZE];
    unsigned tx_len;
    bool tx_armed, tx_stall;
    unsigned dev_sent; /* IN bytes the device armed in this transfer */
} ep;

/* The DNLOAD whose block the core may be working on, as the host sent it. */
enum kind { K_NONE, K_ERASE, K_MASS, K_WRITE, K_UNPROTECT };
static struct {
    bool valid;
    uint16_t block, len;
    uint8_t head[5];
    bool head_done, expect_head;
    uint8_t data[DFU_TRANSFER_SIZE]; /* what the data stage carried */
    unsigned got;
    bool in_data; /* its data stage is the current transfer */
    bool busy_seen, checked;
} pend;
/* Between a GETSTATUS answering dfuDNBUSY (or one whose answer the host
 * did not see) and the next answer saying anything else. */
static bool armed;
static bool commit_ctx; /* inside the SETUP of ABORT / zero-length DNLOAD */
/* Inside a request that drops a session (SET_CONFIGURATION, SET_INTERFACE)
 * or a bus reset: flash_drop() still carries out owed erases. */
static bool drop_ctx;
/* Pages a page-ERASE command the host sent named: the writer owes them an
 * erase once it runs (flash_writer.h) and may carry it out later, while a
 * block of the page is written or when the session ends; each erase takes
 * one. (Sent, not answered: a GETSTATUS the host cut short still runs.) */
#define MAX_PAGES 512
static bool asked[MAX_PAGES];
/* Set while the core drops the previous input's session (fuzz_begin): a
 * power cut, so nothing reaches the flash. */
static bool forgetting;
/* Every pointer the host may have set: APP_BASE (the reset value) and each
 * SET ADDRESS POINTER it sent. */
#define MAX_PTRS 4096
static uint32_t ptrs[MAX_PTRS];
static unsigned nptrs;
/* Every wLength of an UPLOAD or DNLOAD block the host sent: AN3156's
 * wTransferSize of a block sequence is one of them (dfu.c). */
static uint16_t xfers[DFU_TRANSFER_SIZE + 1];
static unsigned nxfers;
static bool xfer_seen[DFU_TRANSFER_SIZE + 1];

static void add_xfer(uint16_t len)
{
    if (len <= DFU_TRANSFER_SIZE && !xfer_seen[len]) {
        xfer_seen[len] = true;
        xfers[nxfers++] = len;
    }
}
static unsigned op_no;

static bool tracing;
static const char *stats_file;
static unsigned long long st_inputs, st_dnload_idle, st_upload_idle, st_error, st_manifest,
    st_erase, st_program, st_mass, st_commit, st_upload, st_leave, st_unprotect, st_verified;
static struct {
    bool dnload_idle, upload_idle, error, manifest, erase, program, mass, commit, upload, leave,
        unprotect, verified;
} reached;

/* Flash images: one exact-size heap block per part size (so ASan sees a
 * read past the part's end), and the pristine contents per configuration
 * to restore the pages an input touched without regenerating them. */
static struct {
    uint8_t *flash;
    unsigned key;
} img[8];
static uint8_t *pristine[256];
static uint8_t dirty[8][512]; /* per part size: pages changed since restored */
static unsigned cur_ki;
static uint8_t boot_copy[0x8000];

static const uint8_t uid[12] = {0x34, 0xFF, 0x6E, 0x06, 0x42, 0x58, 0x38, 0x37,
                                0x21, 0x52, 0x09, 0x43};

void trace(const char *fmt, ...)
{
    if (!tracing)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  op %u: ", op_no);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "INVARIANT VIOLATED: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "\n  at op %u; part %u KiB, APP_BASE 0x%08x, page %u; DFU state %u status %u;"
            " pending DNLOAD %s block %u len %u head %02x; armed %d\n"
            "  (rerun the input with FUZZ_TRACE=1 for the operations)\n",
            op_no, fz.kib, fz.app_base, fz.page_size, dfu_state(), dfu_status(),
            pend.valid ? "yes" : "no", pend.block, pend.len, pend.head[0], armed);
    abort();
}

static void stats_at_exit(void)
{
    FILE *f = fopen(stats_file, "a");
    if (!f)
        return;
    fprintf(f,
            "inputs %llu dnload_idle %llu upload_idle %llu error %llu manifest %llu erase %llu"
            " program %llu mass_erase %llu commit %llu upload %llu leave %llu unprotect %llu verified %llu\n",
            st_inputs, st_dnload_idle, st_upload_idle, st_error, st_manifest, st_erase,
            st_program, st_mass, st_commit, st_upload, st_leave, st_unprotect, st_verified);
    fclose(f);
}

/* ---- flash contents ---------------------------------------------------- */
static uint32_t lcg(uint32_t x)
{
    return x * 1664525u + 1013904223u;
}

static void fill_image(uint8_t *f, unsigned fill)
{
    uint32_t size = fz.kib * 1024u, boot = fz.app_base - FLASH_BASE_ADDR;
    uint32_t r = 12345;
    for (uint32_t i = 0; i < size; i++) {
        r = lcg(r);
        f[i] = (uint8_t)(r >> 24);
    }
    uint32_t app = boot;
    switch (fill) {
    case FILL_ERASED:
        memset(f + app, 0xFF, size - app);
        break;
    case FILL_STRIPES:
        for (uint32_t p = app + fz.page_size; p < size; p += 2 * fz.page_size)
            memset(f + p, 0xFF, fz.page_size);
        break;
    case FILL_SPARSE:
        for (uint32_t i = app; i + 1 < size; i += 8)
            f[i] = f[i + 1] = 0xFF;
        break;
    default:
        break;
    }
    if (fill != FILL_ERASED) { /* an old application that would start */
        uint32_t v[2] = {0x20005000u, fz.app_base + 0x101u};
        memcpy(f + app, v, sizeof v);
    }
}

static unsigned page_of(uint32_t addr)
{
    return (addr - FLASH_BASE_ADDR) / fz.page_size;
}

/* ---- pending command ----------------------------------------------------- */
static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static enum kind pend_kind(void)
{
    if (!pend.valid || !pend.head_done)
        return K_NONE;
    if (pend.block >= 2)
        return K_WRITE;
    if (pend.block == 1)
        return K_NONE;
    if (pend.head[0] == DFUSE_ERASE)
        return pend.len == 1 ? K_MASS : pend.len == 5 ? K_ERASE : K_NONE;
    if (pend.head[0] == DFUSE_READ_UNPROTECT && pend.len == 1)
        return K_UNPROTECT;
    return K_NONE;
}

static void add_ptr(uint32_t p)
{
    for (unsigned i = 0; i < nptrs; i++)
        if (ptrs[i] == p)
            return;
    if (nptrs == MAX_PTRS)
        violation("harness: more than %u distinct pointers", MAX_PTRS);
    ptrs[nptrs++] = p;
}

static bool in_app(uint32_t addr)
{
    return addr >= fz.app_base && addr < fz.flash_end;
}

static void check_erase(uint32_t page)
{
    enum kind k = armed ? pend_kind() : K_NONE;
    if (k == K_MASS && in_app(page))
        return;
    /* An owed erase: while a block is written (it settles the pages the
     * block touches), or when the session ends (commit or drop). */
    if ((k == K_WRITE || commit_ctx || drop_ctx) && in_app(page) && asked[page_of(page)]) {
        asked[page_of(page)] = false;
        return;
    }
    violation("erase of page 0x%08x that no ERASE command owes (%s)", page,
              k == K_WRITE || commit_ctx || drop_ctx ? "not asked for" : "no write or session end");
}

/* value is what gets programmed; changed = the bytes it would alter. */
static void check_program(uint32_t addr, uint16_t value, uint16_t old)
{
    uint16_t now = old & value;
    bool lo_changes = (now & 0xFF) != (old & 0xFF), hi_changes = (now >> 8) != (old >> 8);
    if (commit_ctx && addr >= fz.app_base && addr < fz.app_base + 8u)
        return; /* the held-back vector words */
    if ((commit_ctx || drop_ctx) && value == 0 && (addr == fz.app_base || addr == fz.app_base + 2u))
        return; /* an owed erase at the end starts the session */
    enum kind k = armed ? pend_kind() : K_NONE;
    if ((k == K_ERASE || k == K_WRITE || k == K_MASS) && value == 0 &&
        (addr == fz.app_base || addr == fz.app_base + 2u))
        return; /* the old image made unbootable when the session starts */
    if (k == K_WRITE) {
        for (unsigned i = 0; i < nptrs; i++) {
            for (unsigned j = 0; j < nxfers; j++) {
                uint32_t start = ptrs[i] + (uint32_t)(pend.block - 2u) * xfers[j];
                uint64_t end = (uint64_t)start + pend.len;
                if (addr < start || addr >= end)
                    continue;
                if (addr + 1u >= end && hi_changes)
                    continue;
                return;
            }
        }
        violation("program 0x%04x at 0x%08x (changes %s) outside block %u len %u at any of %u"
                  " pointers the host set",
                  value, addr, lo_changes || hi_changes ? "flash" : "nothing", pend.block,
                  pend.len, nptrs);
    }
    violation("program 0x%04x at 0x%08x with no write command running (%s, commit %d)", value,
              addr, armed ? "the running command writes nothing" : "no command armed",
              commit_ctx);
}

/* A data block the device reported done (dfuDNBUSY, then dfuDNLOAD-IDLE)
 * is in flash as sent, at one of the pointers the host set, apart from the
 * held-back vector words (flash_writer.h). */
static void check_written(void)
{
    if (pend_kind() != K_WRITE || !pend.busy_seen || pend.checked || dfu_status() != DFU_OK)
        return;
    pend.checked = true;
    reached.verified = true;
    for (unsigned i = 0; i < nptrs; i++) {
        for (unsigned j = 0; j < nxfers; j++) {
            uint32_t start = ptrs[i] + (uint32_t)(pend.block - 2u) * xfers[j];
            if (start < FLASH_BASE_ADDR || (uint64_t)start + pend.len > fz.flash_end)
                continue;
            unsigned k;
            for (k = 0; k < pend.len; k++) {
                uint32_t a = start + k;
                if (a >= fz.app_base && a < fz.app_base + 8u)
                    continue;
                if (fz.flash[a - FLASH_BASE_ADDR] != pend.data[k])
                    break;
            }
            if (k == pend.len)
                return;
        }
    }
    violation("block %u of %u bytes reported written, but the flash does not hold it at any of"
              " %u pointers the host set", pend.block, pend.len, nptrs);
}

/* ---- port.h: memory and flash -------------------------------------------- */
const uint8_t *port_mem(uint32_t addr)
{
    if (addr < FLASH_BASE_ADDR || addr > fz.flash_end) /* the end: reads nothing */
        violation("port_mem(0x%08x) outside the flash", addr);
    return fz.flash + (addr - FLASH_BASE_ADDR);
}

uint32_t port_flash_kib(void)
{
    return fz.kib;
}

const uint8_t *port_unique_id(void)
{
    return uid;
}

enum flash_result port_flash_erase_page(uint32_t addr)
{
    if (forgetting)
        return FLASH_DONE;
    if (addr < FLASH_BASE_ADDR || addr >= fz.flash_end || (addr - FLASH_BASE_ADDR) % fz.page_size)
        violation("erase of 0x%08x: not a page address of this part", addr);
    if (addr < fz.app_base)
        violation("erase aimed at bootloader page 0x%08x", addr);
    check_erase(addr);
    unsigned f = fz.fault;
    if (f == FAULT_WRPRT || f == FAULT_ERASE_SHORT)
        fz.fault = FAULT_NONE;
    if (f == FAULT_WRPRT)
        return FLASH_WRPRTERR;
    uint8_t *p = fz.flash + (addr - FLASH_BASE_ADDR);
    memset(p, 0xFF, fz.page_size);
    if (f == FAULT_ERASE_SHORT)
        p[0] = 0;
    dirty[cur_ki][page_of(addr)] = 1;
    reached.erase = true;
    if (pend_kind() == K_MASS)
        reached.mass = true;
#if FUZZ_BREAK
    fz.flash[0x10] ^= 0x01; /* self-test: the harness changes a bootloader byte */
    dirty[cur_ki][0] = 1;
#endif
    return FLASH_DONE;
}

/* RM0008/PM0075: a half-word that is not erased is not programmed and sets
 * PGERR, except when 0x0000 is written. */
enum flash_result port_flash_program(uint32_t addr, uint16_t value)
{
    if (forgetting)
        return FLASH_DONE;
    if (addr & 1u || addr < FLASH_BASE_ADDR || addr >= fz.flash_end - 1u)
        violation("program of 0x%08x: not a half-word of this part", addr);
    if (addr < fz.app_base)
        violation("program 0x%04x aimed at bootloader address 0x%08x", value, addr);
    uint8_t *p = fz.flash + (addr - FLASH_BASE_ADDR);
    uint16_t old = (uint16_t)(p[0] | p[1] << 8);
    check_program(addr, value, old);
    unsigned f = fz.fault;
    if (f == FAULT_WRPRT || f == FAULT_PGERR || f == FAULT_STUCK_BIT)
        fz.fault = FAULT_NONE;
    if (f == FAULT_WRPRT)
        return FLASH_WRPRTERR;
    if (f == FAULT_PGERR)
        return FLASH_PGERR;
    if (old != 0xFFFF && value != 0)
        return FLASH_PGERR;
    uint16_t v = (uint16_t)(old & (f == FAULT_STUCK_BIT ? value | 1u : value));
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    dirty[cur_ki][page_of(addr)] = 1;
    if (commit_ctx)
        reached.commit = true;
    else
        reached.program = true;
    return FLASH_DONE;
}

static uint32_t crc_state;

void port_crc_reset(void)
{
    crc_state = 0xFFFFFFFFu;
}

uint32_t port_crc_feed(const uint32_t *words, uint32_t count)
{
    crc_state = crc32_soft(crc_state, words, count);
    return crc_state;
}

/* Time stands still: every end of a session is "right after" its last
 * block, so the commit path stays reachable for the fuzzer. */
uint32_t port_ms(void)
{
    return 0;
}

bool port_read_protected(void)
{
    return false;
}

void port_read_unprotect(void)
{
    if (!CFG_UNPROTECT)
        violation("port_read_unprotect() in an UNPROTECT=0 build");
    if (!armed || pend_kind() != K_UNPROTECT)
        violation("port_read_unprotect() without a READ UNPROTECT command running");
    reached.unprotect = true;
    fz.chip_reset = true; /* the real chip resets here and erases itself */
}

/* ---- port.h: endpoint 0 ------------------------------------------------------ */
unsigned port_ep0_read(uint8_t *dst, unsigned max)
{
    unsigned n = ep.rx_len < max ? ep.rx_len : max;
    if (n)
        memcpy(dst, ep.rx, n);
    return n;
}

static void check_upload_data(const uint8_t *src, unsigned len)
{
    const struct usb_setup *s = &host.setup;
    if (s->wValue == 0) {
        static const uint8_t cmds[] = {DFUSE_GET, DFUSE_SET_ADDRESS, DFUSE_ERASE,
#if CFG_UNPROTECT
                                       DFUSE_READ_UNPROTECT, /* GET lists it only if built in */
#endif
        };
        if (ep.dev_sent + len > sizeof cmds || memcmp(src, cmds + ep.dev_sent, len))
            violation("UPLOAD block 0 answered %u bytes that are not the command list", len);
        return;
    }
    if (!CFG_UPLOAD)
        violation("UPLOAD block %u returned %u bytes in an UPLOAD=0 build", s->wValue, len);
    for (unsigned i = 0; i < nptrs; i++) {
        for (unsigned j = 0; j < nxfers; j++) {
            uint32_t a = ptrs[i] + (uint32_t)(s->wValue - 2u) * xfers[j] + ep.dev_sent;
            if (a >= FLASH_BASE_ADDR && (uint64_t)a + len <= fz.flash_end &&
                !memcmp(fz.flash + (a - FLASH_BASE_ADDR), src, len))
                return;
        }
    }
    violation("UPLOAD block %u: %u bytes at offset %u are not the flash at any of %u pointers",
              s->wValue, len, ep.dev_sent, nptrs);
}

void port_ep0_send(const uint8_t *src, unsigned len)
{
    if (len > EP0_SIZE)
        violation("IN packet of %u bytes (EP0 holds %u)", len, EP0_SIZE);
    if (len)
        memcpy(ep.tx, src, len);
    const struct usb_setup *s = &host.setup;
    if (len && host.valid && s->bmRequestType == 0xA1 && s->bRequest == DFU_UPLOAD &&
        s->wIndex == 0) {
        check_upload_data(src, len);
        reached.upload = s->wValue != 0;
    }
    ep.dev_sent += len;
    ep.tx_len = len;
    ep.tx_armed = true;
    ep.tx_stall = false;
}

void port_ep0_receive(void)
{
    ep.rx_armed = true;
    ep.rx_stall = false;
}

void port_ep0_stall(void)
{
    ep.rx_stall = ep.tx_stall = true;
    ep.rx_armed = ep.tx_armed = false;
}

void port_usb_set_address(uint8_t address)
{
    if (address > 127)
        violation("USB address %u", address);
}

/* ---- the host ---------------------------------------------------------------- */
static bool legal_state(unsigned state)
{
    return state >= dfuIDLE && state <= dfuERROR; /* DFU mode only, never app states */
}

static void check_state(unsigned state, unsigned status, const char *where, bool leaving)
{
    if (!legal_state(state))
        violation("%s: DFU state %u is not a DFU-mode state", where, state);
    if (status > errSTALLEDPKT)
        violation("%s: bStatus 0x%02x is not a DFU status", where, status);
    /* Once the device has decided to drop off the bus (DETACH is accepted
     * in any state, dfu.c) nobody can read the status any more. */
    if (!leaving && (state == dfuERROR) != (status != DFU_OK))
        violation("%s: state %u with bStatus 0x%02x (an error status belongs to dfuERROR only)",
                  where, state, status);
}

int host_setup(const uint8_t *pkt, unsigned len)
{
    memcpy(ep.rx, pkt, len);
    ep.rx_len = len;
    ep.rx_armed = ep.tx_armed = ep.rx_stall = ep.tx_stall = false;
    ep.dev_sent = 0;
    /* A SETUP longer than 8 bytes cannot be told apart by the core (port.h
     * reads at most what it asks for): its first 8 bytes count. */
    host.valid = len >= 8;
    host.setup.bmRequestType = pkt[0];
    host.setup.bRequest = len > 1 ? pkt[1] : 0;
    host.setup.wValue = len >= 4 ? (uint16_t)(pkt[2] | pkt[3] << 8) : 0;
    host.setup.wIndex = len >= 6 ? (uint16_t)(pkt[4] | pkt[5] << 8) : 0;
    host.setup.wLength = len >= 8 ? (uint16_t)(pkt[6] | pkt[7] << 8) : 0;
    host.in_total = host.out_total = 0;
    pend.expect_head = false;
    pend.in_data = false;
    const struct usb_setup *s = &host.setup;
    bool dfu_out = host.valid && s->bmRequestType == 0x21 && s->wIndex == 0;
    commit_ctx = dfu_out && (s->bRequest == DFU_ABORT || s->bRequest == DFU_DETACH ||
                             (s->bRequest == DFU_DNLOAD && !s->wLength));
    drop_ctx = host.valid && (s->bmRequestType & 0xE0) == 0 &&
               (s->bRequest == 9 || s->bRequest == 11); /* usb_ctrl.c's dispatch */
    if (host.valid && (s->bRequest == DFU_DNLOAD || s->bRequest == DFU_UPLOAD) &&
        (s->bmRequestType & 0x7F) == 0x21 && s->wValue >= 2)
        add_xfer(s->wLength);
    usbc_on_setup();
    commit_ctx = drop_ctx = false;
    bool accepted = !ep.rx_stall;
    if (!host.valid && accepted)
        violation("a SETUP packet of only %u bytes was accepted", len);
    if (!accepted)
        return -1;
    if (dfu_out && s->bRequest == DFU_DNLOAD && s->wLength) {
        pend.valid = true;
        pend.block = s->wValue;
        pend.len = s->wLength;
        pend.head_done = false;
        pend.expect_head = true;
        pend.got = 0;
        pend.in_data = true;
        pend.busy_seen = pend.checked = false;
        armed = false;
    }
    if (s->bmRequestType == 0xA1 && s->bRequest == DFU_GETSTATUS && pend.valid)
        armed = true; /* until its answer says otherwise */
    return 0;
}

int host_out(const uint8_t *data, unsigned len)
{
    if (ep.rx_stall || !ep.rx_armed)
        return -1;
    ep.rx_armed = false;
    if (len)
        memcpy(ep.rx, data, len);
    ep.rx_len = len;
    if (pend.in_data && host.valid && host.setup.bmRequestType == 0x21) {
        /* usb_ctrl.c takes at most the rest of wLength, 64 at a time */
        unsigned n = len, room = pend.len - pend.got;
        n = n < room ? n : room;
        n = n < EP0_SIZE ? n : EP0_SIZE;
        if (pend.got + n <= sizeof pend.data)
            memcpy(pend.data + pend.got, data, n);
        pend.got += n;
    }
    if (pend.expect_head) {
        unsigned n = len < 5u ? len : 5u;
        memcpy(pend.head, data, n);
        pend.expect_head = false;
        pend.head_done = n >= (pend.len < 5u ? pend.len : 5u);
        if (pend.block == 0 && pend.len == 5 && pend.head_done && pend.head[0] == DFUSE_SET_ADDRESS)
            add_ptr(le32(pend.head + 1));
        if (pend.block == 0 && pend.len == 5 && pend.head_done && pend.head[0] == DFUSE_ERASE &&
            in_app(le32(pend.head + 1)))
            asked[page_of(le32(pend.head + 1))] = true;
    }
    host.out_total += len;
    usbc_on_out();
    return ep.rx_stall ? -1 : (int)len;
}

int host_in(uint8_t *buf)
{
    if (ep.tx_stall || !ep.tx_armed)
        return -1;
    ep.tx_armed = false;
    unsigned len = ep.tx_len;
    memcpy(buf, ep.tx, len);
    const struct usb_setup *s = &host.setup;
    if (!host.valid) {
        if (len)
            violation("%u bytes of IN data after a broken SETUP", len);
    } else if (!(s->bmRequestType & 0x80)) {
        if (len)
            violation("%u bytes of IN data for an OUT request %02x %02x", len,
                      s->bmRequestType, s->bRequest);
    } else {
        if (host.in_total + len > s->wLength)
            violation("IN data of %u bytes for wLength %u (request %02x %02x wValue 0x%04x)",
                      host.in_total + len, s->wLength, s->bmRequestType, s->bRequest, s->wValue);
        bool dfu_in = s->bmRequestType == 0xA1 && s->wIndex == 0 && host.in_total == 0;
        if (dfu_in && s->bRequest == DFU_GETSTATUS) {
            unsigned want = s->wLength < 6 ? s->wLength : 6;
            if (len != want)
                violation("GETSTATUS answered %u bytes for wLength %u", len, s->wLength);
            if (len >= 5) {
                trace("  -> GETSTATUS: state %u status %u poll %u ms", buf[4], buf[0],
                      buf[1] | buf[2] << 8 | buf[3] << 16);
                check_state(buf[4], buf[0], "GETSTATUS answer", false);
                if (armed && buf[4] == dfuDNLOAD_IDLE)
                    check_written();
                armed = pend.valid && buf[4] == dfuDNBUSY;
                pend.busy_seen |= armed;
            }
            if (len >= 6 && buf[5] != 0)
                violation("GETSTATUS iString %u: the device has no status strings", buf[5]);
        }
        if (dfu_in && s->bRequest == DFU_GETSTATE) {
            if (len != (s->wLength ? 1u : 0u))
                violation("GETSTATE answered %u bytes", len);
            if (!legal_state(buf[0]))
                violation("GETSTATE answered state %u", buf[0]);
            if (armed && buf[0] == dfuDNLOAD_IDLE)
                check_written();
            if (buf[0] != dfuDNBUSY)
                armed = false;
        }
    }
    host.in_total += len;
    usbc_on_in();
    return (int)len;
}

/* After a reset the STM32 USB macrocell receives on EP0 and NAKs IN. */
static void ep_reset(void)
{
    memset(&ep, 0, sizeof ep);
    ep.rx_armed = true;
    host.valid = false;
}

void host_bus_reset(void)
{
    ep_reset();
    pend.valid = false;
    armed = false;
    drop_ctx = true;
    usbc_on_reset();
    drop_ctx = false;
}

/* ---- per input ------------------------------------------------------------------ */
void fuzz_begin(uint8_t config)
{
    static bool once;
    if (!once) {
        once = true;
        tracing = getenv("FUZZ_TRACE") != 0;
        stats_file = getenv("FUZZ_STATS");
        if (stats_file)
            atexit(stats_at_exit);
    }
    /* Every input starts on a fresh chip: the previous input's session
     * (erases the writer still owed) is lost with the power. */
    forgetting = true;
    usbc_on_reset();
    forgetting = false;
    memset(asked, 0, sizeof asked);
    unsigned ki = CFG_KIB(config);
    fz.kib = fuzz_kib[ki];
    fz.app_base = fuzz_app_base[CFG_BASE(config)];
    fz.page_size = fz.kib > 128u ? 2048u : 1024u;
    fz.flash_end = FLASH_BASE_ADDR + fz.kib * 1024u;
    if (fz.app_base + fz.page_size > fz.flash_end)
        fz.app_base = 0x08002000u; /* no application region at all: not a configuration */
    fz.fault = FAULT_NONE;
    fz.chip_reset = false;
    uint32_t size = fz.kib * 1024u;
    unsigned key = config & 0x7Fu;
    if (fz.app_base != fuzz_app_base[CFG_BASE(config)])
        key |= 0x80u;
    if (!pristine[key]) {
        pristine[key] = malloc(size);
        if (!pristine[key])
            abort();
        fill_image(pristine[key], CFG_FILL(config));
    }
    if (!img[ki].flash) {
        img[ki].flash = malloc(size);
        if (!img[ki].flash)
            abort();
        img[ki].key = ~0u;
    }
    fz.flash = img[ki].flash;
    if (img[ki].key != key) {
        memcpy(fz.flash, pristine[key], size);
        img[ki].key = key;
    } else {
        for (unsigned p = 0; p < size / fz.page_size; p++)
            if (dirty[ki][p])
                memcpy(fz.flash + p * fz.page_size, pristine[key] + p * fz.page_size,
                       fz.page_size);
    }
    memset(dirty[ki], 0, sizeof dirty[ki]);
    cur_ki = ki;
    memcpy(boot_copy, fz.flash, fz.app_base - FLASH_BASE_ADDR);
    memset(&pend, 0, sizeof pend);
    armed = commit_ctx = false;
    nptrs = 0;
    add_ptr(fz.app_base);
    for (unsigned j = 0; j < nxfers; j++)
        xfer_seen[xfers[j]] = false;
    nxfers = 0;
    memset(&reached, 0, sizeof reached);
    op_no = 0;
    trace("part %u KiB, APP_BASE 0x%08x, fill %u", fz.kib, fz.app_base, CFG_FILL(config));
    memmap_init(fz.kib, fz.app_base);
    ep_reset();
    usbc_on_reset();
    /* Every input starts on a fresh chip (RAM zero). The core keeps "an
     * update was dropped" through resets until CLRSTATUS (dfu.c): clear
     * it as a host would, so an input never depends on the one before. */
    if (dfu_state() == dfuERROR) {
        static const uint8_t clr[8] = {0x21, DFU_CLRSTATUS, 0, 0, 0, 0, 0, 0};
        uint8_t zlp[EP0_SIZE];
        tracing = false;
        host_setup(clr, 8);
        host_in(zlp);
        tracing = getenv("FUZZ_TRACE") != 0;
        ep_reset();
        if (dfu_state() != dfuIDLE)
            violation("harness: CLRSTATUS at the start of an input left state %u", dfu_state());
    }
}

void fuzz_after_op(void)
{
    op_no++;
    unsigned state = dfu_state(), status = dfu_status();
    check_state(state, status, "dfu_state()/dfu_status()", dfu_leave_requested());
    reached.dnload_idle |= state == dfuDNLOAD_IDLE;
    reached.upload_idle |= state == dfuUPLOAD_IDLE;
    reached.error |= state == dfuERROR;
    reached.manifest |= state == dfuMANIFEST || state == dfuMANIFEST_WAIT_RESET;
    uint32_t boot = fz.app_base - FLASH_BASE_ADDR;
    if (memcmp(boot_copy, fz.flash, boot)) {
        uint32_t i = 0;
        while (boot_copy[i] == fz.flash[i])
            i++;
        violation("bootloader byte at 0x%08x changed from 0x%02x to 0x%02x", FLASH_BASE_ADDR + i,
                  boot_copy[i], fz.flash[i]);
    }
    if (dfu_leave_requested()) {
        /* The main loop drops off the bus and resets; a fresh boot comes
         * back in DFU mode (the harness does not model starting the app). */
        trace("device left the bus and reset");
        reached.leave = true;
        memmap_init(fz.kib, fz.app_base);
        host_bus_reset();
    }
}

void fuzz_end(void)
{
    st_inputs++;
    st_dnload_idle += reached.dnload_idle;
    st_upload_idle += reached.upload_idle;
    st_error += reached.error;
    st_manifest += reached.manifest;
    st_erase += reached.erase;
    st_program += reached.program;
    st_mass += reached.mass;
    st_commit += reached.commit;
    st_upload += reached.upload;
    st_leave += reached.leave;
    st_unprotect += reached.unprotect;
    st_verified += reached.verified;
}
