/*
 * rcc.c - reset and clock control, RM0008 chapter 7 (section numbers below
 * are RM0008 rev 21). Oscillators become ready after a virtual delay; the
 * system clock switch follows SW only once the source is ready (7.2.6).
 */
#include "rcc.h"

#include "reg.h"

#include <stdlib.h>

#define CR 0x00
#define CFGR 0x04
#define CIR 0x08
#define APB2RSTR 0x0C
#define APB1RSTR 0x10
#define AHBENR 0x14
#define APB2ENR 0x18
#define APB1ENR 0x1C
#define BDCR 0x20
#define CSR 0x24

#define CR_HSION (1u << 0)
#define CR_HSIRDY (1u << 1)
#define CR_HSEON (1u << 16)
#define CR_HSERDY (1u << 17)
#define CR_HSEBYP (1u << 18)
#define CR_CSSON (1u << 19)
#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)

#define CFGR_PLLSRC (1u << 16)
#define CFGR_PLLXTPRE (1u << 17)
#define CFGR_PLLMUL_MASK (0xFu << 18)
#define CFGR_USBPRE (1u << 22)
#define CFGR_PLL_BITS (CFGR_PLLSRC | CFGR_PLLXTPRE | CFGR_PLLMUL_MASK)

#define BDCR_LSEON (1u << 0)
#define BDCR_LSERDY (1u << 1)
#define BDCR_BDRST (1u << 16)

#define CSR_LSION (1u << 0)
#define CSR_LSIRDY (1u << 1)
#define CSR_RMVF (1u << 24)
#define CSR_PINRSTF (1u << 26)
#define CSR_PORRSTF (1u << 27)
#define CSR_SFTRSTF (1u << 28)
#define CSR_IWDGRSTF (1u << 29)
#define CSR_FLAGS 0xFC000000u

#define HSI_HZ 8000000u

enum osc { OSC_HSI, OSC_HSE, OSC_PLL, OSC_LSI, OSC_LSE, OSC_N };

struct rcc {
    struct vb *vb;
    uint32_t cr, cfgr, cir, apb2rstr, apb1rstr, ahbenr, apb2enr, apb1enr, bdcr, csr;
    uint32_t hclk; /* cached: the board asks for it at every time query */
    uint32_t hse_hz; /* 0: no crystal, HSERDY never sets */
    unsigned gen[OSC_N]; /* cancels pending "ready" callbacks */
    struct pend {
        struct rcc *r;
        enum osc o;
        unsigned gen;
    } pend[OSC_N];
    void (*reset_fn)(void *, enum vb_clk);
    void *reset_ctx;
    bool (*dbp_fn)(void *);
    void *dbp_ctx;
    void (*clock_fn)(void *, uint32_t);
    void *clock_ctx;
};

static uint32_t rcc_read(void *model, uint32_t off, unsigned size);
static void recompute(struct rcc *r);
static void rcc_write(void *model, uint32_t off, uint32_t value, unsigned size);

struct rcc *rcc_new(struct vb *vb)
{
    struct rcc *r = calloc(1, sizeof *r);
    r->vb = vb;
    r->hse_hz = 8000000u;
    vb_mmio(vb, "RCC", 0x40021000, 0x400, rcc_read, rcc_write, r);
    rcc_reset(r, RCC_RESET_POWER_ON);
    return r;
}

void rcc_free(struct rcc *r) { free(r); }

void rcc_set_hse_hz(struct rcc *r, uint32_t hz) { r->hse_hz = hz; }

void rcc_set_reset_hook(struct rcc *r, void (*fn)(void *, enum vb_clk), void *ctx)
{
    r->reset_fn = fn;
    r->reset_ctx = ctx;
}

void rcc_set_dbp_hook(struct rcc *r, bool (*fn)(void *), void *ctx)
{
    r->dbp_fn = fn;
    r->dbp_ctx = ctx;
}

void rcc_set_clock_hook(struct rcc *r, void (*fn)(void *, uint32_t), void *ctx)
{
    r->clock_fn = fn;
    r->clock_ctx = ctx;
}

void rcc_reset(struct rcc *r, enum rcc_reset_kind kind)
{
    for (int i = 0; i < OSC_N; i++)
        r->gen[i]++;
    /* 7.3.1: CR reset value 0x000X XX83: HSION, HSIRDY, HSITRIM = 16;
     * HSICAL is a factory value (0x5A here). */
    r->cr = 0x5A83;
    r->cfgr = r->cir = r->apb2rstr = r->apb1rstr = 0;
    r->ahbenr = 0x14; /* 7.3.6: SRAMEN and FLITFEN set at reset */
    r->apb2enr = r->apb1enr = 0;
    /* 7.3.10: CSR is reset by power reset only; flags accumulate. */
    uint32_t flags = r->csr & CSR_FLAGS;
    switch (kind) {
    case RCC_RESET_POWER_ON:
        r->bdcr = 0; /* backup domain lost with the power (no VBAT modelled) */
        flags = CSR_PORRSTF | CSR_PINRSTF;
        break;
    /* 7.1.2: internal reset sources drive the NRST pin low through the
     * pulse generator, so PINRSTF accompanies SFTRSTF and IWDGRSTF. */
    case RCC_RESET_PIN: flags |= CSR_PINRSTF; break;
    case RCC_RESET_SOFTWARE: flags |= CSR_SFTRSTF | CSR_PINRSTF; break;
    case RCC_RESET_IWDG: flags |= CSR_IWDGRSTF | CSR_PINRSTF; break;
    }
    r->csr = flags;
    recompute(r);
    if (kind != RCC_RESET_POWER_ON && (r->bdcr & BDCR_LSEON))
        r->bdcr |= BDCR_LSERDY; /* LSE keeps running in the backup domain */
}

/* ---- Clock tree ----------------------------------------------------------- */
static uint32_t pll_hz(const struct rcc *r)
{
    uint32_t in = (r->cfgr & CFGR_PLLSRC) ? r->hse_hz / ((r->cfgr & CFGR_PLLXTPRE) ? 2 : 1) : HSI_HZ / 2;
    uint32_t mul = ((r->cfgr & CFGR_PLLMUL_MASK) >> 18) + 2;
    if (mul > 16)
        mul = 16; /* 7.3.2: 1111 = x16 */
    return in * mul;
}

uint32_t rcc_sysclk_hz(const struct rcc *r)
{
    switch ((r->cfgr >> 2) & 3) { /* SWS */
    case 1: return r->hse_hz;
    case 2: return pll_hz(r);
    default: return HSI_HZ;
    }
}

static uint32_t compute_hclk(const struct rcc *r);
uint32_t rcc_hclk_hz(const struct rcc *r) { return r->hclk; }
static void recompute(struct rcc *r) { r->hclk = compute_hclk(r); }

static uint32_t compute_hclk(const struct rcc *r)
{
    static const unsigned shift[8] = {1, 2, 3, 4, 6, 7, 8, 9};
    uint32_t hpre = (r->cfgr >> 4) & 0xF;
    return (hpre & 8) ? rcc_sysclk_hz(r) >> shift[hpre & 7] : rcc_sysclk_hz(r);
}

uint32_t rcc_pclk1_hz(const struct rcc *r)
{
    uint32_t p = (r->cfgr >> 8) & 7;
    return (p & 4) ? compute_hclk(r) >> ((p & 3) + 1) : compute_hclk(r);
}

static uint32_t pclk2_hz(const struct rcc *r)
{
    uint32_t p = (r->cfgr >> 11) & 7;
    return (p & 4) ? compute_hclk(r) >> ((p & 3) + 1) : compute_hclk(r);
}

/* 7.2.5: USBCLK = PLL / 1.5 (USBPRE = 0) or PLL / 1 (USBPRE = 1). */
uint32_t rcc_usbclk_hz(const struct rcc *r)
{
    if (!(r->cr & CR_PLLRDY) || !(r->apb1enr & (1u << 23)))
        return 0;
    uint32_t pll = pll_hz(r);
    return (r->cfgr & CFGR_USBPRE) ? pll : pll * 2 / 3;
}

bool rcc_clock_enabled(const struct rcc *r, enum vb_clk clk)
{
    switch (clk) {
    case VB_CLK_AFIO: return r->apb2enr & (1u << 0);
    case VB_CLK_GPIOA: return r->apb2enr & (1u << 2);
    case VB_CLK_GPIOB: return r->apb2enr & (1u << 3);
    case VB_CLK_GPIOC: return r->apb2enr & (1u << 4);
    case VB_CLK_GPIOD: return r->apb2enr & (1u << 5);
    case VB_CLK_USB: return r->apb1enr & (1u << 23);
    case VB_CLK_BKP: return r->apb1enr & (1u << 27);
    case VB_CLK_PWR: return r->apb1enr & (1u << 28);
    case VB_CLK_CRC: return r->ahbenr & (1u << 6);
    case VB_CLK_FLITF: return r->ahbenr & (1u << 4);
    }
    return false;
}

static bool osc_ready(const struct rcc *r, unsigned sw)
{
    switch (sw) {
    case 0: return r->cr & CR_HSIRDY;
    case 1: return r->cr & CR_HSERDY;
    case 2: return r->cr & CR_PLLRDY;
    default: return false; /* 11: not allowed */
    }
}

static void check_limits(struct rcc *r)
{
    /* 7.2: maximum frequencies of the F103 (datasheet DS5319 5.3.1). */
    if ((r->cr & CR_PLLON) && pll_hz(r) > 72000000)
        vb_violation(r->vb, "rcc", "RM0008 7.2.3", "PLL output %u Hz exceeds 72 MHz", pll_hz(r));
    if (rcc_pclk1_hz(r) > 36000000)
        vb_violation(r->vb, "rcc", "RM0008 7.2", "APB1 clock %u Hz exceeds 36 MHz", rcc_pclk1_hz(r));
    (void)pclk2_hz;
}

/* 7.2.6 / CFGR.SW: the switch happens once the selected source is ready. */
static void update_sws(struct rcc *r)
{
    uint32_t sw = r->cfgr & 3, sws = (r->cfgr >> 2) & 3;
    if (sw == sws || !osc_ready(r, sw))
        return;
    uint32_t before = rcc_sysclk_hz(r);
    r->cfgr = (r->cfgr & ~0xCu) | (sw << 2);
    recompute(r);
    uint32_t after = rcc_sysclk_hz(r);
    static const char *const names[] = {"HSI", "HSE", "PLL", "?"};
    vb_trace(r->vb, "clock", "SYSCLK %u -> %u Hz (%s)", before, after, names[sw]);
    check_limits(r);
    if (r->clock_fn)
        r->clock_fn(r->clock_ctx, after);
}

static void update_irq(struct rcc *r)
{
    bool on = (r->cir & 0x1F) & ((r->cir >> 8) & 0x1F);
    vb_irq(r->vb, 5, on || (r->cir & 0x80));
}

static void ready(void *p)
{
    struct pend *pd = p;
    struct rcc *r = pd->r;
    if (pd->gen != r->gen[pd->o])
        return;
    switch (pd->o) {
    case OSC_HSI:
        if (r->cr & CR_HSION)
            r->cr |= CR_HSIRDY;
        break;
    case OSC_HSE:
        if (!r->hse_hz) /* no crystal: HSEON stays without HSERDY */
            return;
        if (r->cr & CR_HSEON)
            r->cr |= CR_HSERDY;
        break;
    case OSC_PLL:
        /* A PLL without input never locks (HSE selected, no crystal). */
        if ((r->cfgr & CFGR_PLLSRC) && !(r->cr & CR_HSERDY))
            return;
        if (r->cr & CR_PLLON)
            r->cr |= CR_PLLRDY;
        break;
    case OSC_LSI:
        if (r->csr & CSR_LSION)
            r->csr |= CSR_LSIRDY;
        break;
    case OSC_LSE:
        if (r->bdcr & BDCR_LSEON)
            r->bdcr |= BDCR_LSERDY;
        break;
    default: break;
    }
    /* CIR ready flags (7.3.3): set when ready and the interrupt enabled. */
    static const int cir_bit[OSC_N] = {2, 3, 4, 0, 1};
    if (r->cir & (1u << (cir_bit[pd->o] + 8)))
        r->cir |= 1u << cir_bit[pd->o];
    update_irq(r);
    update_sws(r);
}

static void start(struct rcc *r, enum osc o, uint64_t delay_ns)
{
    r->gen[o]++;
    r->pend[o] = (struct pend){r, o, r->gen[o]};
    vb_at(r->vb, vb_now_ns(r->vb) + delay_ns, ready, &r->pend[o]);
}

static uint32_t rcc_read(void *model, uint32_t off, unsigned size)
{
    struct rcc *r = model;
    uint32_t v;
    switch (off & ~3u) {
    case CR: v = r->cr; break;
    case CFGR: v = r->cfgr; break;
    case CIR: v = r->cir; break;
    case APB2RSTR: v = r->apb2rstr; break;
    case APB1RSTR: v = r->apb1rstr; break;
    case AHBENR: v = r->ahbenr; break;
    case APB2ENR: v = r->apb2enr; break;
    case APB1ENR: v = r->apb1enr; break;
    case BDCR: v = r->bdcr; break;
    case CSR: v = r->csr; break;
    default:
        vb_violation(r->vb, "rcc", "RM0008 7.3.11", "read of reserved offset 0x%02x", off);
        return 0;
    }
    return reg_get(v, off, size);
}

static void write_cr(struct rcc *r, uint32_t v)
{
    uint32_t old = r->cr, sws = (r->cfgr >> 2) & 3;
    bool pll_on_hse = (old & CR_PLLON) && (r->cfgr & CFGR_PLLSRC);
    bool pll_on_hsi = (old & CR_PLLON) && !(r->cfgr & CFGR_PLLSRC);
    /* 7.3.1: HSION "cannot be reset if the HSI is used directly or
     * indirectly as system clock"; same for HSEON and PLLON. */
    if (!(v & CR_HSION) && (sws == 0 || (sws == 2 && pll_on_hsi))) {
        vb_violation(r->vb, "rcc", "RM0008 7.3.1 HSION", "HSI cannot be stopped while it clocks SYSCLK");
        v |= CR_HSION;
    }
    if (!(v & CR_HSEON) && (old & CR_HSEON) && (sws == 1 || (sws == 2 && pll_on_hse))) {
        vb_violation(r->vb, "rcc", "RM0008 7.3.1 HSEON", "HSE cannot be stopped while it clocks SYSCLK");
        v |= CR_HSEON;
    }
    if (!(v & CR_PLLON) && (old & CR_PLLON) && sws == 2) {
        vb_violation(r->vb, "rcc", "RM0008 7.3.1 PLLON", "PLL cannot be stopped while it is SYSCLK");
        v |= CR_PLLON;
    }
    /* HSEBYP "can be written only if the HSE oscillator is disabled". */
    if ((v ^ old) & CR_HSEBYP && (old & CR_HSEON)) {
        vb_violation(r->vb, "rcc", "RM0008 7.3.1 HSEBYP", "HSEBYP changed while HSE is on");
        v = (v & ~CR_HSEBYP) | (old & CR_HSEBYP);
    }
    uint32_t rw = CR_HSION | (0x1Fu << 3) | CR_HSEON | CR_HSEBYP | CR_CSSON | CR_PLLON;
    r->cr = (old & ~rw) | (v & rw);
    if ((r->cr & CR_HSION) && !(old & CR_HSION))
        start(r, OSC_HSI, RCC_HSI_READY_NS);
    if (!(r->cr & CR_HSION)) {
        r->cr &= ~CR_HSIRDY;
        r->gen[OSC_HSI]++;
    }
    if ((r->cr & CR_HSEON) && !(old & CR_HSEON))
        start(r, OSC_HSE, RCC_HSE_READY_NS);
    if (!(r->cr & CR_HSEON)) {
        r->cr &= ~CR_HSERDY;
        r->gen[OSC_HSE]++;
    }
    if ((r->cr & CR_PLLON) && !(old & CR_PLLON)) {
        /* The PLL locks only on a running input. */
        bool src_ok = (r->cfgr & CFGR_PLLSRC) ? (r->cr & CR_HSERDY) : (r->cr & CR_HSIRDY);
        if (!src_ok)
            vb_violation(r->vb, "rcc", "RM0008 7.2.3", "PLL enabled while its input clock is not ready");
        check_limits(r);
        start(r, OSC_PLL, RCC_PLL_READY_NS);
    }
    if (!(r->cr & CR_PLLON)) {
        r->cr &= ~CR_PLLRDY;
        r->gen[OSC_PLL]++;
    }
}

static void write_cfgr(struct rcc *r, uint32_t v)
{
    uint32_t old = r->cfgr;
    /* 7.3.2: PLLMUL, PLLXTPRE, PLLSRC "can be written only when PLL is
     * disabled". */
    if ((v ^ old) & CFGR_PLL_BITS && (r->cr & CR_PLLON)) {
        vb_violation(r->vb, "rcc", "RM0008 7.3.2 PLLMUL/PLLSRC",
                     "PLL configuration changed while the PLL is on (ignored)");
        v = (v & ~CFGR_PLL_BITS) | (old & CFGR_PLL_BITS);
    }
    /* USBPRE "must be valid before enabling the USB clock". */
    if ((v ^ old) & CFGR_USBPRE && (r->apb1enr & (1u << 23)))
        vb_violation(r->vb, "rcc", "RM0008 7.3.2 USBPRE", "USBPRE changed while the USB clock is enabled");
    if ((v & 3) == 3)
        vb_violation(r->vb, "rcc", "RM0008 7.3.2 SW", "SW = 11 is not allowed");
    uint32_t before = rcc_hclk_hz(r);
    r->cfgr = (v & ~0xCu) | (old & 0xCu); /* SWS is read-only */
    recompute(r);
    update_sws(r);
    if (rcc_hclk_hz(r) != before) {
        check_limits(r);
        if (r->clock_fn)
            r->clock_fn(r->clock_ctx, rcc_sysclk_hz(r));
    }
}

static void write_rst(struct rcc *r, uint32_t *reg, uint32_t v, const int *bits, const enum vb_clk *clk,
                      int n)
{
    uint32_t rise = v & ~*reg;
    *reg = v;
    for (int i = 0; i < n; i++)
        if ((rise & (1u << bits[i])) && r->reset_fn)
            r->reset_fn(r->reset_ctx, clk[i]);
}

static void rcc_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct rcc *r = model;
    uint32_t reg = off & ~3u, v;
    switch (reg) {
    case CR:
        write_cr(r, reg_put(r->cr, off, value, size));
        break;
    case CFGR:
        write_cfgr(r, reg_put(r->cfgr, off, value, size));
        break;
    case CIR: {
        v = reg_put(r->cir & 0x1F00, off, value, size);
        uint32_t clear = (v >> 16) & 0x9F; /* LSIRDYC..PLLRDYC, CSSC (bit 23) */
        r->cir = (r->cir & ~0x1F00u & ~clear) | (v & 0x1F00);
        update_irq(r);
        break;
    }
    case APB2RSTR: {
        static const int bits[] = {0, 2, 3, 4, 5};
        static const enum vb_clk clk[] = {VB_CLK_AFIO, VB_CLK_GPIOA, VB_CLK_GPIOB, VB_CLK_GPIOC,
                                          VB_CLK_GPIOD};
        write_rst(r, &r->apb2rstr, reg_put(r->apb2rstr, off, value, size), bits, clk, 5);
        break;
    }
    case APB1RSTR: {
        static const int bits[] = {23, 28};
        static const enum vb_clk clk[] = {VB_CLK_USB, VB_CLK_PWR};
        write_rst(r, &r->apb1rstr, reg_put(r->apb1rstr, off, value, size), bits, clk, 2);
        break;
    }
    case AHBENR: r->ahbenr = reg_put(r->ahbenr, off, value, size) & 0x557; break;
    case APB2ENR: r->apb2enr = reg_put(r->apb2enr, off, value, size) & 0x3FFFFD; break;
    case APB1ENR: {
        uint32_t before = rcc_usbclk_hz(r);
        r->apb1enr = reg_put(r->apb1enr, off, value, size) & 0x3EFEC9FF;
        if (!before && (r->apb1enr & (1u << 23)) && (r->cr & CR_PLLRDY)) {
            uint32_t usb = rcc_usbclk_hz(r);
            /* 7.2.5: "the USB peripheral needs a 48 MHz clock". */
            if (usb != 48000000)
                vb_violation(r->vb, "rcc", "RM0008 7.2.5", "USB clock enabled at %u Hz, not 48 MHz", usb);
        }
        break;
    }
    case BDCR: {
        v = reg_put(r->bdcr, off, value, size);
        /* 5.4.1/7.3.9: BDCR is write-protected until PWR_CR.DBP is set. */
        if (r->dbp_fn && !r->dbp_fn(r->dbp_ctx)) {
            vb_violation(r->vb, "rcc", "RM0008 5.4.1 DBP", "write to RCC_BDCR while backup domain is write-protected");
            break;
        }
        uint32_t old = r->bdcr;
        r->bdcr = (old & BDCR_LSERDY) | (v & 0x18305u);
        if ((r->bdcr & BDCR_BDRST) && !(old & BDCR_BDRST)) {
            if (r->reset_fn)
                r->reset_fn(r->reset_ctx, VB_CLK_BKP);
            r->bdcr = BDCR_BDRST; /* 7.3.9: resets the whole backup domain */
        }
        if ((r->bdcr & BDCR_LSEON) && !(old & BDCR_LSEON))
            start(r, OSC_LSE, RCC_LSE_READY_NS);
        if (!(r->bdcr & BDCR_LSEON))
            r->bdcr &= ~BDCR_LSERDY;
        break;
    }
    case CSR: {
        v = reg_put(r->csr, off, value, size);
        uint32_t old = r->csr;
        r->csr = (old & (CSR_LSIRDY | CSR_FLAGS)) | (v & CSR_LSION);
        if (v & CSR_RMVF) /* 7.3.10: RMVF clears the reset flags */
            r->csr &= ~CSR_FLAGS;
        if ((r->csr & CSR_LSION) && !(old & CSR_LSION))
            start(r, OSC_LSI, RCC_LSI_READY_NS);
        if (!(r->csr & CSR_LSION))
            r->csr &= ~CSR_LSIRDY;
        break;
    }
    default:
        vb_violation(r->vb, "rcc", "RM0008 7.3.11", "write of reserved offset 0x%02x", off);
    }
}
