/*
 * dfuboot_abi.h - the contract between the bootloader, applications, the
 * stamp tool and the virtual board. Everything here is part of the public
 * interface: changing a value breaks applications already in the field.
 */
#ifndef DFUBOOT_ABI_H
#define DFUBOOT_ABI_H

/* Default start of the application; the bootloader owns everything below. */
#define DFUBOOT_APP_BASE_DEFAULT 0x08002000u

/*
 * Reboot-to-bootloader request: the application writes this value into
 * backup data register BKP_DR1 (16 bits, RM0008 6.4.1; needs PWR/BKP clocks
 * and PWR_CR.DBP) and requests a system reset. Backup registers survive a
 * system reset. The bootloader clears the register when it sees the value,
 * so the request is one-shot.
 */
#define DFUBOOT_BKP_DR_INDEX 1u      /* BKP_DR1 at BKP base + 0x04 */
#define DFUBOOT_BKP_MAGIC 0x4446u    /* "DF" */
/* Double-reset detection (DOUBLE_RESET=1 builds): armed during the window. */
#define DFUBOOT_BKP_ARMED 0x5252u    /* "RR" */

/*
 * Image stamp, written by dfuboot-stamp into the Cortex-M3 vector table words
 * 7..10 (offsets 0x1C..0x2B), which the architecture reserves.
 *   word 7  DFUBOOT_STAMP_MAGIC
 *   word 8  image length in bytes, a multiple of 4, counted from APP_BASE
 *   word 9  CRC-32 of the image, see below
 *   word 10 bitwise complement of word 9
 * The CRC is the STM32 CRC unit's (RM0008 4.2): polynomial 0x04C11DB7,
 * initial value 0xFFFFFFFF, no reflection, no final XOR, fed 32-bit words read
 * little-endian from the image; words 7..10 are skipped (not fed).
 * An image is padded with 0xFF to a multiple of 4 bytes before stamping.
 */
#define DFUBOOT_STAMP_MAGIC 0x42554644u /* bytes "DFUB" */
#define DFUBOOT_STAMP_WORD_MAGIC 7u
#define DFUBOOT_STAMP_WORD_LENGTH 8u
#define DFUBOOT_STAMP_WORD_CRC 9u
#define DFUBOOT_STAMP_WORD_NCRC 10u

#endif
