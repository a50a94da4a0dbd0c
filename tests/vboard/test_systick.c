/* test_systick.c - SysTick against PM0056 4.5. */
#include "../../vboard/systick.h"
#include "../testing.h"
#include "fake_vb.h"

#define CTRL 0xE000E010u
#define LOAD 0xE000E014u
#define VAL 0xE000E018u
#define CALIB 0xE000E01Cu

static struct nvic *n;
static void mk(void)
{
    fake_reset();
    fake_sysclk = 8000000; /* 125 ns per tick with CLKSOURCE = 1 */
    n = nvic_new(fake_vb);
    systick_new(fake_vb, n);
}

TEST(counts_down_and_wraps_with_countflag_pm0056_4_5_1)
{
    mk();
    fake_write32(LOAD, 999);
    fake_write32(VAL, 0);
    fake_write32(CTRL, 5); /* ENABLE | CLKSOURCE, no TICKINT */
    fake_advance_ns(125 * 11);
    /* First tick reloads 999, then 10 more ticks. */
    CHECK_EQ(fake_read32(VAL), 989);
    CHECK_EQ(fake_read32(CTRL) & (1u << 16), 0);
    fake_advance_ns(125 * 1000);
    CHECK(fake_read32(CTRL) & (1u << 16), "COUNTFLAG after the count reached 0");
    /* "COUNTFLAG returns 1 if timer counted to 0 since last time this was read." */
    CHECK_EQ(fake_read32(CTRL) & (1u << 16), 0);
    CHECK(!nvic_is_pending(n, EXC_SYSTICK), "pended without TICKINT");
}

TEST(tickint_pends_exception_15_each_period_pm0056_4_5_1)
{
    mk();
    fake_write32(LOAD, 7999); /* 1 ms */
    fake_write32(VAL, 0);
    fake_write32(CTRL, 7);
    fake_advance_ns(999000);
    CHECK(!nvic_is_pending(n, EXC_SYSTICK), "pended early");
    fake_advance_ns(2000);
    CHECK(nvic_is_pending(n, EXC_SYSTICK), "not pended after 1 ms");
    nvic_activate(n, EXC_SYSTICK);
    nvic_deactivate(n, EXC_SYSTICK);
    fake_advance_ns(1000000);
    CHECK(nvic_is_pending(n, EXC_SYSTICK), "not pended after 2 ms");
}

TEST(val_write_clears_counter_and_countflag_pm0056_4_5_3)
{
    mk();
    fake_write32(LOAD, 99);
    fake_write32(CTRL, 5);
    fake_advance_ns(125 * 150);
    fake_write32(VAL, 12345); /* any value clears to 0 */
    CHECK_EQ(fake_read32(VAL), 0);
    CHECK_EQ(fake_read32(CTRL) & (1u << 16), 0);
}

TEST(external_clock_is_hclk_over_8)
{
    mk();
    fake_write32(LOAD, 999);
    fake_write32(VAL, 0);
    fake_write32(CTRL, 1); /* CLKSOURCE = 0: HCLK/8 = 1 MHz */
    fake_advance_ns(1000 * 101);
    CHECK_EQ(fake_read32(VAL), 899); /* tick 1 reloads 999, 100 more ticks */
}

TEST(load_is_24_bits_and_calib_read_only_pm0056_4_5_2)
{
    mk();
    fake_write32(LOAD, 0xFFFFFFFF);
    CHECK_EQ(fake_read32(LOAD), 0xFFFFFF);
    CHECK_EQ(fake_read32(CALIB), SYSTICK_CALIB);
    fake_write32(CALIB, 0);
    CHECK_EQ(fake_violations, 1);
}

TEST(disabled_counter_holds_pm0056_4_5_1)
{
    mk();
    fake_write32(LOAD, 999);
    fake_write32(CTRL, 5);
    fake_advance_ns(125 * 101);
    fake_write32(CTRL, 4);
    uint32_t v = fake_read32(VAL);
    fake_advance_ns(1000000);
    CHECK_EQ(fake_read32(VAL), v);
}

int main(void) { return run_tests(); }
