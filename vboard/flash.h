/*
 * flash.h - embedded flash: the FPEC registers at 0x40022000 (RM0008 3.3,
 * PM0075), the main array, the option bytes at 0x1FFFF800, and their
 * persistence in a file (--flash): main flash followed by the 16 option
 * bytes, shared-mapped, each erase/program landing when it completes.
 */
#ifndef VB_FLASH_H
#define VB_FLASH_H

#include "vb.h"

struct flash;

/* DS5319 (medium density) table "Flash memory characteristics", the same
 * in DS5792 (high density) and DS5919 (low density): tPROG 16-bit
 * programming time 40 min / 52.5 typ / 70 max us; tERASE page erase 20 min
 * / 40 max ms; tME mass erase 20 min / 40 max ms. The erases have no typical
 * value in the table: "typ" uses the minimum, "max" the maximum
 * (--flash-time). */
#define FLASH_PROG_NS 52500ull     /* tPROG typical */
#define FLASH_ERASE_NS 20000000ull /* tERASE page and tME mass erase, min */
#define FLASH_PROG_MAX_NS 70000ull
#define FLASH_ERASE_MAX_NS 40000000ull

#define FLASH_OB_SIZE 16

struct flash_cfg {
    uint32_t flash_size, page_size;
    const char *file;      /* NULL: contents live in memory only */
    const uint8_t *image;  /* firmware placed at 0x08000000 in a new flash */
    uint32_t image_size;
    bool hw_iwdg;          /* USER.WDG_SW = 0 */
    bool time_max;         /* datasheet maximum busy times (--flash-time max) */
    struct flash_cut *cut; /* NULL: the power stays on */
};

/* A power cut (vboard --cut-at-flash-op, --cut-at-ns; issue 12).
 *
 * Operations are numbered from 1 in the order they start, counted from
 * power-on (a system reset does not restart the count): page erases, mass
 * erases, half-word programs, option-byte erases and programs. Refused
 * operations (PGERR, WRPRTERR) never start and take no number.
 *
 * at_op K: the power stops while operation K is in progress. Operations
 * 1..K-1 have completed (a later one only starts when the one before it has
 * ended, PM0075 2.3.3); operation K is torn as `torn` says; nothing after
 * it happens. at_ns T: the power stops at virtual time T; an operation in
 * progress at T is torn, earlier ones completed, queued ones never start.
 *
 * Torn results (flash.c tear_*): an erase leaves every 0 bit of its target
 * either still 0 or already 1 (a seeded mix), a program leaves the value
 * between old and new: only bits it was clearing, a seeded subset of them.
 * TORN_OLD and TORN_NEW are the two ends: the operation had no effect yet,
 * or had just finished. */
enum flash_torn { TORN_SEEDED, TORN_OLD, TORN_NEW };
struct flash_cut {
    uint64_t at_op;          /* 0: none */
    uint64_t at_ns;          /* 0: none */
    enum flash_torn torn;
    uint64_t seed;           /* TORN_SEEDED: the mix; printed with the cut */
};

/* NULL (with a message on stderr) when the file cannot be used. */
struct flash *flash_new(struct vb *vb, const struct flash_cfg *cfg);
/* Operations in flight are dropped: they never reach the array. */
void flash_free(struct flash *f);
/* System reset: FPEC registers to reset values, option bytes reloaded into
 * OBR/WRPR (RM0008 3.3.? "option byte loading"), pending operations lost. */
void flash_reset(struct flash *f);

/* The array (authoritative, file-backed) and the CPU's view of it. */
uint8_t *flash_array(struct flash *f);
uint8_t *flash_view(struct flash *f);
uint8_t *flash_option_bytes(struct flash *f);
bool flash_wdg_sw(const struct flash *f);
bool flash_busy(const struct flash *f);

/* A CPU store into main flash (addr absolute, 0x08000000-based). Returns
 * false for a bus error (the store must fault). */
bool flash_cpu_write(struct flash *f, uint32_t addr, uint32_t value, unsigned size);

/* changed(addr, len): the array changed (the CPU must drop cached code).
 * bus_error(why): a register access the FPEC answers with a bus error. */
void flash_set_hooks(struct flash *f, void (*changed)(void *, uint32_t, uint32_t),
                     void (*bus_error)(void *, const char *), void *ctx);
/* Completes now the operations whose time has come (a CPU read of flash
 * stalled until then, PM0075 2.3.3); their callbacks then do nothing. */
void flash_finish_due(struct flash *f);
/* FLASH_ACR as the CPU's fetch timing sees it (LATENCY bits 2:0, PRFTBE
 * bit 4; RM0008 3.3.3). */
uint32_t flash_acr(const struct flash *f);
/* The RCC calls this when SYSCLK changes: checks ACR.LATENCY. */
void flash_check_latency(struct flash *f, uint32_t sysclk_hz);
unsigned flash_bus_errors(const struct flash *f);
/* Flash operations started since power-on (see struct flash_cut). */
uint64_t flash_ops(const struct flash *f);
/* True once the power was cut: the array no longer changes. */
bool flash_power_off(const struct flash *f);

/* The torn results, exposed for the unit tests: seed picks the mix. An
 * erase of n bytes at p: 0 bits become 1 or stay 0. A program of new over
 * the n bytes at p: bits set in p and clear in new may clear, nothing else
 * changes. */
void flash_tear_erase(uint8_t *p, size_t n, uint64_t seed);
void flash_tear_program(uint8_t *p, const uint8_t *new_bytes, size_t n, uint64_t seed);

#endif
