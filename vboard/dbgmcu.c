/*
 * dbgmcu.c - DBGMCU_IDCODE and DBGMCU_CR (RM0008 31.6.1/31.16.3). Firmware
 * reads the device ID to tell medium from high density. REV_ID is the
 * latest silicon: 0x2003 (medium density "rev X"), 0x1003 (high density).
 * DBGMCU_CR is kept across system resets (it is reset by power-on only).
 */
#include "dbgmcu.h"

#include "reg.h"

#include <stdlib.h>

struct dbgmcu {
    struct vb *vb;
    uint32_t idcode, cr;
};

static uint32_t dbgmcu_read(void *model, uint32_t off, unsigned size)
{
    struct dbgmcu *d = model;
    uint32_t v = (off & ~3u) == 0 ? d->idcode : (off & ~3u) == 4 ? d->cr : 0;
    return reg_get(v, off, size);
}

static void dbgmcu_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct dbgmcu *d = model;
    if ((off & ~3u) == 4)
        d->cr = reg_put(d->cr, off, value, size) & 0x003FFFE7u;
    else
        vb_violation(d->vb, "dbgmcu", "RM0008 31.6.1", "write to read-only DBGMCU_IDCODE");
}

struct dbgmcu *dbgmcu_new(struct vb *vb, bool high_density)
{
    struct dbgmcu *d = calloc(1, sizeof *d);
    d->vb = vb;
    d->idcode = high_density ? 0x10036414u : 0x20036410u;
    vb_mmio(vb, "DBGMCU", 0xE0042000, 8, dbgmcu_read, dbgmcu_write, d);
    return d;
}

void dbgmcu_free(struct dbgmcu *d) { free(d); }
