/*
 * crc32_stm32.h - the CRC-32 of the STM32 CRC unit (RM0008 4.2) in software,
 * and the image CRC of the dfuboot stamp (common/dfuboot_abi.h).
 *
 * Polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final
 * XOR; fed whole 32-bit words, most significant bit first. Image words are
 * read little-endian, as the Cortex-M3 reads them from flash.
 * Host and target can both compile this file (no libc beyond stdint/stddef).
 */
#ifndef CRC32_STM32_H
#define CRC32_STM32_H

#include <stddef.h>
#include <stdint.h>

#define CRC32_STM32_INIT 0xFFFFFFFFu

/* One word into the running CRC, as a write to CRC_DR does. */
uint32_t crc32_stm32_word(uint32_t crc, uint32_t word);

/* nwords little-endian words from data (no alignment needed). */
uint32_t crc32_stm32_words(uint32_t crc, const uint8_t *data, size_t nwords);

/* The stamp CRC of an image of len bytes (len a multiple of 4, at least 44):
 * every word from CRC32_STM32_INIT except the stamp words 7..10. */
uint32_t crc32_stm32_image(const uint8_t *image, size_t len);

#endif
