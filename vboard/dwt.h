/* dwt.h - the DWT cycle counter (ARMv7-M C1.8) at 0xE0001000 and
 * CoreDebug DEMCR at 0xE000EDFC (TRCENA), used by firmware for delays. */
#ifndef VB_DWT_H
#define VB_DWT_H

#include "vb.h"

struct dwt;

struct dwt *dwt_new(struct vb *vb);
void dwt_reset(struct dwt *d);
void dwt_free(struct dwt *d);

#endif
