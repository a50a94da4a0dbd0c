/*
 * nvic.h - the NVIC of the Cortex-M3 (PM0056 4.3) and the exception state
 * the core needs (pending/active/priority of every exception number). The
 * registers ISER/ICER/ISPR/ICPR/IABR/IPR/STIR are in nvic.c; the SCB side
 * (SHPR, ICSR, AIRCR.PRIGROUP) reaches the same state through this API.
 */
#ifndef VB_NVIC_H
#define VB_NVIC_H

#include "vb.h"

#define NVIC_NIRQ 68              /* positions the board may raise (RM0008 table 63) */
#define NVIC_NEXC (16 + NVIC_NIRQ)

enum {
    EXC_NMI = 2, EXC_HARDFAULT = 3, EXC_MEMMANAGE = 4, EXC_BUSFAULT = 5, EXC_USAGEFAULT = 6,
    EXC_SVCALL = 11, EXC_DEBUGMON = 12, EXC_PENDSV = 14, EXC_SYSTICK = 15, EXC_IRQ0 = 16,
};

struct nvic;

struct nvic *nvic_new(struct vb *vb);
void nvic_reset(struct nvic *n);
void nvic_free(struct nvic *n);

/* A peripheral's interrupt line (level: pending while high). Returns true
 * when the call made an enabled interrupt newly pending. */
bool nvic_set_level(struct nvic *n, unsigned irq, bool level);
/* Software pending state of any exception number (SVC, PendSV, SysTick...). */
void nvic_set_pending(struct nvic *n, unsigned exc, bool pending);
bool nvic_is_pending(const struct nvic *n, unsigned exc);
bool nvic_is_active(const struct nvic *n, unsigned exc);
bool nvic_is_enabled(const struct nvic *n, unsigned exc);
/* Some enabled exception is pending (whether or not it may preempt now). */
bool nvic_any_pending(const struct nvic *n);

/* Priorities: the byte as written (only the top 4 bits are implemented on
 * STM32F103, PM0056 4.3.7); fixed ones return -3/-2/-1. */
int nvic_priority(const struct nvic *n, unsigned exc);
void nvic_set_priority(struct nvic *n, unsigned exc, uint8_t prio);
void nvic_set_prigroup(struct nvic *n, unsigned prigroup);
unsigned nvic_prigroup(const struct nvic *n);
int nvic_group_priority(const struct nvic *n, int prio);

/* Execution priority (PM0056 2.3.6): the highest of the active exceptions'
 * group priorities and the masks; 256 when nothing raises it. */
int nvic_exec_priority(const struct nvic *n, bool primask, uint8_t basepri, bool faultmask);
/* The pending exception that preempts exec_prio, or 0. */
unsigned nvic_preempting(const struct nvic *n, int exec_prio);
/* Highest-priority pending enabled exception regardless of masks (ICSR.VECTPENDING). */
unsigned nvic_highest_pending(const struct nvic *n);

/* Exception entry: clears pending, marks active. Return: clears active. */
void nvic_activate(struct nvic *n, unsigned exc);
void nvic_deactivate(struct nvic *n, unsigned exc);
unsigned nvic_active_count(const struct nvic *n);

#endif
