/* test_rcc.c - the RCC model against RM0008 chapter 7. */
#include "../../vboard/rcc.h"
#include "../testing.h"
#include "fake_vb.h"

#define RCC 0x40021000u
#define CR (RCC + 0x00)
#define CFGR (RCC + 0x04)
#define APB1ENR (RCC + 0x1C)
#define APB2ENR (RCC + 0x18)
#define AHBENR (RCC + 0x14)
#define BDCR (RCC + 0x20)
#define CSR (RCC + 0x24)

static struct rcc *mk(void)
{
    fake_reset();
    return rcc_new(fake_vb);
}

TEST(reset_values_rm0008_7_3)
{
    struct rcc *r = mk();
    /* 7.3.1 CR reset 0x000X XX83: HSION, HSIRDY, HSITRIM = 16. */
    CHECK_EQ(fake_read32(CR) & 0xFF, 0x83);
    CHECK_EQ(fake_read32(CFGR), 0);
    CHECK_EQ(fake_read32(AHBENR), 0x14); /* 7.3.6: SRAMEN | FLITFEN */
    CHECK_EQ(fake_read32(CSR), 0x0C000000); /* 7.3.10: PORRSTF | PINRSTF */
    CHECK_EQ(rcc_sysclk_hz(r), 8000000);    /* HSI after reset */
}

TEST(hserdy_after_startup_delay_rm0008_7_3_1)
{
    mk();
    fake_write32(CR, fake_read32(CR) | (1u << 16)); /* HSEON */
    CHECK_EQ(fake_read32(CR) & (1u << 17), 0);      /* HSERDY not at once */
    /* DS5319 table "HSE 4-16 MHz oscillator characteristics": tSU(HSE)
     * startup time, VDD is stabilized: 2 ms (typ, the only figure). */
    fake_advance_ns(1900000);
    CHECK_EQ(fake_read32(CR) & (1u << 17), 0); /* not before 2 ms */
    fake_advance_ns(100000);
    CHECK(fake_read32(CR) & (1u << 17), "HSERDY not set after start-up");
    /* HSERDY is read-only: writing 0 does not clear it. */
    fake_write32(CR, fake_read32(CR) & ~(1u << 17));
    CHECK(fake_read32(CR) & (1u << 17), "HSERDY cleared by software");
}

/* DS5319 table "PLL characteristics": tLOCK PLL lock time 200 us (max). */
TEST(pll_locks_within_tlock_ds5319)
{
    mk();
    fake_write32(CR, fake_read32(CR) | (1u << 16));
    fake_advance_ns(2000000);                                /* tSU(HSE) */
    fake_write32(CFGR, (7u << 18) | (1u << 16) | (4u << 8)); /* x9, HSE */
    fake_write32(CR, fake_read32(CR) | (1u << 24));
    fake_advance_ns(150000);
    CHECK_EQ(fake_read32(CR) & (1u << 25), 0); /* the slow end: not yet */
    fake_advance_ns(50000);
    CHECK(fake_read32(CR) & (1u << 25), "PLLRDY not set 200 us after PLLON");
}

/* --no-hse: a board without a working crystal. RM0008 7.3.1 HSERDY: "Set
 * by hardware to indicate that the HSE oscillator is stable": with no
 * oscillation it never is, and a PLL fed from it never locks. */
TEST(no_hse_never_ready_and_pll_never_locks)
{
    struct rcc *r = mk();
    rcc_set_hse_hz(r, 0);
    fake_write32(CR, fake_read32(CR) | (1u << 16));
    fake_advance_ns(1000000000); /* 1 s */
    CHECK_EQ(fake_read32(CR) & (1u << 17), 0);
    fake_write32(CFGR, (7u << 18) | (1u << 16) | (4u << 8));
    fake_write32(CR, fake_read32(CR) | (1u << 24));
    fake_advance_ns(1000000000);
    CHECK_EQ(fake_read32(CR) & (1u << 25), 0);
    fake_write32(CFGR, fake_read32(CFGR) | 2); /* SW = PLL: stays on HSI */
    CHECK_EQ((fake_read32(CFGR) >> 2) & 3, 0);
    CHECK_EQ(rcc_sysclk_hz(r), 8000000);
}

static void pll72(void)
{
    fake_write32(CR, fake_read32(CR) | (1u << 16));
    fake_advance_ns(RCC_HSE_READY_NS);
    fake_write32(CFGR, (7u << 18) | (1u << 16) | (4u << 8)); /* x9, HSE, APB1 /2 */
    fake_write32(CR, fake_read32(CR) | (1u << 24));
    fake_advance_ns(RCC_PLL_READY_NS);
}

TEST(pll_72mhz_and_sws_follows_sw_rm0008_7_3_2)
{
    struct rcc *r = mk();
    pll72();
    CHECK(fake_read32(CR) & (1u << 25), "PLLRDY");
    fake_write32(CFGR, fake_read32(CFGR) | 2); /* SW = PLL */
    CHECK_EQ((fake_read32(CFGR) >> 2) & 3, 2); /* SWS = PLL */
    CHECK_EQ(rcc_sysclk_hz(r), 72000000);
    CHECK_EQ(rcc_pclk1_hz(r), 36000000);
    CHECK_EQ(fake_violations, 0);
}

TEST(switch_to_unready_source_waits_rm0008_7_2_6)
{
    /* "When a clock source is selected but not ready, the switch occurs
     * when it becomes ready." */
    struct rcc *r = mk();
    fake_write32(CR, fake_read32(CR) | (1u << 16));
    fake_write32(CFGR, 1); /* SW = HSE before HSERDY */
    CHECK_EQ((fake_read32(CFGR) >> 2) & 3, 0);
    fake_advance_ns(RCC_HSE_READY_NS);
    CHECK_EQ((fake_read32(CFGR) >> 2) & 3, 1);
    CHECK_EQ(rcc_sysclk_hz(r), 8000000);
}

TEST(pll_config_locked_while_pll_on_rm0008_7_3_2)
{
    mk();
    pll72();
    /* "These bits can be written only when PLL is disabled." */
    fake_write32(CFGR, (8u << 18) | (1u << 16) | (4u << 8));
    CHECK_EQ((fake_read32(CFGR) >> 18) & 0xF, 7);
    CHECK_EQ(fake_violations, 1);
}

TEST(usb_clock_48mhz_from_72_over_1_5_rm0008_7_2_5)
{
    struct rcc *r = mk();
    pll72();
    CHECK_EQ(rcc_usbclk_hz(r), 0); /* USBEN still clear */
    fake_write32(APB1ENR, 1u << 23);
    CHECK_EQ(rcc_usbclk_hz(r), 48000000);
    CHECK_EQ(fake_violations, 0);
}

TEST(usb_clock_wrong_prescaler_is_a_violation_rm0008_7_2_5)
{
    mk();
    pll72();
    fake_write32(CFGR, fake_read32(CFGR) | (1u << 22)); /* USBPRE /1: 72 MHz */
    fake_write32(APB1ENR, 1u << 23);
    CHECK_EQ(fake_violations, 1);
}

TEST(pll_cannot_stop_while_sysclk_rm0008_7_3_1)
{
    mk();
    pll72();
    fake_write32(CFGR, fake_read32(CFGR) | 2);
    fake_write32(CR, fake_read32(CR) & ~(1u << 24));
    CHECK(fake_read32(CR) & (1u << 24), "PLLON cleared while PLL is SYSCLK");
    CHECK_EQ(fake_violations, 1);
}

TEST(clock_enables_answer_vb_clock_enabled_rm0008_7_3_7)
{
    struct rcc *r = mk();
    CHECK(!rcc_clock_enabled(r, VB_CLK_GPIOC), "GPIOC on at reset");
    fake_write32(APB2ENR, 1u << 4); /* IOPCEN */
    CHECK(rcc_clock_enabled(r, VB_CLK_GPIOC), "IOPCEN");
    fake_write32(APB1ENR, (1u << 27) | (1u << 28));
    CHECK(rcc_clock_enabled(r, VB_CLK_BKP) && rcc_clock_enabled(r, VB_CLK_PWR), "BKPEN/PWREN");
    fake_write32(AHBENR, 0x14 | (1u << 6));
    CHECK(rcc_clock_enabled(r, VB_CLK_CRC), "CRCEN");
}

TEST(reset_flags_rm0008_7_3_10)
{
    struct rcc *r = mk();
    fake_write32(CSR, 1u << 24); /* RMVF clears the flags */
    CHECK_EQ(fake_read32(CSR) & 0xFC000000u, 0);
    rcc_reset(r, RCC_RESET_SOFTWARE);
    CHECK(fake_read32(CSR) & (1u << 28), "SFTRSTF");
    rcc_reset(r, RCC_RESET_IWDG);
    CHECK(fake_read32(CSR) & (1u << 29), "IWDGRSTF");
    CHECK(fake_read32(CSR) & (1u << 28), "flags accumulate until RMVF");
    rcc_reset(r, RCC_RESET_POWER_ON);
    CHECK_EQ(fake_read32(CSR) & 0xFC000000u, 0x0C000000u);
}

TEST(lsi_ready_after_startup_rm0008_7_3_10)
{
    mk();
    fake_write32(CSR, 1);
    CHECK_EQ(fake_read32(CSR) & 2, 0);
    fake_advance_ns(RCC_LSI_READY_NS);
    CHECK(fake_read32(CSR) & 2, "LSIRDY");
}

static bool dbp_value;
static bool dbp(void *ctx)
{
    (void)ctx;
    return dbp_value;
}

TEST(bdcr_write_protected_without_dbp_rm0008_5_4_1)
{
    struct rcc *r = mk();
    rcc_set_dbp_hook(r, dbp, NULL);
    dbp_value = false;
    fake_write32(BDCR, 1); /* LSEON */
    CHECK_EQ(fake_read32(BDCR) & 1, 0);
    CHECK_EQ(fake_violations, 1);
    dbp_value = true;
    fake_write32(BDCR, 1);
    CHECK_EQ(fake_read32(BDCR) & 1, 1);
    /* BDCR is in the backup domain: a system reset keeps it. */
    rcc_reset(r, RCC_RESET_SOFTWARE);
    CHECK_EQ(fake_read32(BDCR) & 1, 1);
}

int main(void) { return run_tests(); }
