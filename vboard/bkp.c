/*
 * bkp.c - backup registers, RM0008 chapter 6: DR1..DR10 at 0x04..0x28,
 * RTCCR 0x2C, CR 0x30, CSR 0x34, DR11..DR42 at 0x40..0xBC (high density).
 * 16-bit registers in 32-bit slots. Writes need the PWR and BKP clocks and
 * PWR_CR.DBP (5.4.1 / 6.1 "Backup domain access").
 *
 * Reads. RM0008 5.4.1 calls DBP "Disable backup domain write protection"
 * ("this bit must be set to enable write access to these registers"): a
 * read with DBP = 0 is allowed and returns the data. With the clocks off,
 * 6.1 still says to set PWREN and BKPEN "to enable access", so such a read
 * is a violation; but on silicon the data registers read back anyway: field
 * report apache/mynewt-core PR 3244 ("mcu/stm32: Fix hal_nvreg_write for
 * STM32F1", tested on an F1: "Writing to backup registers requires enabling
 * BKP_CLK. For read it does not seem to be needed."). So such a read is
 * flagged (stops a --strict run) and returns the stored value, not 0: a
 * firmware that relies on it works in vboard as on the board, and --strict
 * still points at the manual's rule. Control registers (RTCCR, CR, CSR)
 * have no such report and read 0 with the clocks off.
 */
#include "bkp.h"

#include "reg.h"

#include <stdlib.h>
#include <string.h>

struct bkp {
    struct vb *vb;
    struct pwr *pwr;
    bool hd;
    uint16_t dr[43]; /* index = register number */
    uint16_t rtccr, cr, csr;
};

/* Register number of a data register offset, 0 if none. */
static unsigned dr_index(const struct bkp *b, uint32_t off)
{
    off &= ~3u;
    if (off >= 0x04 && off <= 0x28)
        return off / 4;
    if (b->hd && off >= 0x40 && off <= 0xBC)
        return 11 + (off - 0x40) / 4;
    return 0;
}

static bool clocked(struct bkp *b, const char *what, uint32_t off)
{
    if (vb_clock_enabled(b->vb, VB_CLK_BKP) && vb_clock_enabled(b->vb, VB_CLK_PWR))
        return true;
    vb_violation(b->vb, "bkp", "RM0008 6.1 (PWREN and BKPEN)", "BKP %s at 0x%02x without PWR and BKP clocks",
                 what, off);
    return false;
}

static uint32_t bkp_read(void *model, uint32_t off, unsigned size)
{
    struct bkp *b = model;
    unsigned i = dr_index(b, off);
    if (!clocked(b, "read", off))
        return i ? reg_get(b->dr[i], off, size) : 0; /* see the header */
    uint32_t v;
    if (i)
        v = b->dr[i];
    else if ((off & ~3u) == 0x2C)
        v = b->rtccr;
    else if ((off & ~3u) == 0x30)
        v = b->cr;
    else if ((off & ~3u) == 0x34)
        v = b->csr;
    else {
        vb_violation(b->vb, "bkp", "RM0008 6.4.5", "read of reserved BKP offset 0x%02x", off);
        return 0;
    }
    return reg_get(v, off, size);
}

static void bkp_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct bkp *b = model;
    if (!clocked(b, "write", off))
        return;
    if (!pwr_dbp(b->pwr)) {
        /* 5.4.1 DBP: "access to RTC and Backup registers disabled" (the
         * write is ignored). */
        vb_violation(b->vb, "bkp", "RM0008 5.4.1 DBP", "BKP write at 0x%02x while PWR_CR.DBP = 0 (ignored)", off);
        return;
    }
    unsigned i = dr_index(b, off);
    if (i)
        b->dr[i] = (uint16_t)reg_put(b->dr[i], off, value, size);
    else if ((off & ~3u) == 0x2C)
        b->rtccr = (uint16_t)reg_put(b->rtccr, off, value, size) & 0x3FF;
    else if ((off & ~3u) == 0x30)
        b->cr = (uint16_t)reg_put(b->cr, off, value, size) & 3;
    else if ((off & ~3u) == 0x34) {
        uint32_t v = reg_put(0, off, value, size);
        b->csr = (uint16_t)((b->csr & 0x300) | (v & 4)); /* TPIE; CTE/CTI clear flags */
        if (v & 1) b->csr &= ~0x100;
        if (v & 2) b->csr &= ~0x200;
    } else
        vb_violation(b->vb, "bkp", "RM0008 6.4.5", "write of reserved BKP offset 0x%02x", off);
}

struct bkp *bkp_new(struct vb *vb, struct pwr *pwr, bool high_density)
{
    struct bkp *b = calloc(1, sizeof *b);
    b->vb = vb;
    b->pwr = pwr;
    b->hd = high_density;
    vb_mmio(vb, "BKP", 0x40006C00, 0x400, bkp_read, bkp_write, b);
    return b;
}

void bkp_system_reset(struct bkp *b) { (void)b; /* 6.1: not reset by a system reset */ }

void bkp_backup_domain_reset(struct bkp *b)
{
    memset(b->dr, 0, sizeof b->dr);
    b->rtccr = b->cr = b->csr = 0;
}

void bkp_free(struct bkp *b) { free(b); }
uint16_t bkp_dr(const struct bkp *b, unsigned n) { return n < 43 ? b->dr[n] : 0; }
