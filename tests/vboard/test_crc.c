/* test_crc.c - CRC unit against RM0008 chapter 4. */
#include "../../vboard/crc.h"
#include "../testing.h"
#include "fake_vb.h"

#define DR 0x40023000u
#define IDR 0x40023004u
#define CR 0x40023008u

static void mk(void)
{
    fake_reset();
    crc_new(fake_vb);
}

TEST(reset_value_all_ones_rm0008_4_4_1)
{
    mk();
    CHECK_EQ(fake_read32(DR), 0xFFFFFFFF);
}

TEST(crc32_poly_04c11db7_known_value_rm0008_4_2)
{
    mk();
    /* Well-known STM32 result: CRC of the word 0x00000000 from reset is
     * 0xC704DD7B (CRC-32/MPEG-2 over the bytes 00 00 00 00). */
    fake_write32(DR, 0);
    CHECK_EQ(fake_read32(DR), 0xC704DD7B);
    fake_write32(CR, 1); /* RESET */
    fake_write32(DR, 0x12345678);
    CHECK_EQ(fake_read32(DR), 0xDF8A8A2B);
}

TEST(idr_is_8_bit_scratch_rm0008_4_4_2)
{
    mk();
    fake_write32(IDR, 0x1A5);
    CHECK_EQ(fake_read32(IDR), 0xA5);
    fake_write32(CR, 1); /* RESET does not touch IDR */
    CHECK_EQ(fake_read32(IDR), 0xA5);
}

TEST(clock_required_rm0008_7_3_6)
{
    mk();
    fake_clock_on[VB_CLK_CRC] = false;
    fake_write32(DR, 0);
    CHECK_EQ(fake_violations, 1);
}

int main(void) { return run_tests(); }
