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
#define OB_BYTES 8u /* RDP, USER, Data0, Data1, WRP0..3 */
#define WRP_BYTES 4u
#define WRP_BLOCK 4096u /* one WRP bit: 4 KiB (4 x 1 KiB or 2 x 2 KiB pages) */

/* The copy of ob_rewrite in SRAM and where its bytes are kept in flash
 * (dfuboot.ld, section .ramfunc). */
extern uint32_t _sramfunc[], _eramfunc[], _siramfunc[];

/* Inlined into ob_rewrite: nothing of it may stay in flash. */
static inline __attribute__((always_inline)) void ob_wait(void)
{
    while (FLASH_SR & FLASH_SR_BSY)
        IWDG_KR = IWDG_KR_RELOAD;
}

/* Erases the option bytes, programs the 8 given, resets. Runs from SRAM:
 * when RDP becomes 0xA5 on a protected chip, the FPEC first mass-erases
 * main flash (PM0075 2.4.1), and code fetched from there afterwards would
 * be erased words. Order against a power cut: the erase leaves RDP =
 * 0xFF (level 1) and every WRP bit off; RDP is programmed first so the
 * window with a protection the build did not choose is one erase plus one
 * half-word (about 20 ms), then USER and Data, then WRP. OPTWRE is kept:
 * CR is only read-modify-written (it clears by writing 0). */
__attribute__((section(".ramfunc"), noinline, noreturn, long_call)) static void
ob_rewrite(const uint8_t *bytes)
{
    FLASH_CR |= FLASH_CR_OPTER;
    FLASH_CR |= FLASH_CR_STRT;
    ob_wait();
    FLASH_CR = (FLASH_CR & ~FLASH_CR_OPTER) | FLASH_CR_OPTPG;
    for (unsigned i = 0; i < OB_BYTES; i++) {
        OB_HALF(i) = bytes[i];
        ob_wait();
    }
    FLASH_CR = FLASH_CR_LOCK;
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = SCB_AIRCR_SYSRESET;
    for (;;)
        ;
}

/* Rewrites every option byte: RDP as given, USER and Data kept from OBR,
 * WRP as given; new option bytes load at the reset that ends it. */
static void option_write(uint32_t rdp, uint32_t wrpr) __attribute__((noreturn));
static void option_write(uint32_t rdp, uint32_t wrpr)
{
    uint32_t obr = FLASH_OBR;
    uint8_t bytes[OB_BYTES] = {(uint8_t)rdp, (uint8_t)(0xF8u | (obr >> 2 & 7u)), (uint8_t)(obr >> 10),
                               (uint8_t)(obr >> 18)};
    for (unsigned i = 0; i < WRP_BYTES; i++)
        bytes[4 + i] = (uint8_t)(wrpr >> (8 * i));
    ob_wait();
    FLASH_SR = FLASH_SR_EOP | FLASH_SR_PGERR | FLASH_SR_WRPRTERR;
    if (FLASH_CR & FLASH_CR_LOCK) {
        FLASH_KEYR = FLASH_KEY1;
        FLASH_KEYR = FLASH_KEY2;
    }
    FLASH_OPTKEYR = FLASH_KEY1;
    FLASH_OPTKEYR = FLASH_KEY2;
    for (uint32_t *dst = _sramfunc, *src = _siramfunc; dst < _eramfunc;)
        *dst++ = *src++;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    ob_rewrite(bytes);
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

/* Level 0 again: programming RDP = 0xA5 mass-erases main flash at once. */
void port_read_unprotect(void)
{
    option_write(FLASH_RDP_LEVEL0, 0xFFFFFFFFu);
}

/* RM0008 3.3.3 / PM0075 2.4.1: RDPRT reads 1 while level 1 is active. */
bool port_read_protected(void)
{
    return FLASH_OBR & FLASH_OBR_RDPRT;
}
