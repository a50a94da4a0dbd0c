/* rcc.h - reset and clock control (RM0008 chapter 7) at 0x40021000. */
#ifndef VB_RCC_H
#define VB_RCC_H

#include "vb.h"

struct rcc;

enum rcc_reset_kind { RCC_RESET_POWER_ON, RCC_RESET_PIN, RCC_RESET_SOFTWARE, RCC_RESET_IWDG };

/* Ready delays in virtual time, DS5319 (STM32F103x8/B datasheet) 5.3.6
 * and 5.3.7: tSU(HSI) 1-2 us (the max taken); tSU(HSE) 2 ms, the only
 * figure given ("typ", VDD stabilized, 8 MHz crystal); tLOCK PLL 200 us
 * (the max taken); tSU(LSI) 85 us (max). The slow end everywhere: firmware
 * whose start-up timeouts pass here does not time out on typical silicon. */
#define RCC_HSI_READY_NS 2000ull
#define RCC_HSE_READY_NS 2000000ull
#define RCC_PLL_READY_NS 200000ull
#define RCC_LSI_READY_NS 85000ull
#define RCC_LSE_READY_NS 500000000ull

struct rcc *rcc_new(struct vb *vb);
/* RM0008 7.1: power-on resets everything incl. the backup domain (BDCR);
 * other resets keep BDCR and add their flag to CSR. */
void rcc_reset(struct rcc *r, enum rcc_reset_kind kind);
void rcc_free(struct rcc *r);

/* The board's crystal: hz = 0 means none (--no-hse, or a dead crystal):
 * HSEON then never gives HSERDY. Default 8 MHz, as on every board here. */
void rcc_set_hse_hz(struct rcc *r, uint32_t hz);

uint32_t rcc_sysclk_hz(const struct rcc *r);
uint32_t rcc_hclk_hz(const struct rcc *r);
uint32_t rcc_pclk1_hz(const struct rcc *r);
uint32_t rcc_usbclk_hz(const struct rcc *r);
bool rcc_clock_enabled(const struct rcc *r, enum vb_clk clk);

/* Called on the rising edge of a peripheral reset bit (APB1RSTR/APB2RSTR)
 * and for BDRST (what = VB_CLK_BKP). */
void rcc_set_reset_hook(struct rcc *r, void (*fn)(void *ctx, enum vb_clk what), void *ctx);
/* Answers PWR_CR.DBP for the write protection of RCC_BDCR. */
void rcc_set_dbp_hook(struct rcc *r, bool (*fn)(void *ctx), void *ctx);
/* Called after SYSCLK changed (the FLASH model checks its wait states). */
void rcc_set_clock_hook(struct rcc *r, void (*fn)(void *ctx, uint32_t sysclk), void *ctx);

#endif
