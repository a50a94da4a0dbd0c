#include "flash_writer.h"

#include "dfuboot_abi.h"

#include <stdbool.h>

#include "dfu_defs.h"
#include "memmap.h"
#include "port.h"

static struct {
    uint16_t held[FLASH_HELD_BYTES / 2];
    uint8_t held_mask; /* bit n: held[n] came from the host */
    bool started;      /* the old image has been made unbootable */
} session;

static uint16_t read_half(uint32_t addr)
{
    const uint8_t *p = port_mem(addr);
    return (uint16_t)(p[0] | p[1] << 8);
}

uint8_t flash_check_range(uint32_t addr, uint32_t len)
{
    if (addr < FLASH_BASE_ADDR || addr > memmap.flash_end || len > memmap.flash_end - addr)
        return errADDRESS;
    if (addr < memmap.app_base)
        return errTARGET;
    return DFU_OK;
}

static uint8_t program_verified(uint32_t addr, uint16_t value)
{
    enum flash_result r = port_flash_program(addr, value);
    if (r == FLASH_WRPRTERR)
        return errWRITE;
    if (r != FLASH_DONE)
        return errPROG;
    return read_half(addr) == value ? DFU_OK : errVERIFY;
}

/* The first change of a session makes the old image unbootable (NOR lets
 * 0x0000 be written over anything), so a session that rewrites some pages
 * and then dies never starts a half-old, half-new image. Erasing the first
 * page does the same by itself. */
/* The first change a session makes to the application region invalidates
 * the image there (its SP programmed to 0, which NOR allows), so an old
 * image half overwritten by an unfinished update never starts. Two changes
 * spare it: erasing the first page (that invalidates it anyway), and one
 * that starts beyond what a stamp covers — a data page the image does not
 * own — which leaves the session unstarted. No CRC check is needed here:
 * the boot check covers exactly [APP_BASE, APP_BASE + length), so bytes
 * beyond it cannot make a stamped image start or stop starting. */
static uint8_t start_session(uint32_t addr)
{
    if (session.started)
        return DFU_OK;
    const uint32_t *vec = (const uint32_t *)(const void *)port_mem(memmap.app_base);
    if (vec[DFUBOOT_STAMP_WORD_MAGIC] == DFUBOOT_STAMP_MAGIC &&
        addr - memmap.app_base >= vec[DFUBOOT_STAMP_WORD_LENGTH])
        return DFU_OK;
    session.started = true;
    if (addr == memmap.app_base || vec[0] == 0xFFFFFFFFu || vec[0] == 0)
        return DFU_OK;
    uint8_t st = program_verified(memmap.app_base, 0);
    return st ? st : program_verified(memmap.app_base + 2, 0);
}

/* The page holding addr is erased. */
static bool blank(uint32_t addr)
{
    const uint8_t *p = port_mem(addr & ~(memmap.page_size - 1u));
    for (uint32_t i = 0; i < memmap.page_size; i++)
        if (p[i] != 0xFF)
            return false;
    return true;
}

/* Issue 10 item 2: a blank page is not erased again (the first flash of
 * a new board, a mass erase of an erased chip). */
static uint8_t erase_verified(uint32_t page)
{
    if (blank(page))
        return DFU_OK;
    if (port_flash_erase_page(page) != FLASH_DONE)
        return errERASE;
    return blank(page) ? DFU_OK : errCHECK_ERASED;
}

uint8_t flash_erase(uint32_t addr)
{
    uint8_t st = flash_check_range(addr, 1);
    if (st)
        return st;
    uint32_t page = addr & ~(memmap.page_size - 1u);
    st = start_session(page);
    return st ? st : erase_verified(page);
}

/* A slice of a mass erase: up to count pages of the application region
 * from page on (dfu.c keeps each slice short). */
uint8_t flash_mass_erase(uint32_t page, uint32_t count)
{
    session.started = true;
    for (; count && page < memmap.flash_end; count--, page += memmap.page_size) {
        uint8_t st = erase_verified(page);
        if (st)
            return st;
    }
    return DFU_OK;
}

static uint8_t write_half(uint32_t addr, uint16_t value)
{
    uint16_t have = read_half(addr);
    uint32_t off = addr - memmap.app_base;
    if (off < FLASH_HELD_BYTES) {
        if (have != 0xFFFF)
            return errPROG;
        session.held[off / 2] = value;
        session.held_mask |= (uint8_t)(1u << off / 2);
        return DFU_OK;
    }
    /* One that holds its value already (erased where the host sends
     * 0xFFFF) is left alone; the FPEC programs only erased ones (PGERR). */
    return have == value ? DFU_OK : program_verified(addr, value);
}

uint8_t flash_write(uint32_t addr, const uint8_t *data, uint32_t len)
{
    uint8_t st = flash_check_range(addr, len);
    if (st || (addr & 1u))
        return st ? st : errADDRESS;
    st = start_session(addr);
    for (uint32_t i = 0; i < len && !st; i += 2) {
        uint16_t v = data[i];
        v |= (uint16_t)((i + 1 < len ? data[i + 1] : 0xFF) << 8);
        st = write_half(addr + i, v);
    }
    return st;
}

/* Reset vector first, SP low half, SP high half last: until the very last
 * half-word lands the SP reads 0xFFFFxxxx, which no check accepts. */
uint8_t flash_commit(void)
{
    uint8_t st = DFU_OK;
    for (unsigned i = 0; i < 4 && !st; i++) {
        unsigned half = (i + 2) & 3; /* 2, 3, 0, 1 */
        if (session.held_mask & (1u << half))
            st = program_verified(memmap.app_base + 2 * half, session.held[half]);
    }
    flash_drop();
    return st;
}

bool flash_holding(void)
{
    return session.held_mask != 0;
}

void flash_drop(void)
{
    session.held_mask = 0;
    session.started = false;
}

/* STM32F103 datasheet (DS5319), table "Flash memory characteristics":
 * tERASE (page) 20 ms typical, 40 ms max; tPROG 52.5 us typical, 70 us
 * max per half-word. A mass erase slice announces the maxima: polled
 * early, its GETSTATUS would wait on the flash for a whole slice. */
uint32_t flash_erase_ms(uint32_t pages)
{
    return pages * 40u;
}

/* A page erase and a block announce the typical time: a host that polls
 * early only gets a NAKed GETSTATUS for a few ms (dfu-util waits 5 s for a
 * control transfer), while the maxima made every update 1.6 x slower
 * than the flash (issue 10). A blank page needs no erase: 0. */
uint32_t flash_page_erase_ms(uint32_t addr)
{
    return blank(addr) ? 0 : 20u;
}

uint32_t flash_write_ms(uint32_t len)
{
    return len * 105u / 4000u + 1u; /* len / 2 half-words x 52.5 us, rounded up */
}
