/*
 * scb.c - System control block, PM0056 4.4: CPUID, ICSR, VTOR, AIRCR
 * (VECTKEY, SYSRESETREQ, PRIGROUP), SCR, CCR, SHPR1-3, SHCSR, CFSR, HFSR,
 * MMFAR, BFAR; and ICTR/ACTLR of the SCnSCB.
 */
#include "scb.h"

#include "reg.h"

#include <stdlib.h>

#define CPUID 0x00
#define ICSR 0x04
#define VTOR 0x08
#define AIRCR 0x0C
#define SCR 0x10
#define CCR 0x14
#define SHPR1 0x18
#define SHPR2 0x1C
#define SHPR3 0x20
#define SHCSR 0x24
#define CFSR 0x28
#define HFSR 0x2C
#define MMFAR 0x34
#define BFAR 0x38
#define AFSR 0x3C

#define ICSR_PENDSTCLR (1u << 25)
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSVCLR (1u << 27)
#define ICSR_PENDSVSET (1u << 28)
#define ICSR_NMIPENDSET (1u << 31)

struct scb {
    struct vb *vb;
    struct nvic *n;
    uint32_t vtor, scr, ccr, shcsr, cfsr, hfsr, mmfar, bfar, actlr;
};

uint32_t scb_vtor(const struct scb *s) { return s->vtor; }
bool scb_sleeponexit(const struct scb *s) { return s->scr & 2; }

void scb_record_fault(struct scb *s, uint32_t cfsr, uint32_t bfar, bool forced)
{
    s->cfsr |= cfsr;
    if (forced)
        s->hfsr |= 1u << 30; /* FORCED: escalated from a configurable fault */
    if (bfar != 0xFFFFFFFF) {
        s->bfar = bfar;
        s->cfsr |= 1u << 15; /* BFARVALID */
    }
}

/* PM0056 4.4.9 SHCSR: MEMFAULTENA bit 16, BUSFAULTENA 17, USGFAULTENA 18. */
bool scb_fault_enabled(const struct scb *s, unsigned exc)
{
    switch (exc) {
    case EXC_MEMMANAGE: return s->shcsr & (1u << 16);
    case EXC_BUSFAULT: return s->shcsr & (1u << 17);
    case EXC_USAGEFAULT: return s->shcsr & (1u << 18);
    default: return false;
    }
}

/* SHCSR's active and pended bits are the exception state kept by the NVIC
 * (PM0056 4.4.9: MEMFAULTACT 0, BUSFAULTACT 1, USGFAULTACT 3, SVCALLACT 7,
 * MONITORACT 8, PENDSVACT 10, SYSTICKACT 11, USGFAULTPENDED 12,
 * MEMFAULTPENDED 13, BUSFAULTPENDED 14, SVCALLPENDED 15). */
static uint32_t shcsr(const struct scb *s)
{
    static const struct { unsigned exc, bit; } act[] = {
        {EXC_MEMMANAGE, 0}, {EXC_BUSFAULT, 1}, {EXC_USAGEFAULT, 3}, {EXC_SVCALL, 7},
        {EXC_DEBUGMON, 8},  {EXC_PENDSV, 10},  {EXC_SYSTICK, 11},
    }, pend[] = {{EXC_USAGEFAULT, 12}, {EXC_MEMMANAGE, 13}, {EXC_BUSFAULT, 14}, {EXC_SVCALL, 15}};
    uint32_t v = s->shcsr & 0x70000u;
    for (size_t i = 0; i < sizeof act / sizeof *act; i++)
        if (nvic_is_active(s->n, act[i].exc))
            v |= 1u << act[i].bit;
    for (size_t i = 0; i < sizeof pend / sizeof *pend; i++)
        if (nvic_is_pending(s->n, pend[i].exc))
            v |= 1u << pend[i].bit;
    return v;
}

static uint32_t icsr(const struct scb *s)
{
    uint32_t v = 0, active = 0;
    unsigned count = 0;
    for (unsigned e = 1; e < NVIC_NEXC; e++)
        if (nvic_is_active(s->n, e)) {
            count++;
            /* The running handler is the active one of highest priority. */
            if (!active || nvic_group_priority(s->n, nvic_priority(s->n, e)) <=
                               nvic_group_priority(s->n, nvic_priority(s->n, active)))
                active = e;
        }
    v |= active & 0x1FF;           /* VECTACTIVE */
    if (count <= 1)
        v |= 1u << 11;             /* RETTOBASE */
    v |= (nvic_highest_pending(s->n) & 0x3FF) << 12; /* VECTPENDING */
    for (unsigned e = EXC_IRQ0; e < NVIC_NEXC; e++)
        if (nvic_is_pending(s->n, e))
            v |= 1u << 22;         /* ISRPENDING */
    if (nvic_is_pending(s->n, EXC_SYSTICK))
        v |= ICSR_PENDSTSET;
    if (nvic_is_pending(s->n, EXC_PENDSV))
        v |= ICSR_PENDSVSET;
    if (nvic_is_pending(s->n, EXC_NMI))
        v |= ICSR_NMIPENDSET;
    return v;
}

static uint32_t shpr(const struct scb *s, unsigned first)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++) {
        int p = nvic_priority(s->n, first + i);
        v |= (uint32_t)(p < 0 ? 0 : p & 0xFF) << (8 * i);
    }
    return v;
}

static uint32_t scb_read(void *model, uint32_t off, unsigned size)
{
    struct scb *s = model;
    uint32_t v;
    switch (off & ~3u) {
    case CPUID: v = SCB_CPUID; break;
    case ICSR: v = icsr(s); break;
    case VTOR: v = s->vtor; break;
    /* 4.4.5: reads give VECTKEYSTAT 0xFA05 and ENDIANESS = 0 (little). */
    case AIRCR: v = 0xFA050000u | nvic_prigroup(s->n) << 8; break;
    case SCR: v = s->scr; break;
    case CCR: v = s->ccr; break;
    case SHPR1: v = shpr(s, 4) & 0x00FFFFFF; break;
    case SHPR2: v = shpr(s, 8) & 0xFF000000; break;
    case SHPR3: v = shpr(s, 12) & 0xFFFF00FF; break;
    case SHCSR: v = shcsr(s); break;
    case CFSR: v = s->cfsr; break;
    case HFSR: v = s->hfsr; break;
    case MMFAR: v = s->mmfar; break;
    case BFAR: v = s->bfar; break;
    default: v = 0; break; /* AFSR, DFSR, feature registers: zero */
    }
    return reg_get(v, off, size);
}

static void set_shpr(struct scb *s, unsigned first, uint32_t v, uint32_t mask)
{
    for (unsigned i = 0; i < 4; i++)
        if (mask & (0xFFu << (8 * i)))
            nvic_set_priority(s->n, first + i, (uint8_t)(v >> (8 * i)));
}

static void scb_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct scb *s = model;
    uint32_t v = reg_put(0, off, value, size), m = reg_mask(off, size);
    switch (off & ~3u) {
    case CPUID:
        vb_violation(s->vb, "scb", "PM0056 4.4.1", "write to read-only CPUID");
        break;
    case ICSR:
        /* 4.4.3: PENDSVSET/PENDSVCLR, PENDSTSET/PENDSTCLR, NMIPENDSET. */
        if (v & ICSR_PENDSVSET)
            nvic_set_pending(s->n, EXC_PENDSV, true);
        else if (v & ICSR_PENDSVCLR)
            nvic_set_pending(s->n, EXC_PENDSV, false);
        if (v & ICSR_PENDSTSET)
            nvic_set_pending(s->n, EXC_SYSTICK, true);
        else if (v & ICSR_PENDSTCLR)
            nvic_set_pending(s->n, EXC_SYSTICK, false);
        if (v & ICSR_NMIPENDSET)
            nvic_set_pending(s->n, EXC_NMI, true);
        break;
    case VTOR:
        /* 4.4.4: TBLOFF is bits [29:9]; lower bits are zero. */
        s->vtor = reg_put(s->vtor, off, value, size) & 0x3FFFFE00u;
        break;
    case AIRCR:
        /* 4.4.5: "on writes, write 0x5FA to VECTKEY, otherwise the write is
         * ignored". */
        if (size != 4 || (value >> 16) != 0x05FA) {
            vb_violation(s->vb, "scb", "PM0056 4.4.5 VECTKEY",
                         "AIRCR write 0x%08x without VECTKEY 0x05FA (ignored)", value);
            break;
        }
        nvic_set_prigroup(s->n, (value >> 8) & 7);
        if (value & 1)
            vb_violation(s->vb, "scb", "PM0056 4.4.5 VECTRESET", "VECTRESET is for debug use only");
        if (value & 4)
            vb_system_reset(s->vb, "SYSRESETREQ");
        break;
    case SCR: s->scr = reg_put(s->scr, off, value, size) & 0x16; break;
    case CCR: s->ccr = reg_put(s->ccr, off, value, size) & 0x31B; break;
    case SHPR1: set_shpr(s, 4, v, m & 0x00FFFFFF); break;
    case SHPR2: set_shpr(s, 8, v, m & 0xFF000000); break;
    case SHPR3: set_shpr(s, 12, v, m & 0xFFFF00FF); break;
    case SHCSR: s->shcsr = reg_put(s->shcsr, off, value, size) & 0x7FD8B; break;
    case CFSR: s->cfsr &= ~v; break; /* rc_w1 (4.4.11) */
    case HFSR: s->hfsr &= ~v; break; /* rc_w1 (4.4.12) */
    case MMFAR: s->mmfar = reg_put(s->mmfar, off, value, size); break;
    case BFAR: s->bfar = reg_put(s->bfar, off, value, size); break;
    default: break;
    }
}

/* SCnSCB: ICTR (read-only, INTLINESNUM = 1: 33..64 lines) and ACTLR. */
static uint32_t scn_read(void *model, uint32_t off, unsigned size)
{
    struct scb *s = model;
    uint32_t v = (off & ~3u) == 4 ? 1 : (off & ~3u) == 8 ? s->actlr : 0;
    return reg_get(v, off, size);
}

static void scn_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct scb *s = model;
    if ((off & ~3u) == 8)
        s->actlr = reg_put(s->actlr, off, value, size) & 7;
}

struct scb *scb_new(struct vb *vb, struct nvic *n)
{
    struct scb *s = calloc(1, sizeof *s);
    s->vb = vb;
    s->n = n;
    vb_mmio(vb, "SCB", 0xE000ED00, 0x90, scb_read, scb_write, s);
    vb_mmio(vb, "SCnSCB", 0xE000E000, 0x10, scn_read, scn_write, s);
    scb_reset(s);
    return s;
}

void scb_reset(struct scb *s)
{
    s->vtor = s->scr = s->shcsr = s->cfsr = s->hfsr = s->mmfar = s->bfar = s->actlr = 0;
    s->ccr = 0x200; /* 4.4.7: STKALIGN set at reset */
}

void scb_free(struct scb *s) { free(s); }
