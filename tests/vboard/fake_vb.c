#include "fake_vb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct window {
    const char *name;
    uint32_t base, len;
    vb_read_fn rd;
    vb_write_fn wr;
    void *model;
};

struct timer {
    uint64_t t;
    void (*fn)(void *);
    void *model;
};

struct vb {
    struct window win[32];
    int nwin;
    struct timer timers[256];
    int ntimers;
    uint64_t now;
};

static struct vb the_board;
struct vb *fake_vb = &the_board;

int fake_violations;
char fake_last_violation[512];
int fake_events;
char fake_last_event[512];
int fake_system_resets;
bool fake_irq_level[68];
uint64_t fake_stall_until_ns;
bool fake_clock_on[16];
uint32_t fake_sysclk;
uint32_t fake_usbclk;
int fake_pin[5][16];
bool fake_usb_pd;
bool fake_pullup;
int fake_power_cuts;

void fake_reset(void)
{
    memset(&the_board, 0, sizeof the_board);
    fake_violations = fake_events = fake_system_resets = fake_power_cuts = 0;
    fake_last_violation[0] = fake_last_event[0] = 0;
    memset(fake_irq_level, 0, sizeof fake_irq_level);
    fake_stall_until_ns = 0;
    for (int i = 0; i < 16; i++)
        fake_clock_on[i] = true;
    fake_sysclk = 72000000;
    fake_usbclk = 48000000;
    for (int p = 0; p < 5; p++)
        for (int i = 0; i < 16; i++)
            fake_pin[p][i] = -1;
    fake_usb_pd = false;
    fake_pullup = true;
}

__attribute__((constructor)) static void fake_init(void) { fake_reset(); }

void vb_mmio(struct vb *vb, const char *name, uint32_t base, uint32_t len, vb_read_fn rd,
             vb_write_fn wr, void *model)
{
    if (vb->nwin == 32) {
        fprintf(stderr, "fake_vb: too many windows\n");
        abort();
    }
    vb->win[vb->nwin++] = (struct window){name, base, len, rd, wr, model};
}

static struct window *find(uint32_t addr)
{
    for (int i = the_board.nwin - 1; i >= 0; i--) {
        struct window *w = &the_board.win[i];
        if (addr >= w->base && addr - w->base < w->len)
            return w;
    }
    return NULL;
}

bool fake_mapped(uint32_t addr) { return find(addr) != NULL; }

uint32_t fake_read(uint32_t addr, unsigned size)
{
    struct window *w = find(addr);
    if (!w) {
        fprintf(stderr, "fake_vb: read of unmapped 0x%08x\n", addr);
        abort();
    }
    return w->rd(w->model, addr - w->base, size);
}

void fake_write(uint32_t addr, uint32_t value, unsigned size)
{
    struct window *w = find(addr);
    if (!w) {
        fprintf(stderr, "fake_vb: write of unmapped 0x%08x\n", addr);
        abort();
    }
    w->wr(w->model, addr - w->base, value, size);
}

uint32_t fake_read32(uint32_t addr) { return fake_read(addr, 4); }
void fake_write32(uint32_t addr, uint32_t value) { fake_write(addr, value, 4); }

uint64_t vb_now_ns(const struct vb *vb) { return vb->now; }

void vb_at(struct vb *vb, uint64_t t_ns, void (*fn)(void *), void *model)
{
    if (vb->ntimers == 256) {
        fprintf(stderr, "fake_vb: too many timers\n");
        abort();
    }
    vb->timers[vb->ntimers++] = (struct timer){t_ns, fn, model};
}

void fake_advance_ns(uint64_t ns)
{
    uint64_t end = the_board.now + ns;
    for (;;) {
        int best = -1;
        for (int i = 0; i < the_board.ntimers; i++)
            if (the_board.timers[i].t <= end &&
                (best < 0 || the_board.timers[i].t < the_board.timers[best].t))
                best = i;
        if (best < 0)
            break;
        struct timer t = the_board.timers[best];
        the_board.timers[best] = the_board.timers[--the_board.ntimers];
        if (t.t > the_board.now)
            the_board.now = t.t;
        t.fn(t.model);
    }
    the_board.now = end;
}

void vb_flash_stall_until(struct vb *vb, uint64_t t_ns)
{
    (void)vb;
    if (t_ns > fake_stall_until_ns)
        fake_stall_until_ns = t_ns;
}

void vb_irq(struct vb *vb, unsigned irq, bool level)
{
    (void)vb;
    if (irq < 68)
        fake_irq_level[irq] = level;
}

bool vb_clock_enabled(const struct vb *vb, enum vb_clk clk)
{
    (void)vb;
    return fake_clock_on[clk];
}

uint32_t vb_sysclk_hz(const struct vb *vb)
{
    (void)vb;
    return fake_sysclk;
}

uint32_t vb_usbclk_hz(const struct vb *vb)
{
    (void)vb;
    return fake_usbclk;
}

int vb_pin_driven(const struct vb *vb, char port, unsigned pin)
{
    (void)vb;
    return fake_pin[port - 'A'][pin & 15];
}

bool vb_usb_powered_down(const struct vb *vb)
{
    (void)vb;
    return fake_usb_pd;
}

bool vb_dplus_pulled_up(const struct vb *vb)
{
    (void)vb;
    return fake_pullup;
}

void vb_power_cut(struct vb *vb)
{
    (void)vb;
    fake_power_cuts++;
}

void vb_system_reset(struct vb *vb, const char *why)
{
    (void)vb;
    (void)why;
    fake_system_resets++;
}

void vb_violation(struct vb *vb, const char *model, const char *rule, const char *fmt, ...)
{
    (void)vb;
    va_list ap;
    int n = snprintf(fake_last_violation, sizeof fake_last_violation, "%s: %s: ", model, rule);
    va_start(ap, fmt);
    vsnprintf(fake_last_violation + n, sizeof fake_last_violation - (size_t)n, fmt, ap);
    va_end(ap);
    fake_violations++;
}

void vb_event(struct vb *vb, const char *fmt, ...)
{
    (void)vb;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fake_last_event, sizeof fake_last_event, fmt, ap);
    va_end(ap);
    fake_events++;
}

void vb_trace(struct vb *vb, const char *category, const char *fmt, ...)
{
    (void)vb;
    (void)category;
    (void)fmt;
}
