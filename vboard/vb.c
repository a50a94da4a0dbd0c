/*
 * vb.c - the board: MMIO dispatch, scheduler and virtual time, pacing
 * against the wall clock, event/violation/trace output, resets, and the
 * wiring of the models (which pin pulls D+ up on which board).
 */
#include "board.h"

#include "afio.h"
#include "bkp.h"
#include "crc.h"
#include "dbgmcu.h"
#include "dwt.h"
#include "flash.h"
#include "gpio.h"
#include "iwdg.h"
#include "nvic.h"
#include "pwr.h"
#include "rcc.h"
#include "scb.h"
#include "systick.h"
#include "usb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile int vb_signal_quit, vb_signal_reset;

/* ---- Clock ---------------------------------------------------------------- */
uint64_t vb_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t cpu_hz(const struct vb *vb)
{
    uint32_t hz = rcc_hclk_hz(vb->rcc);
    return hz ? hz : 8000000;
}

uint64_t vb_now_ns(const struct vb *vb)
{
    uint64_t n = m3_slice_icount(vb->cpu);
    if (n <= vb->slice_folded)
        return vb->now_ns;
    return vb->now_ns + ((n - vb->slice_folded) * 1000000000ull + vb->cyc_frac) / vb->slice_hz;
}

static void fold_cycles(struct vb *vb, uint64_t n)
{
    uint64_t hz = vb->slice_hz, num = n * 1000000000ull + vb->cyc_frac;
    vb->now_ns += num / hz;
    vb->cyc_frac = num % hz;
}

/* Folds the instructions of a finished slice into now_ns (cpu.c calls it
 * as soon as uc_emu_start returns). */
void vb_account_cycles(struct vb *vb, uint64_t n)
{
    fold_cycles(vb, n - vb->slice_folded);
    vb->slice_folded = 0;
}

/* ---- Output ---------------------------------------------------------------- */
static void stamp(const struct vb *vb, FILE *f)
{
    uint64_t t = vb_now_ns(vb) / 1000;
    fprintf(f, "[%4llu.%06llu] ", (unsigned long long)(t / 1000000), (unsigned long long)(t % 1000000));
}

void vb_event(struct vb *vb, const char *fmt, ...)
{
    va_list ap;
    stamp(vb, stdout);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

const char *const vb_trace_names[VB_TRACE_CATEGORIES] = {"usb",   "flash", "mmio", "irq",
                                                         "usbip", "cpu",   "clock"};

void vb_trace(struct vb *vb, const char *category, const char *fmt, ...)
{
    unsigned bit = 0;
    for (unsigned i = 0; i < VB_TRACE_CATEGORIES; i++)
        if (!strcmp(category, vb_trace_names[i]))
            bit = 1u << i;
    if (!(vb->opt.trace & bit))
        return;
    va_list ap;
    stamp(vb, stdout);
    fprintf(stdout, "%s: ", category);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* Each distinct violation (model, rule and message) is printed once: a
 * polling loop that breaks a rule would otherwise print it at every pass.
 * Repeats are counted and summed up when the run ends (vb_report_repeats). */
static bool first_time(struct vb *vb, const char *model, const char *rule, const char *msg)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the three strings */
    for (const char *parts[] = {model, rule, msg}, **p = parts; p < parts + 3; p++) {
        for (const char *c = *p; *c; c++)
            h = (h ^ (uint8_t)*c) * 1099511628211ull;
        h = (h ^ 0xFF) * 1099511628211ull;
    }
    for (unsigned i = 0; i < vb->nviol_seen; i++)
        if (vb->viol_seen[i] == h) {
            vb->viol_repeats++;
            return false;
        }
    if (vb->nviol_seen < sizeof vb->viol_seen / sizeof *vb->viol_seen)
        vb->viol_seen[vb->nviol_seen++] = h;
    return true;
}

void vb_violation(struct vb *vb, const char *model, const char *rule, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vb->violations++;
    /* After a --strict stop nothing more is printed: the run is over. */
    if ((vb->opt.strict && vb->quit) || !first_time(vb, model, rule, msg))
        return;
    stamp(vb, stdout);
    fprintf(stdout, "VIOLATION %s (%s): %s [in the block at PC 0x%08x]\n", model, rule, msg,
            m3_pc(vb->cpu));
    if (vb->opt.strict && !vb->quit) {
        stamp(vb, stdout);
        fprintf(stdout, "--strict: stopping on the violation above (exit status 3)\n");
        vb->quit = true;
        vb->exit_status = 3;
        vb_kick(vb);
        m3_stop_now(vb->cpu);
    }
    fflush(stdout);
}

void vb_report_repeats(struct vb *vb)
{
    if (vb->viol_repeats)
        vb_event(vb, "violations: %llu in all, %llu repeats of the %u above not printed",
                 (unsigned long long)vb->violations, (unsigned long long)vb->viol_repeats,
                 vb->nviol_seen);
}

/* ---- MMIO dispatch -------------------------------------------------------- */
void vb_mmio(struct vb *vb, const char *name, uint32_t base, uint32_t len, vb_read_fn rd,
             vb_write_fn wr, void *model)
{
    if (vb->nwin == (int)(sizeof vb->win / sizeof *vb->win)) {
        fprintf(stderr, "vboard: too many MMIO windows\n");
        abort();
    }
    int i = vb->nwin++;
    while (i > 0 && vb->win[i - 1].base > base) {
        vb->win[i] = vb->win[i - 1];
        i--;
    }
    vb->win[i] = (struct vb_window){name, base, len, rd, wr, model};
    vb->last_win = NULL;
}

const struct vb_window *vb_find_window(struct vb *vb, uint32_t addr)
{
    const struct vb_window *w = vb->last_win;
    if (w && addr - w->base < w->len)
        return w;
    int lo = 0, hi = vb->nwin - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        w = &vb->win[mid];
        if (addr < w->base)
            hi = mid - 1;
        else if (addr - w->base >= w->len)
            lo = mid + 1;
        else
            return vb->last_win = w;
    }
    return NULL;
}

static void unmodelled(struct vb *vb, const char *what, uint32_t addr, unsigned size)
{
    vb_violation(vb, "bus", "unmodelled address", "%s of 0x%08x (%u bytes): no model there", what,
                 addr, size);
}

uint32_t vb_bus_read(struct vb *vb, uint32_t addr, unsigned size)
{
    const struct vb_window *w = vb_find_window(vb, addr);
    if (!w) {
        unmodelled(vb, "read", addr, size);
        return 0;
    }
    uint32_t v = w->rd(w->model, addr - w->base, size);
    if (vb->opt.trace & VB_TRACE_MMIO)
        vb_trace(vb, "mmio", "%s rd%u 0x%08x -> 0x%08x", w->name, size * 8, addr, v);
    return v;
}

/* The two APB buses of RM0008 table 3 "Register boundary addresses": APB1
 * 0x40000000-0x40007FFF (TIM2.., RTC, WWDG, IWDG, SPI2/3, USART2..5, I2C,
 * USB, USB/CAN SRAM, CAN, BKP, PWR, DAC) and APB2 0x40010000-0x40013FFF
 * (AFIO, EXTI, GPIOA..G, ADC, TIM1/8, SPI1, USART1). RCC, FLASH and CRC are
 * on the AHB and see the access width as is. */
static bool on_apb(uint32_t addr)
{
    return addr - 0x40000000u < 0x8000u || addr - 0x40010000u < 0x4000u;
}

/* RM0008 3.1, "AHB/APB bridges (APB)": "When a 16- or 8-bit access is
 * performed on an APB register, the access is transformed into a 32-bit
 * access: the bridge duplicates the 16- or 8-bit data to feed the 32-bit
 * vector." So a half-word store of 0x0010 to GPIOx_BSRR+2 writes 0x00100010
 * to BSRR: BS4 and BR4 both set, and the pin is set, not reset. */
static uint32_t apb_widen(uint32_t value, unsigned size)
{
    if (size == 1)
        return (value & 0xFFu) * 0x01010101u;
    if (size == 2)
        return (value & 0xFFFFu) * 0x00010001u;
    return value;
}

void vb_bus_write(struct vb *vb, uint32_t addr, uint32_t value, unsigned size)
{
    const struct vb_window *w = vb_find_window(vb, addr);
    if (!w) {
        unmodelled(vb, "write", addr, size);
        return;
    }
    if (size < 4 && on_apb(addr)) {
        /* The bridge hides the width from the USB model, so its own rule is
         * checked here: RM0008 23.5 "USB registers" and the packet memory
         * are accessed by half-words or words (a byte store reaches the
         * 16-bit word as the same byte twice). */
        if (size == 1 && addr - 0x40005C00u < 0x800u)
            vb_violation(vb, "usb", "RM0008 23.5",
                         "byte store to 0x%08x: USB registers and packet memory take half-words "
                         "or words (the APB bridge writes the byte to every lane)",
                         addr);
        value = apb_widen(value, size);
        addr &= ~3u;
        size = 4;
    }
    if (vb->opt.trace & VB_TRACE_MMIO)
        vb_trace(vb, "mmio", "%s wr%u 0x%08x <- 0x%08x", w->name, size * 8, addr, value);
    w->wr(w->model, addr - w->base, value, size);
}

/* ---- Scheduler ------------------------------------------------------------ */
static bool earlier(const struct vb_timer *a, const struct vb_timer *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void vb_kick(struct vb *vb) { vb->stop_slice = true; }

void vb_at(struct vb *vb, uint64_t t_ns, void (*fn)(void *model), void *model)
{
    if (vb->nheap == vb->capheap) {
        vb->capheap = vb->capheap ? vb->capheap * 2 : 64;
        vb->heap = realloc(vb->heap, vb->capheap * sizeof *vb->heap);
        if (!vb->heap)
            abort();
    }
    size_t i = vb->nheap++;
    struct vb_timer t = {t_ns, vb->seq++, fn, model};
    while (i > 0 && earlier(&t, &vb->heap[(i - 1) / 2])) {
        vb->heap[i] = vb->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    vb->heap[i] = t;
    /* Scheduled inside the running slice: end it early so the callback is
     * on time (the slice was sized to the earliest event known before). */
    vb_kick(vb);
}

static struct vb_timer heap_pop(struct vb *vb)
{
    struct vb_timer top = vb->heap[0], last = vb->heap[--vb->nheap];
    size_t i = 0, n = vb->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && earlier(&vb->heap[c + 1], &vb->heap[c]))
            c++;
        if (!earlier(&vb->heap[c], &last))
            break;
        vb->heap[i] = vb->heap[c];
        i = c;
    }
    if (n)
        vb->heap[i] = last;
    return top;
}

static uint64_t next_timer(const struct vb *vb) { return vb->nheap ? vb->heap[0].t : UINT64_MAX; }

static void run_due(struct vb *vb)
{
    while (vb->nheap && vb->heap[0].t <= vb->now_ns && !vb->reset_why) {
        struct vb_timer t = heap_pop(vb);
        t.fn(t.model);
    }
}

void vb_flash_stall_until(struct vb *vb, uint64_t t_ns)
{
    uint64_t now = vb_now_ns(vb), from = vb->stall_until_ns > now ? vb->stall_until_ns : now;
    if (t_ns > from)
        vb->flash_busy_ns += t_ns - from;
    if (t_ns > vb->stall_until_ns)
        vb->stall_until_ns = t_ns;
    vb_kick(vb);
}

/* A CPU read of flash while BSY (PM0075 2.3.3: "the CPU stalls until the
 * ongoing main Flash memory programming is over"): time jumps to the end
 * of the busy period, inside the running slice, and the FPEC completes. */
void vb_stall_now(struct vb *vb)
{
    uint64_t now = vb_now_ns(vb);
    if (vb->stall_until_ns > now)
        vb->now_ns += vb->stall_until_ns - now;
    flash_finish_due(vb->flash);
}

/* ---- Interrupts, clocks, pins: forwarded to the models -------------------- */
void vb_irq(struct vb *vb, unsigned irq, bool level)
{
    if (nvic_set_level(vb->nvic, irq, level))
        vb_kick(vb);
    if (vb->opt.trace & VB_TRACE_IRQ)
        vb_trace(vb, "irq", "IRQ%u line %s", irq, level ? "high" : "low");
}

bool vb_clock_enabled(const struct vb *vb, enum vb_clk clk) { return rcc_clock_enabled(vb->rcc, clk); }
uint32_t vb_sysclk_hz(const struct vb *vb) { return rcc_sysclk_hz(vb->rcc); }
uint32_t vb_usbclk_hz(const struct vb *vb) { return rcc_usbclk_hz(vb->rcc); }

int vb_pin_driven(const struct vb *vb, char port, unsigned pin)
{
    return gpio_pin_driven(vb->gpio, port, pin);
}

/* Read through the USB model's own CNTR (0x40005C40, PDWN = bit 1), so the
 * board needs nothing beyond usb.h. No clock or no model: the macrocell is
 * in its reset state, powered down (RM0008 23.5.2, CNTR reset 0x0003). */
bool vb_usb_powered_down(const struct vb *vb)
{
    struct vb *v = (struct vb *)vb;
    if (!v->usb || !rcc_clock_enabled(v->rcc, VB_CLK_USB))
        return true;
    /* Ask the model directly: a read through its register window would be
     * checked like a CPU access and flag a wrong USB clock as a violation. */
    return usb_model_pdwn(v->usb);
}

static bool usb_owns_pins(const struct vb *vb)
{
    if (rcc_clock_enabled(vb->rcc, VB_CLK_USB))
        return true;
    return vb->usb && !usb_model_pdwn(vb->usb);
}

bool vb_dplus_pulled_up(const struct vb *vb)
{
    bool pulled;
    switch (vb->opt.board) {
    case BOARD_MAPLE_MINI: /* PB9 switches the 1k5 pull-up, active low */
        pulled = gpio_pin_driven(vb->gpio, 'B', 9) == 0;
        break;
    case BOARD_OLIMEX_H103: /* PC11 "USB_DISC", active low */
        pulled = gpio_pin_driven(vb->gpio, 'C', 11) == 0;
        break;
    default: /* fixed resistor to 3V3 */
        pulled = true;
        break;
    }
    /* PA12 as a GPIO output driving 0 shorts D+ to ground, but only while
     * the USB block does not own the pin. RM0008 9.1.11, table "USB":
     * "As soon as the USB is enabled, these pins [PA11/PA12] are
     * automatically connected to the internal USB transceiver." "Enabled"
     * is read strictly: the USB clock on (RCC_APB1ENR.USBEN), or the
     * transceiver left powered (CNTR.PDWN = 0) when the clock went off. */
    if (!usb_owns_pins(vb) && gpio_pin_driven(vb->gpio, 'A', 12) == 0)
        pulled = false;
    return pulled;
}

void vb_power_cut(struct vb *vb)
{
    vb->quit = true;
    vb_kick(vb);
    m3_stop_now(vb->cpu);
}

void vb_system_reset(struct vb *vb, const char *why)
{
    if (!vb->reset_why)
        vb->reset_why = why;
    vb_kick(vb);
}

/* ---- Board-owned windows: system memory, F_SIZE, unique ID ---------------- */
static uint32_t sysmem_read(void *model, uint32_t off, unsigned size)
{
    struct vb *vb = model;
    uint8_t b[0x800] = {0};
    if (off + size > sizeof b)
        return 0;
    uint16_t fsize = vb->opt.part->f_size_kib;
    b[0x7E0] = (uint8_t)fsize;
    b[0x7E1] = (uint8_t)(fsize >> 8);
    memcpy(&b[0x7E8], vb->opt.uid, 12);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)b[off + i] << (8 * i);
    return v;
}

static void sysmem_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct vb *vb = model;
    (void)value;
    vb_violation(vb, "sysmem", "RM0008 3.3.1", "write to read-only system memory 0x%08x (%u bytes)",
                 0x1FFFF000 + off, size);
}

/* RCC peripheral resets (APBxRSTR) and the backup domain reset (BDRST). */
static void periph_reset(void *ctx, enum vb_clk what)
{
    struct vb *vb = ctx;
    switch (what) {
    case VB_CLK_GPIOA: case VB_CLK_GPIOB: case VB_CLK_GPIOC: case VB_CLK_GPIOD:
        gpio_reset_port(vb->gpio, (char)('A' + (what - VB_CLK_GPIOA)));
        break;
    case VB_CLK_AFIO: afio_reset(vb->afio); break;
    case VB_CLK_USB: usb_model_reset(vb->usb); break;
    case VB_CLK_PWR: pwr_reset(vb->pwr); break;
    case VB_CLK_BKP: bkp_backup_domain_reset(vb->bkp); break;
    case VB_CLK_CRC: crc_reset(vb->crc); break;
    case VB_CLK_FLITF: break;
    }
}

static void flash_changed(void *ctx, uint32_t addr, uint32_t len)
{
    struct vb *vb = ctx;
    m3_flash_changed(vb->cpu, addr, len);
}

static void flash_bus_error(void *ctx, const char *why)
{
    struct vb *vb = ctx;
    m3_bus_fault(vb->cpu, why);
}

static bool backup_writable(void *ctx)
{
    struct vb *vb = ctx;
    return pwr_dbp(vb->pwr);
}

/* A store to RCC_CFGR switched SYSCLK inside a slice (or a ready
 * oscillator did, between slices): the cycles run so far ran at the old
 * clock. The slice ends at the next block: its budget was sized in cycles
 * of the old clock. */
static void sysclk_changed(void *ctx, uint32_t hz)
{
    struct vb *vb = ctx;
    uint64_t n = m3_slice_icount(vb->cpu);
    if (n > vb->slice_folded) {
        fold_cycles(vb, n - vb->slice_folded);
        vb->slice_folded = n;
    }
    vb->slice_hz = cpu_hz(vb);
    vb_kick(vb);
    flash_check_latency(vb->flash, hz);
}

/* ---- Construction ---------------------------------------------------------- */
static void latch_boot_pins(struct vb *vb);

struct vb *vb_new(const struct vb_opts *opt)
{
    struct vb *vb = calloc(1, sizeof *vb);
    if (!vb)
        return NULL;
    vb->opt = *opt;
    const struct vb_part *p = opt->part;

    struct flash_cfg fc = {
        .flash_size = p->flash_size,
        .page_size = p->page_size,
        .file = opt->flash_file,
        .image = opt->image,
        .image_size = opt->image_size,
        .hw_iwdg = opt->hw_iwdg,
        .time_max = opt->flash_time_max,
        .cut = opt->cut.at_op || opt->cut.at_ns ? &vb->opt.cut : NULL,
    };
    vb->nvic = nvic_new(vb); /* first: other models raise lines from their constructors */
    vb->rcc = rcc_new(vb);
    vb->flash = flash_new(vb, &fc);
    if (!vb->flash) {
        free(vb);
        return NULL;
    }
    vb->cpu = m3_new(vb, flash_view(vb->flash), p->flash_size, p->sram_size);
    if (!vb->cpu)
        return NULL;
    flash_set_hooks(vb->flash, flash_changed, flash_bus_error, vb);
    rcc_set_reset_hook(vb->rcc, periph_reset, vb);
    rcc_set_dbp_hook(vb->rcc, backup_writable, vb);
    rcc_set_clock_hook(vb->rcc, sysclk_changed, vb);
    vb->gpio = gpio_new(vb);
    gpio_set_quiet(vb->gpio, opt->quiet_gpio);
    for (int port = 0; port < 5; port++)
        for (unsigned pin = 0; pin < 16; pin++)
            gpio_set_input(vb->gpio, (char)('A' + port), pin, opt->pin_level[port][pin]);
    vb->afio = afio_new(vb);
    vb->pwr = pwr_new(vb);
    vb->bkp = bkp_new(vb, vb->pwr, p->density == VB_HIGH_DENSITY);
    vb->scb = scb_new(vb, vb->nvic);
    vb->systick = systick_new(vb, vb->nvic);
    vb->crc = crc_new(vb);
    vb->iwdg = iwdg_new(vb, !flash_wdg_sw(vb->flash));
    vb->dbgmcu = dbgmcu_new(vb, p->density);
    vb->dwt = dwt_new(vb);
    vb_mmio(vb, "sysmem", 0x1FFFF000, 0x800, sysmem_read, sysmem_write, vb);
    vb->usb = usb_model_new(vb);
    vb->host = usb_host_new(vb, vb->usb, "127.0.0.1", opt->port);
    if (!vb->host) {
        /* The reason (port taken...) is printed already; the flash file
         * was only mapped, so nothing is lost by stopping here. */
        fprintf(stderr, "vboard: no USB host side; choose another --port\n");
        return NULL;
    }
    if (opt->usb_error_rate > 0)
        usb_host_set_errors(vb->host, opt->usb_error_rate, opt->usb_error_seed);
    vb->usb_next_ns = 0;
    vb->wall_start_ns = vb_wall_ns();
    vb_event(vb, "reset (power-on) %s, %u KiB flash (F_SIZE %u), %u KiB SRAM, %u-byte pages, flash times %s",
             p->name, p->flash_size / 1024, p->f_size_kib, p->sram_size / 1024, p->page_size,
             opt->flash_time_max ? "max" : "typ");
    rcc_reset(vb->rcc, RCC_RESET_POWER_ON);
    m3_reset(vb->cpu, true);
    if (opt->no_hse) /* clocks of this board (--no-hse, --lsi-hz) */
        rcc_set_hse_hz(vb->rcc, 0);
    if (opt->lsi_hz)
        iwdg_set_lsi_hz(vb->iwdg, opt->lsi_hz);
    latch_boot_pins(vb);
    return vb;
}

void vb_free(struct vb *vb)
{
    if (!vb)
        return;
    usb_host_free(vb->host);
    usb_model_free(vb->usb);
    flash_free(vb->flash); /* completes nothing in flight: like a power cut */
    m3_free(vb->cpu);
    rcc_free(vb->rcc);
    gpio_free(vb->gpio);
    afio_free(vb->afio);
    bkp_free(vb->bkp);
    pwr_free(vb->pwr);
    nvic_free(vb->nvic);
    scb_free(vb->scb);
    systick_free(vb->systick);
    crc_free(vb->crc);
    iwdg_free(vb->iwdg);
    dbgmcu_free(vb->dbgmcu);
    dwt_free(vb->dwt);
    free(vb->heap);
    free(vb);
}

/* RM0008 3.4 "Boot configuration": BOOT0/BOOT1 are latched at every reset
 * (4th SYSCLK edge). BOOT0 = 0: main flash, what vboard runs. BOOT0 = 1:
 * system memory (BOOT1 = 0, ST's ROM bootloader) or SRAM (BOOT1 = 1),
 * neither modelled: say so and run nothing, so user flash never starts. */
static void latch_boot_pins(struct vb *vb)
{
    char port;
    unsigned pin;
    int boot0 = vb->opt.boot0 > 0;
    if (vb->opt.boot0 < 0 && vb_board_boot0_button(vb->opt.board, &port, &pin))
        boot0 = vb->opt.pin_level[port - 'A'][pin] > 0; /* the button held */
    vb->boot_halt = boot0;
    if (boot0)
        vb_event(vb, "%s boot (BOOT0=1, BOOT1=%d): not modelled, user flash does not run",
                 vb->opt.pin_level[1][2] > 0 ? "SRAM" : "system memory", vb->opt.pin_level[1][2] > 0);
}

/* RM0008 7.1.2: a system reset resets everything but the backup domain
 * (BKP data registers, RCC_BDCR) and the reset flags in RCC_CSR. */
static void do_system_reset(struct vb *vb)
{
    const char *why = vb->reset_why;
    vb->reset_why = NULL;
    vb->resets++;
    vb_event(vb, "reset (%s)", why);
    enum rcc_reset_kind kind = RCC_RESET_PIN;
    if (!strncmp(why, "SYSRESETREQ", 11))
        kind = RCC_RESET_SOFTWARE;
    else if (!strncmp(why, "IWDG", 4))
        kind = RCC_RESET_IWDG;
    rcc_reset(vb->rcc, kind);
    flash_reset(vb->flash);
    gpio_reset(vb->gpio);
    afio_reset(vb->afio);
    pwr_reset(vb->pwr);
    bkp_system_reset(vb->bkp);
    nvic_reset(vb->nvic);
    scb_reset(vb->scb);
    systick_reset(vb->systick);
    crc_reset(vb->crc);
    iwdg_reset(vb->iwdg, !flash_wdg_sw(vb->flash));
    dwt_reset(vb->dwt);
    usb_model_reset(vb->usb);
    vb->stall_until_ns = 0;
    vb->app_started = false;
    m3_reset(vb->cpu, false);
    latch_boot_pins(vb);
}

/* ---- The main loop ---------------------------------------------------------- */
#define MAX_SLICE_NS 1000000ull /* serve the host side at least every 1 ms */

/* Wall-clock pacing: keeps virtual time (minus flash busy time unless
 * --realtime) from running ahead of the wall clock. Waits in
 * usb_host_poll so sockets are served while we wait. */
static void pace(struct vb *vb, uint64_t target_ns)
{
    if (vb->opt.fast)
        return;
    for (;;) {
        uint64_t credit = vb->opt.realtime ? 0 : vb->flash_busy_ns;
        uint64_t virt = target_ns > credit ? target_ns - credit : 0;
        uint64_t wall = vb_wall_ns() - vb->wall_start_ns;
        if (virt <= wall + 200000 || vb_signal_quit || vb->quit)
            return;
        uint64_t ahead_ms = (virt - wall) / 1000000;
        int wait = ahead_ms > 20 ? 20 : (int)(ahead_ms ? ahead_ms : 1);
        uint64_t want = usb_host_poll(vb->host, wait);
        vb->usb_next_ns = want;
        /* Socket activity may have work due before target: let the caller
         * run it at the time the wall clock has reached. */
        if (want < target_ns)
            return;
    }
}

static void poll_usb(struct vb *vb)
{
    if (vb->now_ns >= vb->usb_next_ns)
        vb->usb_next_ns = usb_host_poll(vb->host, 0);
}

int vb_run(struct vb *vb)
{
    uint64_t exit_ns = vb->opt.exit_after_s > 0 ? (uint64_t)(vb->opt.exit_after_s * 1e9) : UINT64_MAX;
    uint64_t last_poll_wall = 0;
    while (!vb->quit) {
        if (vb_signal_quit) {
            vb_event(vb, "stopping on signal");
            break;
        }
        if (vb_signal_reset) {
            vb_signal_reset = 0;
            vb_system_reset(vb, "reset button");
        }
        if (vb->reset_why)
            do_system_reset(vb);
        run_due(vb);
        if (vb->reset_why || vb->quit)
            continue;
        if (vb->now_ns >= exit_ns) {
            vb_event(vb, "exit after %.3f s of virtual time", vb->opt.exit_after_s);
            break;
        }
        poll_usb(vb);
        /* Serve the sockets every 2 ms of wall time whatever the CPU does
         * (a busy CPU slower than real time never waits in pace()). */
        uint64_t w = vb_wall_ns();
        if (w - last_poll_wall > 2000000) {
            last_poll_wall = w;
            vb->usb_next_ns = usb_host_poll(vb->host, 0);
        }
        m3_check_interrupts(vb->cpu);

        uint64_t next = next_timer(vb);
        if (vb->usb_next_ns < next)
            next = vb->usb_next_ns;
        if (exit_ns < next)
            next = exit_ns;
        if (next <= vb->now_ns)
            next = vb->now_ns + 1;

        bool stalled = vb->stall_until_ns > vb->now_ns && m3_in_flash(vb->cpu);
        if (stalled && vb->stall_until_ns < next)
            next = vb->stall_until_ns;
        if (stalled || m3_sleeping(vb->cpu) || m3_locked_up(vb->cpu) || vb->boot_halt) {
            /* Nothing runs until the next event: skip time there. */
            if (next == UINT64_MAX) /* asleep for good: let time pass */
                next = vb->now_ns + MAX_SLICE_NS * 20;
            pace(vb, next);
            if (!vb->opt.fast) {
                uint64_t credit = vb->opt.realtime ? 0 : vb->flash_busy_ns;
                uint64_t wall = vb_wall_ns() - vb->wall_start_ns + credit;
                if (wall < next && !stalled)
                    next = wall > vb->now_ns ? wall : vb->now_ns;
            }
            if (next > vb->now_ns)
                vb->now_ns = next;
            continue;
        }
        uint64_t span = next - vb->now_ns;
        if (span > MAX_SLICE_NS)
            span = MAX_SLICE_NS;
        uint64_t instr = span * cpu_hz(vb) / 1000000000ull;
        if (instr < 1)
            instr = 1;
        pace(vb, vb->now_ns);
        vb->stop_slice = false;
        vb->slice_hz = cpu_hz(vb);
        m3_run(vb->cpu, instr);
    }
    vb_report_repeats(vb);
    /* A dry run's count, for the campaigns that then cut at each one. */
    vb_event(vb, "flash operations since power-on: %llu", (unsigned long long)flash_ops(vb->flash));
    return vb->exit_status; /* 0, or 3 after a --strict stop */
}
