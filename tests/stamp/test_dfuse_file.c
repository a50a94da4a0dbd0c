/*
 * test_dfuse_file.c - the DfuSe file writer and reader of dfuboot-stamp.
 * Expected offsets and values come from ST UM0391 ("DfuSe File Format") and
 * the DFU 1.1 specification, appendix B, written out here, not taken from
 * dfuse_file.h; the CRC from the CRC catalogue's check value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dfuse_file.h"
#include "testing.h"

static const struct dfuse_target bluepill = {0x0483, 0xDF11, 0x08002000u, 0x08010000u};

#define CHECK_HAS(msg, part) CHECK(strstr(msg, part) != NULL, "message \"%s\" lacks \"%s\"", msg, part)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* After editing a file: a new suffix CRC, so the reader gets past it. */
static void refix_crc(uint8_t *f, size_t len)
{
    put_le32(f + len - 4, dfuse_crc32(0xFFFFFFFFu, f, len - 4));
}

static size_t make_file(uint8_t *f, size_t image_len)
{
    uint8_t img[4096];
    for (size_t i = 0; i < image_len; i++)
        img[i] = (uint8_t)(i * 13 + 1);
    return dfuse_file_write(f, img, image_len, &bluepill);
}

TEST(crc_is_crc32_without_final_xor)
{
    /* CRC-32 (ISO-HDLC, as zlib), check value over "123456789": 0xCBF43926.
     * The DFU suffix stores the register before the final complement
     * (DFU 1.1 B.1; dfu-util's dfu_file.c compares it that way). */
    CHECK_EQ(dfuse_crc32(0xFFFFFFFFu, (const uint8_t *)"123456789", 9), ~0xCBF43926u);
    /* Feeding in pieces gives the same as in one go. */
    uint32_t c = dfuse_crc32(0xFFFFFFFFu, (const uint8_t *)"1234", 4);
    CHECK_EQ(dfuse_crc32(c, (const uint8_t *)"56789", 5), ~0xCBF43926u);
}

TEST(layout_is_um0391)
{
    uint8_t f[512];
    size_t len = make_file(f, 10);
    /* 11 prefix + 274 target prefix + 8 element header + 10 + 16 suffix */
    CHECK_EQ(len, 319);
    CHECK(memcmp(f, "DfuSe", 5) == 0, "szSignature");
    CHECK_EQ(f[5], 1);                /* bVersion */
    CHECK_EQ(le32(f + 6), 319);       /* DFUImageSize: the whole file (dfuse-pack) */
    CHECK_EQ(f[10], 1);               /* bTargets */
    CHECK(memcmp(f + 11, "Target", 6) == 0, "target szSignature");
    CHECK_EQ(f[17], 0);               /* bAlternateSetting */
    CHECK_EQ(le32(f + 18), 1);        /* bTargetNamed */
    CHECK(strcmp((const char *)f + 22, "dfuboot") == 0, "szTargetName \"%s\"", f + 22);
    CHECK_EQ(f[22 + 254], 0);         /* 255-byte name field, zero-filled */
    CHECK_EQ(le32(f + 277), 8 + 10);  /* dwTargetSize: element header + data */
    CHECK_EQ(le32(f + 281), 1);       /* dwNbElements */
    CHECK_EQ(le32(f + 285), 0x08002000u); /* dwElementAddress */
    CHECK_EQ(le32(f + 289), 10);      /* dwElementSize */
    CHECK_EQ(f[293], 1);              /* first data byte */
    const uint8_t *s = f + 303;       /* suffix: bcdDevice, idProduct, idVendor, bcdDFU */
    static const uint8_t want[12] = {0xFF, 0xFF, 0x11, 0xDF, 0x83, 0x04, 0x1A, 0x01,
                                     'U', 'F', 'D', 16};
    CHECK(memcmp(s, want, 12) == 0, "suffix %02x %02x %02x %02x %02x %02x %02x %02x", s[0],
          s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
    CHECK_EQ(le32(s + 12), dfuse_crc32(0xFFFFFFFFu, f, 315));
}

TEST(written_file_reads_back)
{
    uint8_t f[4096];
    struct dfuse_info info;
    char msg[512] = "";
    size_t len = make_file(f, 1000);
    CHECK(dfuse_file_read(f, len, &bluepill, &info, msg, sizeof msg) == 0, "refused: %s", msg);
    CHECK_EQ(info.elements, 1);
    CHECK_EQ(info.address, 0x08002000u);
    CHECK_EQ(info.size, 1000);
    CHECK_EQ(info.offset, 293);
    CHECK_EQ(info.vid, 0x0483);
    CHECK_EQ(info.pid, 0xDF11);
    CHECK_EQ(info.bcd_device, 0xFFFF);
    CHECK_EQ(f[info.offset + 5], (uint8_t)(5 * 13 + 1));
}

/* Each bad file is refused with a message naming what is wrong. */
static void expect_refused(uint8_t *f, size_t len, const struct dfuse_target *t,
                           const char *part)
{
    struct dfuse_info info;
    char msg[512] = "";
    CHECK(dfuse_file_read(f, len, t, &info, msg, sizeof msg) != 0,
          "accepted a file that should fail with \"%s\"", part);
    CHECK_HAS(msg, part);
}

TEST(wrong_crc_is_refused)
{
    uint8_t f[4096];
    size_t len = make_file(f, 300);
    f[400] ^= 0x10; /* a data byte */
    expect_refused(f, len, &bluepill, "does not match the file's CRC-32");
}

TEST(truncated_files_are_refused)
{
    uint8_t f[4096];
    size_t len = make_file(f, 300);
    /* Cut anywhere: the suffix is gone. */
    expect_refused(f, len - 100, &bluepill, "no DFU suffix");
    /* Shorter than any DfuSe file. */
    expect_refused(f, 40, &bluepill, "shorter than the 309");
    /* Cut in the element and re-suffixed (as a careless tool would): the
     * prefix's DFUImageSize no longer matches. */
    memmove(f + len - 116, f + len - 16, 16);
    refix_crc(f, len - 100);
    expect_refused(f, len - 100, &bluepill, "the file is truncated or has bytes added");
}

TEST(target_for_another_alt_is_refused)
{
    uint8_t f[4096];
    size_t len = make_file(f, 300);
    f[17] = 1;
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "alternate setting 1");
}

TEST(element_outside_the_application_is_refused)
{
    uint8_t f[4096];
    size_t len = make_file(f, 300);
    put_le32(f + 285, 0x08000000u); /* over the bootloader */
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "element 1 at 0x08000000..0x0800012c is outside the "
                   "application region 0x08002000..0x08010000");
    put_le32(f + 285, 0x0800FF00u); /* runs past the end of a 64 KiB flash */
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "outside the application region");
    /* The same file is fine for a 128 KiB part. */
    struct dfuse_target cb = bluepill;
    struct dfuse_info info;
    char msg[512];
    cb.flash_end = 0x08020000u;
    CHECK(dfuse_file_read(f, len, &cb, &info, msg, sizeof msg) == 0, "refused: %s", msg);
}

TEST(other_usb_ids_and_plain_dfu_are_refused)
{
    uint8_t f[4096];
    size_t len = make_file(f, 64);
    struct dfuse_target other = bluepill;
    other.pid = 0xDF12;
    expect_refused(f, len, &other, "the file is for USB device 0483:df11, the bootloader is "
                   "0483:df12");
    /* 0xFFFF means any device (DFU 1.1 B.1). */
    f[len - 16 + 2] = 0xFF;
    f[len - 16 + 3] = 0xFF;
    refix_crc(f, len);
    struct dfuse_info info;
    char msg[512];
    CHECK(dfuse_file_read(f, len, &other, &info, msg, sizeof msg) == 0, "refused: %s", msg);
    /* bcdDFU 0x0100: a DFU 1.0 file carries no addresses. */
    f[len - 16 + 6] = 0x00;
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "not a DfuSe file");
}

TEST(structure_errors_are_refused)
{
    uint8_t f[4096];
    size_t len = make_file(f, 64);
    f[10] = 2; /* bTargets */
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "the file has 2 targets");
    f[10] = 1;
    put_le32(f + 277, 8 + 60); /* dwTargetSize too small */
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "the target says its elements take 68 bytes");
    put_le32(f + 277, 8 + 64);
    put_le32(f + 289, 100); /* dwElementSize past the target */
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "element 1 says 100 bytes, only 64 are left");
    put_le32(f + 289, 64);
    f[0] = 'd';
    refix_crc(f, len);
    expect_refused(f, len, &bluepill, "no DfuSe prefix");
}

int main(void)
{
    return run_tests();
}
