/* flash.c - the FPEC (RM0008 3.3.3, PM0075 2.3-2.4): page erase and
 * half-word programming, unlocked only for the duration of one operation. */
#include "port.h"
#include "regs.h"

/* Instruction fetches stall while BSY is set, so this loop may never see
 * BSY: the watchdog is reloaded at least once per operation regardless. */
static void wait_idle(void)
{
    do
        IWDG_KR = IWDG_KR_RELOAD;
    while (FLASH_SR & FLASH_SR_BSY);
}

/* The previous operation done, the FPEC unlocked, CR = cr. */
static void start(uint32_t cr)
{
    wait_idle();
    if (FLASH_CR & FLASH_CR_LOCK) {
        FLASH_KEYR = FLASH_KEY1;
        FLASH_KEYR = FLASH_KEY2;
    }
    FLASH_CR = cr;
}

/* Waits for the end, clears EOP/PGERR/WRPRTERR (write 1), relocks. */
static enum flash_result finish(void)
{
    wait_idle();
    uint32_t sr = FLASH_SR;
    FLASH_SR = sr & (FLASH_SR_EOP | FLASH_SR_PGERR | FLASH_SR_WRPRTERR);
    FLASH_CR = FLASH_CR_LOCK;
    if (sr & FLASH_SR_WRPRTERR)
        return FLASH_WRPRTERR;
    return sr & FLASH_SR_PGERR ? FLASH_PGERR : FLASH_DONE;
}

enum flash_result port_flash_erase_page(uint32_t addr)
{
    start(FLASH_CR_PER);
    FLASH_AR = addr;
    FLASH_CR = FLASH_CR_PER | FLASH_CR_STRT;
    return finish();
}

/* PM0075 2.3.3: PG set, then one half-word store. */
enum flash_result port_flash_program(uint32_t addr, uint16_t value)
{
    start(FLASH_CR_PG);
    *(volatile uint16_t *)(uintptr_t)addr = value;
    return finish();
}
