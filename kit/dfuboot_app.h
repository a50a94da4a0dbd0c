/*
 * dfuboot_app.h - the application side of the dfuboot bootloader, in one
 * header you can copy into any STM32F103 project (CubeIDE, libopencm3,
 * Arduino, bare metal). It needs nothing but <stdint.h> and GCC-style asm.
 *
 *   #include "dfuboot_app.h"
 *   ...
 *   dfuboot_reboot_to_bootloader();   // does not return
 *   dfuboot_detach_and_reboot(72000000u); // after a USB DFU_DETACH (below)
 *   dfuboot_serial_string(buf);           // the bootloader's USB serial
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

/*
 * The bootloader's USB serial number: the 96-bit unique ID (RM0008 30.2, at
 * 0x1FFFF7E8) as 24 upper-case hex digits, byte at the lowest address first,
 * high nibble first. Give an application's USB device the same serial, and
 * `dfu-util -S SERIAL` finds the board before and after the detach.
 */
#define DFUBOOT_APP_U_ID 0x1FFFF7E8u

static inline void dfuboot_serial_string(char out[25])
{
    const volatile uint8_t *const uid = (const volatile uint8_t *)DFUBOOT_APP_U_ID;
    for (unsigned i = 0; i < 24; i++) {
        unsigned nibble = (uid[i / 2] >> (i & 1u ? 0 : 4)) & 15u;
        out[i] = (char)(nibble < 10 ? '0' + nibble : 'A' - 10 + nibble);
    }
    out[24] = 0;
}

/*
 * For an application with a USB device of its own and a DFU runtime
 * interface (bitWillDetach set): after DFU_DETACH has been acknowledged,
 * leave the bus so the host sees a disconnect, then reboot into the
 * bootloader, which enumerates as the DFU-mode device. Call it from the main
 * loop a few milliseconds after the request (the status stage must have gone
 * out), never from inside the USB stack's callback. cpu_hz is the core clock
 * now, for the wait.
 *
 *  - The USB macrocell is held in reset and its clock stopped: while it is
 *    enabled it owns PA11/PA12 (RM0008 9.1.11 and 23.4.2).
 *  - PA12 (D+) is then driven low as a GPIO output: the host sees SE0, a
 *    disconnect, even with the fixed 1.5k pull-up of a blue pill. On a board
 *    with a pull-up switch (Maple Mini PB9, Olimex H103 PC11), switch it off
 *    first too: that is the board's own way to disconnect.
 *  - 20 ms of that (a hub sees a disconnect after 2.5 us, USB 2.0 7.1.7.3;
 *    the wait is at least 20 ms, longer with a slow loop), then the reboot.
 */
#define DFUBOOT_APP_RCC_APB1RSTR 0x40021010u /* 7.3.5, USBRST = bit 23 */
#define DFUBOOT_APP_RCC_APB2ENR 0x40021018u  /* 7.3.7, IOPAEN = bit 2 */
#define DFUBOOT_APP_GPIOA_CRH 0x40010804u    /* 9.2.2 */
#define DFUBOOT_APP_GPIOA_BRR 0x40010814u    /* 9.2.6 */

static inline void dfuboot_detach_and_reboot(uint32_t cpu_hz) __attribute__((noreturn));

static inline void dfuboot_detach_and_reboot(uint32_t cpu_hz)
{
    volatile uint32_t *const apb1rstr = (volatile uint32_t *)DFUBOOT_APP_RCC_APB1RSTR;
    volatile uint32_t *const apb1enr = (volatile uint32_t *)DFUBOOT_APP_RCC_APB1ENR;
    volatile uint32_t *const apb2enr = (volatile uint32_t *)DFUBOOT_APP_RCC_APB2ENR;
    volatile uint32_t *const gpioa_crh = (volatile uint32_t *)DFUBOOT_APP_GPIOA_CRH;
    volatile uint32_t *const gpioa_brr = (volatile uint32_t *)DFUBOOT_APP_GPIOA_BRR;

    __asm volatile("cpsid i" ::: "memory");
    *apb1rstr |= 1u << 23;   /* USBRST: the macrocell in reset ... */
    *apb1enr &= ~(1u << 23); /* ... and unclocked (USBEN) */
    *apb2enr |= 1u << 2;     /* IOPAEN */
    (void)*apb2enr;
    *gpioa_brr = 1u << 12;   /* output latch low first, then the mode: */
    *gpioa_crh = (*gpioa_crh & ~(0xFu << 16)) | (0x2u << 16); /* PA12 push-pull, 2 MHz */
    /* At least 4 cycles per turn (load, subtract, store, branch). */
    for (volatile uint32_t n = cpu_hz / 1000u * 20u / 4u; n; n--) {
    }
    dfuboot_reboot_to_bootloader();
}

#endif
