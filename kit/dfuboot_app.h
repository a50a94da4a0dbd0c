/*
 * dfuboot_app.h - the application side of the dfuboot bootloader, in one
 * header you can copy into any STM32F103 project (CubeIDE, libopencm3,
 * Arduino, bare metal). It needs nothing but <stdint.h> and GCC-style asm.
 *
 *   #include "dfuboot_app.h"
 *   ...
 *   dfuboot_reboot_to_bootloader();   // does not return
 *
 * How it works (common/dfuboot_abi.h in the dfuboot repository): the
 * application writes 0x4446 ("DF") into backup register BKP_DR1 and asks for
 * a system reset. Backup registers survive a system reset, so the bootloader
 * finds the value right after reset, clears it and stays in DFU mode.
 * Register names like RCC_APB1ENR are deliberately not defined here, so the
 * header cannot clash with CMSIS, HAL or libopencm3 headers.
 */
#ifndef DFUBOOT_APP_H
#define DFUBOOT_APP_H

#include <stdint.h>

/* Must equal DFUBOOT_BKP_MAGIC of common/dfuboot_abi.h (a test checks). */
#define DFUBOOT_APP_BKP_MAGIC 0x4446u

/* Addresses from RM0008 (STM32F101/102/103 reference manual). */
#define DFUBOOT_APP_RCC_APB1ENR 0x4002101Cu /* 7.3.8 */
#define DFUBOOT_APP_PWR_CR 0x40007000u      /* 5.4.1 */
#define DFUBOOT_APP_BKP_DR1 0x40006C04u     /* 6.4.1 */
#define DFUBOOT_APP_SCB_AIRCR 0xE000ED0Cu   /* PM0056 4.4.4 */

static inline void dfuboot_reboot_to_bootloader(void) __attribute__((noreturn));

static inline void dfuboot_reboot_to_bootloader(void)
{
    volatile uint32_t *const apb1enr = (volatile uint32_t *)DFUBOOT_APP_RCC_APB1ENR;
    volatile uint32_t *const pwr_cr = (volatile uint32_t *)DFUBOOT_APP_PWR_CR;
    volatile uint32_t *const bkp_dr1 = (volatile uint32_t *)DFUBOOT_APP_BKP_DR1;
    volatile uint32_t *const aircr = (volatile uint32_t *)DFUBOOT_APP_SCB_AIRCR;

    /* No interrupt handler may run (or reset something) from here on. */
    __asm volatile("cpsid i" ::: "memory");

    /* PWREN (bit 28) and BKPEN (bit 27): the backup domain is write-protected
     * and unclocked after reset. The read-back makes sure the clock is on
     * before the next access. */
    *apb1enr |= (1u << 28) | (1u << 27);
    (void)*apb1enr;
    *pwr_cr |= 1u << 8; /* DBP: allow writes to the backup domain */
    *bkp_dr1 = DFUBOOT_APP_BKP_MAGIC;

    /* SYSRESETREQ with the write key, keeping the priority grouping. The DSB
     * before makes the backup-register write complete first. */
    __asm volatile("dsb" ::: "memory");
    *aircr = (0x05FAu << 16) | (*aircr & 0x700u) | (1u << 2);
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}

#endif
