/*
 * usbip_net.h - blocking TCP helpers with deadlines, and big-endian field
 * access, for the USB/IP client files.
 */
#ifndef LIBUSB_USBIP_NET_H
#define LIBUSB_USBIP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "usbip_client.h"

/* Milliseconds on a monotonic clock. */
int64_t net_now_ms(void);
void net_sleep_ms(int ms);
/* Connects within timeout_ms; returns the socket or -1. */
int net_connect(const struct usbip_server *s, int timeout_ms);
/* Writes everything (no SIGPIPE); 0 or -1. */
int net_write_all(int fd, const void *buf, size_t len);
/* Reads exactly len bytes before deadline (net_now_ms() value, -1 = none).
 * Returns 0, -1 on error or end of stream, -2 on timeout. */
int net_read_full(int fd, void *buf, size_t len, int64_t deadline);

static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
