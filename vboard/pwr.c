/*
 * pwr.c - power control, RM0008 5.4: CR (LPDS, PDDS, CWUF, CSBF, PVDE, PLS,
 * DBP) and CSR (WUF, SBF, PVDO, EWUP). Low-power modes are not entered;
 * the supply never drops, so PVDO stays 0.
 */
#include "pwr.h"

#include "reg.h"

#include <stdlib.h>

#define CR 0x0
#define CSR 0x4
#define CR_CWUF (1u << 2)
#define CR_CSBF (1u << 3)
#define CR_DBP (1u << 8)

struct pwr {
    struct vb *vb;
    uint32_t cr, csr;
};

bool pwr_dbp(const struct pwr *p) { return p->cr & CR_DBP; }

static bool clocked(struct pwr *p, const char *what)
{
    if (vb_clock_enabled(p->vb, VB_CLK_PWR))
        return true;
    vb_violation(p->vb, "pwr", "RM0008 7.3.8 PWREN", "PWR %s with its clock off", what);
    return false;
}

static uint32_t pwr_read(void *model, uint32_t off, unsigned size)
{
    struct pwr *p = model;
    if (!clocked(p, "read"))
        return 0;
    uint32_t v = (off & ~3u) == CR ? p->cr & ~(CR_CWUF | CR_CSBF) : (off & ~3u) == CSR ? p->csr : 0;
    return reg_get(v, off, size);
}

static void pwr_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct pwr *p = model;
    if (!clocked(p, "write"))
        return;
    if ((off & ~3u) == CR) {
        uint32_t v = reg_put(p->cr, off, value, size) & 0x1FF;
        /* 5.4.1: CWUF/CSBF always read 0 and clear WUF/SBF when written 1. */
        if (v & CR_CWUF)
            p->csr &= ~1u;
        if (v & CR_CSBF)
            p->csr &= ~2u;
        p->cr = v & ~(CR_CWUF | CR_CSBF);
    } else if ((off & ~3u) == CSR) {
        p->csr = (p->csr & 3u) | (reg_put(p->csr, off, value, size) & (1u << 8)); /* EWUP */
    } else {
        vb_violation(p->vb, "pwr", "RM0008 5.4.3", "write of reserved PWR offset 0x%02x", off);
    }
}

struct pwr *pwr_new(struct vb *vb)
{
    struct pwr *p = calloc(1, sizeof *p);
    p->vb = vb;
    vb_mmio(vb, "PWR", 0x40007000, 0x400, pwr_read, pwr_write, p);
    return p;
}

void pwr_reset(struct pwr *p) { p->cr = p->csr = 0; }
void pwr_free(struct pwr *p) { free(p); }
