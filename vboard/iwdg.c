/*
 * iwdg.c - independent watchdog, RM0008 19.3/19.4: KR keys 0xCCCC (start),
 * 0xAAAA (reload), 0x5555 (unlock PR/RLR); PR divider 4..256, RLR 12 bits;
 * reaching 0 resets the system with RCC_CSR.IWDGRSTF. Timeout (table 96):
 * (RLR + 1) * divider / 40 kHz, e.g. 409.6 ms for PR = 0, RLR = 0xFFF.
 */
#include "iwdg.h"

#include "reg.h"

#include <stdlib.h>

#define KR 0x0
#define PR 0x4
#define RLR 0x8
#define SR 0xC

#define PVU_NS(w) (5ull * 1000000000ull / (w)->lsi_hz) /* "up to 5 RC 40 kHz cycles" */

struct iwdg {
    struct vb *vb;
    bool running, unlocked;
    uint32_t pr, rlr;
    uint32_t lsi_hz;
    uint64_t pvu_until, rvu_until;
    uint64_t deadline; /* when the down-counter reaches 0 */
    bool armed;        /* an expiry event is queued at armed_at */
    uint64_t armed_at;
};

bool iwdg_running(const struct iwdg *w) { return w->running; }

static void expire(void *p);

/* Firmware reloads the counter constantly, so at most one event is queued:
 * when it fires before the current deadline it re-arms for that deadline. */
static void arm(struct iwdg *w)
{
    if (w->armed && w->armed_at <= w->deadline)
        return;
    w->armed = true;
    w->armed_at = w->deadline;
    vb_at(w->vb, w->deadline, expire, w);
}

static void expire(void *p)
{
    struct iwdg *w = p;
    if (vb_now_ns(w->vb) >= w->armed_at)
        w->armed = false; /* the event for armed_at (an earlier extra one leaves it) */
    if (!w->running)
        return;
    if (vb_now_ns(w->vb) < w->deadline) {
        arm(w);
        return;
    }
    vb_system_reset(w->vb, "IWDG");
}

static void reload(struct iwdg *w)
{
    unsigned div = 4u << (w->pr > 6 ? 6 : w->pr);
    uint64_t ns = ((uint64_t)w->rlr + 1) * div * 1000000000ull / w->lsi_hz;
    w->deadline = vb_now_ns(w->vb) + ns;
    arm(w);
}

static uint32_t iwdg_read(void *model, uint32_t off, unsigned size)
{
    struct iwdg *w = model;
    uint64_t now = vb_now_ns(w->vb);
    uint32_t v = 0;
    switch (off & ~3u) {
    case KR: v = 0; break; /* write-only */
    case PR: v = w->pr; break;
    case RLR: v = w->rlr; break;
    case SR: v = (now < w->pvu_until ? 1u : 0) | (now < w->rvu_until ? 2u : 0); break;
    }
    return reg_get(v, off, size);
}

static void iwdg_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct iwdg *w = model;
    uint64_t now = vb_now_ns(w->vb);
    switch (off & ~3u) {
    case KR:
        switch (value & 0xFFFF) {
        case 0x5555: w->unlocked = true; return;
        case 0xAAAA:
            w->unlocked = false;
            if (w->running)
                reload(w);
            return;
        case 0xCCCC:
            w->unlocked = false;
            if (!w->running) {
                w->running = true; /* 19.3.1: "the IWDG starts ... cannot be stopped" */
                vb_trace(w->vb, "clock", "iwdg started");
            }
            reload(w);
            return;
        default: w->unlocked = false; return;
        }
    case PR: case RLR:
        /* 19.4.1: PR and RLR are write-protected until 0x5555 is in KR. */
        if (!w->unlocked) {
            vb_violation(w->vb, "iwdg", "RM0008 19.3.2", "IWDG_%s write without 0x5555 in KR (ignored)",
                         (off & ~3u) == PR ? "PR" : "RLR");
            return;
        }
        if ((off & ~3u) == PR) {
            w->pr = reg_put(w->pr, off, value, size) & 7;
            w->pvu_until = now + PVU_NS(w);
        } else {
            w->rlr = reg_put(w->rlr, off, value, size) & 0xFFF;
            w->rvu_until = now + PVU_NS(w);
        }
        return;
    case SR:
        vb_violation(w->vb, "iwdg", "RM0008 19.4.4", "write to read-only IWDG_SR");
        return;
    }
}

struct iwdg *iwdg_new(struct vb *vb, bool hw)
{
    struct iwdg *w = calloc(1, sizeof *w);
    w->lsi_hz = IWDG_LSI_HZ;
    w->vb = vb;
    vb_mmio(vb, "IWDG", 0x40003000, 0x400, iwdg_read, iwdg_write, w);
    iwdg_reset(w, hw);
    return w;
}

void iwdg_reset(struct iwdg *w, bool hw)
{
    w->unlocked = false;
    w->pr = 0;
    w->rlr = 0xFFF;
    w->pvu_until = w->rvu_until = 0;
    w->running = hw;
    if (hw)
        reload(w);
}

void iwdg_set_lsi_hz(struct iwdg *w, uint32_t hz)
{
    w->lsi_hz = hz;
    if (w->running) /* a hardware watchdog started at reset: its period */
        reload(w);
}

void iwdg_free(struct iwdg *w) { free(w); }
