/*
 * torn_commit.c - issue 12 item 4: every torn state of the half-words that
 * decide whether an image starts, against the core's real boot check
 * (fw/core/image.c image_valid, run on the unit simulator's flash).
 *
 * A half-word program cut while in progress leaves a value between the old
 * and the new one: only bits the program was clearing, any subset of them
 * (vboard/flash.c, "Power cuts"). So for each half-word we try EVERY subset
 * of the bits it clears.
 *
 * 1. The commit (fw/core/flash_writer.c flash_commit): the 8 bytes at
 *    APP_BASE are written last, in the order reset vector low, high, SP
 *    low, SP high. A cut during half h leaves the halves before it written,
 *    h torn, the ones after it erased (0xFFFF). Only the complete vector may
 *    start; tried for several SP/PC values (every F103 SRAM size, edge
 *    values), stamped and unstamped, STRICT or not.
 * 2. The session's invalidation of an old image (flash_writer.c
 *    start_session: 0x0000 over SP low, then SP high): a torn state is fine
 *    when it either leaves the old vector intact or refuses to start. For
 *    an unstamped image a torn SP low half can leave a plausible, different
 *    SP under the old code: counted and printed (the test fails on it only
 *    for stamped images, where the CRC must catch it); the order SP high
 *    first is tried too, to show which order has no such state.
 */
#include "dfuboot_abi.h"
#include "crc32_soft.h"
#include "flash_writer.h"
#include "image.h"
#include "memmap.h"
#include "port.h"
#include "sim.h"
#include "testing.h"

#include <stdio.h>
#include <string.h>

#define APP 0x08002000u
#define LEN 256u

static uint32_t img[LEN / 4];

/* An image with the given vector; stamped: magic, length, CRC (the same
 * software CRC as fw/core computes: the subject here is the vector). */
static void build(uint32_t sp, uint32_t pc, bool stamped)
{
    for (unsigned i = 0; i < LEN / 4; i++)
        img[i] = 0x46C04770u + i * 0x01010101u; /* code-like filler */
    img[0] = sp;
    img[1] = pc;
    if (stamped) {
        img[DFUBOOT_STAMP_WORD_MAGIC] = DFUBOOT_STAMP_MAGIC;
        img[DFUBOOT_STAMP_WORD_LENGTH] = LEN;
        uint32_t crc = crc32_soft(0xFFFFFFFFu, img, DFUBOOT_STAMP_WORD_MAGIC);
        crc = crc32_soft(crc, img + DFUBOOT_STAMP_WORD_NCRC + 1, LEN / 4 - DFUBOOT_STAMP_WORD_NCRC - 1);
        img[DFUBOOT_STAMP_WORD_CRC] = crc;
        img[DFUBOOT_STAMP_WORD_NCRC] = ~crc;
    }
}

static uint16_t half_of(const uint32_t *w, unsigned h) { return (uint16_t)(w[h / 2] >> (16 * (h % 2))); }

/* Flash holds img (put there by start()) with the 4 vector halves
 * replaced by v[0..3]. */
static void start(void) { sim_put(APP, img, LEN); }
static bool boots(const uint16_t v[4], bool strict)
{
    uint8_t vec[8];
    for (unsigned h = 0; h < 4; h++) {
        vec[2 * h] = (uint8_t)v[h];
        vec[2 * h + 1] = (uint8_t)(v[h] >> 8);
    }
    sim_put(APP, vec, 8);
    return image_valid((const uint32_t *)(const void *)port_mem(APP), strict);
}

static const uint32_t sps[] = {0x20002800u, 0x20005000u, 0x2000C000u, 0x20010000u, 0x20004FF8u,
                               0x20000100u, 0x20000004u, 0x2000FFFCu};
static const uint32_t pcs[] = {0x08002045u, 0x080020C1u, 0x0800FFFDu, 0x08003F01u};
static unsigned long tried, refused;

/* The order in which the real flash_commit writes the 4 halves: a session
 * writes the image, then the commit runs with the power lost after k
 * programs (the unit simulator's ops_left), k = 0..3. */
static bool commit_order(unsigned order[4])
{
    bool seen[4] = {false, false, false, false};
    for (unsigned k = 0; k < 4; k++) {
        sim_init(64, APP);
        build(0x20005000u, 0x08002045u, true);
        if (flash_erase(APP) || flash_write(APP, (const uint8_t *)img, LEN))
            return false;
        sim.ops_left = k + 1;
        flash_commit();
        unsigned found = 4;
        for (unsigned h = 0; h < 4; h++)
            if (sim_half(APP + 2 * h) != 0xFFFF && !seen[h])
                found = found == 4 ? h : 5;
        if (found >= 4)
            return false;
        seen[found] = true;
        order[k] = found;
    }
    return true;
}

TEST(every_torn_commit_halfword_is_refused)
{
    unsigned order[4];
    CHECK(commit_order(order), "cannot tell the order flash_commit writes the vector in");
    printf("     flash_commit writes the vector halves in the order %u %u %u %u\n", order[0], order[1],
           order[2], order[3]);
    for (unsigned s = 0; s < sizeof sps / sizeof *sps; s++)
        for (unsigned p = 0; p < sizeof pcs / sizeof *pcs; p++)
            for (int stamped = 0; stamped < 2; stamped++)
                for (int strict = 0; strict < 2; strict++) {
                    sim_init(64, APP);
                    build(sps[s], pcs[p], stamped);
                    start();
                    uint16_t fin[4];
                    for (unsigned h = 0; h < 4; h++)
                        fin[h] = half_of(img, h);
                    bool complete_boots = boots(fin, strict);
                    CHECK(complete_boots == (stamped || !strict), "SP 0x%08x PC 0x%08x stamped %d strict %d: "
                          "the complete image %s", sps[s], pcs[p], stamped, strict,
                          complete_boots ? "starts" : "does not start");
                    for (unsigned i = 0; i < 4; i++) {
                        uint16_t v[4] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
                        for (unsigned j = 0; j < i; j++)
                            v[order[j]] = fin[order[j]];
                        unsigned h = order[i];
                        uint16_t clear = (uint16_t)~fin[h];
                        /* Every subset of the bits this program clears. */
                        uint16_t sub = 0;
                        do {
                            v[h] = (uint16_t)~sub;
                            bool ok = boots(v, strict);
                            bool whole = i == 3 && sub == clear;
                            tried++;
                            refused += !ok;
                            if (ok && !whole)
                                CHECK(0, "torn commit starts: SP 0x%08x PC 0x%08x stamped %d strict %d, "
                                      "half %u = 0x%04x (want 0x%04x), halves %04x %04x %04x %04x",
                                      sps[s], pcs[p], stamped, strict, h, v[h], fin[h], v[0], v[1], v[2],
                                      v[3]);
                            sub = (uint16_t)((sub - clear) & clear);
                        } while (sub);
                    }
                }
    printf("     commit: %lu torn states tried, %lu refused (the rest: the complete vector)\n", tried,
           refused);
}

/* The invalidation of an old image, half a then half b programmed to
 * 0x0000: counts torn states that start something other than the intact
 * old vector. */
static char example[160];
static unsigned long bad_invalidation(unsigned a, unsigned b, bool stamped, unsigned long *n)
{
    unsigned long bad = 0;
    example[0] = 0;
    for (unsigned s = 0; s < sizeof sps / sizeof *sps; s++)
        for (unsigned p = 0; p < sizeof pcs / sizeof *pcs; p++) {
            sim_init(64, APP);
            build(sps[s], pcs[p], stamped);
            start();
            uint16_t old[4];
            for (unsigned h = 0; h < 4; h++)
                old[h] = half_of(img, h);
            for (unsigned i = 0; i < 2; i++) {
                uint16_t v[4] = {old[0], old[1], old[2], old[3]};
                if (i == 1)
                    v[a] = 0;
                unsigned h = i ? b : a;
                /* Programming 0x0000 clears the 1 bits: any subset moved. */
                uint16_t clear = old[h], moved = 0;
                do {
                    v[h] = (uint16_t)(old[h] & ~moved);
                    bool intact = !memcmp(v, old, sizeof v);
                    (*n)++;
                    if (!intact && boots(v, false) && !bad++)
                        snprintf(example, sizeof example, "e.g. SP 0x%08x PC 0x%08x: half %u torn to 0x%04x, "
                                 "vector %04x %04x %04x %04x starts", sps[s], pcs[p], h, v[h], v[0], v[1],
                                 v[2], v[3]);
                    moved = (uint16_t)((moved - clear) & clear);
                } while (moved);
            }
        }
    return bad;
}

/* Which SP half the real start_session clears first: an old image, then a
 * session whose first change is the page after APP_BASE's, the power lost
 * after one program. Returns 0 or 1, or -1 when there is no invalidation. */
static int invalidation_first(void)
{
    sim_init(64, APP);
    build(0x20005000u, 0x08002045u, false);
    start();
    flash_drop();
    sim.ops_left = 1;
    /* an erase is only owed (flash_writer.h): the page's data makes the
     * first change */
    static const uint8_t two[2] = {0x12, 0x34};
    flash_erase(APP + 1024);
    flash_write(APP + 1024, two, sizeof two);
    bool low = sim_half(APP) != 0x5000, high = sim_half(APP + 2) != 0x2000;
    return low == high ? -1 : high;
}

TEST(torn_invalidation_of_an_old_image)
{
    unsigned long n1 = 0, n2 = 0, n3 = 0, n4 = 0;
    int first = invalidation_first();
    printf("     start_session clears the SP %s half first\n", first < 0 ? "(neither)" : first ? "high" : "low");
    unsigned long stamped_low_first = bad_invalidation(0, 1, true, &n1);
    unsigned long plain_low_first = bad_invalidation(0, 1, false, &n2);
    char ex[160];
    memcpy(ex, example, sizeof ex);
    unsigned long stamped_high_first = bad_invalidation(1, 0, true, &n3);
    unsigned long plain_high_first = bad_invalidation(1, 0, false, &n4);
    printf("     invalidation, SP low half first: %lu of %lu torn states of a stamped "
           "image start, %lu of %lu of an unstamped one\n", stamped_low_first, n1, plain_low_first, n2);
    if (plain_low_first)
        printf("     (%s)\n", ex);
    printf("     invalidation, SP high half first: %lu of %lu (stamped), %lu of %lu (unstamped)\n",
           stamped_high_first, n3, plain_high_first, n4);
    /* The CRC covers the vector: no torn SP of a stamped image may start. */
    CHECK_EQ(stamped_low_first, 0);
    CHECK_EQ(stamped_high_first, 0);
    /* Clearing the high half first leaves 0x2000 or 0x0000 there: intact
     * or refused, whatever the low half holds. */
    CHECK_EQ(plain_high_first, 0);
    /* ...so the writer must clear the high half first: an unstamped image
     * whose invalidation is cut must never start on a torn stack pointer
     * (issue 12 item 4; low half first it did, in 69,640 torn states). */
    CHECK_EQ(first, 1);
    CHECK_EQ(first ? plain_high_first : plain_low_first, 0);
}

int main(void) { return run_tests(); }
