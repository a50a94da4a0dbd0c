/*
 * gpio.c - GPIO ports A..D, RM0008 chapter 9. Each output change is one
 * event line ("gpio PC13=0"); inputs come from --pin or the pull set by
 * CNF=10 and ODR (9.1.1 "Input configuration": ODR selects pull-up/down).
 */
#include "gpio.h"

#include "reg.h"

#include <stdlib.h>

#define CRL 0x00
#define CRH 0x04
#define IDR 0x08
#define ODR 0x0C
#define BSRR 0x10
#define BRR 0x14
#define LCKR 0x18

struct port {
    uint32_t cr[2], odr, lckr;
    bool locked;
    int lock_stage;
    int8_t ext[16];    /* external level, -1 none */
    int8_t shown[16];  /* last driven level reported */
};

struct gpio {
    struct vb *vb;
    struct port p[GPIO_NPORTS];
    bool quiet;
};

static unsigned cfg(const struct port *p, unsigned pin) { return (p->cr[pin / 8] >> (4 * (pin % 8))) & 0xF; }

static int driven(const struct port *p, unsigned pin)
{
    unsigned c = cfg(p, pin), mode = c & 3, cnf = c >> 2;
    if (mode == 0 || cnf >= 2) /* input, or alternate function (driven by a peripheral) */
        return -1;
    int level = (p->odr >> pin) & 1;
    if (cnf == 1 && level) /* open-drain releases the pin for a 1 */
        return -1;
    return level;
}

/* 9.1.1: what the input data register samples. */
static int sampled(const struct port *p, unsigned pin)
{
    unsigned c = cfg(p, pin), mode = c & 3, cnf = c >> 2;
    int d = driven(p, pin);
    if (d >= 0)
        return d;
    if (mode == 0 && cnf == 0) /* analog: Schmitt trigger off, reads 0 */
        return 0;
    if (p->ext[pin] >= 0)
        return p->ext[pin];
    if (mode == 0 && cnf == 2) /* weak pull-up (ODR=1) or pull-down (ODR=0) */
        return (p->odr >> pin) & 1;
    return 0; /* floating and nothing attached */
}

static void report(struct gpio *g, int port)
{
    struct port *p = &g->p[port];
    for (unsigned pin = 0; pin < 16; pin++) {
        int d = driven(p, pin);
        if (d == p->shown[pin])
            continue;
        p->shown[pin] = (int8_t)d;
        if (!g->quiet) {
            if (d >= 0)
                vb_event(g->vb, "gpio P%c%u=%d", 'A' + port, pin, d);
            else
                vb_event(g->vb, "gpio P%c%u=z", 'A' + port, pin);
        }
    }
}

static bool clocked(struct gpio *g, int port, uint32_t off, const char *what)
{
    if (vb_clock_enabled(g->vb, (enum vb_clk)(VB_CLK_GPIOA + port)))
        return true;
    vb_violation(g->vb, "gpio", "RM0008 7.3.7 IOPxEN", "GPIO%c %s at 0x%02x with the port clock off",
                 'A' + port, what, off);
    return false;
}

static uint32_t gpio_read(void *model, uint32_t off, unsigned size)
{
    struct gpio *g = model;
    int port = (int)(off / 0x400);
    off %= 0x400;
    struct port *p = &g->p[port];
    if (!clocked(g, port, off, "read"))
        return 0;
    uint32_t v = 0;
    switch (off & ~3u) {
    case CRL: v = p->cr[0]; break;
    case CRH: v = p->cr[1]; break;
    case IDR:
        for (unsigned pin = 0; pin < 16; pin++)
            v |= (uint32_t)sampled(p, pin) << pin;
        break;
    case ODR: v = p->odr; break;
    case BSRR: case BRR: v = 0; break; /* write-only */
    case LCKR:
        v = p->lckr & 0xFFFF;
        /* 9.2.7: after the write sequence, read 0 then read 1 confirms. */
        if (p->lock_stage == 3) {
            p->lock_stage = 4;
        } else if (p->locked) {
            v |= 1u << 16;
        }
        break;
    default:
        vb_violation(g->vb, "gpio", "RM0008 9.5", "read of reserved GPIO offset 0x%02x", off);
        return 0;
    }
    return reg_get(v, off, size);
}

static void lckr_write(struct gpio *g, struct port *p, uint32_t v)
{
    if (p->locked)
        return; /* frozen until reset */
    bool k = v & (1u << 16);
    uint32_t bits = v & 0xFFFF;
    switch (p->lock_stage) {
    case 0:
        p->lock_stage = k ? 1 : 0;
        break;
    case 1:
        p->lock_stage = (!k && bits == (p->lckr & 0xFFFF)) ? 2 : 0;
        break;
    case 2:
        if (k && bits == (p->lckr & 0xFFFF)) {
            p->locked = true; /* RM0008 9.2.7: LCKK = 1 after the sequence */
            p->lock_stage = 3;
        } else {
            p->lock_stage = 0;
        }
        break;
    }
    (void)g;
    p->lckr = bits;
}

static void cr_write(struct gpio *g, struct port *p, int half, uint32_t v)
{
    if (p->locked) {
        /* 9.2.7: locked pins keep their configuration until reset. */
        uint32_t keep = 0;
        for (unsigned i = 0; i < 8; i++)
            if (p->lckr & (1u << (half * 8 + i)))
                keep |= 0xFu << (4 * i);
        if ((v ^ p->cr[half]) & keep)
            vb_violation(g->vb, "gpio", "RM0008 9.2.7 LCKR", "configuration of a locked pin changed (ignored)");
        v = (v & ~keep) | (p->cr[half] & keep);
    }
    p->cr[half] = v;
}

static void gpio_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct gpio *g = model;
    int port = (int)(off / 0x400);
    off %= 0x400;
    struct port *p = &g->p[port];
    if (!clocked(g, port, off, "write"))
        return;
    switch (off & ~3u) {
    case CRL: cr_write(g, p, 0, reg_put(p->cr[0], off, value, size)); break;
    case CRH: cr_write(g, p, 1, reg_put(p->cr[1], off, value, size)); break;
    case IDR:
        vb_violation(g->vb, "gpio", "RM0008 9.2.3", "write to read-only GPIO%c_IDR", 'A' + port);
        break;
    case ODR: p->odr = reg_put(p->odr, off, value, size) & 0xFFFF; break;
    case BSRR: {
        /* 9.2.5: BS wins over BR when both are set for a pin. */
        uint32_t v = reg_put(0, off, value, size);
        p->odr = (p->odr & ~(v >> 16)) | (v & 0xFFFF);
        break;
    }
    case BRR: p->odr &= ~(reg_put(0, off, value, size) & 0xFFFF); break;
    case LCKR: lckr_write(g, p, reg_put(p->lckr, off, value, size)); break;
    default:
        vb_violation(g->vb, "gpio", "RM0008 9.5", "write of reserved GPIO offset 0x%02x", off);
        return;
    }
    report(g, port);
}

static void port_reset(struct port *p)
{
    p->cr[0] = p->cr[1] = 0x44444444; /* 9.2.1: floating inputs */
    p->odr = 0;
    p->lckr = 0;
    p->locked = false;
    p->lock_stage = 0;
    for (int i = 0; i < 16; i++)
        p->shown[i] = -1;
}

struct gpio *gpio_new(struct vb *vb)
{
    struct gpio *g = calloc(1, sizeof *g);
    g->vb = vb;
    for (int i = 0; i < GPIO_NPORTS; i++) {
        for (int pin = 0; pin < 16; pin++)
            g->p[i].ext[pin] = -1;
        port_reset(&g->p[i]);
    }
    vb_mmio(vb, "GPIO", 0x40010800, 0x400 * GPIO_NPORTS, gpio_read, gpio_write, g);
    return g;
}

void gpio_reset(struct gpio *g)
{
    for (int i = 0; i < GPIO_NPORTS; i++)
        port_reset(&g->p[i]);
}

void gpio_reset_port(struct gpio *g, char port)
{
    if (port >= 'A' && port < 'A' + GPIO_NPORTS) {
        port_reset(&g->p[port - 'A']);
        report(g, port - 'A');
    }
}

void gpio_free(struct gpio *g) { free(g); }

void gpio_set_input(struct gpio *g, char port, unsigned pin, int level)
{
    if (port >= 'A' && port < 'A' + GPIO_NPORTS && pin < 16)
        g->p[port - 'A'].ext[pin] = (int8_t)(level < 0 ? -1 : level != 0);
}

void gpio_set_quiet(struct gpio *g, bool quiet) { g->quiet = quiet; }

int gpio_pin_driven(const struct gpio *g, char port, unsigned pin)
{
    if (port < 'A' || port >= 'A' + GPIO_NPORTS || pin > 15)
        return -1;
    return driven(&g->p[port - 'A'], pin);
}
