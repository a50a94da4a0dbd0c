/* bkp.h - backup registers (RM0008 chapter 6) at 0x40006C00. They keep
 * their content across a system reset and lose it with the power (the
 * virtual board has no VBAT). */
#ifndef VB_BKP_H
#define VB_BKP_H

#include "pwr.h"

struct bkp;

/* high_density: DR11..DR42 exist too (6.1: 84 bytes on high density). */
struct bkp *bkp_new(struct vb *vb, struct pwr *pwr, bool high_density);
void bkp_system_reset(struct bkp *b);        /* data kept */
void bkp_backup_domain_reset(struct bkp *b); /* RCC_BDCR.BDRST: all cleared */
void bkp_free(struct bkp *b);
uint16_t bkp_dr(const struct bkp *b, unsigned n); /* DRn, 1-based */

#endif
