/* iwdg.h - independent watchdog (RM0008 chapter 19) at 0x40003000,
 * clocked by the LSI (40 kHz typical). */
#ifndef VB_IWDG_H
#define VB_IWDG_H

#include "vb.h"

struct iwdg;

#define IWDG_LSI_HZ 40000u /* default; DS5319 fLSI 30..60 kHz (--lsi-hz) */

/* hw: option byte WDG_SW = 0, the watchdog runs from reset (19.3.2). */
struct iwdg *iwdg_new(struct vb *vb, bool hw);
void iwdg_reset(struct iwdg *w, bool hw);
void iwdg_free(struct iwdg *w);
/* The LSI frequency of this chip (vboard --lsi-hz): the IWDG timeouts
 * scale with it. */
void iwdg_set_lsi_hz(struct iwdg *w, uint32_t hz);
bool iwdg_running(const struct iwdg *w);

#endif
