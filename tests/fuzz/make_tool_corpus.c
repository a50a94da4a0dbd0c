/*
 * make_tool_corpus.c - writes the seed corpora of the tool fuzzers:
 * tests/fuzz/corpus-stamp/ (fuzz_stamp.c's encoding: layout byte, image)
 * and tests/fuzz/corpus-dfuse/ (fuzz_dfuse.c's: target byte, damage byte,
 * file). Images look like what an IDE builds (vector table, handlers
 * after it), so the fuzzers start past the first refusals.
 *
 *   make_tool_corpus STAMP_DIR DFUSE_DIR
 *
 * short.sh regenerates both and compares them with the committed ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuboot_abi.h"
#include "dfuse_file.h"
#include "stamp.h"

static uint8_t buf[4096];
static size_t len;
static const char *dir;

static void save(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* An image of n bytes linked at link: SP at the top of 20 KiB of RAM,
 * handlers just after the vector table, words 7..10 and 13 zero. */
static void image(uint8_t *p, size_t n, uint32_t link)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + 3);
    stamp_put32(p, 0, 0x20005000u);
    for (unsigned w = 1; w < 16; w++)
        stamp_put32(p, w, link + 0x40u + 4u * w + 1u);
    for (unsigned w = DFUBOOT_STAMP_WORD_MAGIC; w <= DFUBOOT_STAMP_WORD_NCRC; w++)
        stamp_put32(p, w, 0);
    stamp_put32(p, 13, 0);
}

static void stamp(uint8_t *p, size_t *n, uint32_t base, uint32_t flash)
{
    struct stamp_layout lay = {base, flash};
    struct stamp_result res;
    char msg[512];
    if (stamp_image(p, n, *n + 3, &lay, &res, msg, sizeof msg)) {
        fprintf(stderr, "make_tool_corpus: %s\n", msg);
        exit(1);
    }
}

/* fuzz_stamp's layout byte: flash size index, base index (fuzz_stamp.c). */
#define STAMP_CFG(kib_i, base_i) ((kib_i) | (base_i) << 3)

static void stamp_seeds(void)
{
    size_t n;

    /* bluepill, 64 KiB, APP_BASE 0x08002000: unstamped, then stamped */
    buf[0] = STAMP_CFG(0, 0);
    image(buf + 1, 256, 0x08002000u);
    len = 1 + 256;
    save("01-plain-64k");
    n = 256;
    stamp(buf + 1, &n, 0x08002000u, 64 * 1024);
    len = 1 + n;
    save("02-stamped-64k");

    /* 128 KiB, APP_BASE 0x08001000, 253 bytes: padding */
    buf[0] = STAMP_CFG(1, 1);
    image(buf + 1, 253, 0x08001000u);
    len = 1 + 253;
    save("03-odd-length-128k");

    /* libmaple: a default handler in the reserved words 7..10 */
    buf[0] = STAMP_CFG(0, 0);
    image(buf + 1, 512, 0x08002000u);
    for (unsigned w = 7; w <= 10; w++)
        stamp_put32(buf + 1, w, 0x08002101u);
    len = 1 + 512;
    save("04-libmaple-words");

    /* linked for 0x08000000: refused, with the origin named */
    buf[0] = STAMP_CFG(0, 0);
    image(buf + 1, 256, 0x08000000u);
    len = 1 + 256;
    save("05-linked-at-0");

    /* an ELF and an Intel HEX file: refused */
    buf[0] = STAMP_CFG(0, 0);
    memset(buf + 1, 0, 64);
    memcpy(buf + 1, "\x7f" "ELF\x01\x01\x01", 7);
    len = 1 + 64;
    save("06-elf");
    static const char hex[] = ":020000040800F2\n:1000000000500020C1200008C3200008C520000806\n"
                              ":00000001FF\n";
    buf[0] = STAMP_CFG(0, 0);
    memcpy(buf + 1, hex, sizeof hex - 1);
    len = sizeof hex;
    save("07-intel-hex");

    /* the layout given raw: base 0x08002000, 64 KiB, stamped image */
    buf[0] = 0x40;
    stamp_put32(buf + 1, 0, 0x08002000u);
    stamp_put32(buf + 1, 1, 64 * 1024);
    image(buf + 9, 128, 0x08002000u);
    n = 128;
    stamp(buf + 9, &n, 0x08002000u, 64 * 1024);
    len = 9 + n;
    save("08-raw-layout");

    /* 512 KiB, APP_BASE 0x08008000, stamped */
    buf[0] = STAMP_CFG(3, 2);
    image(buf + 1, 1024, 0x08008000u);
    n = 1024;
    stamp(buf + 1, &n, 0x08008000u, 512 * 1024);
    len = 1 + n;
    save("09-stamped-512k");

    /* sealed (bit 7): the harness rewrites the CRC words of a stamp */
    buf[0] = 0x80 | STAMP_CFG(0, 0);
    image(buf + 1, 192, 0x08002000u);
    n = 192;
    stamp(buf + 1, &n, 0x08002000u, 64 * 1024);
    len = 1 + n;
    save("10-sealed");
}

/* fuzz_dfuse's target byte: USB IDs index, base index, flash size index. */
#define DFUSE_CFG(ids_i, base_i, kib_i) ((ids_i) | (base_i) << 2 | (kib_i) << 5)

static void put32(uint8_t *p, uint32_t v)
{
    stamp_put32(p, 0, v);
}

static void dfuse_seeds(void)
{
    struct dfuse_target bluepill = {0x0483, 0xDF11, 0x08002000u, 0x08010000u};
    uint8_t img[1024];
    size_t n;

    /* a stamped image, as dfuboot-stamp --dfu writes it */
    image(img, 256, 0x08002000u);
    n = 256;
    stamp(img, &n, 0x08002000u, 64 * 1024);
    buf[0] = DFUSE_CFG(0, 0, 0);
    buf[1] = 0x11;
    len = 2 + dfuse_file_write(buf + 2, img, n, &bluepill);
    save("01-stamped");

    /* unstamped, for 1209:DB07 on a 128 KiB part at 0x08001000 */
    struct dfuse_target pid_codes = {0x1209, 0xDB07, 0x08001000u, 0x08020000u};
    image(img, 300, 0x08001000u);
    buf[0] = DFUSE_CFG(1, 1, 1);
    buf[1] = 0x80;
    len = 2 + dfuse_file_write(buf + 2, img, 300, &pid_codes);
    save("02-unstamped-other-ids");

    /* two elements, the higher one first, "any" USB IDs (0xFFFF): built
     * by hand, UM0391's layout, then the suffix CRC */
    uint8_t *f = buf + 2;
    size_t e1 = 64, e2 = 200, total = DFUSE_MIN_FILE_LEN + DFUSE_ELEMENT_HEADER_LEN + e1 + e2;
    image(img, e2, 0x08002000u);
    len = 2 + dfuse_file_write(f, img, e2, &bluepill); /* prefix, target, one element */
    memmove(f + DFUSE_PREFIX_LEN + DFUSE_TARGET_PREFIX_LEN + DFUSE_ELEMENT_HEADER_LEN + e1,
            f + DFUSE_PREFIX_LEN + DFUSE_TARGET_PREFIX_LEN, DFUSE_ELEMENT_HEADER_LEN + e2);
    uint8_t *el = f + DFUSE_PREFIX_LEN + DFUSE_TARGET_PREFIX_LEN;
    put32(el, 0x08004000u);
    put32(el + 4, (uint32_t)e1);
    memset(el + 8, 0x5A, e1);
    put32(f + 6, (uint32_t)total);
    put32(f + DFUSE_PREFIX_LEN + 266, (uint32_t)(2 * DFUSE_ELEMENT_HEADER_LEN + e1 + e2));
    put32(f + DFUSE_PREFIX_LEN + 270, 2);
    uint8_t *s = f + total - DFUSE_SUFFIX_LEN;
    s[0] = s[1] = 0xFF; /* bcdDevice */
    s[2] = s[3] = 0xFF; /* idProduct: any */
    s[4] = s[5] = 0xFF; /* idVendor: any */
    s[6] = 0x1A;
    s[7] = 0x01;
    memcpy(s + 8, "UFD", 3);
    s[11] = DFUSE_SUFFIX_LEN;
    put32(s + 12, dfuse_crc32(0xFFFFFFFFu, f, total - 4));
    buf[0] = DFUSE_CFG(0, 0, 0);
    buf[1] = 0xC3; /* sealed: the harness rewrites the (right) sizes and CRC */
    len = 2 + total;
    save("03-two-elements-any-ids");

    /* not a DfuSe file: a raw image (the round trip writes it) */
    image(img, 100, 0x08002000u);
    buf[0] = DFUSE_CFG(0, 0, 0);
    buf[1] = 0xF0;
    memcpy(buf + 2, img, 100);
    len = 2 + 100;
    save("04-raw-image");

    /* for a bootloader whose region is empty (APP_BASE 0x08010000 on a
     * 64 KiB part): the round trip's file must be refused as outside */
    buf[0] = DFUSE_CFG(0, 6, 0);
    buf[1] = 0x21;
    len = 2 + 100;
    save("05-no-room");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_tool_corpus STAMP_DIR DFUSE_DIR\n");
        return 2;
    }
    dir = argv[1];
    stamp_seeds();
    dir = argv[2];
    dfuse_seeds();
    return 0;
}
