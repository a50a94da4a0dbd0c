/* scb.h - System control block (PM0056 4.4) at 0xE000ED00, plus ICTR and
 * ACTLR at 0xE000E004/8. Exception state it shows (ICSR, SHPR, PRIGROUP)
 * lives in the NVIC model. */
#ifndef VB_SCB_H
#define VB_SCB_H

#include "nvic.h"

struct scb;

#define SCB_CPUID 0x411FC231u /* Cortex-M3 r1p1, as on STM32F103 (PM0056 4.4.1) */

struct scb *scb_new(struct vb *vb, struct nvic *n);
void scb_reset(struct scb *s);
void scb_free(struct scb *s);
uint32_t scb_vtor(const struct scb *s);
bool scb_sleeponexit(const struct scb *s);
/* A fault: CFSR bits, BFAR (~0 = none), HFSR.FORCED when it was escalated
 * to HardFault. */
void scb_record_fault(struct scb *s, uint32_t cfsr, uint32_t bfar, bool forced);
/* SHCSR enables the handler of MemManage, BusFault or UsageFault (exc). */
bool scb_fault_enabled(const struct scb *s, unsigned exc);

#endif
