#include "usb_ctrl.h"

#include "config.h"
#include "descriptors.h"
#include "dfu.h"
#include "port.h"

enum phase { IDLE, IN_DATA, OUT_DATA, STATUS_IN, STATUS_OUT };

enum std_request {
    GET_STATUS = 0,
    CLEAR_FEATURE = 1,
    SET_FEATURE = 3,
    SET_ADDRESS = 5,
    GET_DESCRIPTOR = 6,
    GET_CONFIGURATION = 8,
    SET_CONFIGURATION = 9,
    GET_INTERFACE = 10,
    SET_INTERFACE = 11,
};

/* Its own section, off the small state's anchor (see dnload_buf): 36 bytes. */
uint8_t usbc_buf[USBC_BUF_SIZE] __attribute__((section(".bss.usbc_buf"), aligned(4)));

/* Flags and counts are word-sized: byte and half-word fields this far from
 * the section anchor need 32-bit instructions (28 bytes saved). */
static struct {
    struct usb_setup setup;
    enum phase phase;
    const uint8_t *in_ptr;
    unsigned in_left;
    unsigned in_zlp;  /* a short reply that ends on a packet boundary */
    uint8_t *out_ptr;
    unsigned out_got;
    unsigned replied; /* the handler called usbc_reply/usbc_receive */
    unsigned class_request;
    unsigned new_address; /* 0x80 | address: applied after the status stage */
    uint8_t configuration;
} c;

void usbc_reply(const uint8_t *data, unsigned len)
{
    if (len > c.setup.wLength)
        len = c.setup.wLength;
    c.in_ptr = data;
    c.in_left = len;
    c.in_zlp = len < c.setup.wLength && len % EP0_SIZE == 0;
    c.phase = IN_DATA;
    c.replied = true;
}

void usbc_receive(uint8_t *dst)
{
    c.out_ptr = dst;
    c.out_got = 0;
    c.phase = OUT_DATA;
    c.replied = true;
}

uint8_t usbc_configuration(void)
{
    return c.configuration;
}

void usbc_on_reset(void)
{
    c.phase = IDLE;
    c.configuration = 0;
    c.new_address = 0;
    dfu_reset();
}

static void send_next(void)
{
    unsigned n = c.in_left < EP0_SIZE ? c.in_left : EP0_SIZE;
    if (n == 0 && !c.in_zlp) {
        c.phase = STATUS_OUT;
        return;
    }
    if (n < EP0_SIZE)
        c.in_zlp = false;
    port_ep0_send(c.in_ptr, n);
    c.in_ptr += n;
    c.in_left -= n;
}

/* GET_STATUS names a recipient that must exist, or the request is a
 * Request Error (USB 2.0 9.4.5): the device (wIndex 0), interface 0, or
 * endpoint 0 in either direction (0x00, 0x80), the only endpoint. */
static bool exists(const struct usb_setup *s)
{
    unsigned recipient = s->bmRequestType & 0x1Fu;
    unsigned index = recipient == 2 ? s->wIndex & ~0x80u : s->wIndex;
    return recipient <= 2 && index == 0;
}

static bool standard_request(const struct usb_setup *s)
{
    static const uint8_t zero[2];
    switch (s->bRequest) {
    case GET_STATUS: /* not self-powered, no remote wakeup, not halted */
        usbc_reply(zero, 2);
        return exists(s);
    case CLEAR_FEATURE:
    case SET_FEATURE: /* only ENDPOINT_HALT on endpoint 0, a no-op there */
        return s->bmRequestType == 0x02 && s->wValue == 0 && (s->wIndex & 0x7F) == 0;
    case SET_ADDRESS: /* 0 too: back to the default state (USB 2.0 9.4.6) */
        c.new_address = 0x80u | s->wValue; /* the flag makes address 0 count */
        return s->wValue < 128;
    case GET_DESCRIPTOR:
        return desc_get(s);
    case GET_CONFIGURATION:
        usbc_reply(&c.configuration, 1);
        return true;
    case SET_CONFIGURATION: /* USB 2.0 9.4.7: a bad value is a Request Error */
        if (s->wValue > 1)
            return false;
        c.configuration = (uint8_t)s->wValue;
        dfu_reset(); /* a new host session: forget an unfinished one */
        return true;
    case GET_INTERFACE:
        usbc_reply(zero, 1);
        return s->wIndex == 0;
    case SET_INTERFACE: /* a new session: forget an unfinished one */
        dfu_reset();
        return s->wIndex == 0 && s->wValue == 0;
    default:
        return false;
    }
}

/* The standard requests supported all read (IN) when their number is even
 * and write (no data) when it is odd. */
static bool dispatch(const struct usb_setup *s)
{
    bool in = s->bmRequestType & 0x80;
    switch (s->bmRequestType & 0x60) {
    case 0x00:
        return in == !(s->bRequest & 1) && standard_request(s);
    case 0x20:
        c.class_request = true;
        return dfu_request(s);
    case 0x40:
        return desc_vendor(s);
    default:
        return false;
    }
}

static void parse_setup(const uint8_t *raw)
{
    c.setup.bmRequestType = raw[0];
    c.setup.bRequest = raw[1];
    c.setup.wValue = (uint16_t)(raw[2] | raw[3] << 8);
    c.setup.wIndex = (uint16_t)(raw[4] | raw[5] << 8);
    c.setup.wLength = (uint16_t)(raw[6] | raw[7] << 8);
}

static void stall(void)
{
    c.phase = IDLE;
    port_ep0_stall();
}

static void finish(void)
{
    c.phase = IDLE;
    if (c.new_address)
        port_usb_set_address((uint8_t)(c.new_address & 0x7Fu));
    c.new_address = 0;
    if (c.class_request)
        dfu_status_done();
}

void usbc_on_setup(void)
{
    uint8_t raw[8];
    unsigned n = port_ep0_read(raw, sizeof raw);
    /* USB 2.0 8.5.3.3: a SETUP while we wait for the host to take our
     * status packet means it did (its ACK was lost, or the port saw the
     * completion together with this SETUP and leaves it to us): the
     * transfer is complete (the address or DFU step it carries must not
     * be lost). Any other transfer in progress ends here, unfinished. */
    if (c.phase == STATUS_IN)
        finish();
    c.phase = IDLE;
    c.replied = false;
    c.class_request = false;
    c.new_address = 0; /* a transfer cut short by this SETUP changes nothing */
    if (n != sizeof raw)
        return stall();
    parse_setup(raw);
    bool in = c.setup.bmRequestType & 0x80;
    if (!dispatch(&c.setup))
        return stall();
    if (in && c.setup.wLength) {
        if (!c.replied)
            usbc_reply(0, 0);
        port_ep0_receive(); /* the host may end the data stage early */
        return send_next();
    }
    if (c.setup.wLength) {
        if (c.phase != OUT_DATA)
            return stall();
        return port_ep0_receive();
    }
    c.phase = STATUS_IN;
    port_ep0_send(0, 0);
}

static void receive_data(void)
{
    unsigned want = c.setup.wLength - c.out_got;
    unsigned n = port_ep0_read(c.out_ptr + c.out_got, want < EP0_SIZE ? want : EP0_SIZE);
    c.out_got += n;
    if (c.out_got < c.setup.wLength) {
        if (n < EP0_SIZE)
            return stall(); /* short packet before wLength */
        return port_ep0_receive();
    }
    if (!dfu_data(c.out_got))
        return stall();
    c.phase = STATUS_IN;
    port_ep0_send(0, 0);
    port_ep0_receive(); /* a resent last packet: see usbc_on_out */
}

void usbc_on_out(void)
{
    if (c.phase == OUT_DATA)
        return receive_data();
    port_ep0_read(0, 0);
    /* If our ACK of this packet was lost, the host sends it again with
     * the same data toggle: the peripheral must ACK and drop it (USB 2.0
     * 8.6.4), which it does only while reception is VALID. Left NAK, the
     * host would retry until its 5 s timeout. */
    port_ep0_receive();
    if (c.phase == IN_DATA || c.phase == STATUS_OUT)
        finish();
}

void usbc_on_in(void)
{
    if (c.phase == IN_DATA)
        send_next();
    else if (c.phase == STATUS_IN)
        finish();
}
