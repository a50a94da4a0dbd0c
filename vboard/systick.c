/*
 * systick.c - SysTick, PM0056 4.5. The counter is computed from virtual
 * time; one scheduled callback per wrap sets COUNTFLAG and pends
 * exception 15 when TICKINT is set. Clock: HCLK when CLKSOURCE = 1, else
 * HCLK/8 (STM32F103 RM0008 figure 8); SYSCLK stands for HCLK (AHB /1).
 */
#include "systick.h"

#include "reg.h"

#include <stdlib.h>

#define CTRL 0x0
#define LOAD 0x4
#define VAL 0x8
#define CALIB 0xC

#define CTRL_ENABLE 1u
#define CTRL_TICKINT 2u
#define CTRL_CLKSOURCE 4u
#define CTRL_COUNTFLAG (1u << 16)

struct systick {
    struct vb *vb;
    struct nvic *n;
    uint32_t ctrl, load;
    uint32_t val;       /* counter when stopped, or at base_ns when running */
    uint64_t base_ns;
    uint32_t hz;
    unsigned gen;
    struct slot {
        struct systick *s;
        unsigned gen;
    } slot[16]; /* one per scheduled callback, so stale ones are ignored */
};

static uint32_t tick_hz(const struct systick *s)
{
    uint32_t hz = vb_sysclk_hz(s->vb);
    return (s->ctrl & CTRL_CLKSOURCE) ? hz : hz / 8;
}

static uint64_t ticks_since(const struct systick *s, uint64_t t)
{
    return (uint64_t)((unsigned __int128)(t - s->base_ns) * s->hz / 1000000000u);
}

/* Counter value now: from val it counts down to 0, then reloads LOAD on
 * the next tick (PM0056 4.5 "the counter reloads ... on the next clock"). */
static uint32_t current(const struct systick *s)
{
    if (!(s->ctrl & CTRL_ENABLE))
        return s->val;
    uint64_t k = ticks_since(s, vb_now_ns(s->vb));
    if (k <= s->val)
        return s->val - (uint32_t)k;
    if (!s->load)
        return 0;
    return s->load - (uint32_t)((k - s->val - 1) % ((uint64_t)s->load + 1));
}

static void wrap(void *p);

/* Schedules the next 1 -> 0 transition. */
static void schedule(struct systick *s)
{
    s->gen++;
    if (!(s->ctrl & CTRL_ENABLE))
        return;
    uint64_t k; /* ticks from base until the counter is 0 next time */
    if (s->val > 0)
        k = s->val;
    else if (s->load > 0)
        k = (uint64_t)s->load + 1;
    else
        return; /* LOAD = 0: "has no effect", the counter stays at 0 */
    uint64_t dt = (uint64_t)(((unsigned __int128)k * 1000000000u + s->hz - 1) / s->hz);
    struct slot *sl = &s->slot[s->gen % 16];
    sl->s = s;
    sl->gen = s->gen;
    vb_at(s->vb, s->base_ns + dt, wrap, sl);
}

static void rebase(struct systick *s)
{
    s->val = current(s);
    s->base_ns = vb_now_ns(s->vb);
    s->hz = tick_hz(s);
    if (!s->hz)
        s->hz = 1;
}

static void wrap(void *p)
{
    struct slot *sl = p;
    struct systick *s = sl->s;
    if (sl->gen != s->gen || !(s->ctrl & CTRL_ENABLE))
        return; /* rescheduled or stopped since */
    uint64_t target = s->val > 0 ? s->val : (uint64_t)s->load + 1;
    s->ctrl |= CTRL_COUNTFLAG;
    if (s->ctrl & CTRL_TICKINT)
        nvic_set_pending(s->n, EXC_SYSTICK, true);
    s->val = 0;
    s->base_ns = s->base_ns + (uint64_t)(((unsigned __int128)target * 1000000000u + s->hz - 1) / s->hz);
    s->hz = tick_hz(s) ? tick_hz(s) : 1;
    schedule(s);
}

static uint32_t systick_read(void *model, uint32_t off, unsigned size)
{
    struct systick *s = model;
    uint32_t v;
    switch (off & ~3u) {
    case CTRL:
        v = s->ctrl;
        s->ctrl &= ~CTRL_COUNTFLAG; /* 4.5.1: "returns 1 if timer counted to 0 since last read" */
        break;
    case LOAD: v = s->load; break;
    case VAL: v = current(s); break;
    case CALIB: v = SYSTICK_CALIB; break;
    default: v = 0;
    }
    return reg_get(v, off, size);
}

static void systick_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct systick *s = model;
    switch (off & ~3u) {
    case CTRL: {
        uint32_t v = reg_put(s->ctrl, off, value, size);
        rebase(s);
        s->ctrl = (s->ctrl & CTRL_COUNTFLAG) | (v & 7);
        s->hz = tick_hz(s) ? tick_hz(s) : 1;
        schedule(s);
        break;
    }
    case LOAD:
        /* 4.5.2: RELOAD is 24 bits. */
        s->load = reg_put(s->load, off, value, size) & 0xFFFFFF;
        rebase(s);
        schedule(s);
        break;
    case VAL:
        /* 4.5.3: "a write of any value clears the field to 0, and also
         * clears the COUNTFLAG bit". */
        rebase(s);
        s->val = 0;
        s->ctrl &= ~CTRL_COUNTFLAG;
        schedule(s);
        break;
    case CALIB:
        vb_violation(s->vb, "systick", "PM0056 4.5.4", "write to read-only STK_CALIB");
        break;
    }
}

struct systick *systick_new(struct vb *vb, struct nvic *n)
{
    struct systick *s = calloc(1, sizeof *s);
    s->vb = vb;
    s->n = n;
    vb_mmio(vb, "SysTick", 0xE000E010, 0x10, systick_read, systick_write, s);
    systick_reset(s);
    return s;
}

void systick_reset(struct systick *s)
{
    s->ctrl = 0;
    s->load = 0; /* 4.5: LOAD and VAL are unknown at reset; 0 here */
    s->val = 0;
    s->hz = 1;
    s->gen++;
}

void systick_free(struct systick *s) { free(s); }
