/* systick.h - SysTick timer (PM0056 4.5) at 0xE000E010; exception 15. */
#ifndef VB_SYSTICK_H
#define VB_SYSTICK_H

#include "nvic.h"

struct systick;

/* STM32F103: TENMS = 9000 for the 9 MHz HCLK/8 reference (PM0056 4.5.4). */
#define SYSTICK_CALIB 0x40002328u

struct systick *systick_new(struct vb *vb, struct nvic *n);
void systick_reset(struct systick *s);
void systick_free(struct systick *s);

#endif
