/*
 * flash_writer.h - erase/program the application region, never anything
 * else, and keep an interrupted update from ever starting.
 *
 * The application's first 8 bytes (initial SP, reset vector) are held back
 * in RAM during a session and programmed only by flash_commit(), so a
 * half-written image always has an erased (implausible) stack pointer.
 * All functions return a DFU status (DFU_OK or err*).
 */
#ifndef FLASH_WRITER_H
#define FLASH_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#define FLASH_HELD_BYTES 8u

uint8_t flash_check_range(uint32_t addr, uint32_t len);
uint8_t flash_erase(uint32_t addr);
uint8_t flash_mass_erase(uint32_t page, uint32_t count);
uint8_t flash_write(uint32_t addr, const uint8_t *data, uint32_t len);
/* Ends the session: programs the held-back bytes, SP high half last. */
uint8_t flash_commit(void);
/* Forgets an unfinished session; the image stays unbootable. */
void flash_drop(void);
/* The session holds first bytes that only flash_commit() would write. */
bool flash_holding(void);

/* Durations for bwPollTimeout (datasheet): a mass erase slice of pages
 * at the maximum, a page erase and a block at the typical time. */
uint32_t flash_erase_ms(uint32_t pages);
uint32_t flash_page_erase_ms(uint32_t addr); /* addr: checked already */
uint32_t flash_write_ms(uint32_t len);

#endif
