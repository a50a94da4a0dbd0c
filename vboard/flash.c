/*
 * flash.c - the embedded flash of the F103: FPEC registers (RM0008 3.3.3,
 * register map 3.4; PM0075 section 2 and 3), NOR array semantics, option
 * bytes with complements, write protection, read-out protection, and the
 * busy times of the datasheet. Every operation takes effect in the array
 * (and the --flash file) only when it completes, i.e. when BSY clears.
 */
#include "flash.h"

#include "reg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACR 0x00
#define KEYR 0x04
#define OPTKEYR 0x08
#define SR 0x0C
#define CR 0x10
#define AR 0x14
#define OBR 0x1C
#define WRPR 0x20

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu

#define SR_BSY (1u << 0)
#define SR_PGERR (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP (1u << 5)

#define CR_PG (1u << 0)
#define CR_PER (1u << 1)
#define CR_MER (1u << 2)
#define CR_OPTPG (1u << 4)
#define CR_OPTER (1u << 5)
#define CR_STRT (1u << 6)
#define CR_LOCK (1u << 7)
#define CR_OPTWRE (1u << 9)
#define CR_ERRIE (1u << 10)
#define CR_EOPIE (1u << 12)

#define FLASH_BASE 0x08000000u
#define OB_BASE 0x1FFFF800u
#define FLASH_IRQ 4

enum op_kind { OP_PROG, OP_PAGE_ERASE, OP_MASS_ERASE, OP_OB_PROG, OP_OB_ERASE, OP_RDP_MASS_ERASE };

struct op {
    enum op_kind kind;
    uint32_t addr;
    uint16_t value;
    uint64_t t_done;
    unsigned seq;
    uint64_t t_start, n; /* n: number since power-on (struct flash_cut) */
};

#define MAXOPS 8

struct flash;
struct done {
    struct flash *f;
    unsigned gen, seq;
};

struct flash {
    struct vb *vb;
    uint32_t size, page_size;
    uint8_t *array; /* size + FLASH_OB_SIZE bytes; mmap of the file or heap */
    uint8_t *view;
    bool mapped;
    int fd;

    uint64_t prog_ns, erase_ns; /* busy times, typical or maximum (flash.h) */
    uint32_t acr, sr, cr, ar, obr, wrpr;
    int key_stage, optkey_stage; /* 1 after KEY1 */
    bool keys_dead;              /* wrong key: locked until reset */

    struct op ops[MAXOPS];
    unsigned head, count;
    unsigned gen, seq;
    unsigned bus_errors;
    struct done done[MAXOPS];

    uint64_t nops;       /* operations started since power-on */
    struct flash_cut cut; /* at_op = at_ns = 0: none */
    bool off;            /* the power was cut */

    void (*changed)(void *, uint32_t, uint32_t);
    void (*bus_error)(void *, const char *);
    void *ctx;
};

static uint32_t fpec_read(void *model, uint32_t off, unsigned size);
static void cut_at_time(void *p);
static void fpec_write(void *model, uint32_t off, uint32_t value, unsigned size);
static uint32_t ob_read(void *model, uint32_t off, unsigned size);
static void ob_write(void *model, uint32_t off, uint32_t value, unsigned size);

/* Factory option bytes (PM0075 2.5, table "Option byte format"): RDP =
 * 0xA5 (no protection), everything else erased-to-default 0xFF, each with
 * its complement. */
static void factory_option_bytes(uint8_t *ob, bool hw_iwdg)
{
    static const uint8_t def[8] = {0xA5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    for (int i = 0; i < 8; i++) {
        ob[2 * i] = def[i];
        ob[2 * i + 1] = (uint8_t)~def[i];
    }
    if (hw_iwdg) { /* USER bit 0 WDG_SW = 0: hardware watchdog */
        ob[2] = 0xFE;
        ob[3] = 0x01;
    }
}

struct flash *flash_new(struct vb *vb, const struct flash_cfg *cfg)
{
    struct flash *f = calloc(1, sizeof *f);
    f->vb = vb;
    f->size = cfg->flash_size;
    f->page_size = cfg->page_size;
    f->prog_ns = cfg->time_max ? FLASH_PROG_MAX_NS : FLASH_PROG_NS;
    f->erase_ns = cfg->time_max ? FLASH_ERASE_MAX_NS : FLASH_ERASE_NS;
    f->fd = -1;
    size_t total = f->size + FLASH_OB_SIZE;
    bool fresh = true;
    if (cfg->file) {
        struct stat st;
        bool exists = stat(cfg->file, &st) == 0;
        if (exists && (size_t)st.st_size != total) {
            fprintf(stderr, "vboard: %s is %lld bytes, want %zu (flash + %d option bytes) for this part\n",
                    cfg->file, (long long)st.st_size, total, FLASH_OB_SIZE);
            free(f);
            return NULL;
        }
        f->fd = open(cfg->file, O_RDWR | O_CREAT, 0644);
        if (f->fd < 0 || (!exists && ftruncate(f->fd, (off_t)total) != 0)) {
            fprintf(stderr, "vboard: %s: %s\n", cfg->file, strerror(errno));
            free(f);
            return NULL;
        }
        f->array = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
        if (f->array == MAP_FAILED) {
            fprintf(stderr, "vboard: mmap %s: %s\n", cfg->file, strerror(errno));
            close(f->fd);
            free(f);
            return NULL;
        }
        f->mapped = true;
        fresh = !exists;
    } else {
        f->array = malloc(total);
    }
    if (fresh) {
        memset(f->array, 0xFF, f->size);
        if (cfg->image)
            memcpy(f->array, cfg->image, cfg->image_size < f->size ? cfg->image_size : f->size);
        factory_option_bytes(f->array + f->size, cfg->hw_iwdg);
    } else if (cfg->hw_iwdg) {
        uint8_t *ob = f->array + f->size;
        ob[2] = (uint8_t)(ob[2] & 0xFE);
        ob[3] = (uint8_t)~ob[2];
    }
    if (f->mapped)
        msync(f->array, total, MS_SYNC);
    /* The view is what Unicorn maps: page-aligned, a copy of the array. */
    f->view = aligned_alloc(4096, (f->size + 4095) & ~4095u);
    memcpy(f->view, f->array, f->size);
    vb_mmio(vb, "FLASH", 0x40022000, 0x400, fpec_read, fpec_write, f);
    vb_mmio(vb, "OB", OB_BASE, FLASH_OB_SIZE, ob_read, ob_write, f);
    flash_reset(f);
    if (cfg->cut) {
        f->cut = *cfg->cut;
        if (f->cut.at_ns)
            vb_at(vb, f->cut.at_ns, cut_at_time, f);
    }
    return f;
}

void flash_free(struct flash *f)
{
    if (!f)
        return;
    f->gen++;
    if (f->mapped) {
        msync(f->array, f->size + FLASH_OB_SIZE, MS_SYNC);
        munmap(f->array, f->size + FLASH_OB_SIZE);
        close(f->fd);
    } else {
        free(f->array);
    }
    free(f->view);
    free(f);
}

uint8_t *flash_array(struct flash *f) { return f->array; }
uint8_t *flash_view(struct flash *f) { return f->view; }
uint8_t *flash_option_bytes(struct flash *f) { return f->array + f->size; }
bool flash_wdg_sw(const struct flash *f) { return f->obr & (1u << 2); }
bool flash_busy(const struct flash *f) { return f->count != 0; }
uint32_t flash_acr(const struct flash *f) { return f->acr; }
unsigned flash_bus_errors(const struct flash *f) { return f->bus_errors; }
uint64_t flash_ops(const struct flash *f) { return f->nops; }
bool flash_power_off(const struct flash *f) { return f->off; }

void flash_set_hooks(struct flash *f, void (*changed)(void *, uint32_t, uint32_t),
                     void (*bus_error)(void *, const char *), void *ctx)
{
    f->changed = changed;
    f->bus_error = bus_error;
    f->ctx = ctx;
}

static void bus_error(struct flash *f, const char *why)
{
    f->bus_errors++;
    vb_event(f->vb, "flash: bus error: %s", why);
    if (f->bus_error)
        f->bus_error(f->ctx, why);
}

/* Option byte loader: each byte must match its complement, else OPTERR
 * and the byte reads as 0xFF (PM0075 2.5 / RM0008 FLASH_OBR). */
static uint8_t ob_load(struct flash *f, int i)
{
    const uint8_t *ob = f->array + f->size;
    if ((uint8_t)(ob[2 * i] ^ ob[2 * i + 1]) != 0xFF) {
        f->obr |= 1u; /* OPTERR */
        return 0xFF;
    }
    return ob[2 * i];
}

void flash_reset(struct flash *f)
{
    f->gen++;
    f->count = 0;
    f->head = 0;
    f->acr = 0x30;
    f->sr = 0;
    f->cr = CR_LOCK;
    f->ar = 0;
    f->key_stage = f->optkey_stage = 0;
    f->keys_dead = false;
    f->obr = 0;
    uint8_t rdp = ob_load(f, 0), user = ob_load(f, 1), d0 = ob_load(f, 2), d1 = ob_load(f, 3);
    uint8_t w0 = ob_load(f, 4), w1 = ob_load(f, 5), w2 = ob_load(f, 6), w3 = ob_load(f, 7);
    if (rdp != 0xA5) /* RM0008 FLASH_OBR.RDPRT */
        f->obr |= 1u << 1;
    f->obr |= (uint32_t)user << 2 | (uint32_t)d0 << 10 | (uint32_t)d1 << 18;
    f->wrpr = (uint32_t)w0 | (uint32_t)w1 << 8 | (uint32_t)w2 << 16 | (uint32_t)w3 << 24;
    /* The view could hold a store the CPU made just before the reset. */
    memcpy(f->view, f->array, f->size);
    if (f->changed)
        f->changed(f->ctx, FLASH_BASE, f->size);
    vb_irq(f->vb, FLASH_IRQ, false);
}

/* Write protection of the page holding off (PM0075 2.4.2, FLASH_WRPR):
 * medium density: one bit per 4 KiB; high density: one bit per 2 pages
 * for pages 0-61 and bit 31 for pages 62 and up. With read protection
 * on, the first 4 KiB are write-protected too (PM0075 2.4.1). */
static bool page_protected(const struct flash *f, uint32_t off)
{
    if ((f->obr & 2) && off < 4096)
        return true;
    unsigned bit;
    if (f->page_size == 2048) {
        unsigned page = off / 2048;
        bit = page < 62 ? page / 2 : 31;
    } else {
        bit = off / 4096;
        if (bit > 31)
            bit = 31;
    }
    return !(f->wrpr & (1u << bit));
}

static void update_irq(struct flash *f)
{
    bool on = ((f->cr & CR_EOPIE) && (f->sr & SR_EOP)) ||
              ((f->cr & CR_ERRIE) && (f->sr & (SR_PGERR | SR_WRPRTERR)));
    vb_irq(f->vb, FLASH_IRQ, on);
}

static void land(struct flash *f, uint32_t off, uint32_t len)
{
    if (off < f->size) {
        memcpy(f->view + off, f->array + off, len);
        if (f->changed)
            f->changed(f->ctx, FLASH_BASE + off, len);
    }
}

static void op_done(void *p);
static void complete_head(struct flash *f);
static void cut_during(struct flash *f, const struct op *o);

static void enqueue(struct flash *f, enum op_kind kind, uint32_t addr, uint16_t value, uint64_t dur)
{
    if (f->off)
        return;
    if (f->count == MAXOPS) {
        vb_violation(f->vb, "flash", "PM0075 2.3.3", "too many flash operations queued while BSY");
        return;
    }
    uint64_t start = vb_now_ns(f->vb);
    if (f->count) {
        /* PM0075 2.3.3: an access during programming stalls the bus until
         * the ongoing operation is over: this one starts after it. */
        uint64_t last = f->ops[(f->head + f->count - 1) % MAXOPS].t_done;
        if (last > start)
            start = last;
    }
    f->nops++;
    if (f->cut.at_op && f->nops == f->cut.at_op) {
        /* The ones queued before it end before it starts (PM0075 2.3.3,
         * above); the power then stops while it is in progress. */
        while (f->count)
            complete_head(f);
        struct op now = {kind, addr, value, start + dur, 0, start, f->nops};
        cut_during(f, &now);
        return;
    }
    struct op *o = &f->ops[(f->head + f->count) % MAXOPS];
    *o = (struct op){kind, addr, value, start + dur, ++f->seq, start, f->nops};
    f->count++;
    f->sr |= SR_BSY;
    f->ar = addr;
    struct done *dd = &f->done[(f->head + f->count - 1) % MAXOPS];
    dd->f = f;
    dd->gen = f->gen;
    dd->seq = o->seq;
    vb_at(f->vb, o->t_done, op_done, dd);
    vb_flash_stall_until(f->vb, o->t_done);
}

static void op_done(void *p)
{
    struct done *d = p;
    struct flash *f = d->f;
    /* Reset or power cut: the operation never completed. Or it was already
     * completed early by flash_finish_due (a stalled read). */
    if (d->gen != f->gen || f->off || !f->count || f->ops[f->head].seq != d->seq)
        return;
    complete_head(f);
}

void flash_finish_due(struct flash *f)
{
    while (!f->off && f->count && f->ops[f->head].t_done <= vb_now_ns(f->vb))
        complete_head(f);
}

/* The operation's effect on the array, complete. */
static void apply(struct flash *f, const struct op *o)
{
    uint8_t *ob = f->array + f->size;
    switch (o->kind) {
    case OP_PROG: {
        uint32_t off = o->addr - FLASH_BASE;
        /* NOR cells only go from 1 to 0. */
        f->array[off] &= (uint8_t)o->value;
        f->array[off + 1] &= (uint8_t)(o->value >> 8);
        land(f, off, 2);
        vb_trace(f->vb, "flash", "programmed 0x%08x = 0x%04x (op %llu)", o->addr, o->value,
                 (unsigned long long)o->n);
        break;
    }
    case OP_PAGE_ERASE: {
        uint32_t off = (o->addr - FLASH_BASE) & ~(f->page_size - 1);
        memset(f->array + off, 0xFF, f->page_size);
        land(f, off, f->page_size);
        vb_trace(f->vb, "flash", "erased page 0x%08x (op %llu)", FLASH_BASE + off, (unsigned long long)o->n);
        break;
    }
    case OP_MASS_ERASE:
        memset(f->array, 0xFF, f->size);
        land(f, 0, f->size);
        vb_trace(f->vb, "flash", "mass erase done (op %llu)", (unsigned long long)o->n);
        break;
    case OP_OB_PROG: {
        /* PM0075 2.5.2: the low byte is programmed and the FPEC writes its
         * complement into the high byte. */
        uint32_t i = (o->addr - OB_BASE) & ~1u;
        ob[i] &= (uint8_t)o->value;
        ob[i + 1] &= (uint8_t)~o->value;
        vb_trace(f->vb, "flash", "option byte 0x%08x = 0x%02x (op %llu)", OB_BASE + i, (uint8_t)o->value,
                 (unsigned long long)o->n);
        break;
    }
    case OP_OB_ERASE:
        /* PM0075 2.4.1: erasing the option bytes leaves RDP = 0xFF, still
         * level 1; main flash is erased only when RDP = 0xA5 is programmed
         * (OP_RDP_MASS_ERASE). */
        memset(ob, 0xFF, FLASH_OB_SIZE);
        vb_trace(f->vb, "flash", "option bytes erased (op %llu)", (unsigned long long)o->n);
        break;
    case OP_RDP_MASS_ERASE:
        memset(f->array, 0xFF, f->size);
        land(f, 0, f->size);
        vb_event(f->vb, "flash: read protection removal: main flash mass-erased (PM0075 2.4.1) (op %llu)",
                 (unsigned long long)o->n);
        break;
    }
}

static void complete_head(struct flash *f)
{
    struct op *o = &f->ops[f->head];
    f->head = (f->head + 1) % MAXOPS;
    f->count--;
    apply(f, o);
    f->sr |= SR_EOP;
    if (!f->count) {
        f->sr &= ~SR_BSY;
        f->cr &= ~CR_STRT; /* "reset when the BSY bit is reset" */
    }
    update_irq(f);
}

/* ---- Power cuts and torn operations (issue 12) --------------------------
 *
 * What an interrupted operation leaves is not specified: PM0075 and RM0008
 * describe program and erase only as completing (BSY clears, EOP sets) and
 * say nothing of a supply lost meanwhile; issue 12 reads PM0075 as leaving
 * the page or half-word "in an undefined state". We take the stricter,
 * physical reading of NOR flash instead of all-or-nothing: an erase drives
 * every cell of its page towards 1 and a program drives the cells it clears
 * towards 0, each cell crossing the read threshold at its own moment. So a
 * cut erase leaves each 0 bit either 0 or already 1; a cut program leaves
 * each bit it was clearing either still 1 or already 0; no other bit
 * changes. Which bits moved is drawn from the seed: q, the share of bits
 * that moved, is drawn first (anything from almost none to almost all),
 * then each bit with probability q. The same seed gives the same result. */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The bits of mask that moved: each with probability q / 1024. */
static uint8_t moved_bits(uint8_t mask, uint32_t q, uint64_t *s)
{
    uint8_t m = 0;
    for (int b = 0; b < 8; b++)
        if ((mask >> b & 1) && (uint32_t)(splitmix(s) % 1024) < q)
            m |= (uint8_t)(1u << b);
    return m;
}

/* q, the share of the changing bits that moved: 0 (none) to 1024 (all). */
static uint32_t torn_share(uint64_t *s) { return (uint32_t)(splitmix(s) % 1025); }

void flash_tear_erase(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    uint32_t q = torn_share(&s);
    for (size_t i = 0; i < n; i++)
        p[i] |= moved_bits((uint8_t)~p[i], q, &s);
}

void flash_tear_program(uint8_t *p, const uint8_t *new_bytes, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    uint32_t q = torn_share(&s);
    for (size_t i = 0; i < n; i++)
        p[i] &= (uint8_t)~moved_bits((uint8_t)(p[i] & ~new_bytes[i]), q, &s);
}

static const char *op_name(enum op_kind k)
{
    static const char *const names[] = {"program", "page erase", "mass erase", "option byte program",
                                        "option byte erase", "read protection removal mass erase"};
    return names[k];
}

/* The power stops while o is in progress: o is torn, nothing else runs. */
static void cut_during(struct flash *f, const struct op *o)
{
    char what[160];
    uint8_t *ob = f->array + f->size;
    uint32_t off = 0, len = 0; /* main flash bytes the cut op touched */
    switch (f->cut.torn) {
    case TORN_NEW: apply(f, o); break;
    case TORN_OLD: break;
    case TORN_SEEDED:
        switch (o->kind) {
        case OP_PROG: {
            uint8_t v[2] = {(uint8_t)o->value, (uint8_t)(o->value >> 8)};
            off = o->addr - FLASH_BASE, len = 2;
            flash_tear_program(f->array + off, v, 2, f->cut.seed);
            break;
        }
        case OP_PAGE_ERASE:
            off = (o->addr - FLASH_BASE) & ~(f->page_size - 1), len = f->page_size;
            flash_tear_erase(f->array + off, len, f->cut.seed);
            break;
        case OP_MASS_ERASE: case OP_RDP_MASS_ERASE:
            off = 0, len = f->size;
            flash_tear_erase(f->array, len, f->cut.seed);
            break;
        case OP_OB_PROG: {
            /* Both bytes: the FPEC programs the complement with the value
             * (PM0075 2.5.2), so both may be caught half-way. */
            uint32_t i = (o->addr - OB_BASE) & ~1u;
            uint8_t v[2] = {(uint8_t)o->value, (uint8_t)~o->value};
            flash_tear_program(ob + i, v, 2, f->cut.seed);
            break;
        }
        case OP_OB_ERASE:
            flash_tear_erase(ob, FLASH_OB_SIZE, f->cut.seed);
            break;
        }
        break;
    }
    if (len)
        land(f, off, len);
    if (o->kind == OP_PROG) {
        uint32_t a = o->addr - FLASH_BASE;
        snprintf(what, sizeof what, "program 0x%08x = 0x%04x, left 0x%04x", o->addr, o->value,
                 f->array[a] | f->array[a + 1] << 8);
    } else if (o->kind == OP_OB_PROG) {
        uint32_t i = (o->addr - OB_BASE) & ~1u;
        snprintf(what, sizeof what, "option byte 0x%08x = 0x%02x, left 0x%02x 0x%02x", OB_BASE + i,
                 (uint8_t)o->value, ob[i], ob[i + 1]);
    } else {
        snprintf(what, sizeof what, "%s 0x%08x", op_name(o->kind), o->addr);
    }
    f->gen++;
    f->count = 0;
    f->off = true;
    if (f->mapped)
        msync(f->array, f->size + FLASH_OB_SIZE, MS_SYNC);
    if (f->cut.torn == TORN_SEEDED)
        vb_event(f->vb, "power cut during flash op %llu (%s), torn: seed %llu (--torn %llu replays it)",
                 (unsigned long long)o->n, what, (unsigned long long)f->cut.seed,
                 (unsigned long long)f->cut.seed);
    else
        vb_event(f->vb, "power cut during flash op %llu (%s), torn: %s", (unsigned long long)o->n, what,
                 f->cut.torn == TORN_OLD ? "old (not started)" : "new (just completed)");
    vb_power_cut(f->vb);
}

/* --cut-at-ns: the operation under way, if any, is torn. */
static void cut_at_time(void *p)
{
    struct flash *f = p;
    if (f->off)
        return;
    flash_finish_due(f);
    if (f->count && f->ops[f->head].t_start <= vb_now_ns(f->vb)) {
        cut_during(f, &f->ops[f->head]);
        return;
    }
    f->gen++;
    f->count = 0;
    f->off = true;
    if (f->mapped)
        msync(f->array, f->size + FLASH_OB_SIZE, MS_SYNC);
    vb_event(f->vb, "power cut at %llu ns, no flash operation in progress (%llu done)",
             (unsigned long long)vb_now_ns(f->vb), (unsigned long long)f->nops);
    vb_power_cut(f->vb);
}

void flash_check_latency(struct flash *f, uint32_t hz)
{
    unsigned lat = f->acr & 7, need = hz > 48000000 ? 2 : hz > 24000000 ? 1 : 0;
    /* RM0008 3.3.3: 0 WS for SYSCLK <= 24 MHz, 1 WS <= 48 MHz, 2 WS <= 72. */
    if (lat < need)
        vb_violation(f->vb, "flash", "RM0008 3.3.3 LATENCY",
                     "SYSCLK %u Hz needs %u wait state(s), ACR.LATENCY = %u", hz, need, lat);
    if (lat > 2)
        vb_violation(f->vb, "flash", "RM0008 3.4.1 LATENCY", "LATENCY %u is reserved", lat);
}

/* PM0075 2.3.3 "Main Flash memory programming". */
bool flash_cpu_write(struct flash *f, uint32_t addr, uint32_t value, unsigned size)
{
    uint32_t off = addr - FLASH_BASE;
    if (!(f->cr & CR_PG) || (f->cr & CR_LOCK)) {
        vb_violation(f->vb, "flash", "PM0075 2.3.3",
                     "store of %u byte(s) to flash 0x%08x outside programming mode (PG=0 or locked)",
                     size, addr);
        f->bus_errors++;
        return false;
    }
    /* "Any attempt to write data that are not half-word long will result
     * in a bus error response from the FPEC." */
    if (size != 2 || (addr & 1)) {
        vb_violation(f->vb, "flash", "PM0075 2.3.3",
                     "%u-byte store to flash 0x%08x in PG mode: only aligned half-words program",
                     size, addr);
        f->bus_errors++;
        return false;
    }
    if (f->cr & (CR_PER | CR_MER))
        vb_violation(f->vb, "flash", "PM0075 2.3.3", "PG set together with PER/MER");
    uint16_t old = (uint16_t)(f->array[off] | f->array[off + 1] << 8);
    uint16_t v = (uint16_t)value;
    if (page_protected(f, off)) {
        /* "If the addressed main Flash memory location is write-protected
         * ... the program operation is skipped and WRPRTERR is set." */
        f->sr |= SR_WRPRTERR;
        vb_trace(f->vb, "flash", "program 0x%08x refused: write-protected", addr);
        update_irq(f);
        return true;
    }
    if (old != 0xFFFF && v != 0x0000) {
        /* "The FPEC preliminarily reads the value at the addressed main
         * Flash memory location and checks that it has been erased. If
         * not, the program operation is skipped and a warning is issued
         * by the PGERR bit (the only exception to this is when 0x0000 is
         * programmed)." */
        f->sr |= SR_PGERR;
        vb_trace(f->vb, "flash", "program 0x%08x refused: holds 0x%04x (PGERR)", addr, old);
        update_irq(f);
        return true;
    }
    enqueue(f, OP_PROG, addr, v, f->prog_ns);
    return true;
}

static void start_erase(struct flash *f)
{
    if (f->cr & CR_PER) {
        uint32_t off = f->ar - FLASH_BASE;
        if (off >= f->size) {
            vb_violation(f->vb, "flash", "PM0075 2.3.4", "page erase of 0x%08x, outside main flash", f->ar);
            f->cr &= ~CR_STRT;
            return;
        }
        if (page_protected(f, off)) {
            f->sr |= SR_WRPRTERR; /* PM0075 2.4.2 */
            f->cr &= ~CR_STRT;
            update_irq(f);
            return;
        }
        enqueue(f, OP_PAGE_ERASE, f->ar, 0, f->erase_ns);
    } else if (f->cr & CR_MER) {
        for (uint32_t off = 0; off < f->size; off += f->page_size)
            if (page_protected(f, off)) {
                f->sr |= SR_WRPRTERR;
                f->cr &= ~CR_STRT;
                update_irq(f);
                return;
            }
        enqueue(f, OP_MASS_ERASE, FLASH_BASE, 0, f->erase_ns);
    } else if (f->cr & CR_OPTER) {
        if (!(f->cr & CR_OPTWRE)) {
            vb_violation(f->vb, "flash", "PM0075 2.5.1", "option byte erase without OPTWRE");
            f->cr &= ~CR_STRT;
            return;
        }
        enqueue(f, OP_OB_ERASE, OB_BASE, 0, f->erase_ns);
    } else {
        vb_violation(f->vb, "flash", "RM0008 3.4.5 STRT", "STRT set without PER, MER or OPTER");
        f->cr &= ~CR_STRT;
    }
}

static uint32_t fpec_read(void *model, uint32_t off, unsigned size)
{
    struct flash *f = model;
    uint32_t v;
    switch (off & ~3u) {
    case ACR: v = (f->acr & ~0x20u) | ((f->acr & 0x10) << 1); break; /* PRFTBS follows PRFTBE */
    case KEYR: case OPTKEYR: v = 0; break; /* write-only */
    case SR: v = f->sr; break;
    case CR: v = f->cr; break;
    case AR: v = f->ar; break;
    case OBR: v = f->obr; break;
    case WRPR: v = f->wrpr; break;
    default:
        vb_violation(f->vb, "flash", "RM0008 3.4", "read of reserved FPEC offset 0x%02x", off);
        return 0;
    }
    return reg_get(v, off, size);
}

/* PM0075 2.3.1: KEY1 then KEY2 unlocks; "any wrong sequence locks up the
 * FPEC and FLASH_CR until the next reset" with a bus error (HardFault). */
static void key_write(struct flash *f, uint32_t v, bool opt)
{
    int *stage = opt ? &f->optkey_stage : &f->key_stage;
    bool good = !f->keys_dead && ((*stage == 0 && v == KEY1) || (*stage == 1 && v == KEY2));
    if (!opt && !(f->cr & CR_LOCK))
        good = false; /* already unlocked: a further key is a wrong sequence */
    if (opt && (f->cr & CR_LOCK))
        good = false; /* OPTKEYR needs the FPEC unlocked first (PM0075 2.5) */
    if (!good) {
        f->keys_dead = true;
        f->cr |= CR_LOCK;
        f->cr &= ~CR_OPTWRE;
        *stage = 0;
        vb_violation(f->vb, "flash", "PM0075 2.3.1", "wrong %s sequence (0x%08x): FPEC locked until reset",
                     opt ? "OPTKEYR" : "KEYR", v);
        bus_error(f, "wrong flash key sequence");
        return;
    }
    if (*stage == 0) {
        *stage = 1;
        return;
    }
    *stage = 0;
    if (opt)
        f->cr |= CR_OPTWRE;
    else
        f->cr &= ~CR_LOCK;
}

static void cr_write(struct flash *f, uint32_t v)
{
    if (f->cr & CR_LOCK) {
        /* RM0008 3.4.5 LOCK: "when set, FLASH_CR is locked"; only LOCK can
         * be (re)written. */
        if (v & (CR_PG | CR_PER | CR_MER | CR_OPTPG | CR_OPTER | CR_STRT | CR_ERRIE | CR_EOPIE))
            vb_violation(f->vb, "flash", "RM0008 3.4.5 LOCK", "FLASH_CR written while locked (0x%08x ignored)", v);
        return;
    }
    const uint32_t mode = CR_PG | CR_PER | CR_MER | CR_OPTPG | CR_OPTER;
    if ((f->sr & SR_BSY) && ((v ^ f->cr) & mode))
        vb_violation(f->vb, "flash", "PM0075 2.3", "FLASH_CR mode bits changed while BSY");
    if ((v & (CR_OPTPG | CR_OPTER)) && !(f->cr & CR_OPTWRE))
        vb_violation(f->vb, "flash", "PM0075 2.5", "OPTPG/OPTER set while OPTWRE is clear");
    uint32_t rw = mode | CR_ERRIE | CR_EOPIE;
    uint32_t nv = (f->cr & ~rw) | (v & rw);
    if (!(v & CR_OPTWRE)) /* OPTWRE: "reset by software", cannot be set by a write */
        nv &= ~CR_OPTWRE;
    if (v & CR_LOCK)
        nv |= CR_LOCK;
    bool strt = (v & CR_STRT) && !(f->cr & CR_STRT);
    f->cr = nv;
    if (strt) {
        f->cr |= CR_STRT;
        start_erase(f);
    }
    update_irq(f);
}

static void fpec_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct flash *f = model;
    switch (off & ~3u) {
    case ACR:
        f->acr = reg_put(f->acr, off, value, size) & 0x1F;
        flash_check_latency(f, vb_sysclk_hz(f->vb));
        break;
    case KEYR: key_write(f, value, false); break;
    case OPTKEYR: key_write(f, value, true); break;
    case SR: {
        uint32_t v = reg_put(0, off, value, size);
        f->sr &= ~(v & (SR_PGERR | SR_WRPRTERR | SR_EOP)); /* rc_w1 */
        update_irq(f);
        break;
    }
    case CR: cr_write(f, reg_put(f->cr, off, value, size)); break;
    case AR:
        if (f->sr & SR_BSY)
            vb_violation(f->vb, "flash", "RM0008 3.4.6", "FLASH_AR written while BSY");
        f->ar = reg_put(f->ar, off, value, size);
        break;
    case OBR: case WRPR:
        vb_violation(f->vb, "flash", "RM0008 3.4.7", "write to read-only FLASH_%s", (off & ~3u) == OBR ? "OBR" : "WRPR");
        break;
    default:
        vb_violation(f->vb, "flash", "RM0008 3.4", "write of reserved FPEC offset 0x%02x", off);
    }
}

static uint32_t ob_read(void *model, uint32_t off, unsigned size)
{
    struct flash *f = model;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < FLASH_OB_SIZE; i++)
        v |= (uint32_t)f->array[f->size + off + i] << (8 * i);
    return v;
}

/* PM0075 2.5.2 "Option byte programming": OPTWRE and OPTPG, then a
 * half-word write per option byte. */
static void ob_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct flash *f = model;
    if (!(f->cr & CR_OPTPG) || !(f->cr & CR_OPTWRE) || (f->cr & CR_LOCK)) {
        vb_violation(f->vb, "flash", "PM0075 2.5.2", "write to option bytes 0x%08x without OPTWRE+OPTPG",
                     OB_BASE + off);
        bus_error(f, "option byte write outside OPTPG");
        return;
    }
    if (size != 2 || (off & 1)) {
        vb_violation(f->vb, "flash", "PM0075 2.5.2", "%u-byte write to option bytes: half-words only", size);
        bus_error(f, "option byte write not a half-word");
        return;
    }
    /* PM0075 2.4.1, disabling read protection: erase the option bytes (RDP
     * reads 0xFF: still protected), then "program the correct RDP code
     * 0x00A5 to unprotect the memory. This operation first forces a Flash
     * mass erase"; the option bytes load at the next reset. The erase
     * ignores write protection. Code still running from main flash then
     * fetches erased words once the stall ends, as on silicon. */
    if (off == 0 && (uint8_t)value == 0xA5 && (f->obr & 2) && f->array[f->size] == 0xFF)
        enqueue(f, OP_RDP_MASS_ERASE, FLASH_BASE, 0, f->erase_ns);
    if (f->array[f->size + off] != 0xFF && (uint8_t)value != 0) {
        f->sr |= SR_PGERR; /* same preliminary erased-check as main flash */
        update_irq(f);
        return;
    }
    enqueue(f, OP_OB_PROG, OB_BASE + off, (uint16_t)value, f->prog_ns);
}
