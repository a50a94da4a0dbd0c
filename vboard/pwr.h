/* pwr.h - power control (RM0008 5.4) at 0x40007000: PWR_CR, PWR_CSR. */
#ifndef VB_PWR_H
#define VB_PWR_H

#include "vb.h"

struct pwr;

struct pwr *pwr_new(struct vb *vb);
void pwr_reset(struct pwr *p);
void pwr_free(struct pwr *p);
/* PWR_CR.DBP: backup domain (BKP, RCC_BDCR) writable. */
bool pwr_dbp(const struct pwr *p);

#endif
