/* dbgmcu.h - MCU debug component (RM0008 31.6.1) at 0xE0042000:
 * DBGMCU_IDCODE (device and revision ID) and DBGMCU_CR. */
#ifndef VB_DBGMCU_H
#define VB_DBGMCU_H

#include "vb.h"

struct dbgmcu;

/* The density line of the part (RM0008 1.3 "Glossary"): it sets DEV_ID. */
enum vb_density { VB_LOW_DENSITY, VB_MEDIUM_DENSITY, VB_HIGH_DENSITY };

/* DEV_ID 0x412 (low: F103x4/x6), 0x410 (medium: x8/xB), 0x414 (high:
 * xC/xD/xE). */
struct dbgmcu *dbgmcu_new(struct vb *vb, enum vb_density density);
void dbgmcu_free(struct dbgmcu *d);

#endif
