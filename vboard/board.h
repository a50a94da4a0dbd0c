/*
 * board.h - internals shared by the board files (vb.c, cpu.c, main.c).
 * Peripheral models never include this: they see the board only through
 * vb.h, so they stay testable against tests/vboard/fake_vb.c.
 */
#ifndef VB_BOARD_H
#define VB_BOARD_H

#include "dbgmcu.h"
#include "flash.h"
#include "vb.h"

#include <stdio.h>

struct cpu;
struct rcc;
struct flash;
struct gpio;
struct afio;
struct bkp;
struct pwr;
struct nvic;
struct scb;
struct systick;
struct crc;
struct iwdg;
struct dbgmcu;
struct dwt;
struct usb_model;
struct usb_host;

enum vb_board_kind { BOARD_BLUEPILL, BOARD_MAPLE_MINI, BOARD_GENERIC_F103RC, BOARD_OLIMEX_H103 };

/* A board button that also drives BOOT0 (RM0008 3.4 "Boot configuration":
 * the BOOT pins are latched at reset; BOOT0 = 1, BOOT1 = 0 starts the
 * system memory, ST's ROM serial bootloader). On the Maple Mini the button
 * BUT reads on PB8 ("D32") and is wired to BOOT0 as well: held through a
 * reset it starts the ROM bootloader (field reports: lincomatic.com
 * "Maple Mini - Serial Programming": "press and hold reset and but, release
 * reset, and then release but. The board will look dead"; stm32duino.com
 * t=3820: "but=32 (connected to boot0)"). Its BOOT1 (PB2) is not pulled
 * down and floats (sparklogic.ru "bricked chinese mini maple"); unless
 * --pin PB2 says otherwise it is taken as 0. The blue pill and the F103RC
 * board have BOOT0/BOOT1 jumpers, the H103 a BOOT0 jumper: no button. */
static inline bool vb_board_boot0_button(enum vb_board_kind b, char *port, unsigned *pin)
{
    if (b != BOARD_MAPLE_MINI)
        return false;
    *port = 'B';
    *pin = 8;
    return true;
}

struct vb_part {
    const char *name;
    uint32_t flash_size, sram_size, page_size;
    uint16_t f_size_kib; /* what F_SIZE (0x1FFFF7E0) reports, RM0008 30.1 */
    enum vb_density density; /* DBGMCU_IDCODE DEV_ID, number of BKP registers */
};

struct vb_opts {
    const struct vb_part *part;
    enum vb_board_kind board;
    const char *firmware, *flash_file;
    const uint8_t *image; /* firmware bytes from 0x08000000 (gaps 0xFF) */
    uint32_t image_size;
    uint16_t port;
    uint8_t uid[12];
    bool no_hse;     /* --no-hse: no crystal, HSERDY never sets */
    uint32_t lsi_hz; /* --lsi-hz, 0 = default 40 kHz */
    int pin_level[5][16]; /* -1 = not given on the command line */
    int boot0;            /* --pin BOOT0=1; -1 = not given (jumper at 0) */
    unsigned trace;       /* VB_TRACE_* bits */
    bool strict, realtime, fast, hw_iwdg, quiet_gpio;
    bool flash_time_max; /* --flash-time max: datasheet maxima */
    uint32_t app_base;
    double exit_after_s; /* virtual seconds, 0 = run until a signal */
    double usb_error_rate;   /* --usb-errors: packets lost, 0..1 */
    uint64_t usb_error_seed;
    struct flash_cut cut;    /* --cut-at-flash-op, --cut-at-ns, --torn */
};

enum {
    VB_TRACE_USB = 1,
    VB_TRACE_FLASH = 2,
    VB_TRACE_MMIO = 4,
    VB_TRACE_IRQ = 8,
    VB_TRACE_USBIP = 16,
    VB_TRACE_CPU = 32,
};

struct vb_window {
    const char *name;
    uint32_t base, len;
    vb_read_fn rd;
    vb_write_fn wr;
    void *model;
};

struct vb_timer {
    uint64_t t;
    uint64_t seq; /* FIFO order among equal times */
    void (*fn)(void *);
    void *model;
};

struct vb {
    struct vb_opts opt;
    struct cpu *cpu;

    /* Models. */
    struct rcc *rcc;
    struct flash *flash;
    struct gpio *gpio;
    struct afio *afio;
    struct bkp *bkp;
    struct pwr *pwr;
    struct nvic *nvic;
    struct scb *scb;
    struct systick *systick;
    struct crc *crc;
    struct iwdg *iwdg;
    struct dbgmcu *dbgmcu;
    struct dwt *dwt;
    struct usb_model *usb;
    struct usb_host *host;

    /* MMIO windows, sorted by base. */
    struct vb_window win[48];
    int nwin;
    const struct vb_window *last_win; /* one-entry lookup cache */

    /* Scheduler: a binary heap ordered by (t, seq). */
    struct vb_timer *heap;
    size_t nheap, capheap;
    uint64_t seq;

    /* Virtual time: now_ns is exact at slice boundaries; inside a slice
     * vb_now_ns adds the instructions executed so far (cpu.c). */
    uint64_t now_ns;
    uint64_t cyc_frac; /* remainder of cycles * 1e9 / hz carried between slices */
    /* A SYSCLK switch inside a slice: the cycles run so far are folded into
     * now_ns at the clock they ran on (slice_hz), the rest at the new one. */
    uint64_t slice_folded; /* cycles of the running slice already in now_ns */
    uint32_t slice_hz;     /* the clock of the cycles not yet folded */
    uint64_t stall_until_ns;
    uint64_t flash_busy_ns; /* total virtual time spent in flash stalls */
    uint64_t wall_start_ns;
    uint64_t wall_stall_ns;  /* --realtime: wall time already slept for stalls */
    uint64_t usb_next_ns;    /* when usb_host_poll wants to run next */

    /* Requests raised from MMIO callbacks, served between slices. */
    bool stop_slice;       /* end the current slice at the next block */
    const char *reset_why; /* pending system reset */
    bool quit;             /* --strict stop or fatal */
    int exit_status;
    bool app_started;
    bool boot_halt; /* BOOT0 = 1: system memory or SRAM boot, not modelled */
    uint64_t resets;

    /* Violations: hashes of those printed once, and the count of all. */
    uint64_t viol_seen[256];
    unsigned nviol_seen;
    uint64_t violations, viol_repeats;
};

/* vb.c */
struct vb *vb_new(const struct vb_opts *opt);
int vb_run(struct vb *vb);
void vb_free(struct vb *vb);
const struct vb_window *vb_find_window(struct vb *vb, uint32_t addr);
uint32_t vb_bus_read(struct vb *vb, uint32_t addr, unsigned size);
void vb_bus_write(struct vb *vb, uint32_t addr, uint32_t value, unsigned size);
/* Asks the CPU to leave the current slice at the next block boundary (an
 * interrupt became pending, an event was scheduled inside the slice...). */
void vb_kick(struct vb *vb);
/* --trace categories, in bit order of vb_opt.trace. */
#define VB_TRACE_CATEGORIES 7
extern const char *const vb_trace_names[VB_TRACE_CATEGORIES];

uint64_t vb_wall_ns(void);
void vb_account_cycles(struct vb *vb, uint64_t n);
void vb_stall_now(struct vb *vb);
/* At the end of a run: how many violations repeated one already printed. */
void vb_report_repeats(struct vb *vb);
extern volatile int vb_signal_quit, vb_signal_reset;

/* cpu.c */
struct cpu *m3_new(struct vb *vb, uint8_t *flash_view, uint32_t flash_size, uint32_t sram_size);
void m3_free(struct cpu *c);
/* Power-on (SRAM lost) or system reset: core registers from the vector table. */
void m3_reset(struct cpu *c, bool power_on);
/* Runs at most max_instr instructions; returns how many ran. */
uint64_t m3_run(struct cpu *c, uint64_t max_instr);
/* Instructions executed so far in the current slice. */
uint64_t m3_slice_icount(const struct cpu *c);
uint32_t m3_pc(const struct cpu *c);
bool m3_sleeping(const struct cpu *c); /* WFI and no interrupt to wake it */
bool m3_locked_up(const struct cpu *c);
bool m3_in_flash(const struct cpu *c);
/* Flash contents changed between [a, a+len) (0x08000000-based). */
void m3_flash_changed(struct cpu *c, uint32_t addr, uint32_t len);
/* A bus error on a data access (e.g. FPEC wrong key): HardFault at once. */
void m3_bus_fault(struct cpu *c, const char *why);
uint8_t *m3_sram(struct cpu *c);
/* --strict stop: leave the slice at once, never to resume it. */
void m3_stop_now(struct cpu *c);
/* Between slices: takes a pending exception the priorities allow, wakes WFI. */
void m3_check_interrupts(struct cpu *c);

#endif
