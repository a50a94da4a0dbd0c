/*
 * fake_vb.h - the board API of vboard/vb.h without a CPU, for the unit tests
 * of single peripheral models. Tests poke registers by absolute address,
 * move virtual time, and read back what the model reported.
 */
#ifndef FAKE_VB_H
#define FAKE_VB_H

#include "../../vboard/vb.h"

extern struct vb *fake_vb;           /* pass this to model constructors */

/* Register accesses as the CPU would make them (absolute addresses). */
uint32_t fake_read(uint32_t addr, unsigned size);
void fake_write(uint32_t addr, uint32_t value, unsigned size);
uint32_t fake_read32(uint32_t addr);
void fake_write32(uint32_t addr, uint32_t value);
/* True when some model claimed addr. */
bool fake_mapped(uint32_t addr);

/* Runs every vb_at callback due up to now + ns, in time order. */
void fake_advance_ns(uint64_t ns);

/* What the models reported. */
extern int fake_violations;
extern char fake_last_violation[512];
extern int fake_events;
extern char fake_last_event[512];
extern int fake_system_resets;
extern int fake_power_cuts; /* vb_power_cut calls */
extern bool fake_irq_level[68];
extern uint64_t fake_stall_until_ns;

/* What the other models would answer. */
extern bool fake_clock_on[16];       /* indexed by enum vb_clk; default all on */
extern uint32_t fake_sysclk;         /* default 72 MHz */
extern uint32_t fake_usbclk;         /* default 48 MHz */
extern int fake_pin[5][16];          /* vb_pin_driven; default -1 */
extern bool fake_usb_pd;
extern bool fake_pullup;

/* Back to the defaults above, every window and callback dropped. */
void fake_reset(void);

#endif
