/* Boot decision and image check: magic, pin, double reset, stamp, CRC,
 * plausibility, STRICT. */
#include "boot.h"
#include "crc32_soft.h"
#include "dfuboot_abi.h"
#include "image.h"
#include "memmap.h"
#include "sim.h"
#include "testing.h"

#define APP 0x08002000u

/* Independent reference: CRC-32/MPEG-2 byte-wise over each word's bytes in
 * big-endian order, which is what the STM32 unit computes per word. */
static uint32_t crc_mpeg2_bytes(uint32_t crc, const uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int b = 0; b < 8; b++)
            crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

static uint32_t ref_crc_words(uint32_t crc, const uint32_t *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t be[4] = {(uint8_t)(w[i] >> 24), (uint8_t)(w[i] >> 16), (uint8_t)(w[i] >> 8),
                         (uint8_t)w[i]};
        crc = crc_mpeg2_bytes(crc, be, 4);
    }
    return crc;
}

static uint32_t img[1024];

/* An application of len bytes at APP; stamped when asked. */
static void make_image(unsigned len, bool stamp)
{
    for (unsigned i = 0; i < len / 4; i++)
        img[i] = 0xA5000000u + i * 0x01010101u;
    img[0] = 0x20005000;
    img[1] = APP + 0x101;
    if (stamp) {
        img[DFUBOOT_STAMP_WORD_MAGIC] = DFUBOOT_STAMP_MAGIC;
        img[DFUBOOT_STAMP_WORD_LENGTH] = len;
        uint32_t crc = ref_crc_words(0xFFFFFFFF, img, 7);
        crc = ref_crc_words(crc, img + 11, len / 4 - 11);
        img[DFUBOOT_STAMP_WORD_CRC] = crc;
        img[DFUBOOT_STAMP_WORD_NCRC] = ~crc;
    }
    sim_init(64, APP);
    sim_put(APP, img, len);
}

static const uint32_t *vec(void)
{
    return (const uint32_t *)(const void *)(sim.flash + (APP - 0x08000000));
}

static enum boot_reason decide(bool magic, bool pin, bool dbl, bool strict)
{
    struct boot_inputs in = {magic, pin, dbl};
    return boot_decide(&in, strict);
}

TEST(crc_reference_is_mpeg2)
{
    CHECK_EQ(crc_mpeg2_bytes(0xFFFFFFFF, (const uint8_t *)"123456789", 9), 0x0376E6E7);
}

TEST(soft_crc_matches_the_reference)
{
    uint32_t w[5] = {0x12345678, 0, 0xFFFFFFFF, 0xDEADBEEF, 0x80000001};
    CHECK_EQ(crc32_soft(0xFFFFFFFF, w, 5), ref_crc_words(0xFFFFFFFF, w, 5));
    CHECK_EQ(crc32_soft(0xFFFFFFFF, w, 0), 0xFFFFFFFF);
}

TEST(stamped_image_with_good_crc_starts)
{
    make_image(4096, true);
    CHECK(image_valid(vec(), false), "good stamp refused");
    CHECK(image_valid(vec(), true), "good stamp refused under STRICT");
    CHECK_EQ(decide(false, false, false, true), BOOT_APP);
}

TEST(stamped_image_with_bad_crc_stays_in_dfu)
{
    make_image(4096, true);
    sim.flash[APP - 0x08000000 + 2000] ^= 1;
    CHECK(!image_valid(vec(), false), "corrupted image accepted");
    CHECK_EQ(decide(false, false, false, false), BOOT_DFU_NO_APP);
}

TEST(stamp_words_themselves_are_checked)
{
    make_image(4096, true);
    uint32_t bad = img[DFUBOOT_STAMP_WORD_NCRC] ^ 4;
    sim_put(APP + 40, &bad, 4);
    CHECK(!image_valid(vec(), false), "CRC complement mismatch accepted");
}

TEST(stamped_length_must_be_sane)
{
    static const uint32_t lengths[] = {0, 4, 40, 4098, 56 * 1024 + 4, 0xFFFFFFFC};
    for (unsigned i = 0; i < 6; i++) {
        make_image(4096, true);
        sim_put(APP + 32, &lengths[i], 4);
        CHECK(!image_valid(vec(), false), "length %u accepted", lengths[i]);
    }
    make_image(64, true); /* the 16 system vectors only */
    CHECK(image_valid(vec(), false), "minimal stamped image refused");
}

/* A stamp with the right CRC over 44 or 60 bytes covers the stamp words but
 * not the whole vector table (SVCall..SysTick stay outside the CRC);
 * dfuboot-stamp --check refuses it, so the bootloader must too (fuzz
 * finding tests/fuzz/findings/fuzz_stamp-stamp-length-44). */
TEST(stamp_shorter_than_the_vector_table_is_refused)
{
    static const unsigned lengths[] = {44, 60};
    for (unsigned i = 0; i < 2; i++) {
        make_image(lengths[i], true);
        CHECK(!image_valid(vec(), false), "a %u-byte stamp accepted", lengths[i]);
    }
}

TEST(unstamped_plausible_image_starts_unless_strict)
{
    make_image(1024, false);
    CHECK(image_valid(vec(), false), "plausible unstamped refused");
    CHECK(!image_valid(vec(), true), "STRICT accepted unstamped");
    CHECK_EQ(decide(false, false, false, true), BOOT_DFU_NO_APP);
}

TEST(implausible_vectors_never_start)
{
    static const uint32_t sps[] = {0x20000000, 0x20010004, 0xFFFFFFFF, 0, 0x08002000, 0xFFFF5000};
    static const uint32_t pcs[] = {APP + 0x100, APP - 0xFF, 0x08010001, 0xFFFFFFFF, 0x1FFFF001};
    for (unsigned i = 0; i < 6; i++) {
        make_image(1024, false);
        sim_put(APP, &sps[i], 4);
        CHECK(!image_plausible(vec()), "SP 0x%08x accepted", sps[i]);
    }
    for (unsigned i = 0; i < 5; i++) {
        make_image(1024, false);
        sim_put(APP + 4, &pcs[i], 4);
        CHECK(!image_plausible(vec()), "reset vector 0x%08x accepted", pcs[i]);
    }
    make_image(1024, false);
    uint32_t top = 0x20010000;
    sim_put(APP, &top, 4);
    CHECK(image_plausible(vec()), "SP at the top of 64 KiB refused");
}

TEST(erased_flash_stays_in_dfu)
{
    sim_init(64, APP);
    CHECK_EQ(decide(false, false, false, false), BOOT_DFU_NO_APP);
}

TEST(requests_win_over_a_valid_image)
{
    make_image(4096, true);
    CHECK_EQ(decide(true, false, false, false), BOOT_DFU_REQUESTED);
    CHECK_EQ(decide(false, true, false, false), BOOT_DFU_PIN);
    CHECK_EQ(decide(false, false, true, false), BOOT_DFU_DOUBLE);
    CHECK_EQ(decide(false, false, false, false), BOOT_APP);
}

TEST(other_app_bases)
{
    static const uint32_t bases[] = {0x08001000, 0x08008000};
    for (int i = 0; i < 2; i++) {
        uint32_t v[2] = {0x20002000, bases[i] + 0x201};
        sim_init(128, bases[i]);
        sim_put(bases[i], v, 8);
        CHECK_EQ(decide(false, false, false, false), BOOT_APP);
        v[1] = 0x08000201;
        sim_put(0x08000000 + 0x100, v, 8); /* irrelevant */
        sim_init(128, bases[i]);
        sim_put(bases[i], v, 8); /* "linked for 0x08000000" */
        CHECK_EQ(decide(false, false, false, false), BOOT_DFU_NO_APP);
    }
}

int main(void)
{
    return run_tests();
}
