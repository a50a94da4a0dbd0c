/* afio.h - alternate-function I/O registers (RM0008 9.4) at 0x40010000:
 * EVCR, MAPR, EXTICR1..4, MAPR2. Stored for firmware that remaps pins or
 * frees JTAG pins; remapping has no effect on the other models. */
#ifndef VB_AFIO_H
#define VB_AFIO_H

#include "vb.h"

struct afio;

struct afio *afio_new(struct vb *vb);
void afio_reset(struct afio *a);
void afio_free(struct afio *a);

#endif
