#include "flash_writer.h"

#include "dfuboot_abi.h"

#include <stdbool.h>

#include "dfu_defs.h"
#include "memmap.h"
#include "port.h"

/* 512 KiB of 2 KiB pages, 128 KiB of 1 KiB pages (memmap.c) */
#define PAGE_SLOTS 256u

static struct {
    uint16_t held[FLASH_HELD_BYTES / 2];
    uint8_t held_mask; /* bit n: held[n] came from the host */
    bool started;      /* the old image has been made unbootable */
    bool spared;       /* the first page holds the new stamped vectors */
    bool owed[PAGE_SLOTS]; /* an erase asked for, not settled yet */
} session;

/* The first address of the page holding addr. */
static uint32_t page_start(uint32_t addr)
{
    return addr & ~(memmap.page_size - 1u);
}

/* The entry of the page holding addr. */
static bool *owed(uint32_t addr)
{
    return &session.owed[(addr - FLASH_BASE_ADDR) / memmap.page_size];
}

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

static uint8_t start_session(uint32_t addr);

static uint8_t program_verified(uint32_t addr, uint16_t value)
{
    uint8_t st = start_session(addr);
    if (st)
        return st;
    enum flash_result r = port_flash_program(addr, value);
    if (r == FLASH_WRPRTERR)
        return errWRITE;
    if (r != FLASH_DONE)
        return errPROG;
    return read_half(addr) == value ? DFU_OK : errVERIFY;
}

/* The first change a session makes to the application region invalidates
 * the image there (its SP programmed to 0, which NOR allows), so an old
 * image half overwritten by an unfinished update never starts. Erasing the
 * first page is such a change too: an erase cut part-way may leave any of
 * the page's 0 bits already 1 (PM0075 specifies no outcome; NOR physics,
 * as vboard models it), the old vectors perhaps intact beside damaged
 * code, and an unstamped image has no CRC to tell. One change spares it:
 * one that starts beyond what a stamp covers — a data page the image does
 * not own — which leaves the session unstarted. No CRC check is needed
 * here: the boot check covers exactly [APP_BASE, APP_BASE + length), so
 * bytes beyond it cannot make a stamped image start or stop starting.
 * Called before every erase and program: a session that changes nothing
 * invalidates nothing. Nor does one whose first page was found to hold the
 * new stamped vectors already (flash_write): its CRC covers every later
 * page, so a half-written image fails it, and a zeroed SP could not be
 * written back without erasing that page. */
static uint8_t start_session(uint32_t addr)
{
    if (session.started || session.spared)
        return DFU_OK;
    const uint32_t *vec = (const uint32_t *)(const void *)port_mem(memmap.app_base);
    if (vec[DFUBOOT_STAMP_WORD_MAGIC] == DFUBOOT_STAMP_MAGIC &&
        addr - memmap.app_base >= vec[DFUBOOT_STAMP_WORD_LENGTH])
        return DFU_OK;
    session.started = true;
    if (vec[0] == 0xFFFFFFFFu || vec[0] == 0)
        return DFU_OK;
    /* The SP's high half first: a cut while it is programmed leaves a
     * subset of its bits (0x2000 keeps or loses its only one), beside the
     * untouched low half: the old SP or none the boot check takes. Low half
     * first, a torn 0x2000yyyy started the old code on a wrong stack
     * (tests/faults/torn_commit.c: 69,640 of 69,772 torn states). */
    uint8_t st = program_verified(memmap.app_base + 2, 0);
    return st ? st : program_verified(memmap.app_base, 0);
}

/* The page holding addr holds the block (len bytes of data at addr) and
 * 0xFF everywhere else: what erasing it and writing the block leave. */
static bool holds(uint32_t addr, const uint8_t *data, uint32_t len)
{
    uint32_t page = page_start(addr);
    const uint8_t *p = port_mem(page);
    for (uint32_t i = 0; i < memmap.page_size; i++) {
        uint32_t k = page + i - addr;
        if (p[i] != (k < len ? data[k] : 0xFF))
            return false;
    }
    return true;
}

static bool blank(uint32_t addr)
{
    return holds(addr, 0, 0);
}

/* Issue 10 item 2: a blank page is not erased again (the first flash of
 * a new board, a mass erase of an erased chip). */
static uint8_t erase_verified(uint32_t page)
{
    if (blank(page))
        return DFU_OK;
    uint8_t st = start_session(page);
    if (st)
        return st;
    if (port_flash_erase_page(page) != FLASH_DONE)
        return errERASE;
    return blank(page) ? DFU_OK : errCHECK_ERASED;
}

/* Remembered, not done (issue 10): the page's data settles it
 * (flash_write), or the end of the session (finish). */
uint8_t flash_erase(uint32_t addr)
{
    uint8_t st = flash_check_range(addr, 1);
    if (!st)
        *owed(addr) = true;
    return st;
}

/* A slice of a mass erase: up to count pages of the application region
 * from page on (dfu.c keeps each slice short). */
uint8_t flash_mass_erase(uint32_t page, uint32_t count)
{
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
    /* One that holds its value already (erased where the host sends
     * 0xFFFF, or a page found unchanged) is left alone; the FPEC programs
     * only erased ones (PGERR). */
    if (have == value)
        return DFU_OK;
    if (off < FLASH_HELD_BYTES) {
        if (have != 0xFFFF)
            return errPROG;
        session.held[off / 2] = value;
        session.held_mask |= (uint8_t)(1u << off / 2);
        return DFU_OK;
    }
    return program_verified(addr, value);
}

/* An owed erase is settled by the page's first data: not needed if the
 * page already holds what erasing it and writing the block would leave
 * (the block's bytes in it, 0xFF in the rest). With wTransferSize the
 * page size (descriptors.c), dfu-util's and pydfu's blocks are whole pages
 * (or an image's short last one), so an unchanged page of a rebuilt image
 * costs neither an erase nor a program. A block smaller than a page in
 * the middle of an image (dfu-util -t 256) finds old data after it and
 * settles the erase as an eager writer would. An unstamped image's first
 * page is rewritten all the same: without a CRC only its erased vectors
 * keep a half-written image from starting (start_session). */
static bool unchanged(uint32_t addr, const uint8_t *data, uint32_t len)
{
    uint32_t page = page_start(addr);
    const uint32_t *vec = (const uint32_t *)(const void *)port_mem(memmap.app_base);
    return holds(addr, data, len) &&
           (page != memmap.app_base || vec[DFUBOOT_STAMP_WORD_MAGIC] == DFUBOOT_STAMP_MAGIC);
}

static uint8_t settle(uint32_t addr, const uint8_t *data, uint32_t len)
{
    uint32_t page = page_start(addr);
    *owed(addr) = false;
    if (!unchanged(addr, data, len))
        return erase_verified(page);
    session.spared |= page == memmap.app_base;
    return DFU_OK;
}

uint8_t flash_write(uint32_t addr, const uint8_t *data, uint32_t len)
{
    uint8_t st = flash_check_range(addr, len);
    if (st || (addr & 1u))
        return st ? st : errADDRESS;
    for (uint32_t i = 0; i < len && !st; i += 2) {
        if (*owed(addr + i))
            st = settle(addr + i, data + i, len - i);
        uint16_t v = data[i];
        v |= (uint16_t)((i + 1 < len ? data[i + 1] : 0xFF) << 8);
        if (!st)
            st = write_half(addr + i, v);
    }
    return st;
}

/* Every erase still owed (a blank page needs none); all entries end clear. */
static uint8_t finish(void)
{
    uint8_t st = DFU_OK;
    for (uint32_t page = memmap.app_base; page < memmap.flash_end; page += memmap.page_size) {
        bool *o = owed(page);
        if (*o && !st)
            st = erase_verified(page);
        *o = false;
    }
    return st;
}

static void forget(void)
{
    session.held_mask = 0;
    session.started = session.spared = false;
}

/* Reset vector first, SP low half, SP high half last: until the very last
 * half-word lands the SP reads 0xFFFFxxxx, which no check accepts. */
uint8_t flash_commit(void)
{
    uint8_t st = finish();
    for (unsigned i = 0; i < 4 && !st; i++) {
        unsigned half = (i + 2) & 3; /* 2, 3, 0, 1 */
        if (session.held_mask & (1u << half))
            st = program_verified(memmap.app_base + 2 * half, session.held[half]);
    }
    forget();
    return st;
}

bool flash_holding(void)
{
    return session.held_mask != 0;
}

/* Owed erases are still carried out: the flash ends as an eager writer
 * would have left it. */
void flash_drop(void)
{
    finish();
    forget();
}

/* STM32F103 datasheet (DS5319), table "Flash memory characteristics":
 * tERASE (page) 20 ms typical, 40 ms max; tPROG 52.5 us typical, 70 us
 * max per half-word. A mass erase slice announces the maxima: polled
 * early, its GETSTATUS would wait on the flash for a whole slice. */
uint32_t flash_erase_ms(uint32_t pages)
{
    return pages * 40u;
}

/* A block announces the typical time of what it needs: a host that polls
 * early only gets a NAKed GETSTATUS for a few ms (dfu-util waits 5 s for a
 * control transfer), while the maxima made every update 1.6 x slower
 * than the flash (issue 10). A page that holds the block already: 0. */
uint32_t flash_write_ms(uint32_t addr, const uint8_t *data, uint32_t len)
{
    bool owes = *owed(addr);
    if (owes && unchanged(addr, data, len))
        return 0;
    uint32_t ms = len * 105u / 4000u + 1u; /* len / 2 half-words x 52.5 us, rounded up */
    return owes && !blank(addr) ? 20u + ms : ms;
}
