/*
 * dwt.c - DWT_CTRL / DWT_CYCCNT (ARMv7-M ARM C1.8.8, C1.8.10) and DEMCR
 * (C1.6.5). CYCCNT counts processor cycles while CYCCNTENA is set; here it
 * follows virtual time at SYSCLK (the board's one cycle per instruction).
 * The counter runs only while DEMCR.TRCENA enables the DWT.
 */
#include "dwt.h"

#include "reg.h"

#include <stdlib.h>

#define DEMCR_TRCENA (1u << 24)

struct dwt {
    struct vb *vb;
    uint32_t ctrl, demcr;
    uint32_t base_count;
    uint64_t base_ns; /* when base_count was valid (counter running) */
    uint32_t hz;
};

static bool running(const struct dwt *d) { return (d->ctrl & 1) && (d->demcr & DEMCR_TRCENA); }

static uint32_t cyccnt(const struct dwt *d)
{
    if (!running(d))
        return d->base_count;
    uint64_t dt = vb_now_ns(d->vb) - d->base_ns;
    return d->base_count + (uint32_t)((unsigned __int128)dt * d->hz / 1000000000u);
}

static void rebase(struct dwt *d)
{
    d->base_count = cyccnt(d);
    d->base_ns = vb_now_ns(d->vb);
    d->hz = vb_sysclk_hz(d->vb);
}

static uint32_t dwt_read(void *model, uint32_t off, unsigned size)
{
    struct dwt *d = model;
    uint32_t v = 0;
    switch (off & ~3u) {
    case 0x0: v = d->ctrl | 0x40000000u; break; /* NUMCOMP = 4 */
    case 0x4: v = cyccnt(d); break;
    default: break; /* other DWT registers read as zero */
    }
    return reg_get(v, off, size);
}

static void dwt_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct dwt *d = model;
    rebase(d);
    switch (off & ~3u) {
    case 0x0: d->ctrl = reg_put(d->ctrl, off, value, size) & 0x0FFFFFFFu; break;
    case 0x4: d->base_count = reg_put(d->base_count, off, value, size); break;
    default: break;
    }
}

static uint32_t demcr_read(void *model, uint32_t off, unsigned size)
{
    struct dwt *d = model;
    return reg_get(d->demcr, off, size);
}

static void demcr_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct dwt *d = model;
    rebase(d);
    d->demcr = reg_put(d->demcr, off, value, size) & 0x010F07F1u;
}

struct dwt *dwt_new(struct vb *vb)
{
    struct dwt *d = calloc(1, sizeof *d);
    d->vb = vb;
    vb_mmio(vb, "DWT", 0xE0001000, 0x1000, dwt_read, dwt_write, d);
    vb_mmio(vb, "DEMCR", 0xE000EDFC, 4, demcr_read, demcr_write, d);
    dwt_reset(d);
    return d;
}

void dwt_reset(struct dwt *d)
{
    d->ctrl = d->demcr = d->base_count = 0;
    d->base_ns = 0;
    d->hz = 8000000;
}

void dwt_free(struct dwt *d) { free(d); }
