/*
 * regs.h - the STM32F103 registers the bootloader uses, named as in RM0008
 * (section numbers in comments). Every access is 32 bits wide except where
 * the manual says otherwise (flash half-word programming, USB packet memory,
 * F_SIZE).
 */
#ifndef REGS_H
#define REGS_H

#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- RCC (RM0008 7.3) ---- */
#define RCC_BASE 0x40021000u
#define RCC_CR REG(RCC_BASE + 0x00)
#define RCC_CFGR REG(RCC_BASE + 0x04)
#define RCC_AHBENR REG(RCC_BASE + 0x14)
#define RCC_APB2ENR REG(RCC_BASE + 0x18)
#define RCC_APB1RSTR REG(RCC_BASE + 0x10)
#define RCC_APB1ENR REG(RCC_BASE + 0x1C)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSITRIM_RESET (16u << 3) /* 7.3.1: "default value is 16" */
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_PLL (2u << 0) /* SW = 00 is the HSI */
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_PPRE1_DIV2 (4u << 8) /* APB1 at most 36 MHz */
#define RCC_CFGR_PLLSRC_HSE (1u << 16)
#define RCC_CFGR_PLLXTPRE (1u << 17) /* PLL input HSE / 2 */
#define RCC_CFGR_PLLMUL(x) (((x)-2u) << 18)
/* USBPRE = 0: USB clock = PLL / 1.5 (72 -> 48 MHz) */
#define RCC_AHBENR_RESET 0x00000014u /* SRAMEN | FLITFEN */
#define RCC_AHBENR_CRCEN (1u << 6)
#define RCC_APB2ENR_IOPAEN (1u << 2) /* IOPBEN.. follow, one bit per port */
#define RCC_APB1ENR_USBEN (1u << 23)
#define RCC_APB1RSTR_USBRST (1u << 23)
#define RCC_APB1ENR_BKPEN (1u << 27)
#define RCC_APB1ENR_PWREN (1u << 28)

/* ---- PWR / BKP (RM0008 5.4, 6.4) ---- */
#define PWR_CR REG(0x40007000u)
#define PWR_CR_DBP (1u << 8)
#define BKP_DR(n) REG(0x40006C00u + 4u * (n)) /* 16 bits in a 32-bit slot */

/* ---- GPIO (RM0008 9.2) ---- */
#define GPIO_BASE(port) (0x40010800u + 0x400u * (uint32_t)((port) - 'A'))
#define GPIO_CRL(port) REG(GPIO_BASE(port) + 0x00)
#define GPIO_CRH(port) REG(GPIO_BASE(port) + 0x04)
#define GPIO_IDR(port) REG(GPIO_BASE(port) + 0x08)
#define GPIO_ODR(port) REG(GPIO_BASE(port) + 0x0C)
#define GPIO_BSRR(port) REG(GPIO_BASE(port) + 0x10)
#define GPIO_MODE_INPUT_FLOATING 0x4u /* the reset configuration */
#define GPIO_MODE_OUTPUT_2MHZ_PP 0x2u

/* ---- FLASH / FPEC (RM0008 3.3.3, PM0075) ---- */
#define FLASH_BASE_R 0x40022000u
#define FLASH_ACR REG(FLASH_BASE_R + 0x00)
#define FLASH_KEYR REG(FLASH_BASE_R + 0x04)
#define FLASH_OPTKEYR REG(FLASH_BASE_R + 0x08)
#define FLASH_SR REG(FLASH_BASE_R + 0x0C)
#define FLASH_CR REG(FLASH_BASE_R + 0x10)
#define FLASH_AR REG(FLASH_BASE_R + 0x14)
#define FLASH_OBR REG(FLASH_BASE_R + 0x1C)
#define FLASH_WRPR REG(FLASH_BASE_R + 0x20)

#define FLASH_ACR_LATENCY_2 2u /* 48 < SYSCLK <= 72 MHz */
#define FLASH_ACR_PRFTBE (1u << 4)
#define FLASH_ACR_RESET 0x30u /* PRFTBS | PRFTBE, LATENCY 0 (3.3.3) */
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR_BSY (1u << 0)
#define FLASH_SR_PGERR (1u << 2)
#define FLASH_SR_WRPRTERR (1u << 4)
#define FLASH_SR_EOP (1u << 5)
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_PER (1u << 1)
#define FLASH_CR_OPTPG (1u << 4)
#define FLASH_CR_OPTER (1u << 5)
#define FLASH_CR_STRT (1u << 6)
#define FLASH_CR_LOCK (1u << 7)
#define FLASH_CR_OPTWRE (1u << 9) /* cleared by writing 0: keep it in writes */
#define FLASH_OBR_RDPRT (1u << 1)
#define FLASH_OPTION_BYTES 0x1FFFF800u /* RDP, USER, Data0, Data1, WRP0..3 */
#define FLASH_RDP_LEVEL0 0x00A5u

/* ---- Device electronic signature (RM0008 30.1, 30.2) ---- */
#define F_SIZE (*(volatile const uint16_t *)0x1FFFF7E0u) /* 16-bit register */
#define U_ID_ADDR 0x1FFFF7E8u

/* ---- IWDG (RM0008 19.4), CRC (4.4) ---- */
#define IWDG_KR REG(0x40003000u)
#define IWDG_KR_RELOAD 0xAAAAu
#define CRC_DR REG(0x40023000u)
#define CRC_CR REG(0x40023008u)
#define CRC_CR_RESET 1u

/* ---- USB full-speed device (RM0008 23.5) ---- */
#define USB_BASE 0x40005C00u
#define USB_EP0R REG(USB_BASE + 0x00)
#define USB_CNTR REG(USB_BASE + 0x40)
#define USB_ISTR REG(USB_BASE + 0x44)
#define USB_DADDR REG(USB_BASE + 0x4C)
#define USB_BTABLE REG(USB_BASE + 0x50)

#define USB_CNTR_FRES (1u << 0)
#define USB_CNTR_PDWN (1u << 1)
#define USB_ISTR_RESET (1u << 10)
#define USB_ISTR_CTR (1u << 15)
#define USB_DADDR_EF (1u << 7)

/* EPnR: CTR_* are rc_w0 (write 1 keeps them), DTOG_* and STAT_* toggle
 * when written 1, SETUP is read-only (RM0008 23.5.2). */
#define USB_EP_CTR_RX (1u << 15)
#define USB_EP_DTOG_RX (1u << 14)
#define USB_EP_STAT_RX (3u << 12)
#define USB_EP_SETUP (1u << 11)
#define USB_EP_TYPE_CONTROL (1u << 9)
#define USB_EP_KIND (1u << 8)
#define USB_EP_CTR_TX (1u << 7)
#define USB_EP_DTOG_TX (1u << 6)
#define USB_EP_STAT_TX (3u << 4)
#define USB_EP_EA 0xFu
#define USB_EP_TYPE_MASK (3u << 9)
#define USB_EP_RX_STALL (1u << 12)
#define USB_EP_RX_VALID (3u << 12)
#define USB_EP_TX_STALL (1u << 4)
#define USB_EP_TX_NAK (2u << 4)
#define USB_EP_TX_VALID (3u << 4)

/* Packet memory: 16-bit words, each on a 32-bit boundary for the CPU
 * (RM0008 23.5.3): CPU address = 0x40006000 + 2 * USB-local address. It is
 * accessed like the registers, 32 bits wide, the upper half unused. */
#define USB_PMA_BASE 0x40006000u
#define USB_PMA(local) REG(USB_PMA_BASE + 2u * (local))
/* COUNTn_RX: BL_SIZE = 1 (32-byte blocks), NUM_BLOCK = 1 -> 64 bytes. */
#define USB_COUNT_RX_64 ((1u << 15) | (1u << 10))

/* ---- Cortex-M3 system (PM0056 4.4, 4.5) ---- */
#define SCB_VTOR REG(0xE000ED08u)
#define SCB_AIRCR REG(0xE000ED0Cu)
#define SCB_AIRCR_SYSRESET ((0x05FAu << 16) | (1u << 2))
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_CLKSOURCE (1u << 2) /* processor clock */
#define SYST_CSR_COUNTFLAG (1u << 16)

#endif
