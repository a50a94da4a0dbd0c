/* dbgmcu.h - MCU debug component (RM0008 31.6.1) at 0xE0042000:
 * DBGMCU_IDCODE (device and revision ID) and DBGMCU_CR. */
#ifndef VB_DBGMCU_H
#define VB_DBGMCU_H

#include "vb.h"

struct dbgmcu;

/* high_density: DEV_ID 0x414 (F103xC/D/E), else 0x410 (F103x8/xB). */
struct dbgmcu *dbgmcu_new(struct vb *vb, bool high_density);
void dbgmcu_free(struct dbgmcu *d);

#endif
