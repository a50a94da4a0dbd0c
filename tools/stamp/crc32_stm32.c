/*
 * crc32_stm32.c - table-driven STM32 CRC-32 (see crc32_stm32.h).
 * The table is computed on first use rather than spelled out: 256 magic
 * numbers in a source file are impossible to review, the loop is not.
 * The tests compare it against a bit-at-a-time reference.
 */
#include "crc32_stm32.h"

#include "dfuboot_abi.h"

#define CRC32_STM32_POLY 0x04C11DB7u

static uint32_t table[256];
static int table_ready;

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i << 24;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 0x80000000u) ? (c << 1) ^ CRC32_STM32_POLY : c << 1;
        table[i] = c;
    }
    table_ready = 1;
}

uint32_t crc32_stm32_word(uint32_t crc, uint32_t word)
{
    if (!table_ready)
        make_table();
    /* Most significant byte first: the unit shifts the word in MSB first. */
    for (int shift = 24; shift >= 0; shift -= 8) {
        uint8_t byte = (uint8_t)(word >> shift);
        crc = (crc << 8) ^ table[(crc >> 24) ^ byte];
    }
    return crc;
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint32_t crc32_stm32_words(uint32_t crc, const uint8_t *data, size_t nwords)
{
    for (size_t i = 0; i < nwords; i++)
        crc = crc32_stm32_word(crc, load_le32(data + 4 * i));
    return crc;
}

uint32_t crc32_stm32_image(const uint8_t *image, size_t len)
{
    uint32_t crc = CRC32_STM32_INIT;
    size_t nwords = len / 4;
    for (size_t i = 0; i < nwords; i++) {
        if (i >= DFUBOOT_STAMP_WORD_MAGIC && i <= DFUBOOT_STAMP_WORD_NCRC)
            continue; /* the stamp cannot cover itself */
        crc = crc32_stm32_word(crc, load_le32(image + 4 * i));
    }
    return crc;
}
