/* gpio.h - general-purpose I/O ports A..D (RM0008 chapter 9) at
 * 0x40010800 + 0x400 * n: CRL, CRH, IDR, ODR, BSRR, BRR, LCKR. */
#ifndef VB_GPIO_H
#define VB_GPIO_H

#include "vb.h"

#define GPIO_NPORTS 4

struct gpio;

struct gpio *gpio_new(struct vb *vb);
void gpio_reset(struct gpio *g);             /* system reset: all ports */
void gpio_reset_port(struct gpio *g, char port); /* RCC_APB2RSTR.IOPxRST */
void gpio_free(struct gpio *g);

/* Level an external circuit puts on an input (--pin PB2=1); -1 = none
 * (a floating input then reads 0 unless pulled, RM0008 9.1.1). */
void gpio_set_input(struct gpio *g, char port, unsigned pin, int level);
/* No "gpio PC13=0" events (--quiet-gpio). */
void gpio_set_quiet(struct gpio *g, bool quiet);

/* vb_pin_driven: -1 not driven, else the level an output drives. */
int gpio_pin_driven(const struct gpio *g, char port, unsigned pin);

#endif
