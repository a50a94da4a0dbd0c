/*
 * option_bytes.c - WRP/RDP on first start and READ UNPROTECT (build
 * options WRP, RDP, UNPROTECT; PM0075 2.5). New option bytes are loaded
 * only by a reset, so each change ends with one.
 */
#include "config.h"
#include "memmap.h"
#include "port.h"
#include "port_stm32f1.h"
#include "regs.h"

#define OB_HALF(i) (*(volatile uint16_t *)(uintptr_t)(FLASH_OPTION_BYTES + 2u * (i)))
#define WRP_BYTES 4u
#define WRP_BLOCK 4096u /* one WRP bit: 4 KiB (4 x 1 KiB or 2 x 2 KiB pages) */

static void wait_idle(void)
{
    while (FLASH_SR & FLASH_SR_BSY)
        IWDG_KR = IWDG_KR_RELOAD;
    FLASH_SR = FLASH_SR_EOP | FLASH_SR_PGERR | FLASH_SR_WRPRTERR;
}

/* OPTWRE is cleared by writing 0, so CR is only ever read-modify-written. */
static void option_unlock(void)
{
    if (FLASH_CR & FLASH_CR_LOCK) {
        FLASH_KEYR = FLASH_KEY1;
        FLASH_KEYR = FLASH_KEY2;
    }
    FLASH_OPTKEYR = FLASH_KEY1;
    FLASH_OPTKEYR = FLASH_KEY2;
}

static void option_erase(void)
{
    wait_idle();
    FLASH_CR |= FLASH_CR_OPTER;
    FLASH_CR |= FLASH_CR_STRT;
    wait_idle();
    FLASH_CR &= ~FLASH_CR_OPTER;
}

static void option_program(unsigned index, uint32_t value)
{
    FLASH_CR |= FLASH_CR_OPTPG;
    OB_HALF(index) = (uint16_t)(value & 0xFFu);
    wait_idle();
    FLASH_CR &= ~FLASH_CR_OPTPG;
}

/* Rewrites every option byte: RDP, USER and Data kept from OBR, WRP as given. */
static void option_write(uint32_t rdp, uint32_t wrpr) __attribute__((noreturn));
static void option_write(uint32_t rdp, uint32_t wrpr)
{
    uint32_t obr = FLASH_OBR;
    option_unlock();
    option_erase();
    option_program(0, rdp);
    option_program(1, 0xF8u | (obr >> 2 & 7u));
    option_program(2, obr >> 10);
    option_program(3, obr >> 18);
    for (unsigned i = 0; i < WRP_BYTES; i++)
        option_program(4 + i, wrpr >> (8 * i));
    FLASH_CR = FLASH_CR_LOCK;
    system_reset();
}

void option_bytes_apply(void)
{
    if (!CFG_WRP && !CFG_RDP)
        return;
    uint32_t wrpr = FLASH_WRPR; /* 0 = protected */
    bool rdp = FLASH_OBR & FLASH_OBR_RDPRT;
    uint32_t blocks = (CFG_APP_BASE - FLASH_BASE_ADDR + WRP_BLOCK - 1u) / WRP_BLOCK;
    uint32_t want_wrpr = CFG_WRP ? wrpr & ~((1u << blocks) - 1u) : wrpr;
    bool want_rdp = rdp || CFG_RDP;
    if (want_wrpr == wrpr && want_rdp == rdp)
        return;
    option_write(want_rdp ? 0x00u : FLASH_RDP_LEVEL0, want_wrpr);
}

/* Level 0 again: the chip erases all of its flash at the next reset. */
void port_read_unprotect(void)
{
    option_write(FLASH_RDP_LEVEL0, 0xFFFFFFFFu);
}

/* RM0008 3.3.3 / PM0075 2.4.1: RDPRT reads 1 while level 1 is active. */
bool port_read_protected(void)
{
    return FLASH_OBR & FLASH_OBR_RDPRT;
}
