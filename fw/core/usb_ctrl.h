/*
 * usb_ctrl.h - the endpoint 0 control pipeline and the standard requests.
 * The port calls the usbc_on_* events from its poll loop; request handlers
 * answer through usbc_reply()/usbc_receive() and return false to STALL.
 */
#ifndef USB_CTRL_H
#define USB_CTRL_H

#include <stdbool.h>
#include <stdint.h>

struct usb_setup {
    uint8_t bmRequestType;
    uint8_t bRequest;
    uint16_t wValue;
    uint16_t wIndex;
    uint16_t wLength;
};

#define USBC_BUF_SIZE 128u
/* Scratch for replies built at request time (strings, status). */
extern uint8_t usbc_buf[USBC_BUF_SIZE];

void usbc_on_reset(void);
void usbc_on_setup(void);
void usbc_on_out(void); /* CTR_RX without SETUP */
/* CTR_TX; not when a SETUP is pending too: usbc_on_setup completes the
 * transfer that SETUP ends. */
void usbc_on_in(void);

/* IN data stage: sent as is, cut to wLength. data must stay valid. */
void usbc_reply(const uint8_t *data, unsigned len);
/* OUT data stage of wLength bytes into dst; the class's data handler runs
 * when all of it has arrived. */
void usbc_receive(uint8_t *dst);

uint8_t usbc_configuration(void);

#endif
