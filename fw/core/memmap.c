#include "memmap.h"
#include "port.h"

struct memmap memmap;

/* XL-density parts (> 512 KiB) keep their second bank behind a second set of
 * FPEC registers that the port does not drive: they get bank 1 only. */
void memmap_init(uint32_t flash_kib, uint32_t app_base)
{
    if (flash_kib > 512u)
        flash_kib = 512u;
    memmap.app_base = app_base;
    memmap.flash_end = FLASH_BASE_ADDR + flash_kib * 1024u;
    memmap.page_size = flash_kib > 128u ? 2048u : 1024u;
}
