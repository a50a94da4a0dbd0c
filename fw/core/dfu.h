/* dfu.h - the DFU 1.1 / DfuSe 1.1a state machine (class requests). */
#ifndef DFU_H
#define DFU_H

#include <stdbool.h>
#include <stdint.h>

#include "usb_ctrl.h"

void dfu_reset(void); /* bus reset, SET_INTERFACE: drop the session */
bool dfu_request(const struct usb_setup *s);
bool dfu_data(unsigned len);   /* DNLOAD data stage complete */
void dfu_status_done(void);    /* status stage of a class request done */

/* Set once the host may see us go: manifestation answered, or DETACH. */
bool dfu_leave_requested(void);

uint8_t dfu_state(void);
uint8_t dfu_status(void);

#endif
