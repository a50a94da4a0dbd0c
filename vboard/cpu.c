/*
 * cpu.c - the Cortex-M3 core on Unicorn 2.0.1 (see shared notes/unicorn.md):
 * memory map, instruction counting for virtual time, exception entry and
 * return done by hand as on an M3 (PM0056 2.3.7), faults, WFI.
 */
#include "board.h"

#include "flash.h"
#include "nvic.h"
#include "scb.h"

#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

struct cpu {
    struct vb *vb;
    uc_engine *uc;
    uint8_t *flash_view; /* what the CPU reads; flash.c keeps it equal to the array */
    uint32_t flash_size;
    uint8_t *sram;
    uint32_t sram_size;

    uint64_t icount; /* cycles run in the current slice (block_cycles) */
    uint64_t budget; /* the slice ends at the first block boundary past it */
    uint32_t last_pc; /* start of the block running now */
    bool stopped;     /* we ended the slice (not WFI) */
    /* A pending interrupt is masked (PRIMASK/BASEPRI/FAULTMASK): a block
     * holding CPSIE/MSR is run instruction-exactly up to that instruction,
     * so the interrupt is taken at the next instruction as on the M3. */
    bool watch_unmask;
    uint32_t step_n; /* > 0: next slice runs exactly this many instructions */
    bool stepping;

    /* Instructions per translated block, by start address (Thumb-2
     * lengths decoded once): time advances one cycle per instruction
     * without a per-instruction hook (about 10x faster). */
    struct bcache {
        uint32_t addr, size;
        uint16_t count;
        uint16_t lines;    /* 64-bit flash blocks the code spans */
        int16_t unmask_at; /* index of the first CPSIE/MSR, -1 none */
    } bc[8192];
    uint32_t next_pc;  /* the address after the block run last (sequential fetch) */
    uint32_t cur_line; /* 64-bit flash block (address / 8) the CPU executes, ~0 none */
    bool in_slice;
    bool sleeping, locked;
    bool stack_no_thumb; /* next frame stacks EPSR.T = 0 (INVSTATE entry) */

    /* Stores that Unicorn let land in the view before flash.c decided: the
     * view is put back from the array at the end of the slice. */
    bool dirty;
    uint32_t dirty_lo, dirty_hi;

    /* Code cache invalidation requested while a slice runs (flash changed
     * from inside a hook): done when the slice ends. */
    bool inval;
    uint32_t inval_lo, inval_hi;

    /* Data reads of flash are hooked only around flash activity (the hook
     * costs on every literal load): added when the FPEC turns busy,
     * removed after a quiet period. */
    uc_hook read_hook;
    bool read_hooked;
    uint64_t last_busy_ns;

    /* Fault raised inside a hook, taken when uc_emu_start returns. */
    const char *fault;
    uint32_t fault_addr;
    uint32_t fault_cfsr;
};

#define FLASH_BASE 0x08000000u
#define SRAM_BASE 0x20000000u
#define PERIPH_BASE 0x40000000u
#define PERIPH_LEN 0x30000u
#define PPB_BASE 0xE0000000u

/* CFSR bits (PM0056 4.4.11) */
#define CFSR_IBUSERR (1u << 8)
#define CFSR_PRECISERR (1u << 9)
#define CFSR_BFARVALID (1u << 15)
#define CFSR_UNDEFINSTR (1u << 16)
#define CFSR_INVSTATE (1u << 17)
#define CFSR_INVPC (1u << 18)
#define CFSR_NOCP (1u << 19)
#define CFSR_UNALIGNED (1u << 24)

static uint32_t rreg(uc_engine *uc, int r)
{
    uint32_t v = 0;
    uc_reg_read(uc, r, &v);
    return v;
}

static void wreg(uc_engine *uc, int r, uint32_t v) { uc_reg_write(uc, r, &v); }

uint64_t m3_slice_icount(const struct cpu *c) { return c && c->in_slice ? c->icount : 0; }
uint32_t m3_pc(const struct cpu *c)
{
    if (!c)
        return 0;
    return c->in_slice ? c->last_pc : rreg(c->uc, UC_ARM_REG_PC);
}
bool m3_sleeping(const struct cpu *c) { return c->sleeping; }
bool m3_locked_up(const struct cpu *c) { return c->locked; }
uint8_t *m3_sram(struct cpu *c) { return c->sram; }

void m3_stop_now(struct cpu *c)
{
    /* Only for ending the run: resuming after a stop from inside an MMIO
     * callback would re-execute the block (notes trap 2). */
    if (c && c->in_slice)
        uc_emu_stop(c->uc);
}

bool m3_in_flash(const struct cpu *c)
{
    uint32_t pc = rreg(c->uc, UC_ARM_REG_PC);
    return pc - FLASH_BASE < c->flash_size || pc < c->flash_size;
}

void m3_flash_changed(struct cpu *c, uint32_t addr, uint32_t len)
{
    uint32_t off = addr - FLASH_BASE;
    if (c->in_slice) {
        if (!c->inval || off < c->inval_lo)
            c->inval_lo = off;
        if (!c->inval || off + len > c->inval_hi)
            c->inval_hi = off + len;
        c->inval = true;
        c->vb->stop_slice = true;
        return;
    }
    /* Translated code is not invalidated by host-side changes (notes trap 3). */
    uc_ctl_remove_cache(c->uc, FLASH_BASE + off, FLASH_BASE + off + len);
    uc_ctl_remove_cache(c->uc, off, off + len);
}

static uint32_t vtor(const struct cpu *c) { return scb_vtor(c->vb->scb); }

static uint32_t read32(struct cpu *c, uint32_t addr)
{
    uint32_t v = 0;
    if (uc_mem_read(c->uc, addr, &v, 4) != UC_ERR_OK)
        return 0xFFFFFFFF;
    return v;
}

static void fault(struct cpu *c, const char *why, uint32_t pc, uint32_t cfsr, uint32_t bfar);

static void lockup(struct cpu *c, const char *why)
{
    vb_event(c->vb, "LOCKUP: %s (PC 0x%08x); the core stops until a reset", why,
             rreg(c->uc, UC_ARM_REG_PC));
    c->locked = true;
    if (c->in_slice)
        uc_emu_stop(c->uc);
}

static int exec_priority(struct cpu *c)
{
    uint32_t primask = rreg(c->uc, UC_ARM_REG_PRIMASK), basepri = rreg(c->uc, UC_ARM_REG_BASEPRI),
             faultmask = rreg(c->uc, UC_ARM_REG_FAULTMASK);
    return nvic_exec_priority(c->vb->nvic, primask & 1, (uint8_t)basepri, faultmask & 1);
}

/* Points the core at the handler of exc: IPSR, LR = exc_return, PC. */
static void enter_handler(struct cpu *c, unsigned exc, uint32_t exc_return)
{
    uc_engine *uc = c->uc;
    nvic_activate(c->vb->nvic, exc);
    wreg(uc, UC_ARM_REG_IPSR, exc);
    /* Rebuilds Unicorn's cached mode flags (notes trap 5). */
    wreg(uc, UC_ARM_REG_APSR_NZCV, rreg(uc, UC_ARM_REG_APSR_NZCV));
    wreg(uc, UC_ARM_REG_LR, exc_return);
    uint32_t vec = read32(c, vtor(c) + 4 * exc);
    c->sleeping = false;
    if (c->vb->opt.trace & VB_TRACE_IRQ)
        vb_trace(c->vb, "irq", "enter exception %u -> 0x%08x (LR 0x%08x)", exc, vec, exc_return);
    if (!(vec & 1)) {
        /* ARMv7-M B1.5.6: entry copies bit 0 of the vector into EPSR.T; with
         * T = 0 the first instruction of the handler raises an INVSTATE
         * UsageFault (PM0056 4.4.11 "INVSTATE ... EPSR"), with the handler
         * already active and the vector address as the faulting PC. */
        wreg(uc, UC_ARM_REG_PC, vec | 1);
        c->stack_no_thumb = true;
        fault(c, "vector lacks the Thumb bit: INVSTATE on the handler's first instruction", vec,
              CFSR_INVSTATE, 0xFFFFFFFF);
        return;
    }
    wreg(uc, UC_ARM_REG_PC, vec | 1);
}

/* Exception entry (PM0056 2.3.7 "Exception entry"): the 8-word frame on
 * the current stack, 8-byte aligned with xPSR bit 9 recording the pad. */
static void take_exception(struct cpu *c, unsigned exc, uint32_t return_pc)
{
    uc_engine *uc = c->uc;
    uint32_t ipsr = rreg(uc, UC_ARM_REG_IPSR) & 0x1FF;
    uint32_t control = rreg(uc, UC_ARM_REG_CONTROL);
    bool thread = ipsr == 0, psp = thread && (control & 2);
    uint32_t sp = rreg(uc, UC_ARM_REG_SP);
    /* EPSR.T is stacked as it is: 0 only when the return address is a
     * handler entered from a vector without the Thumb bit (INVSTATE). */
    uint32_t xpsr = rreg(uc, UC_ARM_REG_XPSR) | (1u << 24);
    if (c->stack_no_thumb)
        xpsr &= ~(1u << 24);
    c->stack_no_thumb = false;
    bool pad = (sp & 4) != 0;
    uint32_t frame[8] = {
        rreg(uc, UC_ARM_REG_R0), rreg(uc, UC_ARM_REG_R1), rreg(uc, UC_ARM_REG_R2),
        rreg(uc, UC_ARM_REG_R3), rreg(uc, UC_ARM_REG_R12), rreg(uc, UC_ARM_REG_LR),
        return_pc & ~1u, (xpsr & ~(1u << 9)) | (pad ? 1u << 9 : 0),
    };
    sp = (sp - 32) & ~7u;
    if (uc_mem_write(uc, sp, frame, sizeof frame) != UC_ERR_OK) {
        /* Stacking fault: escalates to HardFault; give up clearly. */
        lockup(c, "exception entry could not stack the frame (SP out of SRAM)");
        return;
    }
    wreg(uc, UC_ARM_REG_SP, sp);
    if (psp) /* handler mode always runs on MSP */
        wreg(uc, UC_ARM_REG_CONTROL, control & ~2u);
    enter_handler(c, exc, thread ? (psp ? 0xFFFFFFFD : 0xFFFFFFF9) : 0xFFFFFFF1);
}

/* Which configurable fault a CFSR bit belongs to (PM0056 4.4.11: MMFSR is
 * bits 7:0, BFSR 15:8, UFSR 31:16); HardFault for none (SVC escalation,
 * BKPT, vector table read). */
static unsigned fault_exception(uint32_t cfsr)
{
    if (cfsr & 0xFFu)
        return EXC_MEMMANAGE;
    if (cfsr & 0xFF00u)
        return EXC_BUSFAULT;
    if (cfsr & 0xFFFF0000u)
        return EXC_USAGEFAULT;
    return EXC_HARDFAULT;
}

static const char *const exc_name[] = {
    [EXC_HARDFAULT] = "HardFault", [EXC_MEMMANAGE] = "MemManage", [EXC_BUSFAULT] = "BusFault",
    [EXC_USAGEFAULT] = "UsageFault",
};

/* A synchronous fault at pc (PM0056 2.4 "Fault handling", ARMv7-M B1.5.8):
 * MemManage, BusFault and UsageFault are taken as themselves when enabled
 * in SHCSR and of higher priority than the current execution priority;
 * otherwise they escalate to HardFault with HFSR.FORCED. A fault that
 * HardFault cannot preempt either (in HardFault or NMI, or FAULTMASK set)
 * is lockup (ARMv7-M B1.5.15). escalated: a HardFault that counts as
 * forced though no configurable fault is named (an SVC at too high a
 * priority). */
static void fault_ex(struct cpu *c, const char *why, uint32_t pc, uint32_t cfsr, uint32_t bfar,
                     bool escalated)
{
    struct nvic *n = c->vb->nvic;
    int prio = exec_priority(c);
    unsigned exc = fault_exception(cfsr);
    if (exc != EXC_HARDFAULT && scb_fault_enabled(c->vb->scb, exc) &&
        nvic_group_priority(n, nvic_priority(n, exc)) < prio) {
        vb_event(c->vb, "%s: %s at PC 0x%08x", exc_name[exc], why, pc);
        scb_record_fault(c->vb->scb, cfsr, bfar, false);
        take_exception(c, exc, pc);
        return;
    }
    if (prio < 0) {
        vb_event(c->vb, "fault: %s at PC 0x%08x, which HardFault cannot preempt", why, pc);
        lockup(c, prio == -2 ? "fault in the NMI handler" :
                  nvic_is_active(n, EXC_HARDFAULT) ? "fault in the HardFault handler" :
                                                     "fault with FAULTMASK set");
        return;
    }
    bool forced = escalated || exc != EXC_HARDFAULT;
    if (exc != EXC_HARDFAULT)
        vb_event(c->vb, "HardFault: %s at PC 0x%08x, escalated from %s (%s)", why, pc,
                 exc_name[exc], scb_fault_enabled(c->vb->scb, exc) ? "priority too low" :
                                "not enabled in SHCSR");
    else
        vb_event(c->vb, "HardFault: %s at PC 0x%08x", why, pc);
    scb_record_fault(c->vb->scb, cfsr, bfar, forced);
    take_exception(c, EXC_HARDFAULT, pc);
}

static void fault(struct cpu *c, const char *why, uint32_t pc, uint32_t cfsr, uint32_t bfar)
{
    fault_ex(c, why, pc, cfsr, bfar, false);
}

void m3_bus_fault(struct cpu *c, const char *why)
{
    /* Taken when the store completes: the hook stops the slice. */
    c->fault = why;
    c->fault_addr = 0xFFFFFFFF;
    c->fault_cfsr = CFSR_PRECISERR;
    c->vb->stop_slice = true;
}

/* Exception return (PM0056 2.3.7 "Exception return"), with tail-chaining. */
static void exception_return(struct cpu *c, uint32_t exc_return)
{
    uc_engine *uc = c->uc;
    struct nvic *n = c->vb->nvic;
    unsigned exc = rreg(uc, UC_ARM_REG_IPSR) & 0x1FF;
    if (exc_return != 0xFFFFFFF1 && exc_return != 0xFFFFFFF9 && exc_return != 0xFFFFFFFD) {
        fault(c, "invalid EXC_RETURN value (INVPC)", exc_return, CFSR_INVPC, 0xFFFFFFFF);
        return;
    }
    nvic_deactivate(n, exc);
    bool to_thread = exc_return != 0xFFFFFFF1;
    if (to_thread && nvic_active_count(n)) {
        /* CCR.NONBASETHRDENA = 0: returning to thread with others active. */
        fault(c, "return to Thread mode with exceptions still active (INVPC)", exc_return,
              CFSR_INVPC, 0xFFFFFFFF);
        return;
    }
    /* Tail-chaining: a pending exception that would preempt the context we
     * return to is entered directly, the frame stays on the stack. */
    int after = nvic_exec_priority(n, rreg(uc, UC_ARM_REG_PRIMASK) & 1,
                                   (uint8_t)rreg(uc, UC_ARM_REG_BASEPRI),
                                   rreg(uc, UC_ARM_REG_FAULTMASK) & 1);
    unsigned next = nvic_preempting(n, after);
    if (next) {
        enter_handler(c, next, exc_return);
        return;
    }
    if (to_thread) {
        wreg(uc, UC_ARM_REG_IPSR, 0);
        if (exc_return == 0xFFFFFFFD) /* back to the process stack */
            wreg(uc, UC_ARM_REG_CONTROL, rreg(uc, UC_ARM_REG_CONTROL) | 2u);
    }
    uint32_t sp = rreg(uc, UC_ARM_REG_SP), f[8];
    if (uc_mem_read(uc, sp, f, sizeof f) != UC_ERR_OK) {
        lockup(c, "exception return could not unstack the frame");
        return;
    }
    sp += 32 + ((f[7] >> 9) & 1) * 4;
    wreg(uc, UC_ARM_REG_SP, sp);
    wreg(uc, UC_ARM_REG_R0, f[0]);
    wreg(uc, UC_ARM_REG_R1, f[1]);
    wreg(uc, UC_ARM_REG_R2, f[2]);
    wreg(uc, UC_ARM_REG_R3, f[3]);
    wreg(uc, UC_ARM_REG_R12, f[4]);
    wreg(uc, UC_ARM_REG_LR, f[5]);
    wreg(uc, UC_ARM_REG_XPSR, f[7] & ~(1u << 9));
    wreg(uc, UC_ARM_REG_IPSR, f[7] & 0x1FF);
    wreg(uc, UC_ARM_REG_APSR_NZCV, f[7]);
    wreg(uc, UC_ARM_REG_PC, f[6] | 1);
    if (!(f[7] & (1u << 24))) {
        /* Returning to code with EPSR.T = 0: INVSTATE again (B1.5.8). */
        c->stack_no_thumb = true;
        fault(c, "exception return to a frame with EPSR.T = 0 (INVSTATE)", f[6], CFSR_INVSTATE,
              0xFFFFFFFF);
        return;
    }
    if ((f[7] & 0x1FF) != (to_thread ? 0u : f[7] & 0x1FF))
        vb_event(c->vb, "exception return: stacked IPSR %u does not match the return mode",
                 f[7] & 0x1FF);
    if (c->vb->opt.trace & VB_TRACE_IRQ)
        vb_trace(c->vb, "irq", "return from exception %u to 0x%08x", exc, f[6]);
    if (to_thread && scb_sleeponexit(c->vb->scb)) {
        c->sleeping = true;
        if (c->in_slice)
            uc_emu_stop(uc);
    }
}

void m3_check_interrupts(struct cpu *c)
{
    if (c->locked)
        return;
    int prio = exec_priority(c);
    unsigned exc = nvic_preempting(c->vb->nvic, prio);
    if (exc) {
        take_exception(c, exc, rreg(c->uc, UC_ARM_REG_PC));
        return;
    }
    /* WFI wakes for an interrupt that would preempt with PRIMASK clear
     * (ARMv7-M B1.5.19). */
    if (c->sleeping) {
        int woke = nvic_exec_priority(c->vb->nvic, false, (uint8_t)rreg(c->uc, UC_ARM_REG_BASEPRI),
                                      rreg(c->uc, UC_ARM_REG_FAULTMASK) & 1);
        if (nvic_preempting(c->vb->nvic, woke))
            c->sleeping = false;
    }
}

/* ---- Hooks ------------------------------------------------------------------ */
static const uint8_t *host_ptr(struct cpu *c, uint32_t addr)
{
    if (addr - FLASH_BASE < c->flash_size - 1)
        return c->flash_view + (addr - FLASH_BASE);
    if (addr < c->flash_size - 1)
        return c->flash_view + addr;
    if (addr - SRAM_BASE < c->sram_size - 1)
        return c->sram + (addr - SRAM_BASE);
    return NULL;
}

static const struct bcache *block_info(struct cpu *c, uint32_t addr, uint32_t size)
{
    struct bcache *b = &c->bc[(addr >> 1) & 8191];
    if (b->addr == addr && b->size == size && size)
        return b;
    b->addr = addr;
    b->size = size;
    b->count = 0;
    b->unmask_at = -1;
    const uint8_t *p = host_ptr(c, addr);
    for (uint32_t off = 0; off < size;) {
        uint16_t hw = p ? (uint16_t)(p[off] | p[off + 1] << 8) : 0;
        if (hw == 0xB662 || hw == 0xB661 || (hw & 0xFFF0) == 0xF380) /* CPSIE i/f, MSR */
            if (b->unmask_at < 0)
                b->unmask_at = (int16_t)b->count;
        /* Thumb-2: first halfword 0b11101/0b11110/0b11111 = 32-bit. */
        off += (hw >> 11) >= 0x1D ? 4 : 2;
        b->count++;
    }
    if (!b->count)
        b->count = 1;
    b->lines = (uint16_t)(((addr + (size ? size : 2) - 1) >> 3) - (addr >> 3) + 1);
    return b;
}

/* Cycles of one run of a translated block (straight-line code ending at a
 * branch). The timing model, stated in the README ("Instruction timing"):
 * - 1 cycle per instruction (Cortex-M3 TRM, ARM DDI 0337, 3.3 "Processor
 *   instruction timings" table 3-1: most data-processing
 *   instructions take 1 cycle);
 * - a block entered non-sequentially (a taken branch, an exception entry
 *   or return) costs a pipeline refill P = 1 cycle, the minimum of "B: 1 +
 *   P ... P ranges from 1 to 3" (same table);
 * - code in flash is read in 64-bit blocks, each read taking LATENCY wait
 *   states (RM0008 3.3.3, FLASH_ACR). The interface holds the block being
 *   executed; with the prefetch buffer on (PRFTBE) it also holds the next
 *   one. RM0008 only names the buffer (2 x 64 bits); its behaviour is from
 *   RM0364's text for the same flash interface (STM32F334, "Prefetch
 *   buffer": "2 blocks wide where each block consists of 8 bytes", the
 *   controller reads "when there is at least one block free"). A fetch from a held block does not
 *   wait. So, prefetch on: a branch to another block waits LATENCY, a
 *   sequential block waits only when the CPU spent fewer than 1 + LATENCY
 *   cycles in the previous one; prefetch off: every new block waits.
 * Not counted (so the model is a lower bound, README): loads/stores (2
 * cycles), multi-cycle instructions, literal loads over DCode, exception
 * entry (12 cycles), bus wait states. */
static uint32_t block_cycles(struct cpu *c, const struct bcache *b)
{
    bool seq = b->addr == c->next_pc;
    c->next_pc = b->addr + b->size;
    uint32_t cyc = b->count + (seq ? 0 : 1);
    bool in_flash = b->addr - FLASH_BASE < c->flash_size || b->addr < c->flash_size;
    uint32_t held = c->cur_line, first = b->addr >> 3, lines = b->lines;
    c->cur_line = in_flash ? first + lines - 1 : UINT32_MAX;
    if (!in_flash)
        return cyc;
    uint32_t acr = flash_acr(c->vb->flash), lat = acr & 7;
    if (lat > 2) /* 011..111 are reserved (RM0008 3.3.3): read as the slowest */
        lat = 2;
    if (!lat)
        return cyc;
    if (!(acr & (1u << 4))) /* PRFTBE off: each block not held is read */
        return cyc + lat * (first == held ? lines - 1u : lines);
    if (first != held && first != held + 1)
        cyc += lat; /* not in the buffer: read on demand */
    if (lines > 1) {
        uint32_t fetch = (lines - 1u) * (1u + lat);
        uint32_t run = (uint32_t)b->count * (lines - 1u) / lines;
        if (fetch > run)
            cyc += fetch - run;
    }
    return cyc;
}

static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
    struct cpu *c = ud;
    if (c->stepping) /* counted by uc_emu_start's own count */
        return;
    /* The PC is exact here (notes trap 2): the place to leave a slice,
     * before this block runs (so it is not counted). */
    if (c->vb->stop_slice || c->icount >= c->budget) {
        c->stopped = true;
        uc_emu_stop(uc);
        return;
    }
    const struct bcache *b = block_info(c, (uint32_t)addr, size);
    if (c->watch_unmask && b->unmask_at >= 0) {
        c->step_n = (uint32_t)b->unmask_at + 1;
        c->stopped = true;
        uc_emu_stop(uc);
        return;
    }
    c->icount += block_cycles(c, b);
    c->last_pc = (uint32_t)addr;
    if (!c->vb->app_started && addr >= c->vb->opt.app_base && addr - FLASH_BASE < c->flash_size) {
        c->vb->app_started = true;
        vb_event(c->vb, "app start 0x%08x", (uint32_t)addr);
    }
}

static void on_intr(uc_engine *uc, uint32_t intno, void *ud)
{
    struct cpu *c = ud;
    uint32_t pc = rreg(uc, UC_ARM_REG_PC);
    switch (intno) {
    case 2: { /* SVC: PC is already past the instruction */
        int prio = exec_priority(c);
        if (nvic_group_priority(c->vb->nvic, nvic_priority(c->vb->nvic, EXC_SVCALL)) >= prio) {
            /* PM0056 2.4: an SVC that cannot be taken escalates. */
            fault_ex(c, "SVC executed at or above SVCall's priority", pc - 2, 0, 0xFFFFFFFF, true);
            return;
        }
        take_exception(c, EXC_SVCALL, pc);
        return;
    }
    case 8: /* EXCP_EXCEPTION_EXIT: PC holds EXC_RETURN without bit 0 */
        exception_return(c, pc | 1);
        return;
    case 1:
        fault(c, "undefined instruction (UNDEFINSTR)", pc, CFSR_UNDEFINSTR, 0xFFFFFFFF);
        return;
    case 3:
        fault(c, "instruction fetch bus error (IBUSERR)", pc, CFSR_IBUSERR, 0xFFFFFFFF);
        return;
    case 4:
        fault(c, "data access bus error (PRECISERR)", pc, CFSR_PRECISERR, 0xFFFFFFFF);
        return;
    case 7:
        fault(c, "BKPT with no debugger attached", pc, 0, 0xFFFFFFFF);
        return;
    case 17:
        fault(c, "coprocessor instruction (NOCP)", pc, CFSR_NOCP, 0xFFFFFFFF);
        return;
    case 18:
        fault(c, "invalid state, e.g. branch to an even address (INVSTATE)", pc, CFSR_INVSTATE,
              0xFFFFFFFF);
        return;
    case 22:
        fault(c, "unaligned access (UNALIGNED)", pc, CFSR_UNALIGNED, 0xFFFFFFFF);
        return;
    default: {
        static char why[48]; /* fault() keeps only the pointer briefly */
        snprintf(why, sizeof why, "CPU exception %u", intno);
        fault(c, why, pc, 0, 0xFFFFFFFF);
        return;
    }
    }
}

/* Stores into flash (either alias) reach the FPEC model first; a store it
 * accepts also lands in the view, which is restored at the end of the
 * slice (flash.c decides what the array really holds, and when). */
static bool on_flash_write(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                           void *ud)
{
    struct cpu *c = ud;
    (void)uc, (void)type;
    uint32_t a = (uint32_t)addr;
    if (a < c->flash_size)
        a += FLASH_BASE;
    if (a - FLASH_BASE >= c->flash_size)
        return false;
    if (!flash_cpu_write(c->vb->flash, a, (uint32_t)value, (unsigned)size)) {
        c->fault = "write to flash refused by the FPEC (bus error)";
        c->fault_addr = a;
        c->fault_cfsr = CFSR_PRECISERR | CFSR_BFARVALID;
        return false;
    }
    uint32_t off = a - FLASH_BASE;
    if (!c->dirty || off < c->dirty_lo)
        c->dirty_lo = off;
    if (!c->dirty || off + (uint32_t)size > c->dirty_hi)
        c->dirty_hi = off + (uint32_t)size;
    c->dirty = true;
    c->vb->stop_slice = true;
    return true;
}

static void on_flash_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                          void *ud)
{
    struct cpu *c = ud;
    (void)uc, (void)type, (void)addr, (void)size, (void)value;
    if (flash_busy(c->vb->flash))
        vb_stall_now(c->vb);
}

/* At slice boundaries: hook flash data reads while the FPEC is (or was
 * recently) busy. Changing hooks needs the translated code flushed. */
static void update_read_hook(struct cpu *c)
{
    uint64_t now = vb_now_ns(c->vb);
    bool busy = flash_busy(c->vb->flash);
    if (busy)
        c->last_busy_ns = now;
    if (busy && !c->read_hooked) {
        if (uc_hook_add(c->uc, &c->read_hook, UC_HOOK_MEM_READ, on_flash_read, c, 0,
                        FLASH_BASE + c->flash_size - 1) == UC_ERR_OK) {
            c->read_hooked = true;
            uc_ctl_remove_cache(c->uc, 0, 0xFFFFFFFF);
        }
    } else if (!busy && c->read_hooked && now - c->last_busy_ns > 5000000) {
        uc_hook_del(c->uc, c->read_hook);
        c->read_hooked = false;
        uc_ctl_remove_cache(c->uc, 0, 0xFFFFFFFF);
    }
}

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                        void *ud)
{
    struct cpu *c = ud;
    (void)uc, (void)value;
    const char *what = type == UC_MEM_FETCH_UNMAPPED ? "fetch" :
                       type == UC_MEM_WRITE_UNMAPPED ? "write" : "read";
    vb_violation(c->vb, "bus", "unmapped address", "%s of 0x%08x (%d bytes): nothing there", what,
                 (uint32_t)addr, size);
    c->fault = type == UC_MEM_FETCH_UNMAPPED ? "instruction fetch from unmapped memory (IBUSERR)"
                                             : "access to unmapped memory (PRECISERR)";
    c->fault_addr = (uint32_t)addr;
    c->fault_cfsr = type == UC_MEM_FETCH_UNMAPPED ? CFSR_IBUSERR : CFSR_PRECISERR | CFSR_BFARVALID;
    return false;
}

static uint64_t mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    (void)uc;
    struct cpu *c = ud;
    /* user_data is the cpu; the base is recovered by the thunk below. */
    return vb_bus_read(c->vb, (uint32_t)off, size);
}

#define MMIO_THUNKS(name, base)                                                                \
    static uint64_t name##_rd(uc_engine *uc, uint64_t off, unsigned size, void *ud)           \
    {                                                                                          \
        return mmio_read(uc, (base) + off, size, ud);                                          \
    }                                                                                          \
    static void name##_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *ud)   \
    {                                                                                          \
        (void)uc;                                                                              \
        struct cpu *c = ud;                                                                    \
        vb_bus_write(c->vb, (uint32_t)((base) + off), (uint32_t)v, size);                      \
    }

MMIO_THUNKS(periph, PERIPH_BASE)
MMIO_THUNKS(ppb, PPB_BASE)
MMIO_THUNKS(sysmem, 0x1FFFF000u)

/* Bit-band aliases (PM0056 2.2.5): one word per bit of the region. */
static uint64_t pbb_rd(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    (void)uc, (void)size;
    struct cpu *c = ud;
    uint32_t addr = (PERIPH_BASE + (uint32_t)(off / 32)) & ~3u, bit = (uint32_t)(off / 4) % 32;
    return (vb_bus_read(c->vb, addr, 4) >> bit) & 1;
}

static void pbb_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *ud)
{
    (void)uc, (void)size;
    struct cpu *c = ud;
    uint32_t addr = (PERIPH_BASE + (uint32_t)(off / 32)) & ~3u, bit = (uint32_t)(off / 4) % 32;
    uint32_t w = vb_bus_read(c->vb, addr, 4);
    w = (v & 1) ? w | (1u << bit) : w & ~(1u << bit);
    vb_bus_write(c->vb, addr, w, 4);
}

static uint64_t sbb_rd(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    (void)uc, (void)size;
    struct cpu *c = ud;
    uint32_t byte = (uint32_t)(off / 32), bit = (uint32_t)(off / 4) % 8;
    return byte < c->sram_size ? (c->sram[byte] >> bit) & 1 : 0;
}

static void sbb_wr(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *ud)
{
    (void)uc, (void)size;
    struct cpu *c = ud;
    uint32_t byte = (uint32_t)(off / 32), bit = (uint32_t)(off / 4) % 8;
    if (byte < c->sram_size)
        c->sram[byte] = (uint8_t)((v & 1) ? c->sram[byte] | (1u << bit) : c->sram[byte] & ~(1u << bit));
}

/* ---- Construction, reset, running ------------------------------------------ */
static bool ok(uc_err e, const char *what)
{
    if (e != UC_ERR_OK)
        fprintf(stderr, "vboard: unicorn: %s: %s\n", what, uc_strerror(e));
    return e == UC_ERR_OK;
}

struct cpu *m3_new(struct vb *vb, uint8_t *flash_view, uint32_t flash_size, uint32_t sram_size)
{
    struct cpu *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->vb = vb;
    c->cur_line = UINT32_MAX;
    c->flash_view = flash_view;
    c->flash_size = flash_size;
    c->sram_size = sram_size;
    c->sram = calloc(1, sram_size);
    uc_hook h;
    /* Notes trap 1: THUMB + explicit model, not UC_MODE_MCLASS (= M33). */
    if (!ok(uc_open(UC_ARCH_ARM, UC_MODE_THUMB, &c->uc), "open") ||
        !ok(uc_ctl_set_cpu_model(c->uc, UC_CPU_ARM_CORTEX_M3), "cpu model") ||
        /* Boot alias (BOOT0 = 0): the same buffer at 0 and 0x08000000. */
        !ok(uc_mem_map_ptr(c->uc, 0, flash_size, UC_PROT_READ | UC_PROT_EXEC, flash_view), "map alias") ||
        !ok(uc_mem_map_ptr(c->uc, FLASH_BASE, flash_size, UC_PROT_READ | UC_PROT_EXEC, flash_view),
            "map flash") ||
        !ok(uc_mem_map_ptr(c->uc, SRAM_BASE, sram_size, UC_PROT_ALL, c->sram), "map sram") ||
        !ok(uc_mmio_map(c->uc, 0x1FFFF000, 0x1000, sysmem_rd, c, sysmem_wr, c), "map sysmem") ||
        !ok(uc_mmio_map(c->uc, PERIPH_BASE, PERIPH_LEN, periph_rd, c, periph_wr, c), "map periph") ||
        !ok(uc_mmio_map(c->uc, 0x42000000, PERIPH_LEN * 32, pbb_rd, c, pbb_wr, c), "map bitband") ||
        !ok(uc_mmio_map(c->uc, 0x22000000, sram_size * 32, sbb_rd, c, sbb_wr, c), "map sram bitband") ||
        !ok(uc_mmio_map(c->uc, PPB_BASE, 0x100000, ppb_rd, c, ppb_wr, c), "map ppb") ||
        !ok(uc_hook_add(c->uc, &h, UC_HOOK_BLOCK, on_block, c, 1, 0), "block hook") ||
        !ok(uc_hook_add(c->uc, &h, UC_HOOK_INTR, on_intr, c, 1, 0), "intr hook") ||
        !ok(uc_hook_add(c->uc, &h, UC_HOOK_MEM_WRITE_PROT, on_flash_write, c, 0, 0xFFFFFFFF),
            "flash write hook") ||
        !ok(uc_hook_add(c->uc, &h, UC_HOOK_MEM_UNMAPPED, on_unmapped, c, 1, 0), "unmapped hook")) {
        m3_free(c);
        return NULL;
    }
    return c;
}

void m3_free(struct cpu *c)
{
    if (!c)
        return;
    if (c->uc)
        uc_close(c->uc);
    free(c->sram);
    free(c);
}

/* PM0056 2.3.? reset behaviour: MSP from word 0, PC from word 1 of the
 * table at address 0 (the boot alias), Thread mode, privileged, MSP. */
void m3_reset(struct cpu *c, bool power_on)
{
    uc_engine *uc = c->uc;
    if (power_on) /* SRAM content is lost only with the power */
        memset(c->sram, 0, c->sram_size);
    c->sleeping = c->locked = c->stack_no_thumb = false;
    c->fault = NULL;
    c->next_pc = 0;
    c->cur_line = UINT32_MAX;
    wreg(uc, UC_ARM_REG_IPSR, 0);
    wreg(uc, UC_ARM_REG_CONTROL, 0);
    wreg(uc, UC_ARM_REG_PRIMASK, 0);
    wreg(uc, UC_ARM_REG_BASEPRI, 0);
    wreg(uc, UC_ARM_REG_FAULTMASK, 0);
    wreg(uc, UC_ARM_REG_APSR_NZCV, 0);
    for (int r = UC_ARM_REG_R0; r <= UC_ARM_REG_R12; r++)
        wreg(uc, r, 0);
    uint32_t msp = read32(c, 0), pc = read32(c, 4);
    wreg(uc, UC_ARM_REG_MSP, msp);
    wreg(uc, UC_ARM_REG_SP, msp);
    wreg(uc, UC_ARM_REG_LR, 0xFFFFFFFF);
    wreg(uc, UC_ARM_REG_PC, pc | 1);
    uc_ctl_remove_cache(uc, 0, 0xFFFFFFFF);
    if (c->vb->opt.trace & VB_TRACE_CPU)
        vb_trace(c->vb, "cpu", "reset: MSP 0x%08x PC 0x%08x", msp, pc);
    if (pc == 0xFFFFFFFF) {
        vb_event(c->vb, "reset vector 0x%08x: erased flash", pc);
    } else if (!(pc & 1)) {
        /* ARMv7-M B1.5.5: reset loads EPSR.T from bit 0 of the vector; T = 0
         * faults on the first instruction (INVSTATE -> HardFault). */
        vb_event(c->vb, "reset vector 0x%08x is not a Thumb address", pc);
        c->stack_no_thumb = true;
        fault(c, "reset vector lacks the Thumb bit (INVSTATE)", pc, CFSR_INVSTATE, 0xFFFFFFFF);
    }
}

static bool is_wfi(struct cpu *c, uint32_t pc)
{
    uint16_t insn = 0;
    if (uc_mem_read(c->uc, pc - 2, &insn, 2) != UC_ERR_OK)
        return false;
    return insn == 0xBF30 || insn == 0xBF20; /* WFI, WFE */
}

uint64_t m3_run(struct cpu *c, uint64_t max_instr)
{
    uc_engine *uc = c->uc;
    if (c->locked || c->sleeping)
        return 0;
    uint32_t pc = rreg(uc, UC_ARM_REG_PC);
    c->icount = 0;
    c->budget = max_instr;
    c->last_pc = pc;
    c->in_slice = true;
    c->stopped = false;
    c->fault = NULL;
    c->watch_unmask = nvic_any_pending(c->vb->nvic);
    update_read_hook(c);
    uc_err e;
    if (c->step_n) {
        /* Up to and including the CPSIE/MSR, instruction-exact. */
        uint32_t n = c->step_n;
        c->step_n = 0;
        c->stepping = true;
        e = uc_emu_start(uc, pc | 1, 0xFFFFFFFF, 0, n);
        c->stepping = false;
        c->icount = n;
        c->next_pc = rreg(uc, UC_ARM_REG_PC) & ~1u; /* stepped code was sequential */
        c->stopped = true;
    } else {
        e = uc_emu_start(uc, pc | 1, 0xFFFFFFFF, 0, 0);
    }
    uint64_t ran = c->icount;
    /* Time as of the end of the slice, then icount no longer counts. */
    vb_account_cycles(c->vb, ran);
    c->icount = 0;
    c->in_slice = false;
    if (c->dirty) {
        c->dirty = false;
        memcpy(c->flash_view + c->dirty_lo, flash_array(c->vb->flash) + c->dirty_lo,
               c->dirty_hi - c->dirty_lo);
        m3_flash_changed(c, FLASH_BASE + c->dirty_lo, c->dirty_hi - c->dirty_lo);
    }
    if (c->inval) {
        c->inval = false;
        m3_flash_changed(c, FLASH_BASE + c->inval_lo, c->inval_hi - c->inval_lo);
    }
    uint32_t now_pc = rreg(uc, UC_ARM_REG_PC);
    if (c->fault) {
        /* now_pc is the start of the block that faulted: Unicorn 2.0.1
         * does not restore the exact PC on memory errors (notes trap 2). */
        const char *why = c->fault;
        c->fault = NULL;
        fault(c, why, now_pc, c->fault_cfsr, c->fault_addr);
    } else if (e == UC_ERR_INSN_INVALID) {
        /* Unicorn stops before an undefined encoding; PC points at it. */
        fault(c, "undefined instruction (UNDEFINSTR)", now_pc, CFSR_UNDEFINSTR, 0xFFFFFFFF);
    } else if (e != UC_ERR_OK) {
        fault(c, uc_strerror(e), now_pc, 0, 0xFFFFFFFF);
    } else if (!c->stopped && !c->locked && is_wfi(c, now_pc)) {
        c->sleeping = true;
    }
    return ran;
}
