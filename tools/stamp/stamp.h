/*
 * stamp.h - the checks and the stamp of dfuboot-stamp, apart from file and
 * command-line handling so the tests can call them directly.
 * The stamp layout is common/dfuboot_abi.h's.
 */
#ifndef STAMP_H
#define STAMP_H

#include <stddef.h>
#include <stdint.h>

#define STAMP_FLASH_START 0x08000000u
#define STAMP_SRAM_START 0x20000000u
#define STAMP_SRAM_END 0x20010000u      /* 64 KiB, the largest F103 SRAM */
#define STAMP_VECTOR_BYTES 64u          /* the 16 Cortex-M3 system vectors */
#define STAMP_FLASH_SIZE_DEFAULT 0x100000u /* 1 MiB, the largest F103 */
#define STAMP_FLASH_SIZE_MAX 0x100000u     /* ... and the most --flash-size takes */

struct stamp_layout {
    uint32_t base;       /* where the image starts (APP_BASE) */
    uint32_t flash_size; /* the chip's flash, counted from 0x08000000 */
};

struct stamp_result {
    uint32_t length;     /* stamped length, padded */
    uint32_t padding;    /* 0xFF bytes added */
    uint32_t crc;
    int restamped;       /* words 7..10 held an earlier stamp */
    int replaced_handlers; /* ... or handler addresses (libmaple) */
};

/* Little-endian 32-bit word number `word` of an image. */
uint32_t stamp_get32(const uint8_t *p, unsigned word);
void stamp_put32(uint8_t *p, unsigned word, uint32_t v);

/* Checks the layout itself (flash size whole KiB and at most 1 MiB, base
 * alignment, base inside the flash).
 * Returns 0, or -1 with a message in msg. */
int stamp_check_layout(const struct stamp_layout *lay, char *msg, size_t msgsize);

/*
 * Checks and stamps image in place. *len is the image length on entry and
 * the padded length on return; cap is the buffer size (at least *len + 3).
 * Returns 0 with res filled in, or -1 with a message saying what to change
 * (the image is then untouched).
 */
int stamp_image(uint8_t *image, size_t *len, size_t cap, const struct stamp_layout *lay,
                struct stamp_result *res, char *msg, size_t msgsize);

/* Verifies an existing stamp over the first bytes of image (len may be
 * longer than the stamped length, e.g. a read-back of the whole region).
 * Returns 0 with res filled in, or -1 with a message. */
int stamp_verify(const uint8_t *image, size_t len, struct stamp_result *res, char *msg,
                 size_t msgsize);

#endif
