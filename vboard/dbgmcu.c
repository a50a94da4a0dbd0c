/*
 * dbgmcu.c - DBGMCU_IDCODE and DBGMCU_CR (RM0008 31.6.1/31.16.3). Firmware
 * reads the device ID to tell the densities apart. REV_ID is the latest
 * silicon listed in RM0008 31.6.1: 0x1000 (low density "Revision A"),
 * 0x2003 (medium density "Revision X"), 0x1003 (high density "Revision X").
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

struct dbgmcu *dbgmcu_new(struct vb *vb, enum vb_density density)
{
    struct dbgmcu *d = calloc(1, sizeof *d);
    d->vb = vb;
    d->idcode = density == VB_LOW_DENSITY      ? 0x10006412u
                : density == VB_MEDIUM_DENSITY ? 0x20036410u
                                               : 0x10036414u;
    vb_mmio(vb, "DBGMCU", 0xE0042000, 8, dbgmcu_read, dbgmcu_write, d);
    return d;
}

void dbgmcu_free(struct dbgmcu *d) { free(d); }
