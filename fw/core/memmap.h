/* memmap.h - the flash regions, known only at run time (F_SIZE). */
#ifndef MEMMAP_H
#define MEMMAP_H

#include <stdint.h>

struct memmap {
    uint32_t app_base;  /* first application byte; the bootloader is below */
    uint32_t flash_end; /* one past the last flash byte */
    uint32_t page_size;
};

extern struct memmap memmap;

void memmap_init(uint32_t flash_kib, uint32_t app_base);

#endif
