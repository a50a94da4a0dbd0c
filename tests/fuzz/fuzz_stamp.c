/*
 * fuzz_stamp.c - libFuzzer target over dfuboot-stamp's image checks
 * (tools/stamp/stamp.c: stamp_check_layout, stamp_image, stamp_verify),
 * with the bootloader's own start check (fw/core/image.c) as the judge
 * of what the tool produced. The tool reads raw binaries only: an ELF or
 * Intel HEX file is one of the inputs it must refuse with a message.
 *
 * Input encoding:
 *   byte 0   layout: bits 0-2 flash size (kib_table), bits 3-5 base
 *            (base_table; entry 7 is the first address past the flash),
 *            bit 6: instead, the next 8 bytes are base and flash size
 *            (little-endian, any value: the layout checks get fuzzed too),
 *            bit 7: seal: if words 7..8 hold the magic and a length that
 *            fits, the harness writes the matching CRC and ~CRC into words
 *            9..10 first, so stamps with odd lengths and vectors get past
 *            the CRC and reach the comparisons below
 *   rest     the image file, as dfuboot-stamp would read it
 *
 * Invariants (a violation prints "INVARIANT VIOLATED: ..." and aborts):
 *   - a layout the checks accept ends inside the 32-bit address space:
 *     dfuboot-stamp keeps 0x08000000 + flash size as a 32-bit flash end
 *     (struct dfuse_target) for --dfu and --check-dfu;
 *   - no crash, no ASan/UBSan report; the image buffer has exactly the
 *     room stamp.h asks for (length + 3), so padding past it is caught;
 *   - every refusal (-1) comes with a message, and leaves the image and
 *     its length as they were (stamp.h: "the image is then untouched");
 *   - a stamped image is the input, padded with 0xFF to a multiple of 4,
 *     with words 7..10 = magic, length, CRC, ~CRC and nothing else changed;
 *     the tool's own --check (stamp_verify) accepts it, also followed by
 *     more bytes (a read-back of the whole region); stamping it again
 *     changes nothing and says "replaced an earlier stamp";
 *   - whatever the tool stamps, the bootloader starts: image_valid() of
 *     fw/core, strict or not, with the same APP_BASE and flash size, CRC
 *     computed by the core's crc32_soft (not the tool's crc32_stm32);
 *   - on the raw input: where the bootloader would start a stamped image,
 *     the tool's --check agrees, and where --check accepts a stamp whose
 *     vectors are plausible and length fits the region, the bootloader
 *     starts it.
 *
 * FUZZ_STATS=file appends the counters at exit (short.sh checks that the
 * stamped and boot-checked states were reached).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32_soft.h"
#include "crc32_stm32.h"
#include "dfuboot_abi.h"
#include "image.h"
#include "memmap.h"
#include "port.h"
#include "stamp.h"
#include "tool_fuzz.h"

/* F103 flash sizes; 1024 KiB is the XL part, which the bootloader
 * (memmap.c) drives as 512 KiB, so it is checked against the tool only. */
static const uint32_t kib_table[8] = {64, 128, 256, 512, 32, 16, 384, 1024};
static const uint32_t base_table[8] = {
    0x08002000u, 0x08001000u, 0x08008000u, 0x08004000u,
    0x08000000u, 0x08002200u, /* aligned to 512 only */
    0x08002100u,              /* not VTOR-aligned: refused */
    0,                        /* the first address past the flash: refused */
};

enum { ST_INPUTS, ST_SEALED, ST_LAYOUT_OK, ST_REFUSED, ST_STAMPED, ST_RESTAMP, ST_HANDLERS,
       ST_VERIFIED, ST_BOOT_CHECKED, ST_BOOTS, ST_COUNT };
static const char *const stat_names[ST_COUNT] = {
    "inputs", "sealed", "layout_ok", "refused", "stamped", "restamp", "handlers",
    "verified", "boot_checked", "boots",
};
static unsigned long long stat[ST_COUNT];

/* ---- the core's port, as far as image.c uses it: the CRC unit ---------- */
static uint32_t crc_state;

void port_crc_reset(void)
{
    crc_state = 0xFFFFFFFFu;
}

uint32_t port_crc_feed(const uint32_t *words, uint32_t count)
{
    crc_state = crc32_soft(crc_state, words, count);
    return crc_state;
}

/* ---- helpers ------------------------------------------------------------ */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void must_say(const char *msg, const char *what)
{
    if (msg[0] == 0)
        violation("%s refused without a message", what);
}

/* The image as the bootloader sees it in flash: words, with erased flash
 * after the image. Caller frees. */
static uint32_t *as_flash(const uint8_t *img, size_t len)
{
    size_t words = (len + 3) / 4;
    uint32_t *vec = malloc(words ? words * 4 : 4);
    if (!vec)
        abort();
    memset(vec, 0xFF, words * 4);
    memcpy(vec, img, len);
    return vec;
}

struct config {
    struct stamp_layout lay;
    bool layout_ok;
    bool boot_model; /* the bootloader can run with this layout */
};

/* ---- the raw input: --check against the bootloader ---------------------- */
static void check_input(const uint8_t *p, size_t n, const struct config *c)
{
    struct stamp_result res;
    char msg[512] = "";
    int rc = stamp_verify(p, n, &res, msg, sizeof msg);
    if (rc != 0 && rc != -1)
        violation("stamp_verify returned %d", rc);
    if (rc) {
        must_say(msg, "stamp_verify");
    } else {
        stat[ST_VERIFIED]++;
        if (res.length % 4 || res.length < 64 || res.length > n)
            violation("stamp_verify accepted length %u of a %zu-byte image", (unsigned)res.length, n);
    }
    if (!c->boot_model || n < 4 * (DFUBOOT_STAMP_WORD_NCRC + 1))
        return;

    /* image_valid() reads the stamped length from flash; only ask it when
     * that stays inside the input or it refuses before reading. */
    uint32_t len = le32(p + 4 * DFUBOOT_STAMP_WORD_LENGTH);
    uint32_t region = c->lay.base < STAMP_FLASH_START + c->lay.flash_size
                          ? STAMP_FLASH_START + c->lay.flash_size - c->lay.base : 0;
    bool reads_inside = len <= n || len % 4 || len > region ||
                        le32(p + 4 * DFUBOOT_STAMP_WORD_CRC) != ~le32(p + 4 * DFUBOOT_STAMP_WORD_NCRC);
    if (!reads_inside)
        return;
    stat[ST_BOOT_CHECKED]++;
    uint32_t *vec = as_flash(p, n);
    memmap_init(c->lay.flash_size / 1024u, c->lay.base);
    bool boots = image_valid(vec, true);
    bool plausible = image_plausible(vec);
    free(vec);
    if (boots)
        stat[ST_BOOTS]++;
    if (boots && rc)
        violation("the bootloader starts this stamped image, dfuboot-stamp --check refuses it: %s",
                  msg);
    if (!rc && plausible && res.length <= region && !boots)
        violation("dfuboot-stamp --check accepts this image (%u bytes, CRC 0x%08x) and its vectors "
                  "are plausible, but the bootloader refuses to start it",
                  (unsigned)res.length, (unsigned)res.crc);
}

/* ---- stamping ------------------------------------------------------------ */
static void check_stamped(const uint8_t *in, size_t n, const uint8_t *img, size_t len,
                          const struct stamp_result *res, const struct config *c)
{
    size_t want = (n + 3) & ~(size_t)3;
    char msg[512] = "";
    if (len != want || res->length != want || res->padding != want - n)
        violation("stamped %zu bytes into %zu (length %u, padding %u), expected %zu", n, len,
                  (unsigned)res->length, (unsigned)res->padding, want);
    for (size_t i = 0; i < len; i++) {
        if (i >= 4 * DFUBOOT_STAMP_WORD_MAGIC && i < 4 * (DFUBOOT_STAMP_WORD_NCRC + 1))
            continue;
        uint8_t expect = i < n ? in[i] : 0xFF;
        if (img[i] != expect)
            violation("stamping changed byte 0x%zx from 0x%02x to 0x%02x", i, expect, img[i]);
    }
    if (le32(img + 4 * DFUBOOT_STAMP_WORD_MAGIC) != DFUBOOT_STAMP_MAGIC ||
        le32(img + 4 * DFUBOOT_STAMP_WORD_LENGTH) != len ||
        le32(img + 4 * DFUBOOT_STAMP_WORD_CRC) != res->crc ||
        le32(img + 4 * DFUBOOT_STAMP_WORD_NCRC) != ~res->crc)
        violation("stamp words 7..10 are %08x %08x %08x %08x, result says length %zu CRC %08x",
                  le32(img + 28), le32(img + 32), le32(img + 36), le32(img + 40), len,
                  (unsigned)res->crc);
    if (res->restamped != (le32(in + 4 * DFUBOOT_STAMP_WORD_MAGIC) == DFUBOOT_STAMP_MAGIC))
        violation("restamped is %d, the input's word 7 is 0x%08x", res->restamped,
                  le32(in + 28));

    /* The tool's --check, on the image and on a longer read-back. */
    struct stamp_result chk;
    uint8_t *back = malloc(len + 64);
    if (!back)
        abort();
    memcpy(back, img, len);
    memset(back + len, 0xA5, 64);
    for (size_t extra = 0; extra <= 64; extra += 64) {
        if (stamp_verify(back, len + extra, &chk, msg, sizeof msg))
            violation("dfuboot-stamp --check refuses what it stamped (+%zu bytes): %s", extra, msg);
        if (chk.length != len || chk.crc != res->crc)
            violation("--check reads length %u CRC 0x%08x, stamped %zu 0x%08x",
                      (unsigned)chk.length, (unsigned)chk.crc, len, (unsigned)res->crc);
    }

    /* Stamping again: same bytes, "replaced an earlier stamp". */
    size_t len2 = len;
    memcpy(back, img, len);
    if (stamp_image(back, &len2, len + 3, &c->lay, &chk, msg, sizeof msg))
        violation("stamping a stamped image again is refused: %s", msg);
    if (len2 != len || memcmp(back, img, len) || !chk.restamped)
        violation("stamping a stamped image again changed it (restamped %d)", chk.restamped);
    free(back);

    /* The bootloader, with the same layout, starts it. */
    if (!c->boot_model)
        return;
    uint32_t *vec = as_flash(img, len);
#if FUZZ_BREAK
    vec[len / 4 - 1] ^= 1u << 7; /* self-test: the harness damages the image */
#endif
    memmap_init(c->lay.flash_size / 1024u, c->lay.base);
    bool strict = image_valid(vec, true), loose = image_valid(vec, false);
    free(vec);
    if (!strict || !loose)
        violation("the bootloader (APP_BASE 0x%08x, %u KiB) refuses an image dfuboot-stamp "
                  "stamped: image_valid strict %d, not strict %d; SP 0x%08x reset 0x%08x, "
                  "length %zu CRC 0x%08x", (unsigned)c->lay.base,
                  (unsigned)(c->lay.flash_size / 1024u), strict, loose, le32(img), le32(img + 4),
                  len, (unsigned)res->crc);
    stat[ST_BOOTS]++;
}

static void stamp_input(const uint8_t *in, size_t n, const struct config *c)
{
    struct stamp_result res;
    char msg[512] = "";
    size_t cap = n + 3, len = n;
    uint8_t *img = malloc(cap);
    if (!img)
        abort();
    memcpy(img, in, n);
    memset(&res, 0x5A, sizeof res);
    int rc = stamp_image(img, &len, cap, &c->lay, &res, msg, sizeof msg);
    if (rc != 0 && rc != -1)
        violation("stamp_image returned %d", rc);
    if (rc) {
        stat[ST_REFUSED]++;
        must_say(msg, "stamp_image");
        if (len != n || memcmp(img, in, n))
            violation("stamp_image refused (%s) but changed the image or its length", msg);
    } else {
        if (!c->layout_ok)
            violation("stamp_image accepted a layout stamp_check_layout refuses "
                      "(base 0x%08x, flash %u)", (unsigned)c->lay.base, (unsigned)c->lay.flash_size);
        stat[ST_STAMPED]++;
        stat[ST_RESTAMP] += res.restamped != 0;
        stat[ST_HANDLERS] += res.replaced_handlers != 0;
        check_stamped(in, n, img, len, &res, c);
    }
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    char msg[512] = "";
    tool_stats_init(stat_names, ST_COUNT, stat);
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    data++, size--;
    if (cfg & 0x40) {
        if (size < 8)
            return 0;
        c.lay.base = le32(data);
        c.lay.flash_size = le32(data + 4);
        data += 8, size -= 8;
        c.boot_model = false;
    } else {
        uint32_t kib = kib_table[cfg & 7u];
        c.lay.flash_size = kib * 1024u;
        c.lay.base = base_table[(cfg >> 3) & 7u];
        if (c.lay.base == 0)
            c.lay.base = STAMP_FLASH_START + c.lay.flash_size;
        c.boot_model = kib <= 512u;
    }
    stat[ST_INPUTS]++;
    c.layout_ok = stamp_check_layout(&c.lay, msg, sizeof msg) == 0;
    if (c.layout_ok) {
        stat[ST_LAYOUT_OK]++;
        if ((uint64_t)STAMP_FLASH_START + c.lay.flash_size > 0xFFFFFFFFull)
            violation("stamp_check_layout accepts flash size 0x%08x: the flash end "
                      "0x%08x + size is past the 32-bit address space, and dfuboot-stamp's "
                      "32-bit dfuse_target.flash_end wraps to 0x%08x",
                      (unsigned)c.lay.flash_size, (unsigned)STAMP_FLASH_START,
                      (unsigned)(STAMP_FLASH_START + c.lay.flash_size));
    } else
        must_say(msg, "stamp_check_layout");
    c.boot_model = c.boot_model && c.layout_ok;

    /* A heap block of exactly the file, so a read past it is reported. */
    uint8_t *in = malloc(size ? size : 1);
    if (!in)
        abort();
    memcpy(in, data, size);
    if ((cfg & 0x80) && size >= 4 * (DFUBOOT_STAMP_WORD_NCRC + 1) &&
        stamp_get32(in, DFUBOOT_STAMP_WORD_MAGIC) == DFUBOOT_STAMP_MAGIC) {
        uint32_t len = stamp_get32(in, DFUBOOT_STAMP_WORD_LENGTH);
        if (len % 4 == 0 && len >= 4 * (DFUBOOT_STAMP_WORD_NCRC + 1) && len <= size) {
            uint32_t crc = crc32_stm32_image(in, len);
            stamp_put32(in, DFUBOOT_STAMP_WORD_CRC, crc);
            stamp_put32(in, DFUBOOT_STAMP_WORD_NCRC, ~crc);
            stat[ST_SEALED]++;
        }
    }
    check_input(in, size, &c);
    stamp_input(in, size, &c);
    free(in);
    return 0;
}
