/*
 * crc.c - CRC calculation unit, RM0008 4.3/4.4: DR (write feeds a 32-bit
 * word, read gives the result), IDR (8-bit scratch byte), CR.RESET (DR
 * back to 0xFFFFFFFF). Needs RCC_AHBENR.CRCEN.
 */
#include "crc.h"

#include "reg.h"

#include <stdlib.h>

struct crc {
    struct vb *vb;
    uint32_t dr;
    uint8_t idr;
};

uint32_t crc_step(uint32_t crc, uint32_t word)
{
    crc ^= word;
    for (int i = 0; i < 32; i++)
        crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    return crc;
}

static bool clocked(struct crc *c, const char *what)
{
    if (vb_clock_enabled(c->vb, VB_CLK_CRC))
        return true;
    vb_violation(c->vb, "crc", "RM0008 7.3.6 CRCEN", "CRC %s with its clock off", what);
    return false;
}

static uint32_t crc_read(void *model, uint32_t off, unsigned size)
{
    struct crc *c = model;
    if (!clocked(c, "read"))
        return 0;
    switch (off & ~3u) {
    case 0x0: return reg_get(c->dr, off, size);
    case 0x4: return reg_get(c->idr, off, size);
    case 0x8: return 0; /* CR.RESET reads 0 */
    default:
        vb_violation(c->vb, "crc", "RM0008 4.4.4", "read of reserved CRC offset 0x%02x", off);
        return 0;
    }
}

static void crc_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct crc *c = model;
    if (!clocked(c, "write"))
        return;
    switch (off & ~3u) {
    case 0x0:
        /* 4.4.1: DR is a 32-bit register; each write is one 32-bit word of
         * input. A narrower store is reported and fed as its 32-bit value. */
        if (size != 4)
            vb_violation(c->vb, "crc", "RM0008 4.4.1", "%u-byte write to CRC_DR (32-bit words only)", size);
        c->dr = crc_step(c->dr, value);
        break;
    case 0x4: c->idr = (uint8_t)value; break;
    case 0x8:
        if (value & 1) /* 4.4.3: RESET "resets the CRC calculation unit and sets DR to 0xFFFFFFFF" */
            c->dr = 0xFFFFFFFF;
        break;
    default:
        vb_violation(c->vb, "crc", "RM0008 4.4.4", "write of reserved CRC offset 0x%02x", off);
    }
}

struct crc *crc_new(struct vb *vb)
{
    struct crc *c = calloc(1, sizeof *c);
    c->vb = vb;
    vb_mmio(vb, "CRC", 0x40023000, 0x400, crc_read, crc_write, c);
    crc_reset(c);
    return c;
}

void crc_reset(struct crc *c)
{
    c->dr = 0xFFFFFFFF;
    c->idr = 0;
}

void crc_free(struct crc *c) { free(c); }
