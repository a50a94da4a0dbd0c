/*
 * dfu_runtime.c - the DFU runtime interface (DFU 1.1 5.1 and appendix A.2.1,
 * A.2.2): DFU_GETSTATUS and DFU_GETSTATE answer appIDLE, DFU_DETACH moves
 * to appDETACH, every other request stalls (the state transition summary
 * lists no other request as valid in appIDLE or appDETACH).
 *
 * The functional descriptor sets bitWillDetach, so the host does not reset
 * the bus after DETACH (dfu-util: "Device will detach and reattach"): the
 * device itself leaves once the DETACH request is acknowledged.
 */
#include "dfu.h"
#include "dfu_defs.h"
#include "runtime.h"
#include "usb_ctrl.h"

static uint8_t state = appIDLE;
static bool leave;

/* The core's name for the interface state (dfu.h), which the unit tests'
 * simulated host reads too. */
uint8_t dfu_state(void)
{
    return state;
}

bool runtime_detach_requested(void)
{
    return leave;
}

/* DFU 1.1 A.2.2: a USB reset in appDETACH also means "go to DFU mode". */
void dfu_reset(void)
{
    if (state == appDETACH)
        leave = true;
}

bool dfu_request(const struct usb_setup *s)
{
    static uint8_t status[6];
    if (s->wIndex != RUNTIME_DFU_INTERFACE)
        return false;
    switch (s->bmRequestType << 8 | s->bRequest) {
    case 0x2100 | DFU_DETACH: /* wValue: wDetachTimeOut, unused: we go at once */
        if (s->wLength)
            return false;
        state = appDETACH;
        return true;
    case 0xA100 | DFU_GETSTATUS: /* bStatus OK, bwPollTimeout 0, bState, iString 0 */
        status[4] = state;
        usbc_reply(status, sizeof status);
        return true;
    case 0xA100 | DFU_GETSTATE:
        usbc_reply(&state, 1);
        return true;
    default:
        return false;
    }
}

/* No runtime request has an OUT data stage. */
bool dfu_data(unsigned len)
{
    (void)len;
    return false;
}

/* The host has the DETACH acknowledgement: now the device may go. */
void dfu_status_done(void)
{
    if (state == appDETACH)
        leave = true;
}
