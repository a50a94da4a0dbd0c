/*
 * port.h - everything the portable core needs from the chip. The STM32F1
 * port (fw/port/stm32f1) implements it with registers; the host unit tests
 * implement it with a simulated NOR flash and a simulated endpoint 0.
 */
#ifndef PORT_H
#define PORT_H

#include <stdbool.h>
#include <stdint.h>

#define FLASH_BASE_ADDR 0x08000000u

enum flash_result { FLASH_DONE = 0, FLASH_PGERR = 1, FLASH_WRPRTERR = 2 };

/* Memory as the CPU reads it (flash, system memory): a pointer valid for
 * reads of the whole flash from addr on. */
const uint8_t *port_mem(uint32_t addr);
uint32_t port_flash_kib(void);      /* F_SIZE */
const uint8_t *port_unique_id(void); /* 12 bytes, address order */

/* One page erase / one half-word program, complete when they return. */
enum flash_result port_flash_erase_page(uint32_t addr);
enum flash_result port_flash_program(uint32_t addr, uint16_t value);

/* CRC-32 as the STM32 CRC unit computes it (ABI header). */
void port_crc_reset(void);
uint32_t port_crc_feed(const uint32_t *words, uint32_t count);

/* Read-out protection (FLASH_OBR.RDPRT, RM0008 3.3.3 / PM0075 2.4.1)
 * is active: the host must not read flash through us. */
bool port_read_protected(void);

/* Milliseconds since some start, wrapping at 2^32: the commit rule's
 * clock (dfu.c). Only differences are used. */
uint32_t port_ms(void);

/* Option bytes: back to read-out protection level 0; the chip then mass
 * erases itself at the next reset. Only called in UNPROTECT=1 builds. */
void port_read_unprotect(void);

/* Endpoint 0. read copies at most max bytes of the last received packet and
 * frees the buffer; send arms one IN packet (len <= EP0_SIZE); receive arms
 * reception of one OUT packet; stall answers both directions with STALL
 * until the next SETUP. */
unsigned port_ep0_read(uint8_t *dst, unsigned max);
void port_ep0_send(const uint8_t *src, unsigned len);
void port_ep0_receive(void);
void port_ep0_stall(void);
void port_usb_set_address(uint8_t address);

#endif
