#include "image.h"

#include "dfuboot_abi.h"
#include "memmap.h"
#include "port.h"

#define SRAM_BASE 0x20000000u
#define SRAM_MAX_END 0x20010000u /* 64 KiB, the largest F103 SRAM */
#define STAMP_END_WORD (DFUBOOT_STAMP_WORD_NCRC + 1u)
/* A stamp covers at least the 16 system vectors, as dfuboot-stamp's
 * stamp_verify requires: a shorter length would leave handler addresses
 * (SVCall..SysTick, words 11..15) outside the CRC. */
#define STAMP_MIN_LEN 64u

/* An erased word (0xFFFFFFFF), a zeroed one, or the half-committed SP
 * 0xFFFFxxxx all fail the SP test. */
bool image_plausible(const uint32_t *vec)
{
    uint32_t sp = vec[0], pc = vec[1];
    if (sp <= SRAM_BASE || sp > SRAM_MAX_END)
        return false;
    if (!(pc & 1u))
        return false;
    pc &= ~1u;
    return pc >= memmap.app_base && pc < memmap.flash_end;
}

static bool stamp_matches(const uint32_t *vec)
{
    uint32_t len = vec[DFUBOOT_STAMP_WORD_LENGTH];
    uint32_t crc = vec[DFUBOOT_STAMP_WORD_CRC];
    if (crc != ~vec[DFUBOOT_STAMP_WORD_NCRC])
        return false;
    if (len % 4u || len < STAMP_MIN_LEN || len > memmap.flash_end - memmap.app_base)
        return false;
    port_crc_reset();
    port_crc_feed(vec, DFUBOOT_STAMP_WORD_MAGIC);
    return port_crc_feed(vec + STAMP_END_WORD, len / 4u - STAMP_END_WORD) == crc;
}

bool image_valid(const uint32_t *vec, bool strict)
{
    if (!image_plausible(vec))
        return false;
    if (vec[DFUBOOT_STAMP_WORD_MAGIC] != DFUBOOT_STAMP_MAGIC)
        return !strict;
    return stamp_matches(vec);
}
