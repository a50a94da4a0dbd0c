/* bkp.c - the application's reboot-to-DFU request and double-reset
 * detection in BKP_DR1 (common/dfuboot_abi.h). Clocks and the write
 * access are put back to their reset state before returning. */
#include "config.h"
#include "dfuboot_abi.h"
#include "port_stm32f1.h"
#include "regs.h"

#define BKP_DR1 BKP_DR(DFUBOOT_BKP_DR_INDEX)

/* RM0008 5.4.1: BKP writes need PWR_CR.DBP, which needs the PWR clock. */
static void bkp_write(uint32_t value)
{
    PWR_CR |= PWR_CR_DBP;
    BKP_DR1 = value;
    PWR_CR &= ~PWR_CR_DBP;
}

static uint32_t clocks_on(void)
{
    uint32_t saved = RCC_APB1ENR;
    RCC_APB1ENR = saved | RCC_APB1ENR_PWREN | RCC_APB1ENR_BKPEN;
    return saved;
}

bool bkp_take_magic(void)
{
    uint32_t saved = clocks_on();
    bool magic = (BKP_DR1 & 0xFFFFu) == DFUBOOT_BKP_MAGIC;
    if (magic)
        bkp_write(0);
    RCC_APB1ENR = saved;
    return magic;
}

/* Armed for half a second at every boot: a reset inside the window finds
 * the mark still there. Runs on the 8 MHz HSI of the reset state. */
bool bkp_double_reset(void)
{
    if (!CFG_DOUBLE_RESET && !BOARD_ENTRY_DOUBLE_RESET)
        return false;
    uint32_t saved = clocks_on();
    bool second = (BKP_DR1 & 0xFFFFu) == DFUBOOT_BKP_ARMED;
    if (!second) {
        bkp_write(DFUBOOT_BKP_ARMED);
        delay_ms(500, 8000000u);
    }
    bkp_write(0);
    RCC_APB1ENR = saved;
    return second;
}
