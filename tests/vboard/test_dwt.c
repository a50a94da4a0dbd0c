/* test_dwt.c - DWT cycle counter and DEMCR (ARMv7-M ARM C1.8, C1.6.5). */
#include "../../vboard/dwt.h"
#include "../testing.h"
#include "fake_vb.h"

#define DWT_CTRL 0xE0001000u
#define DWT_CYCCNT 0xE0001004u
#define DEMCR 0xE000EDFCu

static void mk(void)
{
    fake_reset();
    fake_sysclk = 72000000;
    dwt_new(fake_vb);
}

TEST(cyccnt_needs_trcena_and_cyccntena_armv7m_c1_8_8)
{
    mk();
    fake_write32(DWT_CTRL, 1);
    fake_advance_ns(1000);
    CHECK_EQ(fake_read32(DWT_CYCCNT), 0); /* DEMCR.TRCENA still 0 */
    fake_write32(DEMCR, 1u << 24);
    fake_advance_ns(1000); /* 1 us at 72 MHz */
    CHECK_EQ(fake_read32(DWT_CYCCNT), 72);
    fake_write32(DWT_CTRL, 0);
    fake_advance_ns(1000);
    CHECK_EQ(fake_read32(DWT_CYCCNT), 72);
}

TEST(cyccnt_writable_armv7m_c1_8_10)
{
    mk();
    fake_write32(DEMCR, 1u << 24);
    fake_write32(DWT_CYCCNT, 1000);
    fake_write32(DWT_CTRL, 1);
    fake_advance_ns(1000);
    CHECK_EQ(fake_read32(DWT_CYCCNT), 1072);
}

int main(void) { return run_tests(); }
