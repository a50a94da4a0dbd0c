/* test_dbgmcu.c - DBGMCU_IDCODE (RM0008 31.6.1). */
#include "../../vboard/dbgmcu.h"
#include "../testing.h"
#include "fake_vb.h"

TEST(idcode_dev_id_by_density_rm0008_31_6_1)
{
    fake_reset();
    /* RM0008 31.6.1 DEV_ID: "Low-density devices: 0x412, Medium-density
     * devices: 0x410, High-density devices: 0x414". */
    dbgmcu_new(fake_vb, VB_LOW_DENSITY);
    CHECK_EQ(fake_read32(0xE0042000) & 0xFFF, 0x412);
    fake_reset();
    dbgmcu_new(fake_vb, VB_MEDIUM_DENSITY);
    CHECK_EQ(fake_read32(0xE0042000) & 0xFFF, 0x410);
    fake_reset();
    dbgmcu_new(fake_vb, VB_HIGH_DENSITY);
    CHECK_EQ(fake_read32(0xE0042000) & 0xFFF, 0x414);
    fake_write32(0xE0042000, 0);
    CHECK_EQ(fake_violations, 1);
}

TEST(dbgmcu_cr_read_write_rm0008_31_16_3)
{
    fake_reset();
    dbgmcu_new(fake_vb, VB_MEDIUM_DENSITY);
    fake_write32(0xE0042004, 0x300); /* DBG_IWDG_STOP | DBG_WWDG_STOP */
    CHECK_EQ(fake_read32(0xE0042004), 0x300);
}

int main(void) { return run_tests(); }
