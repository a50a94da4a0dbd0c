/*
 * nvic.c - NVIC registers (PM0056 4.3) and the exception bookkeeping of
 * the core: pending (software-set, or a peripheral line held high), active,
 * enable, priorities with 4 implemented bits, PRIGROUP, and the choice of
 * the exception to take (PM0056 2.3.6 "Exception priorities").
 */
#include "nvic.h"

#include "reg.h"

#include <stdlib.h>
#include <string.h>

struct nvic {
    struct vb *vb;
    bool enabled[NVIC_NEXC], swpend[NVIC_NEXC], active[NVIC_NEXC], level[NVIC_NIRQ];
    uint8_t prio[NVIC_NEXC];
    unsigned prigroup;
    unsigned nactive;
};

static void poke(void *model) { (void)model; }

/* Something may now be taken: vb_at "now" makes the board end the running
 * slice and look at the NVIC (vb.h offers no other way to ask for that). */
static void wake_board(struct nvic *n) { vb_at(n->vb, vb_now_ns(n->vb), poke, n); }

bool nvic_is_enabled(const struct nvic *n, unsigned exc)
{
    if (exc >= NVIC_NEXC)
        return false;
    if (exc >= EXC_IRQ0)
        return n->enabled[exc];
    /* Configurable faults are not raised separately by this model (they
     * escalate to HardFault), so only these system exceptions exist. */
    return exc == EXC_NMI || exc == EXC_HARDFAULT || exc == EXC_SVCALL || exc == EXC_DEBUGMON ||
           exc == EXC_PENDSV || exc == EXC_SYSTICK;
}

bool nvic_is_pending(const struct nvic *n, unsigned exc)
{
    if (exc >= NVIC_NEXC)
        return false;
    /* A level-sensitive line re-pends its interrupt once the handler has
     * returned while the line is still high (PM0056 4.3.10, "level-
     * sensitive interrupts"). */
    return n->swpend[exc] || (exc >= EXC_IRQ0 && n->level[exc - EXC_IRQ0] && !n->active[exc]);
}

bool nvic_is_active(const struct nvic *n, unsigned exc) { return exc < NVIC_NEXC && n->active[exc]; }

bool nvic_any_pending(const struct nvic *n)
{
    for (unsigned e = 2; e < NVIC_NEXC; e++)
        if (nvic_is_enabled(n, e) && nvic_is_pending(n, e))
            return true;
    return false;
}

bool nvic_set_level(struct nvic *n, unsigned irq, bool level)
{
    if (irq >= NVIC_NIRQ)
        return false;
    bool before = nvic_is_pending(n, EXC_IRQ0 + irq);
    n->level[irq] = level;
    return !before && nvic_is_pending(n, EXC_IRQ0 + irq) && n->enabled[EXC_IRQ0 + irq];
}

void nvic_set_pending(struct nvic *n, unsigned exc, bool pending)
{
    if (exc >= NVIC_NEXC)
        return;
    bool before = nvic_is_pending(n, exc);
    n->swpend[exc] = pending;
    if (!before && pending)
        wake_board(n);
}

int nvic_priority(const struct nvic *n, unsigned exc)
{
    if (exc == 1)
        return -3;
    if (exc == EXC_NMI)
        return -2;
    if (exc == EXC_HARDFAULT)
        return -1;
    return exc < NVIC_NEXC ? n->prio[exc] : 256;
}

/* PM0056 4.3.7: "the processor implements only bits [7:4] of each field;
 * bits [3:0] read as zero and ignore writes". */
void nvic_set_priority(struct nvic *n, unsigned exc, uint8_t prio)
{
    if (exc >= 4 && exc < NVIC_NEXC)
        n->prio[exc] = prio & 0xF0;
}

void nvic_set_prigroup(struct nvic *n, unsigned g) { n->prigroup = g & 7; }
unsigned nvic_prigroup(const struct nvic *n) { return n->prigroup; }

/* PM0056 4.4.5 "Binary point": PRIGROUP g puts bits [7:g+1] in the group
 * priority (preemption) and [g:0] in the subpriority. */
int nvic_group_priority(const struct nvic *n, int prio)
{
    if (prio < 0)
        return prio;
    return prio & ~((2 << n->prigroup) - 1) & 0xFF;
}

int nvic_exec_priority(const struct nvic *n, bool primask, uint8_t basepri, bool faultmask)
{
    int p = 256;
    for (unsigned e = 1; e < NVIC_NEXC; e++)
        if (n->active[e]) {
            int g = nvic_group_priority(n, nvic_priority(n, e));
            if (g < p)
                p = g;
        }
    if (basepri & 0xF0) {
        int g = nvic_group_priority(n, basepri & 0xF0);
        if (g < p)
            p = g;
    }
    if (primask && p > 0)
        p = 0;
    if (faultmask && p > -1)
        p = -1;
    return p;
}

static unsigned best_pending(const struct nvic *n, int exec_prio, bool check)
{
    unsigned best = 0;
    int best_p = 1 << 20;
    for (unsigned e = 2; e < NVIC_NEXC; e++) {
        if (!nvic_is_enabled(n, e) || !nvic_is_pending(n, e))
            continue;
        int p = nvic_priority(n, e);
        if (check && nvic_group_priority(n, p) >= exec_prio)
            continue;
        /* Lowest priority value first, then lowest exception number. */
        if (p < best_p) {
            best_p = p;
            best = e;
        }
    }
    return best;
}

unsigned nvic_preempting(const struct nvic *n, int exec_prio) { return best_pending(n, exec_prio, true); }
unsigned nvic_highest_pending(const struct nvic *n) { return best_pending(n, 0, false); }

void nvic_activate(struct nvic *n, unsigned exc)
{
    if (exc >= NVIC_NEXC)
        return;
    n->swpend[exc] = false;
    if (!n->active[exc])
        n->nactive++;
    n->active[exc] = true;
}

void nvic_deactivate(struct nvic *n, unsigned exc)
{
    if (exc >= NVIC_NEXC || !n->active[exc])
        return;
    n->active[exc] = false;
    n->nactive--;
}

unsigned nvic_active_count(const struct nvic *n) { return n->nactive; }

/* ---- Registers at 0xE000E100 ------------------------------------------------ */
static uint32_t bits_of(const struct nvic *n, uint32_t word, int kind)
{
    uint32_t v = 0;
    for (unsigned b = 0; b < 32; b++) {
        unsigned irq = word * 32 + b, e = EXC_IRQ0 + irq;
        if (irq >= NVIC_NIRQ)
            break;
        bool on = kind == 0 ? n->enabled[e] : kind == 1 ? nvic_is_pending(n, e) : n->active[e];
        v |= (uint32_t)on << b;
    }
    return v;
}

/* Offsets from 0xE000E100: ISER 0x000, ICER 0x080, ISPR 0x100, ICPR 0x180,
 * IABR 0x200 (PM0056 table 47). */
static uint32_t nvic_read(void *model, uint32_t off, unsigned size)
{
    struct nvic *n = model;
    uint32_t word = (off & 0x7F) / 4, v = 0;
    switch (off / 0x80) {
    case 0: case 1: v = bits_of(n, word, 0); break; /* ISER, ICER: enable state */
    case 2: case 3: v = bits_of(n, word, 1); break; /* ISPR, ICPR: pending state */
    case 4: v = bits_of(n, word, 2); break;         /* IABR: active state */
    default: break;                                 /* reserved: reads as zero */
    }
    return reg_get(v, off, size);
}

static void nvic_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct nvic *n = model;
    uint32_t word = (off & 0x7F) / 4, v = reg_put(0, off, value, size);
    unsigned kind = off / 0x80;
    for (unsigned b = 0; b < 32; b++) {
        unsigned irq = word * 32 + b, e = EXC_IRQ0 + irq;
        if (!(v & (1u << b)) || irq >= NVIC_NIRQ)
            continue;
        /* Write 1 to set/clear; writing 0 has no effect (PM0056 4.3.2-4.3.5). */
        switch (kind) {
        case 0: n->enabled[e] = true; break;
        case 1: n->enabled[e] = false; break;
        case 2: n->swpend[e] = true; break;
        case 3: n->swpend[e] = false; break;
        default: break; /* IABR is read-only */
        }
    }
    wake_board(n);
}

/* IPR: one byte per interrupt, byte-accessible (PM0056 4.3.7). */
static uint32_t nvic_ipr_read(void *model, uint32_t off, unsigned size)
{
    struct nvic *n = model;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        if (off + i < NVIC_NIRQ)
            v |= (uint32_t)n->prio[EXC_IRQ0 + off + i] << (8 * i);
    return v;
}

static void nvic_ipr_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct nvic *n = model;
    for (unsigned i = 0; i < size; i++)
        if (off + i < NVIC_NIRQ)
            nvic_set_priority(n, EXC_IRQ0 + off + i, (uint8_t)(value >> (8 * i)));
    wake_board(n);
}

/* STIR (0xE000EF00): write the interrupt number to pend it (PM0056 4.3.8). */
static uint32_t stir_read(void *model, uint32_t off, unsigned size)
{
    (void)model, (void)off, (void)size;
    return 0;
}

static void stir_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    (void)off, (void)size;
    struct nvic *n = model;
    nvic_set_pending(n, EXC_IRQ0 + (value & 0x1FF), true);
}

struct nvic *nvic_new(struct vb *vb)
{
    struct nvic *n = calloc(1, sizeof *n);
    n->vb = vb;
    vb_mmio(vb, "NVIC", 0xE000E100, 0x280, nvic_read, nvic_write, n);
    vb_mmio(vb, "NVIC-IPR", 0xE000E400, 0xF0, nvic_ipr_read, nvic_ipr_write, n);
    vb_mmio(vb, "STIR", 0xE000EF00, 4, stir_read, stir_write, n);
    return n;
}

void nvic_reset(struct nvic *n)
{
    struct vb *vb = n->vb;
    bool level[NVIC_NIRQ];
    memcpy(level, n->level, sizeof level); /* lines belong to the peripherals */
    memset(n, 0, sizeof *n);
    n->vb = vb;
    memcpy(n->level, level, sizeof level);
}

void nvic_free(struct nvic *n) { free(n); }
