/*
 * usb_testfw.h - a tiny USB "firmware" written in C for the host-side tests:
 * it drives the peripheral model through register and PMA accesses only
 * (fake_read/fake_write), the way code on the chip would, answering standard
 * enumeration requests and a few vendor requests the tests use:
 *   0x42 -> STALL, 0x43 -> never answered (NAK forever),
 *   0x44 OUT data stored, 0x45 IN returns what 0x44 stored,
 *   0x46 IN answered (with the stored data) only 3 ms later: NAKs first.
 * fw.stale_ctr_quirk makes it behave like the USB stacks of other authors
 * that work on real boards but not with a host that resets in the same
 * instant as a status stage: on RESET it sets EP0 up again writing 1 to
 * the CTR bits (so a pending CTR_RX survives, RM0008 23.5.2) and returns
 * without looking at CTR; an OUT it did not expect is left pending
 * (CTR_RX never cleared), after which the peripheral drops every SETUP.
 * Header-only so each test binary that wants it includes it.
 */
#ifndef USB_TESTFW_H
#define USB_TESTFW_H

#include <string.h>

#include "../../vboard/usb_regs.h"
#include "fake_vb.h"

static inline uint16_t fw_ep_read(unsigned n) { return (uint16_t)fake_read(USB_REG_BASE + 4 * n, 2); }
static inline void fw_ep_write(unsigned n, uint16_t v) { fake_write(USB_REG_BASE + 4 * n, v, 2); }
static inline uint16_t fw_reg(uint32_t off) { return (uint16_t)fake_read(USB_REG_BASE + off, 2); }
static inline void fw_reg_write(uint32_t off, uint16_t v) { fake_write(USB_REG_BASE + off, v, 2); }

/* Writes "invariant" values (1 to CTR bits, 0 to toggle bits) except for the
 * STAT fields asked for (-1 = leave). */
static inline void fw_set_stat(unsigned n, int rx, int tx)
{
    uint16_t v = fw_ep_read(n);
    uint16_t w = (v & (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA)) | USB_EP_CTR_RX | USB_EP_CTR_TX;
    if (rx >= 0)
        w |= (v ^ (uint16_t)(rx << 12)) & USB_EP_STAT_RX;
    if (tx >= 0)
        w |= (v ^ (uint16_t)(tx << 4)) & USB_EP_STAT_TX;
    fw_ep_write(n, w);
}

static inline void fw_clear_ctr(unsigned n, uint16_t which)
{
    uint16_t v = fw_ep_read(n);
    uint16_t w = (v & (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA)) | USB_EP_CTR_RX | USB_EP_CTR_TX;
    fw_ep_write(n, (uint16_t)(w & ~which));
}

static inline void fw_pma_write(unsigned local, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i += 2) {
        uint16_t h = p[i] | (i + 1 < len ? p[i + 1] << 8 : 0);
        fake_write(USB_PMA_BASE + 2 * (local + (unsigned)i), h, 2);
    }
}

static inline void fw_pma_read(unsigned local, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i += 2) {
        uint16_t h = (uint16_t)fake_read(USB_PMA_BASE + 2 * (local + (unsigned)i), 2);
        p[i] = (uint8_t)h;
        if (i + 1 < len)
            p[i + 1] = (uint8_t)(h >> 8);
    }
}

static inline void fw_bd_write(unsigned n, unsigned field, uint16_t v)
{
    fake_write(USB_PMA_BASE + 2 * (n * 8 + field * 2), v, 2);
}

/* ---- the firmware ---------------------------------------------------------- */

#define FW_TX 0x40
#define FW_RX 0x80

static const uint8_t fw_string0[] = {4, 3, 0x09, 0x04};

static struct fw {
    unsigned mps;           /* bMaxPacketSize0 */
    bool mute;              /* stops answering anything (crashed firmware) */
    bool stale_ctr_quirk;   /* see the top of this file */
    bool expect_status_out; /* an IN data stage was started */
    uint8_t dev_desc[18];
    uint8_t cfg_desc[27];
    const char *serial;
    uint8_t tx[512];
    size_t tx_len, tx_off;
    bool tx_zlp;
    int pending_addr;       /* SET_ADDRESS applied after the status stage */
    uint8_t out_buf[512];
    size_t out_len, out_want;
    uint8_t stored[512];
    size_t stored_len;
    int config;
    uint64_t delayed_until; /* 0x46 pending: answer at this virtual time */
    uint16_t delayed_wlength;
    int resets, setups;
    uint8_t log[64];        /* bRequest of each SETUP */
    uint16_t log_wvalue[64];
    uint8_t log_addr[64];
} fw;

static inline void fw_defaults(unsigned mps, const char *serial)
{
    memset(&fw, 0, sizeof fw);
    fw.mps = mps;
    fw.serial = serial;
    fw.pending_addr = -1;
    const uint8_t dd[18] = {18, 1, 0x00, 0x02, 0, 0, 0, (uint8_t)mps, 0x83, 0x04, 0x11, 0xDF,
                            0x00, 0x22, 1, 2, 3, 1};
    memcpy(fw.dev_desc, dd, 18);
    const uint8_t cd[27] = {9, 2, 27, 0, 1, 1, 0, 0x80, 50,
                            9, 4, 0, 0, 0, 0xFE, 1, 2, 4,
                            9, 0x21, 0x0B, 0xFF, 0, 0x00, 0x08, 0x1A, 0x01};
    memcpy(fw.cfg_desc, cd, 27);
}

static inline void fw_init_ep0(void)
{
    fw_bd_write(0, 0, FW_TX);
    fw_bd_write(0, 1, 0);
    fw_bd_write(0, 2, FW_RX);
    fw_bd_write(0, 3, fw.mps == 64 ? (0x8000 | 1 << 10) : (uint16_t)(fw.mps / 2) << 10);
    /* EA 0, STATs start DISABLED after reset; the quirky stack writes 1
     * to CTR_RX/CTR_TX (leaves them), ours clears them. */
    fw_ep_write(0, USB_EP_TYPE_CONTROL |
                       (fw.stale_ctr_quirk ? USB_EP_CTR_RX | USB_EP_CTR_TX : 0));
    fw_set_stat(0, USB_STAT_VALID, USB_STAT_NAK);
    fw_reg_write(USB_DADDR, USB_DADDR_EF);
}

/* Power-up sequence of RM0008 23.4.2: clear PDWN, then FRES, enable
 * interrupts. */
static inline void fw_start(void)
{
    fw_reg_write(USB_CNTR, USB_CNTR_FRES);
    fw_reg_write(USB_CNTR, 0);
    fw_reg_write(USB_ISTR, 0);
    fw_reg_write(USB_BTABLE, 0);
    fw_reg_write(USB_CNTR, USB_CNTR_CTRM | USB_CNTR_RESETM);
}

static inline void fw_send_next(void)
{
    size_t n = fw.tx_len - fw.tx_off;
    if (n > fw.mps)
        n = fw.mps;
    fw_pma_write(FW_TX, fw.tx + fw.tx_off, n);
    fw_bd_write(0, 1, (uint16_t)n);
    fw.tx_off += n;
    fw_set_stat(0, -1, USB_STAT_VALID);
}

static inline void fw_reply(const uint8_t *d, size_t len, size_t wlength)
{
    if (len > wlength)
        len = wlength;
    memcpy(fw.tx, d, len);
    fw.tx_len = len;
    fw.tx_off = 0;
    fw.tx_zlp = len < wlength && len % fw.mps == 0;
    fw.expect_status_out = true;
    fw_send_next();
    fw_set_stat(0, USB_STAT_VALID, -1); /* status OUT may come any time */
}

static inline size_t fw_string(unsigned idx, uint8_t *out)
{
    const char *s = idx == 1 ? "vboard test" : idx == 2 ? "fw" : idx == 3 ? fw.serial : NULL;
    if (!s)
        return 0;
    size_t n = strlen(s);
    out[0] = (uint8_t)(2 + 2 * n);
    out[1] = 3;
    for (size_t i = 0; i < n; i++)
        out[2 + 2 * i] = (uint8_t)s[i], out[3 + 2 * i] = 0;
    return 2 + 2 * n;
}

static inline void fw_get_descriptor(uint16_t wvalue, uint16_t wlength)
{
    uint8_t buf[256];
    unsigned type = wvalue >> 8, idx = wvalue & 0xFF;
    size_t n = 0;
    if (type == 1) {
        memcpy(buf, fw.dev_desc, n = 18);
    } else if (type == 2) {
        memcpy(buf, fw.cfg_desc, n = sizeof fw.cfg_desc);
    } else if (type == 3 && idx == 0) {
        memcpy(buf, fw_string0, n = 4);
    } else if (type == 3) {
        n = fw_string(idx, buf);
    }
    if (!n) {
        fw_set_stat(0, USB_STAT_STALL, USB_STAT_STALL);
        return;
    }
    fw_reply(buf, n, wlength);
}

static inline void fw_status_in(void)
{
    fw.tx_len = fw.tx_off = 0;
    fw.tx_zlp = false;
    fw_bd_write(0, 1, 0);
    fw_set_stat(0, -1, USB_STAT_VALID);
}

static inline void fw_setup(const uint8_t *s)
{
    uint16_t wvalue = (uint16_t)(s[2] | s[3] << 8), wlength = (uint16_t)(s[6] | s[7] << 8);
    if (fw.setups < 64) {
        fw.log[fw.setups] = s[1];
        fw.log_wvalue[fw.setups] = wvalue;
        fw.log_addr[fw.setups] = (uint8_t)(fw_reg(USB_DADDR) & 0x7F);
    }
    fw.setups++;
    fw.expect_status_out = false; /* a SETUP starts a new transfer */
    if (s[0] == 0x80 && s[1] == 6) {
        fw_get_descriptor(wvalue, wlength);
    } else if (s[0] == 0x00 && s[1] == 5) {
        fw.pending_addr = wvalue & 0x7F;
        fw_status_in();
    } else if (s[0] == 0x00 && s[1] == 9) {
        fw.config = wvalue;
        fw_status_in();
    } else if (s[1] == 0x42) {
        fw_set_stat(0, USB_STAT_STALL, USB_STAT_STALL);
    } else if (s[1] == 0x43) {
        /* never answered: both directions stay NAK */
    } else if (s[0] == 0x40 && s[1] == 0x44) {
        fw.out_len = 0;
        fw.out_want = wlength;
        if (wlength)
            fw_set_stat(0, USB_STAT_VALID, -1);
        else
            fw_status_in();
    } else if (s[0] == 0xC0 && s[1] == 0x46) {
        fw.delayed_until = vb_now_ns(fake_vb) + 3000000;
        fw.delayed_wlength = wlength;
    } else if (s[0] == 0xC0 && s[1] == 0x45) {
        fw_reply(fw.stored, fw.stored_len, wlength);
    } else {
        fw_set_stat(0, USB_STAT_STALL, USB_STAT_STALL);
    }
}

static inline void fw_ctr_rx(void)
{
    uint16_t v = fw_ep_read(0);
    if (fw.stale_ctr_quirk && !(v & USB_EP_SETUP) && !fw.expect_status_out &&
        fw.out_want <= fw.out_len)
        return; /* not expected: left pending for good */
    uint16_t cnt = (uint16_t)fake_read(USB_PMA_BASE + 2 * (0 * 8 + 3 * 2), 2) & 0x3FF;
    uint8_t buf[64];
    fw_pma_read(FW_RX, buf, cnt);
    fw_clear_ctr(0, USB_EP_CTR_RX);
    if (v & USB_EP_SETUP) {
        fw_setup(buf);
        return;
    }
    if (fw.out_want > fw.out_len) { /* data stage of 0x44 */
        memcpy(fw.out_buf + fw.out_len, buf, cnt);
        fw.out_len += cnt;
        if (fw.out_len >= fw.out_want) {
            memcpy(fw.stored, fw.out_buf, fw.stored_len = fw.out_len);
            fw_status_in();
            /* If our ACK of that last packet was lost, the host sends it
             * again: it must be ACKed (and dropped by its toggle), not
             * NAKed until the host gives up, so RX stays VALID. */
            fw_set_stat(0, USB_STAT_VALID, -1);
        } else {
            fw_set_stat(0, USB_STAT_VALID, -1);
        }
        return;
    }
    /* status OUT of an IN transfer: ready for the next SETUP */
    fw.expect_status_out = false;
    fw_set_stat(0, USB_STAT_VALID, USB_STAT_NAK);
}

static inline void fw_ctr_tx(void)
{
    fw_clear_ctr(0, USB_EP_CTR_TX);
    if (fw.pending_addr >= 0) {
        fw_reg_write(USB_DADDR, (uint16_t)(USB_DADDR_EF | fw.pending_addr));
        fw.pending_addr = -1;
        fw_set_stat(0, USB_STAT_VALID, -1);
        return;
    }
    if (fw.tx_off < fw.tx_len || fw.tx_zlp) {
        if (fw.tx_off == fw.tx_len)
            fw.tx_zlp = false;
        fw_send_next();
        return;
    }
    fw_set_stat(0, USB_STAT_VALID, -1);
}

/* What the USB_LP interrupt handler would do. */
static inline void fw_poll(void)
{
    if (fw.mute)
        return;
    uint16_t istr = fw_reg(USB_ISTR);
    if (istr & USB_ISTR_RESET) {
        fw_reg_write(USB_ISTR, (uint16_t)~USB_ISTR_RESET);
        fw.resets++;
        fw.pending_addr = -1;
        fw.expect_status_out = false;
        fw_init_ep0();
        if (fw.stale_ctr_quirk)
            return;
    }
    for (int guard = 0; guard < 4; guard++) {
        istr = fw_reg(USB_ISTR);
        if (!(istr & USB_ISTR_CTR))
            break;
        if (istr & USB_ISTR_DIR)
            fw_ctr_rx();
        else
            fw_ctr_tx();
    }
    if (istr & USB_ISTR_SOF)
        fw_reg_write(USB_ISTR, (uint16_t)~USB_ISTR_SOF);
    if (fw.delayed_until && vb_now_ns(fake_vb) >= fw.delayed_until) {
        fw.delayed_until = 0;
        fw_reply(fw.stored, fw.stored_len, fw.delayed_wlength);
    }
}

#endif
