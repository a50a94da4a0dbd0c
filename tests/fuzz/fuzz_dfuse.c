/*
 * fuzz_dfuse.c - libFuzzer target over the DfuSe file reader and writer
 * of dfuboot-stamp (tools/stamp/dfuse_file.c), plus the stamp check that
 * `dfuboot-stamp --check-dfu` runs on the image it finds.
 *
 * Input encoding:
 *   byte 0   the bootloader the file is checked for: bits 0-1 USB IDs
 *            (ids_table), bits 2-4 APP_BASE (base_table), bits 5-7 flash
 *            size (kib_table)
 *   byte 1   bits 0-5: where the round trip below damages the file it
 *            wrote; bit 7: seal: the harness writes the right CRC into the
 *            last 4 bytes before reading, so the reading gets past the CRC
 *            to the structure behind it; bit 6 (with 7): the harness also
 *            writes the file's length into DFUImageSize and dwTargetSize,
 *            so mutations reach the element chain
 *   rest     read as a .dfu file, and written as an image
 *
 * Invariants (a violation prints "INVARIANT VIOLATED: ..." and aborts):
 *   - reading arbitrary bytes: no crash, no ASan/UBSan report (the input
 *     is a heap block of exactly its size); a refusal has a message; an
 *     accepted file agrees with a second, independent reading of UM0391's
 *     layout written here (accept/refuse, element count, the lowest
 *     element's address, size and data offset), its USB IDs are the
 *     target's or 0xFFFF, and its lowest element lies inside the file and
 *     inside [APP_BASE, flash end);
 *   - the lowest element of an accepted file, written again with the
 *     writer, reads back as the same element;
 *   - round trip: the rest written as an image at APP_BASE has
 *     dfuse_file_len() bytes and reads back as one element at APP_BASE
 *     with the same bytes, the target's USB IDs and a CRC over the file
 *     (or is refused as outside the region when it does not fit);
 *   - the written file with one byte changed (byte 1 picks which and how)
 *     or cut short is refused: the CRC-32 catches every 1-byte error.
 *
 * FUZZ_STATS=file appends the counters at exit.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuboot_abi.h"
#include "dfuse_file.h"
#include "stamp.h"
#include "tool_fuzz.h"

static const uint16_t ids_table[4][2] = {
    {0x0483, 0xDF11}, {0x1209, 0xDB07}, {0xFFFF, 0xFFFF}, {0x0000, 0x0000},
};
static const uint32_t base_table[8] = {
    0x08002000u, 0x08001000u, 0x08008000u, 0x08004000u,
    0x08000000u, 0x08002200u, 0x08010000u, 0x08003000u,
};
static const uint32_t kib_table[8] = {64, 128, 256, 512, 32, 16, 384, 1024};

enum { ST_INPUTS, ST_SEALED, ST_READ_OK, ST_READ_MULTI, ST_STAMP_CHECKED, ST_ROUND_TRIPS, ST_TOO_BIG,
       ST_DAMAGE_REFUSED, ST_COUNT };
static const char *const stat_names[ST_COUNT] = {
    "inputs", "sealed", "read_ok", "read_multi", "stamp_checked", "round_trips", "too_big",
    "damage_refused",
};
static unsigned long long stat[ST_COUNT];

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A CRC-32 of its own (table-free, reflected 0xEDB88320, the DFU 1.1 B.1
 * suffix CRC), so the reader's is not checked against itself. */
static uint32_t ref_crc(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c;
}

/*
 * The second reading: UM0391's layout walked with offsets, no pointers.
 * Returns true when the file is one this bootloader takes, with the count
 * and the lowest element (ties: the first) in *elements, *addr, *size, *off.
 */
static bool ref_read(const uint8_t *f, size_t len, const struct dfuse_target *t,
                     unsigned *elements, uint32_t *addr, uint32_t *size, size_t *off)
{
    const size_t prefix = 11, tprefix = 274, suffix = 16;
    if (len < prefix + tprefix + 8 + suffix)
        return false;
    size_t s = len - suffix;
    if (memcmp(f + s + 8, "UFD", 3) || f[s + 11] != 16 || le32(f + s + 12) != ref_crc(f, len - 4))
        return false;
    if (le16(f + s + 6) != 0x011A)
        return false;
    uint32_t pid = le16(f + s + 2), vid = le16(f + s + 4);
    if ((vid != 0xFFFF && vid != t->vid) || (pid != 0xFFFF && pid != t->pid))
        return false;
    if (memcmp(f, "DfuSe", 5) || f[5] != 1 || le32(f + 6) != len || f[10] != 1)
        return false;
    if (memcmp(f + prefix, "Target", 6) || f[prefix + 6] != 0)
        return false;
    size_t first = prefix + tprefix;
    if (le32(f + prefix + 266) != s - first)
        return false;
    uint32_t n = le32(f + prefix + 270);
    if (n == 0)
        return false;
    size_t at = first;
    *addr = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        if (s - at < 8)
            return false;
        uint32_t a = le32(f + at), sz = le32(f + at + 4);
        at += 8;
        if (sz > s - at)
            return false;
        if (a < t->base || (uint64_t)a + sz > t->flash_end)
            return false;
        if (a < *addr) {
            *addr = a;
            *size = sz;
            *off = at;
        }
        at += sz;
    }
    *elements = n;
    return at == s;
}

static void read_input(const uint8_t *f, size_t len, const struct dfuse_target *t)
{
    struct dfuse_info info;
    char msg[512] = "";
    unsigned r_n = 0;
    uint32_t r_addr = 0, r_size = 0;
    size_t r_off = 0;
    int rc = dfuse_file_read(f, len, t, &info, msg, sizeof msg);
    bool ref = ref_read(f, len, t, &r_n, &r_addr, &r_size, &r_off);
    if (rc != 0 && rc != -1)
        violation("dfuse_file_read returned %d", rc);
    if (rc && msg[0] == 0)
        violation("dfuse_file_read refused a file without a message");
    if ((rc == 0) != ref)
        violation("dfuse_file_read %s a %zu-byte file the second reading %s (%s)",
                  rc ? "refuses" : "accepts", len, ref ? "accepts" : "refuses",
                  rc ? msg : "no message");
    if (rc)
        return;
    stat[ST_READ_OK]++;
    stat[ST_READ_MULTI] += info.elements > 1;
    if (info.elements != r_n || info.address != r_addr || info.size != r_size ||
        info.offset != r_off)
        violation("dfuse_file_read: %u elements, lowest at 0x%08x size %u offset %zu; the "
                  "second reading: %u, 0x%08x, %u, %zu", info.elements, (unsigned)info.address,
                  (unsigned)info.size, info.offset, r_n, (unsigned)r_addr, (unsigned)r_size, r_off);
    if ((info.vid != 0xFFFF && info.vid != t->vid) || (info.pid != 0xFFFF && info.pid != t->pid))
        violation("accepted a file for %04x:%04x, the target is %04x:%04x", info.vid, info.pid,
                  t->vid, t->pid);
    if (info.offset + info.size > len - DFUSE_SUFFIX_LEN || info.address < t->base ||
        (uint64_t)info.address + info.size > t->flash_end)
        violation("accepted element 0x%08x+%u at offset %zu lies outside the file or region",
                  (unsigned)info.address, (unsigned)info.size, info.offset);
    if (info.crc != le32(f + len - 4))
        violation("info.crc 0x%08x is not the suffix's dwCRC", (unsigned)info.crc);

    /* What --check-dfu then does with the image at APP_BASE. */
    if (info.address == t->base && info.size >= STAMP_VECTOR_BYTES &&
        stamp_get32(f + info.offset, DFUBOOT_STAMP_WORD_MAGIC) == DFUBOOT_STAMP_MAGIC) {
        struct stamp_result res;
        stat[ST_STAMP_CHECKED]++;
        if (stamp_verify(f + info.offset, info.size, &res, msg, sizeof msg) == 0 &&
            res.length > info.size)
            violation("stamp_verify accepted length %u inside a %u-byte element",
                      (unsigned)res.length, (unsigned)info.size);
    }

    /* The lowest element written again reads back as itself. */
    struct dfuse_target at = *t;
    at.base = info.address;
    size_t flen = dfuse_file_len(info.size);
    uint8_t *out = malloc(flen);
    struct dfuse_info back;
    if (!out)
        abort();
    if (dfuse_file_write(out, f + info.offset, info.size, &at) != flen)
        violation("dfuse_file_write's length differs from dfuse_file_len");
    if (dfuse_file_read(out, flen, t, &back, msg, sizeof msg))
        violation("the element 0x%08x+%u rewritten is refused: %s", (unsigned)info.address,
                  (unsigned)info.size, msg);
    if (back.elements != 1 || back.address != info.address || back.size != info.size ||
        memcmp(out + back.offset, f + info.offset, info.size))
        violation("the element 0x%08x+%u rewritten reads back as %u elements, 0x%08x+%u",
                  (unsigned)info.address, (unsigned)info.size, back.elements,
                  (unsigned)back.address, (unsigned)back.size);
    free(out);
}

static void round_trip(const uint8_t *img, size_t len, uint8_t damage,
                       const struct dfuse_target *t)
{
    struct dfuse_info info;
    char msg[512] = "";
    size_t flen = dfuse_file_len(len);
    if (flen != DFUSE_MIN_FILE_LEN + len)
        violation("dfuse_file_len(%zu) = %zu", len, flen);
    uint8_t *f = malloc(flen);
    if (!f)
        abort();
    if (dfuse_file_write(f, img, len, t) != flen)
        violation("dfuse_file_write wrote a length other than dfuse_file_len");
#if FUZZ_BREAK
    if (len) { /* self-test: the harness changes a data byte and re-seals the file */
        f[DFUSE_PREFIX_LEN + DFUSE_TARGET_PREFIX_LEN + DFUSE_ELEMENT_HEADER_LEN] ^= 0x40;
        put_le32(f + flen - 4, ref_crc(f, flen - 4));
    }
#endif
    int rc = dfuse_file_read(f, flen, t, &info, msg, sizeof msg);
    bool fits = (uint64_t)t->base + len <= t->flash_end;
    if (!fits) {
        stat[ST_TOO_BIG]++;
        if (rc == 0 || !strstr(msg, "outside the application region"))
            violation("an image of %zu bytes at 0x%08x past the flash end 0x%08x: read %d (%s)",
                      len, (unsigned)t->base, (unsigned)t->flash_end, rc, msg);
        free(f);
        return;
    }
    if (rc)
        violation("a file just written (%zu-byte image) is refused: %s", len, msg);
    stat[ST_ROUND_TRIPS]++;
    if (info.elements != 1 || info.address != t->base || info.size != len ||
        info.offset != DFUSE_PREFIX_LEN + DFUSE_TARGET_PREFIX_LEN + DFUSE_ELEMENT_HEADER_LEN ||
        memcmp(f + info.offset, img, len))
        violation("round trip of a %zu-byte image: %u elements, 0x%08x+%u at offset %zu%s", len,
                  info.elements, (unsigned)info.address, (unsigned)info.size, info.offset,
                  info.size == len && memcmp(f + info.offset, img, len) ? ", data differ" : "");
    if (info.vid != t->vid || info.pid != t->pid || info.bcd_device != 0xFFFF ||
        info.crc != ref_crc(f, flen - 4))
        violation("round trip suffix: %04x:%04x bcdDevice %04x CRC 0x%08x (target %04x:%04x)",
                  info.vid, info.pid, info.bcd_device, (unsigned)info.crc, t->vid, t->pid);

    /* One byte changed: refused. The byte is chosen over the whole file,
     * its new value never equals the old. */
    damage &= 0x3Fu;
    size_t pos = ((size_t)damage * 2654435761u) % flen;
    uint8_t old = f[pos];
    f[pos] = (uint8_t)(old ^ (damage | 1u));
    if (dfuse_file_read(f, flen, t, &info, msg, sizeof msg) == 0)
        violation("byte %zu of a %zu-byte file changed 0x%02x -> 0x%02x and the reader "
                  "accepts it", pos, flen, old, f[pos]);
    f[pos] = old;
    /* Cut short (1..16 bytes): refused. */
    size_t cut = 1u + (damage & 15u);
    if (dfuse_file_read(f, flen - cut, t, &info, msg, sizeof msg) == 0)
        violation("the file without its last %zu bytes is accepted", cut);
    stat[ST_DAMAGE_REFUSED]++;
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tool_stats_init(stat_names, ST_COUNT, stat);
    if (size < 2)
        return 0;
    struct dfuse_target t;
    uint8_t cfg = data[0], damage = data[1];
    t.vid = ids_table[cfg & 3u][0];
    t.pid = ids_table[cfg & 3u][1];
    t.base = base_table[(cfg >> 2) & 7u];
    t.flash_end = STAMP_FLASH_START + kib_table[cfg >> 5] * 1024u;
    data += 2, size -= 2;
    stat[ST_INPUTS]++;

    /* A heap block of exactly the file, so a read past it is reported. */
    uint8_t *f = malloc(size ? size : 1);
    if (!f)
        abort();
    memcpy(f, data, size);
    if ((damage & 0xC0) == 0xC0 && size >= DFUSE_MIN_FILE_LEN) {
        put_le32(f + 6, (uint32_t)size);
        put_le32(f + DFUSE_PREFIX_LEN + 266,
                 (uint32_t)(size - DFUSE_SUFFIX_LEN - DFUSE_PREFIX_LEN - DFUSE_TARGET_PREFIX_LEN));
    }
    if ((damage & 0x80) && size >= 4) {
        put_le32(f + size - 4, ref_crc(f, size - 4));
        stat[ST_SEALED]++;
    }
    read_input(f, size, &t);
    round_trip(f, size, damage, &t);
    free(f);
    return 0;
}
