/* The flash writer against the simulated NOR flash: region checks, exact
 * pages, every error, the held-back vectors and their commit order. */
#include <stdlib.h>

#include "dfu_defs.h"
#include "dfuboot_abi.h"
#include "flash_writer.h"
#include "memmap.h"
#include "sim.h"
#include "testing.h"

#define APP 0x08002000u

static uint8_t snapshot[SIM_FLASH_MAX];

static void take_snapshot(void)
{
    memcpy(snapshot, sim.flash, sizeof snapshot);
}

static bool unchanged(void)
{
    return memcmp(snapshot, sim.flash, sizeof snapshot) == 0;
}

static void fill(uint8_t *buf, unsigned len, unsigned seed)
{
    for (unsigned i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + seed);
}

static void fresh(uint32_t kib)
{
    sim_init(kib, APP);
    for (uint32_t i = 0; i < kib * 1024; i++)
        sim.flash[i] = (uint8_t)(i * 13 + 5); /* old content everywhere */
}

TEST(erase_refuses_bootloader_and_outside_flash)
{
    fresh(64);
    take_snapshot();
    CHECK_EQ(flash_erase(0x08000000), errTARGET);
    CHECK_EQ(flash_erase(APP - 1), errTARGET);
    CHECK_EQ(flash_erase(0x08010000), errADDRESS);
    CHECK_EQ(flash_erase(0x07FFFFFF), errADDRESS);
    CHECK_EQ(flash_erase(0x20000000), errADDRESS);
    CHECK_EQ(flash_erase(0xFFFFFFFF), errADDRESS);
    CHECK(unchanged(), "flash changed by refused erases");
    CHECK_EQ(sim.erases + sim.programs, 0);
}

TEST(erase_clears_exactly_the_addressed_page)
{
    fresh(256);
    CHECK_EQ(flash_erase(APP + 0x1000 + 123), DFU_OK); /* inside the 3rd 2 KiB page */
    CHECK_EQ(flash_commit(), DFU_OK); /* owed until the end of the session */
    CHECK_EQ(sim.last_erase, APP + 0x1000);
    for (uint32_t a = APP + 0x1000; a < APP + 0x1800; a++)
        CHECK(sim.flash[a - 0x08000000] == 0xFF, "0x%08x not erased", a);
    CHECK(sim.flash[APP + 0x0FFF - 0x08000000] != 0xFF, "page below touched");
    CHECK(sim.flash[APP + 0x1800 - 0x08000000] != 0xFF, "page above touched");
}

TEST(write_refuses_outside_the_application)
{
    uint8_t data[64];
    fill(data, sizeof data, 1);
    fresh(64);
    take_snapshot();
    CHECK_EQ(flash_write(APP - 2, data, 4), errTARGET);
    CHECK_EQ(flash_write(0x08010000 - 2, data, 4), errADDRESS);
    CHECK_EQ(flash_write(0xFFFFFFF0, data, 64), errADDRESS);
    CHECK_EQ(flash_write(0x08000000, data, 64), errTARGET);
    CHECK(unchanged(), "flash changed by refused writes");
}

TEST(write_odd_address_is_refused)
{
    uint8_t data[4] = {1, 2, 3, 4};
    fresh(64);
    flash_erase(APP + 0x400);
    take_snapshot();
    CHECK_EQ(flash_write(APP + 0x401, data, 4), errADDRESS);
    CHECK(unchanged(), "flash changed");
}

TEST(write_lands_and_odd_length_pads_with_ff)
{
    uint8_t data[5] = {0x11, 0x22, 0x33, 0x44, 0x55};
    fresh(64);
    CHECK_EQ(flash_erase(APP + 0x400), DFU_OK);
    CHECK_EQ(flash_write(APP + 0x400, data, 5), DFU_OK);
    CHECK_EQ(sim_word(APP + 0x400), 0x44332211);
    CHECK_EQ(sim_half(APP + 0x404), 0xFF55);
    CHECK_EQ(sim_half(APP + 0x406), 0xFFFF);
}

TEST(write_over_old_data_reports_errPROG)
{
    uint8_t data[4] = {1, 2, 3, 4};
    fresh(64);
    CHECK_EQ(flash_write(APP + 0x800, data, 4), errPROG);
}

TEST(write_protected_page_reports_errWRITE_and_erase_errERASE)
{
    uint8_t data[4] = {1, 2, 3, 4};
    fresh(64);
    memset(sim.flash + 0x2800, 0xFF, 0x400); /* blank: programmed, not erased */
    sim.wrp_below = 0x08010000;
    CHECK_EQ(flash_write(APP + 0x800, data, 4), errWRITE);
    flash_erase(APP + 0xC00);
    CHECK_EQ(flash_write(APP + 0xC00, data, 4), errERASE); /* the owed erase */
}

TEST(erase_that_leaves_a_byte_reports_errCHECK_ERASED)
{
    fresh(64);
    sim.erase_fail_at = APP + 0xC10;
    CHECK_EQ(flash_erase(APP + 0xC00), DFU_OK);
    CHECK_EQ(flash_commit(), errCHECK_ERASED);
}

TEST(readback_mismatch_reports_errVERIFY)
{
    uint8_t data[4] = {0x00, 0x00, 0x00, 0x00};
    fresh(64);
    flash_erase(APP + 0x800);
    sim.stuck_bits = 0x0100;
    CHECK_EQ(flash_write(APP + 0x800, data, 4), errVERIFY);
}

TEST(erased_halfwords_are_not_programmed_but_checked)
{
    uint8_t ff[8];
    memset(ff, 0xFF, sizeof ff);
    fresh(64);
    uint32_t no_image = 0; /* nothing to invalidate first */
    sim_put(APP, &no_image, 4);
    flash_erase(APP + 0x800);
    unsigned before = sim.programs;
    CHECK_EQ(flash_write(APP + 0x800, ff, 8), DFU_OK);
    CHECK_EQ(sim.programs, before);
    CHECK_EQ(flash_write(APP + 0x1000, ff, 8), errPROG); /* not erased there: PGERR */
}

/* A half-word that already holds its value is not programmed (issue 10):
 * data the flash holds needs no programming, erased or not. */
TEST(halfwords_that_hold_their_value_are_not_programmed)
{
    uint8_t data[16];
    fresh(64);
    memcpy(data, sim.flash + 0x2C00, sizeof data);
    data[10] ^= 0xFF; /* old data there: refused as before */
    unsigned before = sim.programs + sim.erases;
    CHECK_EQ(flash_write(APP + 0xC00, data, 10), DFU_OK);
    CHECK_EQ(sim.programs + sim.erases - before, 0); /* nothing changes: nothing invalidated */
    CHECK_EQ(flash_write(APP + 0xC00, data, 16), errPROG);
}

TEST(vectors_are_held_until_commit)
{
    uint8_t data[16];
    fill(data, sizeof data, 3);
    fresh(64);
    CHECK_EQ(flash_erase(APP), DFU_OK);
    CHECK_EQ(flash_write(APP, data, 16), DFU_OK);
    CHECK_EQ(sim_word(APP), 0xFFFFFFFF);
    CHECK_EQ(sim_word(APP + 4), 0xFFFFFFFF);
    CHECK(memcmp(sim.flash + (APP + 8 - 0x08000000), data + 8, 8) == 0, "body not written");
    CHECK_EQ(flash_commit(), DFU_OK);
    CHECK(memcmp(sim.flash + (APP - 0x08000000), data, 16) == 0, "vectors not committed");
}

TEST(commit_programs_sp_high_half_last)
{
    uint8_t data[8] = {0x00, 0x50, 0x00, 0x20, 0x01, 0x21, 0x00, 0x08};
    for (long cut = 0; cut < 4; cut++) {
        fresh(64);
        flash_erase(APP);
        flash_write(APP, data, 8);
        sim.ops_left = cut;
        flash_commit();
        uint32_t sp = sim_word(APP);
        CHECK(sp >> 16 == 0xFFFF, "cut after %ld programs: SP 0x%08x already plausible", cut, sp);
    }
    fresh(64);
    flash_erase(APP);
    flash_write(APP, data, 8);
    CHECK_EQ(flash_commit(), DFU_OK);
    CHECK_EQ(sim_word(APP), 0x20005000);
    CHECK_EQ(sim_word(APP + 4), 0x08002101);
}

TEST(drop_forgets_held_vectors)
{
    uint8_t data[8] = {0x00, 0x50, 0x00, 0x20, 0x01, 0x21, 0x00, 0x08};
    fresh(64);
    flash_erase(APP);
    flash_write(APP, data, 8);
    flash_drop();
    CHECK_EQ(flash_commit(), DFU_OK);
    CHECK_EQ(sim_word(APP), 0xFFFFFFFF);
}

TEST(session_without_first_page_invalidates_old_image)
{
    uint8_t data[8];
    fill(data, sizeof data, 9);
    fresh(64);
    uint32_t old_sp = 0x20004000;
    sim_put(APP, &old_sp, 4);
    CHECK_EQ(flash_erase(APP + 0x1400), DFU_OK);
    CHECK_EQ(sim_word(APP), old_sp); /* an owed erase changes nothing yet */
    CHECK_EQ(flash_write(APP + 0x1400, data, sizeof data), DFU_OK);
    CHECK_EQ(sim_word(APP), 0);
    /* once per session */
    unsigned programs = sim.programs;
    CHECK_EQ(flash_erase(APP + 0x1800), DFU_OK);
    CHECK_EQ(flash_write(APP + 0x1800, data, sizeof data), DFU_OK);
    CHECK_EQ(sim.programs, programs + sizeof data / 2);
}

/* A data page beyond a stamped image's length is not the image's: changing
 * it leaves the image startable, while the first change inside the stamped
 * range still invalidates it. */
TEST(data_page_beyond_stamped_image_spares_it)
{
    uint32_t vec[11] = {0x20004000, APP + 0x101};
    vec[DFUBOOT_STAMP_WORD_MAGIC] = DFUBOOT_STAMP_MAGIC;
    vec[DFUBOOT_STAMP_WORD_LENGTH] = 0x1000;
    fresh(64);
    sim_put(APP, vec, sizeof vec);
    unsigned programs = sim.programs;
    CHECK_EQ(flash_erase(APP + 0x1000), DFU_OK);
    uint8_t data[16];
    fill(data, sizeof data, 3);
    CHECK_EQ(flash_write(APP + 0x1000, data, sizeof data), DFU_OK);
    CHECK_EQ(sim_word(APP), 0x20004000);
    CHECK_EQ(sim.programs, programs + sizeof data / 2);
    CHECK_EQ(flash_erase(APP + 0xC00), DFU_OK);
    CHECK_EQ(flash_write(APP + 0xC00, data, sizeof data), DFU_OK);
    CHECK_EQ(sim_word(APP), 0);
}

TEST(mass_erase_spares_the_bootloader)
{
    fresh(128);
    take_snapshot();
    CHECK_EQ(flash_mass_erase(APP, 1000), DFU_OK);
    CHECK(memcmp(sim.flash, snapshot, APP - 0x08000000) == 0, "bootloader changed");
    for (uint32_t a = APP; a < 0x08020000; a++)
        if (sim.flash[a - 0x08000000] != 0xFF) {
            CHECK(0, "0x%08x not erased", a);
            break;
        }
}

/* STM32F103 datasheet DS5319, "Flash memory characteristics": tERASE
 * "Page (1 KB) erase time" 20 ms typ, 40 ms max; tPROG "16-bit programming
 * time" 40/52.5/70 us min/typ/max. A mass erase slice announces the
 * maxima (an early poll would wait for all of it); a block the typical
 * time of the work it needs, 0 for none (issue 10). */
TEST(poll_timeouts_follow_the_datasheet)
{
    static uint8_t page[1024], same[1024];
    fill(page, sizeof page, 5);
    CHECK_EQ(flash_erase_ms(1), 40);
    CHECK_EQ(flash_erase_ms(8), 320);
    fresh(64);
    memcpy(same, sim.flash + 0x2800, sizeof same);
    flash_erase(APP + 0x800);
    /* 20 ms + 512 x 52.5 us = 46.88 ms */
    CHECK_EQ(flash_write_ms(APP + 0x800, page, sizeof page), 47);
    /* the flash already holds it: no erase, no program */
    CHECK_EQ(flash_write_ms(APP + 0x800, same, sizeof same), 0);
    memset(sim.flash + 0x2800, 0xFF, 0x400);
    /* blank already: 512 x 52.5 us = 26.88 ms, no erase */
    CHECK_EQ(flash_write_ms(APP + 0x800, page, sizeof page), 27);
    CHECK_EQ(flash_write_ms(APP + 0x800, page, 64), 2); /* 32 x 52.5 us = 1.68 ms */
}

TEST(mass_erase_slice_stops_after_count_pages)
{
    fresh(128);
    memset(sim.flash + 0x2000, 0x11, 0x1E000);
    unsigned before = sim.erases;
    CHECK_EQ(flash_mass_erase(APP + 0x400, 3), DFU_OK);
    CHECK_EQ(sim.erases - before, 3);
    CHECK_EQ(sim.flash[0x23FF], 0x11);
    CHECK_EQ(sim.flash[0x2400], 0xFF);
    CHECK_EQ(sim.flash[0x2FFF], 0xFF);
    CHECK_EQ(sim.flash[0x3000], 0x11);
    before = sim.erases;
    CHECK_EQ(flash_mass_erase(0x0801FC00, 8), DFU_OK); /* stops at the end */
    CHECK_EQ(sim.erases - before, 1);
}

int main(void)
{
    return run_tests();
}
