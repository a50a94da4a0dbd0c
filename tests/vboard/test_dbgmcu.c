/* test_dbgmcu.c - DBGMCU_IDCODE (RM0008 31.6.1). */
#include "../../vboard/dbgmcu.h"
#include "../testing.h"
#include "fake_vb.h"

TEST(idcode_dev_id_by_density_rm0008_31_6_1)
{
    fake_reset();
    dbgmcu_new(fake_vb, false);
    CHECK_EQ(fake_read32(0xE0042000) & 0xFFF, 0x410); /* medium density */
    fake_reset();
    dbgmcu_new(fake_vb, true);
    CHECK_EQ(fake_read32(0xE0042000) & 0xFFF, 0x414); /* high density */
    fake_write32(0xE0042000, 0);
    CHECK_EQ(fake_violations, 1);
}

TEST(dbgmcu_cr_read_write_rm0008_31_16_3)
{
    fake_reset();
    dbgmcu_new(fake_vb, false);
    fake_write32(0xE0042004, 0x300); /* DBG_IWDG_STOP | DBG_WWDG_STOP */
    CHECK_EQ(fake_read32(0xE0042004), 0x300);
}

int main(void) { return run_tests(); }
