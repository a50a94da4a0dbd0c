#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crc32_soft.h"
#include "dfu.h"
#include "dfu_defs.h"
#include "memmap.h"
#include "port.h"
#include "usb_ctrl.h"

struct sim sim;
const char *sim_error;

static struct {
    uint8_t rx[DFU_TRANSFER_SIZE + 64];
    unsigned rx_len;
    bool rx_full;
    bool rx_armed;
    uint8_t tx[EP0_SIZE];
    unsigned tx_len;
    bool tx_armed;
    bool stalled;
    uint8_t address;
    uint32_t crc;
} ep;

static uint8_t *flash_at(uint32_t addr, uint32_t len)
{
    if (addr < FLASH_BASE_ADDR || addr - FLASH_BASE_ADDR + len > sim.flash_kib * 1024u) {
        fprintf(stderr, "sim: flash access outside the chip at 0x%08x+%u\n", addr, len);
        abort();
    }
    return sim.flash + (addr - FLASH_BASE_ADDR);
}

void sim_init(uint32_t flash_kib, uint32_t app_base)
{
    memset(&sim, 0, sizeof sim);
    memset(sim.flash, 0xFF, sizeof sim.flash);
    sim.flash_kib = flash_kib;
    sim.ops_left = -1;
    sim.erase_fail_at = 0;
    for (int i = 0; i < 12; i++)
        sim.uid[i] = (uint8_t)(0x10 * i + 0x0A - i);
    memset(&ep, 0, sizeof ep);
    sim_error = 0;
    memmap_init(flash_kib, app_base);
    usbc_on_reset();
    /* A fresh chip's RAM is zero; the core keeps "an update was dropped"
     * through resets (dfu.c) until CLRSTATUS, so clear it as a host would. */
    if (dfu_state() == dfuERROR)
        dfu_clrstatus();
}

uint16_t sim_half(uint32_t addr)
{
    const uint8_t *p = flash_at(addr, 2);
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t sim_word(uint32_t addr)
{
    return sim_half(addr) | (uint32_t)sim_half(addr + 2) << 16;
}

void sim_put(uint32_t addr, const void *data, uint32_t len)
{
    memcpy(flash_at(addr, len), data, len);
}

/* ---- port.h: memory and flash ---------------------------------------- */
/* One past the last byte is a valid pointer to read nothing from. */
const uint8_t *port_mem(uint32_t addr)
{
    return flash_at(addr, 0);
}

uint32_t port_flash_kib(void)
{
    return sim.flash_kib;
}

const uint8_t *port_unique_id(void)
{
    return sim.uid;
}

/* 0: powered; 1: this operation is the one the cut interrupts; 2: it
 * comes after the cut and never begins. */
static int power_lost(void)
{
    if (sim.ops_left < 0)
        return 0;
    if (sim.ops_left == 0) {
        int first = sim.cut ? 2 : 1;
        sim.cut = true;
        return first;
    }
    sim.ops_left--;
    return 0;
}

/* An erase cut part-way (vboard --torn has the full model): some 0 bits
 * already read 1, the rest are unchanged. */
static void tear(uint8_t *p, uint32_t len)
{
    uint32_t x = sim.torn_seed;
    for (uint32_t i = 0; i < len * 8; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if ((x & 63u) == 0)
            p[i / 8] |= (uint8_t)(1u << i % 8);
    }
}

enum flash_result port_flash_erase_page(uint32_t addr)
{
    if (addr % memmap.page_size) {
        fprintf(stderr, "sim: erase of unaligned page 0x%08x\n", addr);
        abort();
    }
    sim.erases++;
    sim.last_erase = addr;
    if (addr < sim.wrp_below)
        return FLASH_WRPRTERR;
    int lost = power_lost();
    if (lost == 2)
        return FLASH_DONE;
    if (sim.before_erase)
        sim.before_erase(addr);
    if (lost == 1) {
        if (sim.torn_seed)
            tear(flash_at(addr, memmap.page_size), memmap.page_size);
        return FLASH_DONE;
    }
    memset(flash_at(addr, memmap.page_size), 0xFF, memmap.page_size);
    if (sim.erase_fail_at >= addr && sim.erase_fail_at < addr + memmap.page_size)
        *flash_at(sim.erase_fail_at, 1) = 0;
    return FLASH_DONE;
}

/* RM0008/PM0075: a half-word that is not erased is not programmed and sets
 * PGERR, except when 0x0000 is written. */
enum flash_result port_flash_program(uint32_t addr, uint16_t value)
{
    if (addr & 1u) {
        fprintf(stderr, "sim: unaligned half-word program at 0x%08x\n", addr);
        abort();
    }
    sim.programs++;
    if (addr < sim.wrp_below)
        return FLASH_WRPRTERR;
    uint8_t *p = flash_at(addr, 2);
    uint16_t old = (uint16_t)(p[0] | p[1] << 8);
    if (old != 0xFFFF && value != 0)
        return FLASH_PGERR;
    if (power_lost())
        return FLASH_DONE;
    uint16_t v = (uint16_t)(old & (value | sim.stuck_bits));
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return FLASH_DONE;
}

void port_crc_reset(void)
{
    ep.crc = 0xFFFFFFFFu;
}

uint32_t port_crc_feed(const uint32_t *words, uint32_t count)
{
    ep.crc = crc32_soft(ep.crc, words, count);
    return ep.crc;
}

uint32_t port_ms(void)
{
    return sim.ms;
}

bool port_read_protected(void)
{
    return sim.rdp;
}

void port_read_unprotect(void)
{
    sim.unprotects++;
}

/* ---- port.h: endpoint 0 ------------------------------------------------ */
unsigned port_ep0_read(uint8_t *dst, unsigned max)
{
    unsigned n = ep.rx_len < max ? ep.rx_len : max;
    if (n)
        memcpy(dst, ep.rx, n);
    ep.rx_full = false;
    return n;
}

void port_ep0_send(const uint8_t *src, unsigned len)
{
    if (len > EP0_SIZE) {
        sim_error = "IN packet larger than EP0_SIZE";
        len = EP0_SIZE;
    }
    if (len)
        memcpy(ep.tx, src, len);
    ep.tx_len = len;
    ep.tx_armed = true;
}

void port_ep0_receive(void)
{
    ep.rx_armed = true;
}

void port_ep0_stall(void)
{
    ep.stalled = true;
    ep.tx_armed = false;
    ep.rx_armed = false;
}

void port_usb_set_address(uint8_t address)
{
    ep.address = address;
}

/* ---- the host ---------------------------------------------------------- */
bool sim_setup(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length)
{
    uint8_t pkt[8] = {bm, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                      (uint8_t)(index >> 8), (uint8_t)length, (uint8_t)(length >> 8)};
    memcpy(ep.rx, pkt, 8);
    ep.rx_len = 8;
    ep.stalled = ep.tx_armed = ep.rx_armed = false;
    usbc_on_setup();
    return !ep.stalled;
}

void sim_raw_out(const uint8_t *data, unsigned len)
{
    if (len > sizeof ep.rx)
        len = sizeof ep.rx;
    if (len)
        memcpy(ep.rx, data, len);
    ep.rx_len = len;
    ep.rx_armed = false;
    usbc_on_out();
}

static bool status_out(void)
{
    if (!ep.rx_armed) {
        sim_error = "status OUT not accepted";
        return false;
    }
    sim_raw_out(0, 0);
    return !ep.stalled;
}

int sim_ctrl_in(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                uint8_t *buf)
{
    if (!sim_setup(bm, req, value, index, length))
        return SIM_STALL;
    unsigned got = 0;
    while (length) {
        if (!ep.tx_armed) {
            sim_error = "IN data stage never armed";
            return SIM_STALL;
        }
        if (got + ep.tx_len > length) {
            sim_error = "device sent more than wLength";
            return SIM_STALL;
        }
        memcpy(buf + got, ep.tx, ep.tx_len);
        got += ep.tx_len;
        unsigned n = ep.tx_len;
        ep.tx_armed = false;
        usbc_on_in();
        if (n < EP0_SIZE || got == length)
            break;
    }
    if (!length) { /* no data stage: status is an IN ZLP */
        if (!ep.tx_armed || ep.tx_len) {
            sim_error = "no ZLP status";
            return SIM_STALL;
        }
        ep.tx_armed = false;
        usbc_on_in();
        return 0;
    }
    return status_out() ? (int)got : SIM_STALL;
}

int sim_ctrl_out(uint8_t bm, uint8_t req, uint16_t value, uint16_t index, uint16_t length,
                 const uint8_t *data)
{
    if (!sim_setup(bm, req, value, index, length))
        return SIM_STALL;
    for (unsigned sent = 0; sent < length;) {
        if (!ep.rx_armed) {
            sim_error = "OUT data stage not armed";
            return SIM_STALL;
        }
        unsigned n = length - sent < EP0_SIZE ? length - sent : EP0_SIZE;
        sim_raw_out(data + sent, n);
        if (ep.stalled)
            return SIM_STALL;
        sent += n;
    }
    if (!ep.tx_armed || ep.tx_len) {
        sim_error = "no ZLP status";
        return SIM_STALL;
    }
    ep.tx_armed = false;
    usbc_on_in();
    return length;
}

void sim_setup_raw(const uint8_t *pkt, unsigned len)
{
    memcpy(ep.rx, pkt, len);
    ep.rx_len = len;
    ep.stalled = ep.tx_armed = ep.rx_armed = false;
    usbc_on_setup();
}

bool sim_stalled(void)
{
    return ep.stalled;
}

bool sim_tx_armed(void)
{
    return ep.tx_armed;
}

void sim_in_taken(void)
{
    ep.tx_armed = false;
}

unsigned sim_tx_len(void)
{
    return ep.tx_len;
}

bool sim_rx_armed(void)
{
    return ep.rx_armed;
}

uint8_t sim_address(void)
{
    return ep.address;
}

void sim_bus_reset(void)
{
    ep.address = 0;
    usbc_on_reset();
}

/* ---- DFU helpers ----------------------------------------------------------- */
int dfu_getstatus(uint8_t st[6])
{
    return sim_ctrl_in(0xA1, DFU_GETSTATUS, 0, 0, 6, st);
}

int dfu_dnload(uint16_t block, const uint8_t *data, uint16_t len)
{
    return sim_ctrl_out(0x21, DFU_DNLOAD, block, 0, len, data);
}

int dfu_upload(uint16_t block, uint8_t *buf, uint16_t len)
{
    return sim_ctrl_in(0xA1, DFU_UPLOAD, block, 0, len, buf);
}

int dfu_abort(void)
{
    return sim_ctrl_out(0x21, DFU_ABORT, 0, 0, 0, 0);
}

int dfu_clrstatus(void)
{
    return sim_ctrl_out(0x21, DFU_CLRSTATUS, 0, 0, 0, 0);
}

int dfuse_cmd(uint8_t cmd, uint32_t addr, bool with_addr)
{
    uint8_t b[5] = {cmd, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
                    (uint8_t)(addr >> 24)};
    return dfu_dnload(0, b, with_addr ? 5 : 1);
}

uint32_t poll_ms(const uint8_t st[6])
{
    return st[1] | st[2] << 8 | (uint32_t)st[3] << 16;
}

static int two_statuses(void)
{
    uint8_t st[6];
    if (dfu_getstatus(st) < 0)
        return 0x1FF;
    if (st[4] != dfuDNBUSY)
        return st[0] ? st[0] : 0x100 | st[4];
    for (int n = 0; st[4] == dfuDNBUSY && n < 1000; n++) /* as dfu-util: until not busy */
        if (dfu_getstatus(st) < 0)
            return 0x1FF;
    if (st[4] != dfuDNLOAD_IDLE && st[4] != dfuERROR)
        return 0x100 | st[4];
    return st[0];
}

int dfuse_run(uint8_t cmd, uint32_t addr, bool with_addr)
{
    if (dfuse_cmd(cmd, addr, with_addr) < 0)
        return 0x1FE;
    return two_statuses();
}

int dfu_block_run(uint16_t block, const uint8_t *data, uint16_t len)
{
    if (dfu_dnload(block, data, len) < 0)
        return 0x1FE;
    return two_statuses();
}

int dfu_util_download(uint32_t addr, const uint8_t *img, uint32_t len)
{
    uint8_t st[6];
    int r;
    if (sim_ctrl_out(0x01, 11, 0, 0, 0, 0) < 0) /* SET_INTERFACE */
        return 0x1FD;
    if (dfu_getstatus(st) < 0)
        return 0x1FF;
    if (st[4] == dfuERROR)
        dfu_clrstatus();
    for (uint32_t p = addr & ~(memmap.page_size - 1); p < addr + len; p += memmap.page_size)
        if ((r = dfuse_run(DFUSE_ERASE, p, true)))
            return r;
    /* wTransferSize: the page size (the functional descriptor) */
    uint32_t xfer = memmap.page_size;
    for (uint32_t off = 0; off < len; off += xfer) {
        uint32_t n = len - off < xfer ? len - off : xfer;
        if ((r = dfuse_run(DFUSE_SET_ADDRESS, addr + off, true)))
            return r;
        if ((r = dfu_block_run(2, img + off, (uint16_t)n)))
            return r;
    }
    if (dfu_abort() < 0)
        return 0x1FC;
    if (dfu_getstatus(st) < 0)
        return 0x1FF;
    return st[4] == dfuIDLE ? st[0] : 0x100 | st[4];
}

int dfu_util_leave(uint32_t addr)
{
    uint8_t st[6];
    int r = dfuse_run(DFUSE_SET_ADDRESS, addr, true);
    if (r)
        return r;
    if (dfu_dnload(2, 0, 0) < 0)
        return 0x1FE;
    if (dfu_getstatus(st) < 0)
        return 0x1FF;
    return st[4] == dfuMANIFEST ? st[0] : 0x100 | st[4];
}
