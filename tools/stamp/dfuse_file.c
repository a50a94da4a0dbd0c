/*
 * dfuse_file.c - writes and checks DfuSe files (see dfuse_file.h for the
 * layout). The reader checks in the order a person fixing the file needs:
 * is it whole (suffix, CRC), is it a DfuSe file, is it for this board
 * (USB IDs, alternate setting), does it fit (element addresses).
 */
#include "dfuse_file.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void say(char *msg, size_t msgsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msgsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsize, fmt, ap);
    va_end(ap);
}

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | get16(p + 2) << 16;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

/* Bit at a time: a few hundred KiB at most, and nothing to review but the
 * polynomial. */
uint32_t dfuse_crc32(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--) {
        crc ^= *p++;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return crc;
}

size_t dfuse_file_len(size_t image_len)
{
    return DFUSE_MIN_FILE_LEN + image_len;
}

size_t dfuse_file_write(uint8_t *out, const uint8_t *image, size_t len,
                        const struct dfuse_target *t)
{
    size_t total = dfuse_file_len(len);
    uint8_t *p = out;

    memcpy(p, "DfuSe", 5);
    p[5] = 1; /* bVersion */
    put32(p + 6, (uint32_t)total);
    p[10] = 1; /* bTargets */
    p += DFUSE_PREFIX_LEN;

    memset(p, 0, DFUSE_TARGET_PREFIX_LEN);
    memcpy(p, "Target", 6);
    p[6] = 0;         /* bAlternateSetting: dfuboot's only one, the flash */
    put32(p + 7, 1);  /* bTargetNamed */
    memcpy(p + 11, DFUSE_TARGET_NAME, sizeof DFUSE_TARGET_NAME);
    put32(p + 266, (uint32_t)(DFUSE_ELEMENT_HEADER_LEN + len)); /* dwTargetSize */
    put32(p + 270, 1);                                          /* dwNbElements */
    p += DFUSE_TARGET_PREFIX_LEN;

    put32(p, t->base);
    put32(p + 4, (uint32_t)len);
    memcpy(p + DFUSE_ELEMENT_HEADER_LEN, image, len);
    p += DFUSE_ELEMENT_HEADER_LEN + len;

    put16(p, 0xFFFF); /* bcdDevice: any firmware release */
    put16(p + 2, t->pid);
    put16(p + 4, t->vid);
    put16(p + 6, DFUSE_BCD_DFU);
    memcpy(p + 8, "UFD", 3);
    p[11] = DFUSE_SUFFIX_LEN;
    put32(p + 12, dfuse_crc32(0xFFFFFFFFu, out, total - 4));
    return total;
}

static int check_suffix(const uint8_t *file, size_t len, const struct dfuse_target *t,
                        struct dfuse_info *info, char *msg, size_t msgsize)
{
    const uint8_t *s = file + len - DFUSE_SUFFIX_LEN;
    uint32_t crc;
    if (memcmp(s + 8, "UFD", 3) != 0) {
        say(msg, msgsize, "no DFU suffix: the last 16 bytes lack the \"UFD\" signature, so "
            "the file is cut short or is not a .dfu file (dfuboot-stamp --dfu writes one)");
        return -1;
    }
    if (s[11] != DFUSE_SUFFIX_LEN) {
        say(msg, msgsize, "DFU suffix bLength is %u, not %u", s[11], DFUSE_SUFFIX_LEN);
        return -1;
    }
    info->crc = get32(s + 12);
    crc = dfuse_crc32(0xFFFFFFFFu, file, len - 4);
    if (crc != info->crc) {
        say(msg, msgsize, "DFU suffix CRC 0x%08x does not match the file's CRC-32 0x%08x: "
            "the file was damaged or edited after it was made", (unsigned)info->crc,
            (unsigned)crc);
        return -1;
    }
    if (get16(s + 6) != DFUSE_BCD_DFU) {
        say(msg, msgsize, "DFU suffix bcdDFU is 0x%04x, not 0x%04x: a plain DFU file, not a "
            "DfuSe file with addresses", (unsigned)get16(s + 6), DFUSE_BCD_DFU);
        return -1;
    }
    info->bcd_device = (uint16_t)get16(s);
    info->pid = (uint16_t)get16(s + 2);
    info->vid = (uint16_t)get16(s + 4);
    /* 0xFFFF is DFU 1.1's "any"; dfu-util refuses other mismatches. */
    if ((info->vid != 0xFFFF && info->vid != t->vid) ||
        (info->pid != 0xFFFF && info->pid != t->pid)) {
        say(msg, msgsize, "the file is for USB device %04x:%04x, the bootloader is %04x:%04x "
            "(pass --vid/--pid if the bootloader was built with other IDs)",
            (unsigned)info->vid, (unsigned)info->pid, (unsigned)t->vid, (unsigned)t->pid);
        return -1;
    }
    return 0;
}

static int check_prefix(const uint8_t *file, size_t len, char *msg, size_t msgsize)
{
    if (memcmp(file, "DfuSe", 5) != 0) {
        say(msg, msgsize, "no DfuSe prefix: the file does not start with \"DfuSe\"");
        return -1;
    }
    if (file[5] != 1) {
        say(msg, msgsize, "DfuSe format version %u; only version 1 exists", file[5]);
        return -1;
    }
    if (get32(file + 6) != len) {
        say(msg, msgsize, "the DfuSe prefix says the file is %u bytes, it is %zu: the file "
            "is truncated or has bytes added", (unsigned)get32(file + 6), len);
        return -1;
    }
    if (file[10] != 1) {
        say(msg, msgsize, "the file has %u targets; a dfuboot file has exactly one, for "
            "alternate setting 0 (the application flash)", file[10]);
        return -1;
    }
    return 0;
}

/* The elements of the one target, between p and end. */
static int check_elements(const uint8_t *file, const uint8_t *p, const uint8_t *end,
                          unsigned n, const struct dfuse_target *t, struct dfuse_info *info,
                          char *msg, size_t msgsize)
{
    info->elements = n;
    info->address = 0xFFFFFFFFu;
    for (unsigned i = 1; i <= n; i++) {
        uint32_t addr, size;
        if ((size_t)(end - p) < DFUSE_ELEMENT_HEADER_LEN) {
            say(msg, msgsize, "element %u of %u is missing: the target ends first", i, n);
            return -1;
        }
        addr = get32(p);
        size = get32(p + 4);
        p += DFUSE_ELEMENT_HEADER_LEN;
        if (size > (size_t)(end - p)) {
            say(msg, msgsize, "element %u says %u bytes, only %zu are left in the target: "
                "the file is truncated", i, (unsigned)size, (size_t)(end - p));
            return -1;
        }
        if (addr < t->base || (uint64_t)addr + size > t->flash_end) {
            say(msg, msgsize, "element %u at 0x%08x..0x%08llx is outside the application "
                "region 0x%08x..0x%08x: the bootloader refuses writes there (pass --base "
                "and --flash-size if the bootloader and chip differ)", i, (unsigned)addr,
                (unsigned long long)addr + size, (unsigned)t->base, (unsigned)t->flash_end);
            return -1;
        }
        if (addr < info->address) {
            info->address = addr;
            info->size = size;
            info->offset = (size_t)(p - file);
        }
        p += size;
    }
    if (p != end) {
        say(msg, msgsize, "%zu bytes after the last element: the target size does not add "
            "up", (size_t)(end - p));
        return -1;
    }
    return 0;
}

int dfuse_file_read(const uint8_t *file, size_t len, const struct dfuse_target *t,
                    struct dfuse_info *info, char *msg, size_t msgsize)
{
    const uint8_t *tp = file + DFUSE_PREFIX_LEN, *elems, *end;
    uint32_t tsize, n;

    memset(info, 0, sizeof *info);
    if (len < DFUSE_MIN_FILE_LEN) {
        say(msg, msgsize, "the file is %zu bytes, shorter than the %u of the smallest DfuSe "
            "file (prefix, target prefix, one element header, suffix): truncated", len,
            DFUSE_MIN_FILE_LEN);
        return -1;
    }
    if (check_suffix(file, len, t, info, msg, msgsize) || check_prefix(file, len, msg, msgsize))
        return -1;
    if (memcmp(tp, "Target", 6) != 0) {
        say(msg, msgsize, "no target prefix: \"Target\" missing at offset %u", DFUSE_PREFIX_LEN);
        return -1;
    }
    if (tp[6] != 0) {
        say(msg, msgsize, "the target is for alternate setting %u; dfuboot has one, 0 "
            "(the application flash): dfu-util would skip its elements", tp[6]);
        return -1;
    }
    tsize = get32(tp + 266);
    n = get32(tp + 270);
    elems = tp + DFUSE_TARGET_PREFIX_LEN;
    end = file + len - DFUSE_SUFFIX_LEN;
    if (tsize != (size_t)(end - elems)) {
        say(msg, msgsize, "the target says its elements take %u bytes, the file has %zu "
            "for them", (unsigned)tsize, (size_t)(end - elems));
        return -1;
    }
    if (n == 0) {
        say(msg, msgsize, "the target has no element: nothing to download");
        return -1;
    }
    return check_elements(file, elems, end, n, t, info, msg, msgsize);
}
