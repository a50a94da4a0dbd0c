/* test_iwdg.c - independent watchdog against RM0008 chapter 19. */
#include "../../vboard/iwdg.h"
#include "../testing.h"
#include "fake_vb.h"

#define KR 0x40003000u
#define PR 0x40003004u
#define RLR 0x40003008u
#define SR 0x4000300Cu

static struct iwdg *mk(bool hw)
{
    fake_reset();
    return iwdg_new(fake_vb, hw);
}

TEST(reset_values_rm0008_19_4)
{
    mk(false);
    CHECK_EQ(fake_read32(PR), 0);
    CHECK_EQ(fake_read32(RLR), 0xFFF);
    CHECK_EQ(fake_read32(SR), 0);
}

TEST(start_and_timeout_table_96_rm0008_19_3)
{
    mk(false);
    fake_write32(KR, 0xCCCC);
    /* PR = 0 (/4), RLR = 0xFFF: 409.6 ms. */
    fake_advance_ns(409500000);
    CHECK_EQ(fake_system_resets, 0);
    fake_advance_ns(200000);
    CHECK_EQ(fake_system_resets, 1);
}

/* vboard --lsi-hz: DS5319 "LSI oscillator characteristics" gives fLSI
 * 30 / 40 / 60 kHz (min / typ / max), and RM0008 19.3 notes the IWDG
 * timeouts follow the LSI. At 30 kHz, PR = 0 (/4), RLR = 0xFFF:
 * 4096 * 4 / 30000 Hz = 546.13 ms instead of 409.6 ms. */
TEST(timeout_follows_a_30khz_lsi_ds5319)
{
    struct iwdg *w = mk(false);
    iwdg_set_lsi_hz(w, 30000);
    fake_write32(KR, 0xCCCC);
    fake_advance_ns(546000000);
    CHECK_EQ(fake_system_resets, 0);
    fake_advance_ns(200000);
    CHECK_EQ(fake_system_resets, 1);
}

TEST(reload_restarts_countdown_rm0008_19_3_2)
{
    mk(false);
    fake_write32(KR, 0x5555);
    fake_write32(RLR, 99); /* 100 ticks at 10 kHz = 10 ms */
    fake_write32(KR, 0xCCCC);
    for (int i = 0; i < 10; i++) {
        fake_advance_ns(9000000);
        fake_write32(KR, 0xAAAA);
    }
    CHECK_EQ(fake_system_resets, 0);
    fake_advance_ns(10100000);
    CHECK_EQ(fake_system_resets, 1);
}

TEST(pr_rlr_protected_without_5555_rm0008_19_3_2)
{
    mk(false);
    fake_write32(RLR, 10);
    CHECK_EQ(fake_read32(RLR), 0xFFF);
    CHECK_EQ(fake_violations, 1);
    fake_write32(KR, 0x5555);
    fake_write32(PR, 3);
    CHECK_EQ(fake_read32(PR), 3);
    CHECK_EQ(fake_read32(SR) & 1, 1); /* PVU while the update is in progress */
    fake_advance_ns(200000);
    CHECK_EQ(fake_read32(SR) & 1, 0);
    fake_write32(KR, 0xAAAA); /* any other key re-protects */
    fake_write32(PR, 1);
    CHECK_EQ(fake_read32(PR), 3);
}

TEST(hardware_watchdog_runs_from_reset_rm0008_19_3_2)
{
    struct iwdg *w = mk(true);
    CHECK(iwdg_running(w), "hardware watchdog not running");
    fake_advance_ns(410000000);
    CHECK_EQ(fake_system_resets, 1);
    iwdg_reset(w, false);
    fake_advance_ns(1000000000);
    CHECK_EQ(fake_system_resets, 1);
}

int main(void) { return run_tests(); }

/* RM0008 19.3.2: "the IWDG_RLR value is reloaded in the counter and the
 * watchdog reset is prevented" each time 0xAAAA is written. Reloading far
 * more often than the timeout, for many timeouts, must never reset — the
 * case of a bootloader that kicks the watchdog from its main loop. */
TEST(frequent_reloads_never_expire_rm0008_19_3_2)
{
    mk(true); /* hardware watchdog option: running from reset, 409.6 ms */
    for (int i = 0; i < 5000; i++) {
        fake_advance_ns(1000000); /* 1 ms */
        fake_write32(KR, 0xAAAA);
    }
    CHECK_EQ(fake_system_resets, 0);
    fake_advance_ns(409500000);
    CHECK_EQ(fake_system_resets, 0);
    fake_advance_ns(200000);
    CHECK_EQ(fake_system_resets, 1);
}
