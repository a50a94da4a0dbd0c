/* crc32_soft.h - the STM32 CRC unit in software (host builds, tools). */
#ifndef CRC32_SOFT_H
#define CRC32_SOFT_H

#include <stdint.h>

/* Continues from state (0xFFFFFFFF to start); MSB first, no reflection,
 * no final XOR, one 32-bit word at a time. */
uint32_t crc32_soft(uint32_t state, const uint32_t *words, uint32_t count);

#endif
