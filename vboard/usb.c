/*
 * usb.c - the STM32F103 USB full-speed device peripheral (RM0008 chapter 23),
 * registers at 0x40005C00 and packet memory (PMA) at 0x40006000.
 *
 * Modelled: EP0R..EP7R with their rc_w0 / toggle / read-only bit types,
 * CNTR, ISTR (EP_ID/DIR priority), FNR, DADDR, BTABLE, the 512-byte PMA with
 * its 16-bits-per-32-bit-slot CPU view, buffer descriptors (COUNTn_RX
 * BL_SIZE/NUM_BLOCK), single-buffered control/bulk/interrupt transactions
 * (SETUP, OUT, IN, NAK, STALL, DISABLED, data toggles, STATUS_OUT, buffer
 * overrun), USB reset (bus and FRES), SOF, suspend/wakeup flags, and the
 * USB_LP/USB_HP interrupt lines, no answer while ISTR.RESET is set, IN
 * data the host did not ACK (kept for the retry). Not modelled: isochronous
 * and double-buffered transfers (reported once, answered with no
 * handshake), PMAOVR, ERR (a corrupted packet is simply not seen: the
 * host side decides which packets a noisy cable loses), USBWakeup via
 * EXTI18.
 */
#include "usb.h"
#include "usb_regs.h"

#include <stdlib.h>
#include <string.h>

#define IRQ_USB_HP 19
#define IRQ_USB_LP 20

struct usb_model {
    struct vb *vb;
    uint16_t epr[8];
    uint16_t cntr, istr, daddr, btable;
    uint16_t fn;        /* FNR.FN */
    unsigned sofs;      /* consecutive SOFs since reset/resume, for FNR.LCK */
    unsigned lsof;      /* FNR.LSOF */
    bool suspended;
    bool unmodelled_said;
    uint8_t pma[USB_PMA_SIZE];
    /* For the "notification lost" check (see check_ctr_loss): what the
     * firmware last read of each EPnR, and when each CTR was set. */
    uint64_t seq;
    uint64_t read_seq[8], ctr_seq[8][2], reset_seq;
    uint16_t read_val[8];
};

static bool clock_ok(const struct usb_model *m)
{
    return vb_clock_enabled(m->vb, VB_CLK_USB) && vb_usbclk_hz(m->vb) == 48000000u;
}

/* RM0008 23.4.2: FRES holds the macrocell in reset, PDWN switches the
 * transceiver off; either way nothing on the bus is answered. */
static bool usb_alive(const struct usb_model *m)
{
    return clock_ok(m) && !(m->cntr & (USB_CNTR_FRES | USB_CNTR_PDWN));
}

/* ---- PMA and buffer descriptors ---------------------------------------- */

static uint16_t pma_get16(const struct usb_model *m, unsigned local)
{
    local &= USB_PMA_SIZE - 2;
    return (uint16_t)(m->pma[local] | m->pma[local + 1] << 8);
}

static void pma_put16(struct usb_model *m, unsigned local, uint16_t v)
{
    local &= USB_PMA_SIZE - 2;
    m->pma[local] = (uint8_t)v;
    m->pma[local + 1] = (uint8_t)(v >> 8);
}

/* RM0008 23.5.3: entry n of the table at BTABLE holds ADDRn_TX, COUNTn_TX,
 * ADDRn_RX, COUNTn_RX, 16 bits each. */
static unsigned bd_local(const struct usb_model *m, unsigned n, unsigned field)
{
    return ((m->btable & 0xFFF8u) + n * 8u + field * 2u) & (USB_PMA_SIZE - 2);
}

static uint16_t bd_get(const struct usb_model *m, unsigned n, unsigned field)
{
    return pma_get16(m, bd_local(m, n, field));
}

static void bd_put(struct usb_model *m, unsigned n, unsigned field, uint16_t v)
{
    pma_put16(m, bd_local(m, n, field), v);
}

/* RM0008 23.5.3 COUNTn_RX: BL_SIZE=0 -> NUM_BLOCK x 2 bytes, BL_SIZE=1 ->
 * (NUM_BLOCK + 1) x 32 bytes. */
unsigned usb_rx_bufsize(unsigned short count_rx)
{
    unsigned nb = (count_rx >> 10) & 0x1F;
    return (count_rx & 0x8000) ? (nb + 1) * 32 : nb * 2;
}

/* Copies between the bus and the PMA; a buffer that runs past the end of
 * the 512 bytes is a programming error the firmware made. */
static bool pma_range_ok(struct usb_model *m, unsigned n, unsigned addr, size_t len,
                         const char *what)
{
    if (addr + len <= USB_PMA_SIZE)
        return true;
    vb_violation(m->vb, "usb", "RM0008 23.5.3",
                 "EP%u %s buffer 0x%03x+%zu runs past the 512-byte packet memory", n, what,
                 addr, len);
    return false;
}

/* ---- Interrupt state ----------------------------------------------------- */

static bool ep_is_hp(uint16_t r)
{
    unsigned type = r & USB_EP_TYPE;
    return type == USB_EP_TYPE_ISO || (type == USB_EP_TYPE_BULK && (r & USB_EP_KIND));
}

/* RM0008 23.5.2 ISTR EP_ID: isochronous and double-buffered bulk endpoints
 * first, then the others; within a set the lowest EPnR wins. */
static int ctr_pending_ep(const struct usb_model *m, bool *hp)
{
    for (int pass = 0; pass < 2; pass++)
        for (int n = 0; n < 8; n++) {
            uint16_t r = m->epr[n];
            if ((r & (USB_EP_CTR_RX | USB_EP_CTR_TX)) && ep_is_hp(r) == (pass == 0)) {
                if (hp)
                    *hp = pass == 0;
                return n;
            }
        }
    return -1;
}

static uint16_t istr_value(const struct usb_model *m)
{
    uint16_t v = m->istr & USB_ISTR_FLAGS;
    int n = ctr_pending_ep(m, NULL);
    if (n >= 0) {
        v |= USB_ISTR_CTR | (uint16_t)n;
        /* DIR=1 when CTR_RX is set (alone or with CTR_TX). */
        if (m->epr[n] & USB_EP_CTR_RX)
            v |= USB_ISTR_DIR;
    }
    return v;
}

static void update_irq(struct usb_model *m)
{
    bool lp = (m->istr & m->cntr & USB_ISTR_FLAGS) != 0;
    bool hp = false;
    if (m->cntr & USB_CNTR_CTRM)
        for (int n = 0; n < 8; n++)
            if (m->epr[n] & (USB_EP_CTR_RX | USB_EP_CTR_TX)) {
                if (ep_is_hp(m->epr[n]))
                    hp = true;
                else
                    lp = true;
            }
    vb_irq(m->vb, IRQ_USB_LP, lp);
    vb_irq(m->vb, IRQ_USB_HP, hp);
}

/* ---- USB reset ------------------------------------------------------------ */

/* RM0008 23.5.2 RESET / EPnR: the endpoint registers are reset, except
 * CTR_RX and CTR_TX "which are kept unchanged to avoid missing a correct
 * packet notification immediately followed by an USB reset event"; the
 * function must be re-enabled (DADDR.EF) by software. */
static void usb_reset_event(struct usb_model *m)
{
    for (int n = 0; n < 8; n++)
        m->epr[n] &= USB_EP_CTR_RX | USB_EP_CTR_TX;
    m->daddr = 0;
    m->istr |= USB_ISTR_RESET;
    if (m->suspended)
        m->istr |= USB_ISTR_WKUP;
    m->suspended = false;
    m->sofs = m->lsof = 0;
    m->reset_seq = ++m->seq;
    update_irq(m);
}

/* ---- Registers ------------------------------------------------------------- */

static void say_no_clock(struct usb_model *m, const char *what, uint32_t off)
{
    vb_violation(m->vb, "usb", "RM0008 7.3.8/8.3.8",
                 "%s USB register 0x%08x with the USB clock off or not 48 MHz "
                 "(USBEN=%d, USBCLK=%u Hz)",
                 what, USB_REG_BASE + off, vb_clock_enabled(m->vb, VB_CLK_USB),
                 (unsigned)vb_usbclk_hz(m->vb));
}

static uint16_t fnr_value(const struct usb_model *m)
{
    uint16_t v = m->fn & 0x7FF;
    v |= (uint16_t)((m->lsof & 3) << 11);
    if (m->sofs >= 2)
        v |= USB_FNR_LCK;
    /* Idle full-speed bus is the J state: D+ high, D- low. */
    if (vb_dplus_pulled_up(m->vb) && !(m->cntr & USB_CNTR_PDWN))
        v |= USB_FNR_RXDP;
    return v;
}

static uint16_t reg_read16(struct usb_model *m, uint32_t off)
{
    if (off < 0x20) {
        unsigned n = off / 4;
        m->read_val[n] = m->epr[n];
        m->read_seq[n] = ++m->seq;
        return m->epr[n];
    }
    switch (off) {
    case USB_CNTR: return m->cntr;
    case USB_ISTR: return istr_value(m);
    case USB_FNR: return fnr_value(m);
    case USB_DADDR: return m->daddr;
    case USB_BTABLE: return m->btable;
    }
    return 0;
}

/* The classic EPnR bug (RM0008 23.5.2, "read-modify-write cycles on these
 * registers should be avoided because between the read and the write
 * operations some bits could be set by the hardware and the next write would
 * modify them before the CPU has the time to detect the change"): a write
 * of 0 to a CTR bit that the hardware set after the firmware last read the
 * register, so the firmware never saw the notification it is clearing. A USB
 * reset in between makes such a clear legitimate (the endpoint is being set
 * up again). */
static void check_ctr_loss(struct usb_model *m, unsigned n, uint16_t v)
{
    static const uint16_t bit[2] = {USB_EP_CTR_RX, USB_EP_CTR_TX};
    static const char *const name[2] = {"CTR_RX", "CTR_TX"};
    for (int d = 0; d < 2; d++) {
        if (!(m->epr[n] & bit[d]) || (v & bit[d]))
            continue;
        bool seen = m->read_seq[n] > m->ctr_seq[n][d] && (m->read_val[n] & bit[d]);
        if (!seen && m->reset_seq < m->ctr_seq[n][d])
            vb_violation(m->vb, "usb", "RM0008 23.5.2",
                         "EP%uR write 0x%04x clears %s that was set after the firmware's "
                         "last read of EP%uR (notification lost; write 1 to leave it)",
                         n, v, name[d], n);
    }
}

static void epr_write(struct usb_model *m, unsigned n, uint16_t v)
{
    check_ctr_loss(m, n, v);
    uint16_t old = m->epr[n];
    uint16_t nv = old & USB_EP_SETUP;                              /* read-only */
    nv |= old & v & (USB_EP_CTR_RX | USB_EP_CTR_TX);               /* rc_w0 */
    nv |= (old ^ v) & USB_EP_TOGGLE;                               /* t */
    nv |= v & (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA);             /* rw */
    m->epr[n] = nv;
    vb_trace(m->vb, "usb", "EP%uR 0x%04x -> 0x%04x (wrote 0x%04x)", n, old, nv, v);
}

static void cntr_write(struct usb_model *m, uint16_t v)
{
    uint16_t old = m->cntr;
    m->cntr = v & USB_CNTR_MASK;
    /* RM0008 23.5.2 FRES: "Force a reset of the USB peripheral, exactly like
     * a RESET signalling on the USB." */
    if ((m->cntr & USB_CNTR_FRES) && !(old & USB_CNTR_FRES))
        usb_reset_event(m);
    if ((m->cntr & USB_CNTR_RESUME) && !(old & USB_CNTR_RESUME))
        vb_trace(m->vb, "usb", "device drives resume signalling");
}

static void reg_write16(struct usb_model *m, uint32_t off, uint16_t v)
{
    if (off < 0x20) {
        epr_write(m, off / 4, v);
    } else if (off == USB_CNTR) {
        cntr_write(m, v);
    } else if (off == USB_ISTR) {
        /* rc_w0 flags; CTR, DIR, EP_ID are read-only. */
        m->istr &= v & USB_ISTR_FLAGS;
    } else if (off == USB_DADDR) {
        m->daddr = v & 0xFF;
    } else if (off == USB_BTABLE) {
        m->btable = v & 0xFFF8;
    }
    update_irq(m);
}

static bool reg_access_ok(struct usb_model *m, uint32_t off, unsigned size, const char *what)
{
    if (!clock_ok(m)) {
        say_no_clock(m, what, off);
        return false;
    }
    if (size == 1 || (off & 3) || (off >= 0x20 && off < 0x40) || off > USB_BTABLE) {
        vb_violation(m->vb, "usb", "RM0008 23.5",
                     "%s 0x%08x size %u: the USB registers are 16-bit at 32-bit aligned "
                     "addresses, accessed by half-words or words",
                     what, USB_REG_BASE + off, size);
        return false;
    }
    return true;
}

static uint32_t usb_reg_read(void *model, uint32_t off, unsigned size)
{
    struct usb_model *m = model;
    if (!reg_access_ok(m, off, size, "read"))
        return 0;
    return reg_read16(m, off); /* upper 16 bits of each slot are reserved, read 0 */
}

static void usb_reg_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct usb_model *m = model;
    if (reg_access_ok(m, off, size, "write"))
        reg_write16(m, off, (uint16_t)value);
}

/* ---- PMA seen from the CPU ------------------------------------------------
 * RM0008 23.5: "the same address alignment is used to access packet buffer
 * memory locations": each 16-bit PMA word sits in the low half of a 32-bit
 * slot, CPU address = 0x40006000 + 2 x local address. The upper half of a
 * slot is not memory. */

static bool pma_access_ok(struct usb_model *m, uint32_t off, unsigned size, bool write)
{
    const char *what = write ? "write" : "read";
    if (!clock_ok(m)) {
        vb_violation(m->vb, "usb", "RM0008 7.3.8/8.3.8",
                     "%s of packet memory 0x%08x with the USB clock off or not 48 MHz", what,
                     USB_PMA_BASE + off);
        return false;
    }
    bool bad = (size == 1) ? (off & 2) != 0 || write : (off & 3) != 0;
    if (bad)
        vb_violation(m->vb, "usb", "RM0008 23.5",
                     "%u-byte %s of packet memory at 0x%08x: PMA words are 16 bits in the "
                     "low half of 32-bit slots, accessed by half-words or words",
                     size, what, USB_PMA_BASE + off);
    return !bad || (size == 1 && !(off & 2));
}

static uint32_t usb_pma_read(void *model, uint32_t off, unsigned size)
{
    struct usb_model *m = model;
    if (!pma_access_ok(m, off, size, false))
        return 0;
    uint16_t h = pma_get16(m, (off >> 2) * 2);
    if (size == 1)
        return (off & 1) ? h >> 8 : h & 0xFF;
    return h;
}

static void usb_pma_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct usb_model *m = model;
    if (!pma_access_ok(m, off, size, true))
        return;
    unsigned local = (off >> 2) * 2;
    if (size == 1) /* reported above; stored as the byte lane it names */
        m->pma[local + (off & 1)] = (uint8_t)value;
    else
        pma_put16(m, local, (uint16_t)value);
}

/* ---- Transactions (RM0008 23.4.2) -------------------------------------- */

static int match_ep(struct usb_model *m, uint8_t addr, uint8_t ep)
{
    if (!usb_alive(m))
        return -1;
    /* RM0008 23.5.2 ISTR.RESET: "Reception and transmission are disabled
     * until the RESET bit is cleared." A stack that has not yet seen the
     * reset answers nothing, whatever EP0R and DADDR say. */
    if (m->istr & USB_ISTR_RESET)
        return -1;
    /* RM0008 23.5.2 DADDR.EF: "If this bit is at '0' no transactions are
     * handled, irrespective of the settings of USB_EPnR registers." */
    if (!(m->daddr & USB_DADDR_EF) || (m->daddr & 0x7F) != addr)
        return -1;
    for (int n = 0; n < 8; n++)
        if ((m->epr[n] & USB_EP_EA) == (ep & 0xF))
            return n;
    return -1;
}

static bool unmodelled_ep(struct usb_model *m, int n)
{
    if (!ep_is_hp(m->epr[n]))
        return false;
    if (!m->unmodelled_said)
        vb_event(m->vb, "usb: EP%d is isochronous or double-buffered: not modelled, "
                        "transactions get no answer", n);
    m->unmodelled_said = true;
    return true;
}

static void wake_on_activity(struct usb_model *m)
{
    if (m->suspended) {
        m->suspended = false;
        m->istr |= USB_ISTR_WKUP;
    }
}

static unsigned stat_rx(uint16_t r) { return (r & USB_EP_STAT_RX) >> 12; }
static unsigned stat_tx(uint16_t r) { return (r & USB_EP_STAT_TX) >> 4; }

static void set_stat_rx(struct usb_model *m, int n, unsigned s)
{
    m->epr[n] = (uint16_t)((m->epr[n] & ~USB_EP_STAT_RX) | s << 12);
}

static void set_stat_tx(struct usb_model *m, int n, unsigned s)
{
    m->epr[n] = (uint16_t)((m->epr[n] & ~USB_EP_STAT_TX) | s << 4);
}

static enum usb_hs stat_answer(unsigned stat)
{
    return stat == USB_STAT_STALL ? USB_HS_STALL
           : stat == USB_STAT_NAK ? USB_HS_NAK
                                  : USB_HS_NONE;
}

/* Stores a received packet in endpoint n's RX buffer. RM0008 23.4.2: "If a
 * received packet is longer than the allocated buffer area, the bytes which
 * exceed the buffer size are not written in the packet memory ... a STALL
 * handshake is sent instead of the normal ACK ... no interrupt is generated
 * and the transaction is considered failed." */
static bool store_rx(struct usb_model *m, int n, const uint8_t *data, size_t len)
{
    unsigned addr = bd_get(m, (unsigned)n, 2) & 0xFFFE;
    uint16_t count = bd_get(m, (unsigned)n, 3);
    size_t cap = usb_rx_bufsize(count);
    size_t fit = len < cap ? len : cap;
    if (!pma_range_ok(m, (unsigned)n, addr, fit, "RX"))
        fit = addr < USB_PMA_SIZE ? USB_PMA_SIZE - addr : 0;
    if (fit)
        memcpy(m->pma + addr, data, fit);
    if (len > cap) {
        vb_trace(m->vb, "usb", "EP%d RX overrun: %zu bytes into a %zu-byte buffer: STALL", n,
                 len, cap);
        return false;
    }
    bd_put(m, (unsigned)n, 3, (uint16_t)((count & 0xFC00) | len));
    return true;
}

static void rx_complete(struct usb_model *m, int n, bool setup)
{
    uint16_t r = m->epr[n];
    /* SETUP "is kept frozen while CTR_RX bit is at 1". */
    if ((r & USB_EP_TYPE) == USB_EP_TYPE_CONTROL && !(r & USB_EP_CTR_RX))
        r = (uint16_t)((r & ~USB_EP_SETUP) | (setup ? USB_EP_SETUP : 0));
    if (!(r & USB_EP_CTR_RX))
        m->ctr_seq[n][0] = ++m->seq; /* when the notification appeared */
    m->epr[n] = (uint16_t)((r ^ USB_EP_DTOG_RX) | USB_EP_CTR_RX);
    set_stat_rx(m, n, USB_STAT_NAK);
}

enum usb_hs usb_dev_setup(struct usb_model *m, uint8_t addr, const uint8_t setup[8])
{
    int n = match_ep(m, addr, 0);
    if (n < 0 || (m->epr[n] & USB_EP_TYPE) != USB_EP_TYPE_CONTROL)
        return USB_HS_NONE;
    wake_on_activity(m);
    /* RM0008 23.4.2: with a CTR_RX still pending "the USB discards the SETUP
     * transaction and does not answer with any handshake packet regardless
     * of its state". SETUP is accepted with STAT_RX NAK or STALL (and VALID);
     * DISABLED means all reception requests are ignored. */
    if ((m->epr[n] & USB_EP_CTR_RX) || stat_rx(m->epr[n]) == USB_STAT_DISABLED) {
        update_irq(m);
        return USB_HS_NONE;
    }
    if (!store_rx(m, n, setup, 8)) {
        update_irq(m);
        return USB_HS_STALL;
    }
    /* RM0008 23.4.2: a SETUP sets DTOG_TX to 1 and DTOG_RX to 0, then the
     * DATA0 it carries matches and toggles DTOG_RX, so the data or status
     * OUT stage that follows is expected as DATA1. Both STATs go NAK. */
    m->epr[n] = (uint16_t)((m->epr[n] & ~USB_EP_DTOG_RX) | USB_EP_DTOG_TX);
    rx_complete(m, n, true);
    set_stat_tx(m, n, USB_STAT_NAK);
    update_irq(m);
    return USB_HS_ACK;
}

static enum usb_hs out_on(struct usb_model *m, int n, const uint8_t *data, size_t len, int pid)
{
    uint16_t r = m->epr[n];
    if (stat_rx(r) != USB_STAT_VALID)
        return stat_answer(stat_rx(r));
    /* RM0008 23.5.2 EP_KIND (STATUS_OUT) on a control endpoint: "all OUT
     * transactions containing more than zero data bytes are answered
     * 'STALL' instead of 'ACK'". */
    if ((r & USB_EP_TYPE) == USB_EP_TYPE_CONTROL && (r & USB_EP_KIND) && len > 0)
        return USB_HS_STALL;
    /* RM0008 DTOG_RX: toggled on "a data packet reception having a matching
     * data PID value"; a mismatch is a retransmission the device already has
     * (USB 2.0 8.6.4): ACK it, store nothing, no CTR. */
    if ((pid & 1) != !!(r & USB_EP_DTOG_RX)) {
        vb_trace(m->vb, "usb", "EP%d OUT DATA%d, expected DATA%d: ACK, discarded", n, pid,
                 !!(r & USB_EP_DTOG_RX));
        return USB_HS_ACK;
    }
    if (!store_rx(m, n, data, len))
        return USB_HS_STALL;
    rx_complete(m, n, false);
    return USB_HS_ACK;
}

enum usb_hs usb_dev_out(struct usb_model *m, uint8_t addr, uint8_t ep, const uint8_t *data,
                        size_t len, int data_pid)
{
    int n = match_ep(m, addr, ep);
    if (n < 0 || unmodelled_ep(m, n))
        return USB_HS_NONE;
    wake_on_activity(m);
    enum usb_hs hs = out_on(m, n, data, len, data_pid);
    update_irq(m);
    return hs;
}

enum usb_hs usb_dev_in(struct usb_model *m, uint8_t addr, uint8_t ep, uint8_t *buf, size_t max,
                       size_t *len, int *data_pid)
{
    return usb_dev_in_acked(m, addr, ep, buf, max, len, data_pid, true);
}

enum usb_hs usb_dev_in_acked(struct usb_model *m, uint8_t addr, uint8_t ep, uint8_t *buf,
                             size_t max, size_t *len, int *data_pid, bool host_ack)
{
    int n = match_ep(m, addr, ep);
    if (n < 0 || unmodelled_ep(m, n))
        return USB_HS_NONE;
    wake_on_activity(m);
    uint16_t r = m->epr[n];
    if (stat_tx(r) != USB_STAT_VALID) {
        update_irq(m);
        return stat_answer(stat_tx(r));
    }
    unsigned addr_tx = bd_get(m, (unsigned)n, 0) & 0xFFFE;
    size_t count = bd_get(m, (unsigned)n, 1) & 0x3FF;
    if (!pma_range_ok(m, (unsigned)n, addr_tx, count, "TX"))
        count = addr_tx < USB_PMA_SIZE ? USB_PMA_SIZE - addr_tx : 0;
    if (!count)
        addr_tx = 0; /* nothing to copy, even from a bad address */
    if (count > max) {
        vb_trace(m->vb, "usb", "EP%d IN %zu bytes, host takes %zu (babble)", n, count, max);
        count = max;
    }
    memcpy(buf, m->pma + addr_tx, count);
    *len = count;
    *data_pid = !!(r & USB_EP_DTOG_TX);
    /* RM0008 23.4.2: DTOG_TX toggles, STAT_TX goes NAK and CTR_TX is set
     * only once the host's ACK is received. Without it (data corrupted on
     * the way, or the ACK lost) the endpoint stays VALID with the same
     * buffer and toggle, and the host's next IN gets the packet again. */
    if (!host_ack) {
        vb_trace(m->vb, "usb", "EP%d IN DATA%d %zu bytes: no ACK from the host, kept", n,
                 *data_pid, count);
        update_irq(m);
        return USB_HS_ACK;
    }
    if (!(r & USB_EP_CTR_TX))
        m->ctr_seq[n][1] = ++m->seq;
    m->epr[n] = (uint16_t)((r ^ USB_EP_DTOG_TX) | USB_EP_CTR_TX);
    set_stat_tx(m, n, USB_STAT_NAK);
    update_irq(m);
    return USB_HS_ACK;
}

void usb_dev_bus_reset(struct usb_model *m)
{
    if (!clock_ok(m) || (m->cntr & USB_CNTR_PDWN))
        return;
    usb_reset_event(m);
}

void usb_dev_sof(struct usb_model *m)
{
    if (!usb_alive(m))
        return;
    wake_on_activity(m);
    m->fn = (uint16_t)((m->fn + 1) & 0x7FF);
    m->sofs++;
    m->lsof = 0;
    m->istr |= USB_ISTR_SOF;
    update_irq(m);
}

/* RM0008 23.4.5: three missed SOFs (ESOF each) without traffic, then SUSP. */
void usb_dev_suspend(struct usb_model *m)
{
    if (!usb_alive(m) || m->suspended)
        return;
    m->lsof = 3;
    m->sofs = 0;
    m->istr |= USB_ISTR_ESOF | USB_ISTR_SUSP;
    m->suspended = true;
    update_irq(m);
}

bool usb_model_pdwn(const struct usb_model *m)
{
    return (m->cntr & USB_CNTR_PDWN) != 0;
}

/* ---- Life cycle ------------------------------------------------------------ */

void usb_model_reset(struct usb_model *m)
{
    memset(m->epr, 0, sizeof m->epr);
    m->cntr = USB_CNTR_FRES | USB_CNTR_PDWN;
    m->istr = m->daddr = m->btable = 0;
    m->fn = 0;
    m->sofs = m->lsof = 0;
    m->suspended = false;
    /* The PMA is RAM: its content is undefined after reset, kept here. */
    m->reset_seq = ++m->seq;
    update_irq(m);
}

struct usb_model *usb_model_new(struct vb *vb)
{
    struct usb_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->vb = vb;
    usb_model_reset(m);
    vb_mmio(vb, "usb", USB_REG_BASE, 0x400, usb_reg_read, usb_reg_write, m);
    vb_mmio(vb, "usb-pma", USB_PMA_BASE, 2 * USB_PMA_SIZE, usb_pma_read, usb_pma_write, m);
    return m;
}

void usb_model_free(struct usb_model *m) { free(m); }
