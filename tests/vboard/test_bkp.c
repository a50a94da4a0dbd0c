/* test_bkp.c - backup registers and PWR against RM0008 chapters 5 and 6. */
#include "../../vboard/bkp.h"
#include "../testing.h"
#include "fake_vb.h"

#define PWR_CR 0x40007000u
#define PWR_CSR 0x40007004u
#define BKP 0x40006C00u

static struct pwr *p;
static struct bkp *mk(bool hd)
{
    fake_reset();
    p = pwr_new(fake_vb);
    return bkp_new(fake_vb, p, hd);
}

TEST(write_needs_dbp_rm0008_5_4_1)
{
    struct bkp *b = mk(false);
    fake_write32(BKP + 0x04, 0x1234);
    CHECK_EQ(bkp_dr(b, 1), 0);
    CHECK_EQ(fake_violations, 1);
    fake_write32(PWR_CR, 1u << 8);
    fake_write32(BKP + 0x04, 0x1234);
    CHECK_EQ(fake_read32(BKP + 0x04), 0x1234);
}

TEST(data_registers_are_16_bits_rm0008_6_4_1)
{
    mk(false);
    fake_write32(PWR_CR, 1u << 8);
    fake_write32(BKP + 0x28, 0xABCD1234); /* DR10 */
    CHECK_EQ(fake_read32(BKP + 0x28), 0x1234);
}

TEST(system_reset_keeps_power_loss_clears_rm0008_6_1)
{
    struct bkp *b = mk(false);
    fake_write32(PWR_CR, 1u << 8);
    fake_write32(BKP + 0x04, 0x5A5A);
    bkp_system_reset(b);
    pwr_reset(p);
    CHECK_EQ(bkp_dr(b, 1), 0x5A5A);
    /* PWR is reset by a system reset: DBP back to 0. */
    CHECK_EQ(fake_read32(PWR_CR) & (1u << 8), 0);
    bkp_backup_domain_reset(b); /* BDRST / power loss without VBAT */
    CHECK_EQ(bkp_dr(b, 1), 0);
}

TEST(dr11_to_dr42_only_on_high_density_rm0008_6_4_1)
{
    struct bkp *b = mk(true);
    fake_write32(PWR_CR, 1u << 8);
    fake_write32(BKP + 0x40, 0x1111); /* DR11 */
    fake_write32(BKP + 0xBC, 0x4242); /* DR42 */
    CHECK_EQ(bkp_dr(b, 11), 0x1111);
    CHECK_EQ(bkp_dr(b, 42), 0x4242);
    mk(false);
    fake_write32(PWR_CR, 1u << 8);
    fake_write32(BKP + 0x40, 0x1111);
    CHECK_EQ(fake_violations, 1); /* reserved on medium density */
}

TEST(clocks_required_rm0008_6_1)
{
    mk(false);
    fake_clock_on[VB_CLK_BKP] = false;
    fake_read32(BKP + 0x04);
    CHECK_EQ(fake_violations, 1);
}

/* RM0008 5.4.1 DBP: "Disable backup domain write protection ... This bit
 * must be set to enable write access to these registers": reads need no
 * DBP. apache/mynewt-core PR 3244 (on an F1): "Writing to backup registers
 * requires enabling BKP_CLK. For read it does not seem to be needed." */
TEST(dr_reads_without_dbp_or_clocks_return_the_data_mynewt_3244)
{
    struct bkp *b = mk(false);
    fake_write32(PWR_CR, 1u << 8);
    fake_write32(BKP + 0x04, 0xB007);
    fake_write32(PWR_CR, 0);
    CHECK_EQ(fake_read32(BKP + 0x04), 0xB007); /* DBP = 0: read allowed */
    CHECK_EQ(fake_violations, 0);
    fake_clock_on[VB_CLK_BKP] = false;
    fake_clock_on[VB_CLK_PWR] = false;
    CHECK_EQ(fake_read32(BKP + 0x04), 0xB007); /* as on silicon, but flagged (6.1) */
    CHECK_EQ(fake_violations, 1);
    fake_write32(BKP + 0x04, 0); /* writes without clocks are lost */
    CHECK_EQ(bkp_dr(b, 1), 0xB007);
}

TEST(pwr_cwuf_csbf_read_zero_rm0008_5_4_1)
{
    mk(false);
    fake_write32(PWR_CR, (1u << 2) | (1u << 3) | (1u << 8));
    CHECK_EQ(fake_read32(PWR_CR), 1u << 8);
    CHECK_EQ(fake_read32(PWR_CSR), 0);
}

int main(void) { return run_tests(); }
