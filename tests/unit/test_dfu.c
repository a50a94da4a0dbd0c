/* The DFU / DfuSe state machine as stock dfu-util 0.11 drives it, and
 * every error it reports. */
#include <stdlib.h>

#include "boot.h"
#include "dfu.h"
#include "dfu_defs.h"
#include "memmap.h"
#include "sim.h"
#include "testing.h"

#define APP 0x08002000u

static uint8_t st[6];
static uint8_t image[5000];

static void fresh(void)
{
    sim_init(64, APP);
    for (unsigned i = 0; i < sizeof image; i++)
        image[i] = (uint8_t)(i * 31 + 7);
    uint32_t sp = 0x20005000, pc = APP + 0x101;
    memcpy(image, &sp, 4);
    memcpy(image + 4, &pc, 4);
}

static void status(void)
{
    memset(st, 0xEE, sizeof st);
    CHECK_EQ(dfu_getstatus(st), 6);
}

static void expect_error(uint8_t err)
{
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], err);
    CHECK_EQ(dfu_clrstatus(), 0);
    status();
    CHECK_EQ(st[4], dfuIDLE);
    CHECK_EQ(st[0], DFU_OK);
}

TEST(starts_idle_with_zero_poll)
{
    fresh();
    status();
    CHECK_EQ(st[0], DFU_OK);
    CHECK_EQ(st[4], dfuIDLE);
    CHECK_EQ(poll_ms(st), 0);
    uint8_t s = 0xEE;
    CHECK_EQ(sim_ctrl_in(0xA1, DFU_GETSTATE, 0, 0, 1, &s), 1);
    CHECK_EQ(s, dfuIDLE);
}

/* dfu-util insists on dfuDNBUSY first; a page erase is only noted (the
 * page's data settles it, flash_writer.h), so it announces 0 ms. */
TEST(command_answers_dnbusy_then_runs_after_the_status)
{
    fresh();
    memset(sim.flash + 0x2400, 0x12, 0x400);
    CHECK_EQ(dfuse_cmd(0x41, APP + 0x400, true), 5);
    CHECK_EQ(dfu_state(), dfuDNLOAD_SYNC);
    status();
    CHECK_EQ(st[4], dfuDNBUSY);
    CHECK_EQ(poll_ms(st), 0);
    status();
    CHECK_EQ(st[4], dfuDNLOAD_IDLE);
    CHECK_EQ(st[0], DFU_OK);
    CHECK_EQ(poll_ms(st), 0);
    CHECK_EQ(sim.erases, 0); /* owed */
    CHECK_EQ(dfuse_run(0x21, APP + 0x400, true), 0);
    CHECK_EQ(dfu_dnload(2, image, 1024), 1024);
    CHECK_EQ(sim.erases + sim.programs, 0);
    status();
    CHECK_EQ(st[4], dfuDNBUSY);
    CHECK_EQ(poll_ms(st), 47); /* tERASE 20 ms + 512 x tPROG 52.5 us, typical */
    CHECK_EQ(sim.erases, 1); /* done once the status stage completed */
    CHECK_EQ(sim.programs, 512);
}

TEST(set_address_and_write_poll_timeouts)
{
    fresh();
    CHECK_EQ(dfuse_run(0x41, APP + 0x400, true), 0);
    CHECK_EQ(dfuse_cmd(0x21, APP + 0x400, true), 5);
    status();
    CHECK_EQ(st[4], dfuDNBUSY);
    CHECK_EQ(poll_ms(st), 0);
    status();
    CHECK_EQ(dfu_dnload(2, image, 1024), 1024);
    status();
    CHECK_EQ(st[4], dfuDNBUSY);
    CHECK_EQ(poll_ms(st), 27); /* blank page: 512 half-words x tPROG typ 52.5 us */
    status();
    CHECK_EQ(st[4], dfuDNLOAD_IDLE);
    CHECK(memcmp(sim.flash + 0x2400, image, 1024) == 0, "block not written");
}

/* AN3156: "((wBlockNum - 2) * wTransferSize) + Address_Pointer, where
 * wTransferSize is the length of the requested data buffer". */
TEST(raw_dnload_block_3_of_64_bytes_lands_at_pointer_plus_64)
{
    fresh();
    CHECK_EQ(dfuse_run(0x41, APP + 0x1000, true), 0);
    CHECK_EQ(dfuse_run(0x21, APP + 0x1000, true), 0);
    CHECK_EQ(dfu_block_run(3, image, 64), 0);
    CHECK(memcmp(sim.flash + 0x3040, image, 64) == 0, "block 3 not at pointer + 64");
    CHECK_EQ(sim_word(APP + 0x1000), 0xFFFFFFFF); /* nothing at pointer + 0 */
}

/* One pointer, blocks 2, 3, 4... of wLength t, the last one shorter. */
TEST(dnload_block_sequence_follows_the_hosts_transfer_size)
{
    static const uint16_t sizes[] = {64, 256, 1000, 1024};
    for (unsigned k = 0; k < 4; k++) {
        uint16_t t = sizes[k];
        fresh();
        for (uint32_t p = APP + 0x1000; p < APP + 0x1000 + 3000; p += 1024)
            CHECK_EQ(dfuse_run(0x41, p, true), 0);
        CHECK_EQ(dfuse_run(0x21, APP + 0x1000, true), 0);
        uint16_t block = 2;
        for (uint32_t off = 0; off < 3000; off += t) {
            uint16_t n = (uint16_t)(3000 - off < t ? 3000 - off : t);
            CHECK_EQ(dfu_block_run(block++, image + off, n), 0);
        }
        CHECK(memcmp(sim.flash + 0x3000, image, 3000) == 0, "-t %u: flash differs", t);
    }
}

/* dfu-util's upload: SET_ADDRESS, ABORT, UPLOAD 2, 3, ... with wLength
 * min(-t, bytes left); a short block ends it. */
TEST(upload_follows_the_hosts_transfer_size)
{
    static const uint16_t sizes[] = {64, 256, 1000, 1024};
    static uint8_t got[5000];
    for (unsigned k = 0; k < 4; k++) {
        uint16_t t = sizes[k];
        fresh();
        for (unsigned i = 0; i < 64 * 1024; i++)
            sim.flash[i] = (uint8_t)(i * 7 ^ i >> 9);
        CHECK_EQ(dfuse_run(0x21, APP, true), 0);
        CHECK_EQ(dfu_abort(), 0);
        uint32_t total = 0;
        uint16_t block = 2;
        while (total < 5000) {
            uint16_t n = (uint16_t)(5000 - total < t ? 5000 - total : t);
            int r = dfu_upload(block++, got + total, n);
            CHECK_EQ(r, n);
            if (r != n)
                break;
            total += n;
        }
        CHECK(memcmp(got, sim.flash + 0x2000, 5000) == 0, "-t %u: upload differs", t);
    }
}

TEST(upload_at_the_end_of_flash_is_a_zero_length_frame)
{
    uint8_t got[64];
    fresh();
    CHECK_EQ(dfuse_run(0x21, 0x08010000, true), 0); /* 64 KiB part: the end */
    CHECK_EQ(dfu_abort(), 0);
    CHECK_EQ(dfu_upload(2, got, 64), 0);
    CHECK_EQ(dfu_state(), dfuIDLE);
    status();
    CHECK_EQ(st[0], DFU_OK);
    CHECK_EQ(st[4], dfuIDLE);
}

TEST(full_download_holds_vectors_until_abort)
{
    fresh();
    CHECK_EQ(dfu_util_download(APP, image, sizeof image), 0);
    CHECK(memcmp(sim.flash + 0x2000, image, sizeof image) == 0, "image not in flash");
}

TEST(vectors_stay_erased_while_the_session_is_open)
{
    fresh();
    for (uint32_t p = APP; p < APP + 2048; p += 1024)
        CHECK_EQ(dfuse_run(0x41, p, true), 0);
    CHECK_EQ(dfuse_run(0x21, APP, true), 0);
    CHECK_EQ(dfu_block_run(2, image, 1024), 0);
    CHECK_EQ(sim_word(APP), 0xFFFFFFFF);
    CHECK_EQ(sim_word(APP + 4), 0xFFFFFFFF);
    CHECK_EQ(dfu_abort(), 0);
    CHECK(memcmp(sim.flash + 0x2000, image, 8) == 0, "vectors not committed by ABORT");
}

TEST(leave_answers_manifest_then_requests_the_reset)
{
    fresh();
    CHECK_EQ(dfu_util_download(APP, image, 2048), 0);
    CHECK(!dfu_leave_requested(), "leaving early");
    CHECK_EQ(dfuse_run(0x21, APP, true), 0);
    CHECK_EQ(dfu_dnload(2, 0, 0), 0);
    CHECK(!dfu_leave_requested(), "left before GETSTATUS");
    status();
    CHECK_EQ(st[4], dfuMANIFEST);
    CHECK_EQ(st[0], DFU_OK);
    CHECK(dfu_leave_requested(), "no reset after manifestation");
    CHECK_EQ(dfu_state(), dfuMANIFEST_WAIT_RESET);
    CHECK_EQ(dfu_abort(), SIM_STALL);
}

TEST(leave_commits_an_unaborted_session)
{
    fresh();
    CHECK_EQ(dfuse_run(0x41, APP, true), 0);
    CHECK_EQ(dfuse_run(0x21, APP, true), 0);
    CHECK_EQ(dfu_block_run(2, image, 1024), 0);
    CHECK_EQ(dfu_util_leave(APP), 0);
    CHECK(memcmp(sim.flash + 0x2000, image, 8) == 0, "vectors not committed at leave");
}

TEST(erase_of_bootloader_is_errTARGET)
{
    fresh();
    CHECK_EQ(dfuse_cmd(0x41, 0x08000000, true), 5);
    expect_error(errTARGET);
    CHECK_EQ(sim.erases, 0);
}

TEST(erase_outside_flash_is_errADDRESS)
{
    fresh();
    CHECK_EQ(dfuse_cmd(0x41, 0x08010000, true), 5);
    expect_error(errADDRESS);
}

TEST(write_outside_region_is_refused_before_busy)
{
    fresh();
    CHECK_EQ(dfuse_run(0x21, 0x08001C00, true), 0);
    CHECK_EQ(dfu_dnload(2, image, 1024), 1024);
    expect_error(errTARGET);
    CHECK_EQ(dfuse_run(0x21, 0x0800FC00, true), 0);
    CHECK_EQ(dfu_dnload(3, image, 1024), 1024);
    expect_error(errADDRESS);
    CHECK_EQ(sim.programs, 0);
}

TEST(unknown_command_and_bad_lengths_are_errUNKNOWN)
{
    static const uint8_t cmds[][6] = {{0x55}, {0x21, 0, 0}, {0x41, 0, 0x20, 0, 8, 0}, {0x92, 0}};
    static const uint16_t lens[] = {1, 3, 6, 2};
    for (int i = 0; i < 4; i++) {
        fresh();
        CHECK_EQ(dfu_dnload(0, cmds[i], lens[i]), lens[i]);
        expect_error(errUNKNOWN);
    }
}

TEST(read_unprotect_is_refused_by_default)
{
    fresh();
    CHECK_EQ(dfuse_cmd(0x92, 0, false), 1);
    expect_error(errTARGET);
    CHECK_EQ(sim.unprotects, 0);
}

TEST(program_errors_reach_bstatus)
{
    fresh();
    memset(sim.flash + 0x2800, 0x12, 0x800);
    CHECK_EQ(dfuse_run(0x21, APP + 0x800, true), 0); /* not erased: PGERR */
    CHECK_EQ(dfu_block_run(2, image + 16, 64), errPROG);
    CHECK_EQ(dfu_clrstatus(), 0);
    CHECK_EQ(dfuse_run(0x41, APP + 0x800, true), 0);
    sim.stuck_bits = 0x8000;
    CHECK_EQ(dfuse_run(0x21, APP + 0x800, true), 0);
    CHECK_EQ(dfu_block_run(2, image + 16, 64), errVERIFY);
    CHECK_EQ(dfu_clrstatus(), 0);
    sim.wrp_below = 0x08010000;
    CHECK_EQ(dfuse_run(0x21, APP + 0xC00, true), 0);
    CHECK_EQ(dfu_block_run(2, image + 16, 64), errWRITE);
    CHECK_EQ(dfu_clrstatus(), 0);
    memset(sim.flash + 0x2C00, 0x12, 0x800);
    CHECK_EQ(dfuse_run(0x41, APP + 0xC00, true), 0); /* owed: settled by the data */
    CHECK_EQ(dfuse_run(0x21, APP + 0xC00, true), 0);
    CHECK_EQ(dfu_block_run(2, image + 16, 64), errERASE);
    CHECK_EQ(dfu_clrstatus(), 0);
    sim.wrp_below = 0;
    sim.erase_fail_at = APP + 0x1000;
    CHECK_EQ(dfuse_run(0x41, APP + 0x1000, true), 0);
    CHECK_EQ(dfuse_run(0x21, APP + 0x1000, true), 0);
    CHECK_EQ(dfu_block_run(2, image + 16, 64), errCHECK_ERASED);
}

/* Issue 10 item 2: the first flash of a new board erases nothing, and the
 * host is told so (bwPollTimeout 0, not the 20 ms of an erase). */
TEST(erase_of_a_blank_page_is_skipped_and_announced_as_0)
{
    fresh();
    CHECK_EQ(dfuse_cmd(0x41, APP + 0x400, true), 5);
    status();
    CHECK_EQ(st[4], dfuDNBUSY);
    CHECK_EQ(poll_ms(st), 0);
    status();
    CHECK_EQ(st[4], dfuDNLOAD_IDLE);
    CHECK_EQ(st[0], DFU_OK);
    CHECK_EQ(sim.erases, 0);
    CHECK_EQ(sim.programs, 0); /* nor invalidates anything */
}

TEST(mass_erase_erases_the_application_only)
{
    fresh();
    memset(sim.flash, 0x5A, 64 * 1024);
    CHECK_EQ(dfuse_cmd(0x41, 0, false), 1);
    int answers = 0;
    do {
        status();
        answers++;
    } while (st[4] == dfuDNBUSY && answers < 100);
    CHECK_EQ(st[4], dfuDNLOAD_IDLE);
    CHECK_EQ(answers, 56 / 8 + 1); /* 56 pages in slices of 8, then idle */
    CHECK_EQ(sim.flash[0x1FFF], 0x5A);
    CHECK_EQ(sim.flash[0x2000], 0xFF);
    CHECK_EQ(sim.flash[0xFFFF], 0xFF);
}

/* Issue 8 item 6: a mass erase of a 512 KiB part (252 pages of 2 KiB) may
 * take 252 x 40 ms = 10 s (datasheet tERASE max), twice dfu-util's 5 s
 * control timeout. No request may wait on it: the erase runs in slices
 * between GETSTATUS requests, each answered dfuDNBUSY with the slice's
 * datasheet-maximum time, as dfu-util's special-command loop expects
 * (first answer dfuDNBUSY, then sleep bwPollTimeout, repeat). */
TEST(mass_erase_of_512k_runs_in_short_slices)
{
    sim_init(512, APP);
    memset(sim.flash + 0x2000, 0x5A, 512 * 1024 - 0x2000);
    CHECK_EQ(dfuse_cmd(0x41, 0, false), 1);
    unsigned answers = 0, announced = 0, most_pages = 0;
    do {
        unsigned before = sim.erases;
        status();
        unsigned pages = sim.erases - before; /* erased after this answer */
        if (pages > most_pages)
            most_pages = pages;
        if (st[4] == dfuDNBUSY) {
            CHECK(poll_ms(st) >= pages * 40, "answer %u: %u ms announced for %u pages", answers,
                  poll_ms(st), pages);
            announced += poll_ms(st);
        }
        answers++;
    } while (st[4] == dfuDNBUSY && answers < 1000);
    CHECK_EQ(st[4], dfuDNLOAD_IDLE);
    CHECK_EQ(st[0], DFU_OK);
    CHECK_EQ(sim.erases, 252);
    CHECK(most_pages * 40 <= 1000, "one request waits on %u pages (%u ms max)", most_pages,
          most_pages * 40);
    CHECK(announced >= 252 * 40, "announced %u ms in all, the maximum is %u", announced, 252 * 40);
    for (uint32_t i = 0x2000; i < 512 * 1024; i += 2048)
        CHECK(sim.flash[i] == 0xFF && sim.flash[i + 2047] == 0xFF, "page 0x%x not erased", i);
}

TEST(oversized_dnload_stalls_with_errSTALLEDPKT)
{
    fresh();
    CHECK_EQ(dfu_dnload(2, image, 1025), SIM_STALL);
    expect_error(errSTALLEDPKT);
    CHECK_EQ(dfu_dnload(1, image, 16), SIM_STALL);
    expect_error(errSTALLEDPKT);
}

TEST(requests_in_the_wrong_state_stall)
{
    fresh();
    CHECK_EQ(dfu_clrstatus(), SIM_STALL); /* not in dfuERROR */
    expect_error(errSTALLEDPKT);
    CHECK_EQ(dfuse_run(0x21, APP, true), 0); /* now dfuDNLOAD-IDLE */
    CHECK_EQ(dfu_upload(2, image, 64), SIM_STALL);
    expect_error(errSTALLEDPKT);
    CHECK_EQ(sim_ctrl_out(0x21, 9, 0, 0, 0, 0), SIM_STALL); /* no such request */
    expect_error(errSTALLEDPKT);
}

TEST(first_error_is_kept_until_clrstatus)
{
    fresh();
    CHECK_EQ(dfuse_cmd(0x41, 0x08000000, true), 5);
    status();
    CHECK_EQ(st[0], errTARGET);
    CHECK_EQ(dfu_abort(), SIM_STALL);
    CHECK_EQ(dfu_dnload(0, image, 1), SIM_STALL);
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errTARGET);
}

TEST(upload_blocks_and_short_end)
{
    uint8_t got[1024];
    fresh();
    for (unsigned i = 0; i < 64 * 1024; i++)
        sim.flash[i] = (uint8_t)(i ^ i >> 8);
    CHECK_EQ(dfuse_run(0x21, 0x0800F000, true), 0);
    CHECK_EQ(dfu_abort(), 0);
    for (uint16_t b = 2; b < 6; b++) {
        CHECK_EQ(dfu_upload(b, got, 1024), 1024);
        CHECK(memcmp(got, sim.flash + 0xF000 + (b - 2) * 1024, 1024) == 0, "block %u", b);
        CHECK_EQ(dfu_state(), dfuUPLOAD_IDLE);
    }
    CHECK_EQ(dfu_upload(6, got, 1024), 0); /* at the end of flash: nothing */
    CHECK_EQ(dfu_state(), dfuIDLE);
    CHECK_EQ(dfu_upload(7, got, 1024), SIM_STALL); /* past it */
    expect_error(errADDRESS);
    CHECK_EQ(dfuse_run(0x21, 0x08000000, true), 0); /* the bootloader reads back */
    CHECK_EQ(dfu_abort(), 0);
    CHECK_EQ(dfu_upload(2, got, 100), 100);
    CHECK(memcmp(got, sim.flash, 100) == 0, "bootloader bytes");
}

TEST(upload_block_zero_lists_the_commands)
{
    uint8_t got[16];
    fresh();
    CHECK_EQ(dfu_upload(0, got, 16), 3); /* no READ UNPROTECT: refused here */
    CHECK(memcmp(got, "\x00\x21\x41", 3) == 0, "command list");
    CHECK_EQ(dfu_state(), dfuIDLE);
}

/* DFU 1.1 appendix A.2: in dfuDNLOAD-SYNC and dfuMANIFEST-SYNC only
 * GETSTATUS and GETSTATE are valid; anything else stalls (dfuERROR). */
TEST(abort_in_dnload_sync_stalls_and_runs_nothing)
{
    fresh();
    memset(sim.flash + 0x2400, 0x77, 1024);
    CHECK_EQ(dfuse_cmd(0x41, APP + 0x400, true), 5);
    CHECK_EQ(dfu_state(), dfuDNLOAD_SYNC);
    CHECK_EQ(dfu_abort(), SIM_STALL);
    expect_error(errSTALLEDPKT);
    CHECK_EQ(sim.erases, 0);
    CHECK_EQ(sim.flash[0x2400], 0x77);
}

TEST(abort_in_manifest_sync_stalls)
{
    fresh();
    CHECK_EQ(dfuse_run(0x21, APP, true), 0);
    CHECK_EQ(dfu_dnload(2, 0, 0), 0);
    CHECK_EQ(dfu_state(), dfuMANIFEST_SYNC);
    CHECK_EQ(dfu_abort(), SIM_STALL);
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errSTALLEDPKT);
    CHECK(!dfu_leave_requested(), "left after a refused ABORT");
}

/* RDP level 1: code running from flash still reads it, so the bootloader
 * itself must refuse: errTARGET (as an UPLOAD=0 build). The layout follows
 * the build options (RDP=1: unreadable, test_options and faults
 * security.sh); here the chip was protected by other means. */
TEST(read_protection_refuses_upload)
{
    uint8_t got[128];
    fresh();
    sim.rdp = true;
    CHECK_EQ(dfuse_run(0x21, APP, true), 0);
    CHECK_EQ(dfu_abort(), 0);
    CHECK_EQ(dfu_upload(2, got, 64), SIM_STALL);
    expect_error(errTARGET);
    CHECK_EQ(dfuse_run(0x21, 0x08000000, true), 0);
    CHECK_EQ(dfu_abort(), 0);
    CHECK_EQ(dfu_upload(2, got, 64), SIM_STALL);
    expect_error(errTARGET);
    CHECK_EQ(dfu_upload(0, got, 16), 3); /* GET lists commands, reads no flash */
    sim.rdp = false;
    CHECK_EQ(dfu_upload(2, got, 64), 64);
}

/* A session's first blocks: the vectors held back, not yet committed. */
static void half_update(void)
{
    fresh();
    for (uint32_t p = APP; p < APP + 3072; p += 1024)
        CHECK_EQ(dfuse_run(0x41, p, true), 0);
    CHECK_EQ(dfuse_run(0x21, APP, true), 0);
    CHECK_EQ(dfu_block_run(2, image, 1024), 0);
    CHECK_EQ(dfu_block_run(3, image + 1024, 1024), 0);
    CHECK_EQ(sim_word(APP), 0xFFFFFFFF);
}

static void expect_never_starts(void)
{
    CHECK_EQ(sim_word(APP), 0xFFFFFFFF);
    CHECK_EQ(sim_word(APP + 4), 0xFFFFFFFF);
    struct boot_inputs in = {false, false, false};
    CHECK_EQ(boot_decide(&in, false), BOOT_DFU_NO_APP);
}

TEST(set_interface_drops_the_session_and_says_so)
{
    half_update();
    CHECK_EQ(sim_ctrl_out(0x01, 11, 0, 0, 0, 0), 0);
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errNOTDONE);
    CHECK_EQ(dfu_abort(), SIM_STALL); /* in dfuERROR: CLRSTATUS first */
    CHECK_EQ(dfu_clrstatus(), 0);
    CHECK_EQ(dfu_abort(), 0);
    expect_never_starts();
}

TEST(bus_reset_drops_the_session)
{
    half_update();
    sim_bus_reset();
    sim_bus_reset(); /* the report survives a second reset (a USB/IP re-import) */
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errNOTDONE);
    CHECK_EQ(dfu_util_leave(APP), 0x1FE); /* dfuERROR: DNLOAD refused */
    CHECK_EQ(dfu_clrstatus(), 0);
    CHECK_EQ(dfu_util_leave(APP), 0);
    expect_never_starts();
}

/* Issue 8 item 2: pydfu's init on a board another client left mid-update,
 * with no bus reset (a native host does not reset on open):
 * SET_CONFIGURATION, GETSTATUS, ABORT (or CLRSTATUS if dfuERROR). */
TEST(second_client_pydfu_order_never_commits)
{
    half_update();
    CHECK_EQ(sim_ctrl_out(0x00, 9, 1, 0, 0, 0), 0); /* SET_CONFIGURATION */
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errNOTDONE);
    CHECK_EQ(dfu_abort(), SIM_STALL);
    CHECK_EQ(dfu_clrstatus(), 0);
    status();
    CHECK_EQ(st[4], dfuIDLE);
    CHECK_EQ(dfu_abort(), 0);
    expect_never_starts();
}

/* A raw client without SET_CONFIGURATION or SET_INTERFACE, started a
 * while after the first one died: GETSTATUS (dfuDNLOAD-IDLE), ABORT. */
TEST(second_client_after_a_pause_never_commits)
{
    half_update();
    sim.ms += 1500;
    status();
    CHECK_EQ(st[4], dfuDNLOAD_IDLE);
    CHECK_EQ(dfu_abort(), 0);
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errNOTDONE);
    CHECK_EQ(dfu_clrstatus(), 0);
    expect_never_starts();
}

/* The same client order right away is dfu-util's own end: it commits. The
 * window's edge, both sides. */
TEST(abort_right_after_the_last_block_commits)
{
    half_update();
    sim.ms += 1000;
    status();
    CHECK_EQ(st[4], dfuDNLOAD_IDLE);
    CHECK_EQ(dfu_abort(), 0);
    status();
    CHECK_EQ(st[4], dfuIDLE);
    CHECK(memcmp(sim.flash + 0x2000, image, 8) == 0, "not committed");
    half_update();
    sim.ms += 1001;
    CHECK_EQ(dfu_abort(), 0);
    status();
    CHECK_EQ(st[0], errNOTDONE);
    expect_never_starts();
}

/* A request that is not part of a session's end in between: no commit. */
TEST(erase_or_upload_after_the_last_block_voids_the_commit)
{
    uint8_t got[64];
    half_update();
    CHECK_EQ(dfuse_run(0x41, APP + 0x2000, true), 0);
    CHECK_EQ(dfu_abort(), 0);
    status();
    CHECK_EQ(st[0], errNOTDONE);
    expect_never_starts();
    half_update();
    CHECK_EQ(dfu_upload(2, got, 64), SIM_STALL); /* not in dfuDNLOAD-IDLE */
    CHECK_EQ(dfu_clrstatus(), 0);
    CHECK_EQ(dfu_abort(), 0);
    status();
    CHECK_EQ(st[0], errNOTDONE);
    expect_never_starts();
}

/* dfu-util :will-reset:leave sends no ABORT: SET ADDRESS, zero-length
 * DNLOAD right after the last block. */
TEST(will_reset_with_leave_commits)
{
    half_update();
    CHECK_EQ(dfu_util_leave(APP), 0);
    CHECK(memcmp(sim.flash + 0x2000, image, 8) == 0, "not committed at leave");
}

TEST(leave_after_a_pause_is_errNOTDONE)
{
    half_update();
    sim.ms += 5000;
    CHECK_EQ(dfuse_run(0x21, APP, true), 0);
    CHECK_EQ(dfu_dnload(2, 0, 0), SIM_STALL);
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errNOTDONE);
    CHECK(!dfu_leave_requested(), "left with an uncommitted image");
    expect_never_starts();
}

/* dfu-util :will-reset -R: DETACH right after the last block commits;
 * DETACH from anyone later only leaves. */
TEST(detach_right_after_the_last_block_commits)
{
    half_update();
    status();
    CHECK_EQ(sim_ctrl_out(0x21, DFU_DETACH, 1000, 0, 0, 0), 0);
    CHECK(dfu_leave_requested(), "DETACH ignored");
    CHECK(memcmp(sim.flash + 0x2000, image, 8) == 0, "not committed by DETACH");
}

TEST(detach_after_a_pause_leaves_without_commit)
{
    half_update();
    sim.ms += 1500;
    CHECK_EQ(sim_ctrl_out(0x21, DFU_DETACH, 1000, 0, 0, 0), 0);
    CHECK(dfu_leave_requested(), "DETACH ignored");
    expect_never_starts();
}

/* :mass-erase:force alone ends with ABORT: nothing held, nothing lost. */
TEST(abort_after_erases_only_is_fine)
{
    fresh();
    CHECK_EQ(dfuse_run(0x41, 0, false), 0);
    CHECK_EQ(dfu_abort(), 0);
    status();
    CHECK_EQ(st[4], dfuIDLE);
    CHECK_EQ(st[0], DFU_OK);
}

TEST(second_dfu_util_recovers_a_board_left_mid_update)
{
    fresh();
    CHECK_EQ(dfuse_run(0x41, APP, true), 0);
    CHECK_EQ(dfuse_cmd(0x41, APP + 0x400, true), 5); /* killed before GETSTATUS */
    CHECK_EQ(dfu_util_download(APP, image, sizeof image), 0);
    CHECK_EQ(dfu_util_leave(APP), 0);
    CHECK(memcmp(sim.flash + 0x2000, image, sizeof image) == 0, "image not in flash");
}

TEST(upload_wlength_and_block_one_are_checked)
{
    static uint8_t got[1100];
    fresh();
    CHECK_EQ(dfu_upload(2, got, 1025), SIM_STALL);
    expect_error(errSTALLEDPKT);
    CHECK_EQ(dfu_upload(1, got, 64), SIM_STALL);
    expect_error(errSTALLEDPKT);
}

TEST(short_getstatus_is_cut_never_overrun)
{
    uint8_t small[3] = {0xEE, 0xEE, 0xEE};
    fresh();
    CHECK_EQ(sim_ctrl_in(0xA1, DFU_GETSTATUS, 0, 0, 3, small), 3);
    CHECK_EQ(small[0], DFU_OK);
    CHECK(sim_error == 0, "%s", sim_error);
}

TEST(dnload_during_upload_stalls)
{
    uint8_t got[64];
    fresh();
    CHECK_EQ(dfu_upload(2, got, 64), 64);
    CHECK_EQ(dfu_state(), dfuUPLOAD_IDLE);
    CHECK_EQ(dfuse_cmd(0x21, APP, true), SIM_STALL);
    expect_error(errSTALLEDPKT);
}

TEST(busy_op_is_dropped_when_its_status_stage_never_comes)
{
    fresh();
    memset(sim.flash + 0x2400, 0x77, 1024);
    CHECK_EQ(dfuse_cmd(0x41, APP + 0x400, true), 5);
    CHECK(sim_setup(0xA1, DFU_GETSTATUS, 0, 0, 6), "GETSTATUS stalled");
    /* the host gives up on that transfer and sends ABORT, refused in dfuDNBUSY */
    CHECK_EQ(dfu_abort(), SIM_STALL);
    status();
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(sim.erases, 0);
    CHECK_EQ(sim.flash[0x2400], 0x77);
}

int main(void)
{
    return run_tests();
}
