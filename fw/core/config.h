/*
 * config.h - build options of the bootloader (fw/fw.mk passes them as CFG_*).
 * The defaults here only serve builds that do not go through fw.mk.
 */
#ifndef CONFIG_H
#define CONFIG_H

#ifndef CFG_APP_BASE
#define CFG_APP_BASE 0x08002000u
#endif
#ifndef CFG_VID
#define CFG_VID 0x0483
#endif
#ifndef CFG_PID
#define CFG_PID 0xDF11
#endif
#ifndef CFG_UPLOAD
#define CFG_UPLOAD 1
#endif
#ifndef CFG_STRICT
#define CFG_STRICT 0
#endif
#ifndef CFG_DOUBLE_RESET
#define CFG_DOUBLE_RESET 0
#endif
#ifndef CFG_WEBUSB
#define CFG_WEBUSB 1
#endif
#ifndef CFG_WEBUSB_URL
#define CFG_WEBUSB_URL "github.com/dfuboot/dfuboot"
#endif
#ifndef CFG_WRP
#define CFG_WRP 0
#endif
#ifndef CFG_RDP
#define CFG_RDP 0
#endif
#ifndef CFG_UNPROTECT
#define CFG_UNPROTECT 0
#endif
#ifndef CFG_BOARD_NAME
#ifdef BOARD_NAME
#define CFG_BOARD_NAME BOARD_NAME
#else
#define CFG_BOARD_NAME "host"
#endif
#endif

/* RAM budget: one DNLOAD block is buffered whole before it is written.
 * wTransferSize is the part's page size (descriptors.c), so the buffer
 * takes the largest F103 page. */
#define FLASH_PAGE_MAX 2048u
#define DFU_TRANSFER_SIZE FLASH_PAGE_MAX /* the largest a host may send */
#define EP0_SIZE 64u

#endif
