/*
 * dfuboot-stamp - checks an application binary for the dfuboot bootloader and
 * records its length and CRC-32 in vector-table words 7..10
 * (common/dfuboot_abi.h). The bootloader starts a stamped image only if the
 * CRC matches, so an interrupted update never runs.
 *
 * Exit status: 0 done (or --check: stamp valid), 1 --check: stamp missing or
 * wrong, 2 refused or usage/file error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfuboot_abi.h"
#include "dfuse_file.h"
#include "stamp.h"

#define MAX_IMAGE (1024u * 1024u + 4u) /* largest F103 flash, plus padding */
#define MAX_DFU_FILE (MAX_IMAGE + DFUSE_MIN_FILE_LEN)

static const char usage[] =
    "usage: dfuboot-stamp [--base ADDR] [--flash-size BYTES] [-o OUT] [--dfu OUT.dfu]\n"
    "                     [--vid ID --pid ID] IMAGE.bin\n"
    "       dfuboot-stamp --check IMAGE.bin\n"
    "       dfuboot-stamp --check-dfu [--base ADDR] [--flash-size BYTES]\n"
    "                     [--vid ID --pid ID] FILE.dfu\n"
    "Stamps a raw application binary for the dfuboot bootloader: pads it with\n"
    "0xFF to a multiple of 4 and writes magic, length and CRC-32 into the\n"
    "reserved vector-table words 7..10. Without -o or --dfu the file is stamped\n"
    "in place.\n"
    "  --base ADDR        where the image goes: the bootloader's APP_BASE\n"
    "                     (default 0x08002000)\n"
    "  --flash-size BYTES the chip's flash size, counted from 0x08000000; K and M\n"
    "                     suffixes allowed (default 1M, the largest F103)\n"
    "  -o OUT             write the stamped image to OUT\n"
    "  --dfu OUT.dfu      also write the stamped image as an ST DfuSe file: one\n"
    "                     target for alt 0, one element at --base, DFU suffix\n"
    "                     with --vid/--pid; dfu-util -a 0 -D OUT.dfu needs no -s\n"
    "  --vid ID, --pid ID the bootloader's USB IDs (default 0x0483, 0xDF11)\n"
    "  --check            verify the stamp of IMAGE (a read-back of the whole\n"
    "                     region is fine: only the stamped length is checked)\n"
    "  --check-dfu        verify a DfuSe file: suffix CRC, USB IDs, one target for\n"
    "                     alt 0, elements inside the application region, and the\n"
    "                     stamp of the image at --base if it has one\n"
    "Exit status: 0 done/valid, 1 --check/--check-dfu found it invalid, 2 refused.\n";

static int parse_number(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (end == s || errno)
        return -1;
    if (*end == 'K' || *end == 'k') {
        v *= 1024;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1024 * 1024;
        end++;
    }
    if (*end || v > 0xFFFFFFFFull)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Reads the whole file (at most max bytes) into a buffer with room for
 * padding. */
static uint8_t *read_file(const char *path, size_t *len, size_t max, const char *too_big)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;
    if (!f) {
        fprintf(stderr, "dfuboot-stamp: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "dfuboot-stamp: out of memory\n");
        return NULL;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f) || n > max) {
        fprintf(stderr, "dfuboot-stamp: %s: %s\n", path, ferror(f) ? strerror(errno) : too_big);
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Writes through a temporary file and a rename, so a failed write never
 * leaves a half-stamped image behind. */
static int write_image(const char *path, const uint8_t *buf, size_t len)
{
    size_t tlen = strlen(path) + 16;
    char *tmp = malloc(tlen);
    FILE *f;
    int ok;
    if (!tmp)
        return -1;
    snprintf(tmp, tlen, "%s.stamp-tmp", path);
    f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "dfuboot-stamp: cannot create %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    ok = fwrite(buf, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "dfuboot-stamp: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

static int parse_id(const char *opt, const char *s, uint16_t *out)
{
    uint32_t v;
    if (parse_number(s, &v) || v > 0xFFFFu) {
        fprintf(stderr, "dfuboot-stamp: %s %s is not a 16-bit USB ID, e.g. 0x0483\n", opt, s);
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

/* --check-dfu: exit 0 valid, 1 invalid, 2 unreadable. */
static int check_dfu(const char *path, const struct dfuse_target *t)
{
    struct dfuse_info info;
    struct stamp_result res;
    char msg[512];
    size_t len;
    uint8_t *buf = read_file(path, &len, MAX_DFU_FILE, "larger than any DfuSe file for an "
                             "STM32F103 (1 MiB of flash)");
    if (!buf)
        return 2;
    if (dfuse_file_read(buf, len, t, &info, msg, sizeof msg)) {
        fprintf(stderr, "dfuboot-stamp: %s: %s\n", path, msg);
        free(buf);
        return 1;
    }
    printf("dfuboot-stamp: %s: DfuSe file for %04x:%04x, alt 0, %u element%s, 0x%08x..0x%08x",
           path, (unsigned)info.vid, (unsigned)info.pid, info.elements,
           info.elements == 1 ? "" : "s", (unsigned)info.address,
           (unsigned)(info.address + info.size));
    /* An image at APP_BASE that carries a stamp must match it: the
     * bootloader would refuse to start it. Unstamped ones start anyway
     * (unless the bootloader is STRICT), so they only get a note. */
    if (info.address == t->base && info.size >= STAMP_VECTOR_BYTES &&
        stamp_get32(buf + info.offset, DFUBOOT_STAMP_WORD_MAGIC) == DFUBOOT_STAMP_MAGIC) {
        if (stamp_verify(buf + info.offset, info.size, &res, msg, sizeof msg)) {
            printf("\n");
            fprintf(stderr, "dfuboot-stamp: %s: the image at 0x%08x: %s\n", path,
                    (unsigned)t->base, msg);
            free(buf);
            return 1;
        }
        printf(", stamp OK (%u bytes, CRC-32 0x%08x)\n", (unsigned)res.length, (unsigned)res.crc);
    } else {
        printf(", not stamped\n");
    }
    free(buf);
    return 0;
}

static int write_dfu(const char *path, const uint8_t *image, size_t len,
                     const struct dfuse_target *t)
{
    size_t flen = dfuse_file_len(len);
    uint8_t *out = malloc(flen);
    int rc;
    if (!out) {
        fprintf(stderr, "dfuboot-stamp: out of memory\n");
        return -1;
    }
    dfuse_file_write(out, image, len, t);
    rc = write_image(path, out, flen);
    free(out);
    if (!rc)
        printf("dfuboot-stamp: %s: DfuSe file, %zu bytes: alt 0 \"%s\", element at 0x%08x, "
               "%zu bytes; suffix %04x:%04x, bcdDFU 0x%04x\n", path, flen, DFUSE_TARGET_NAME,
               (unsigned)t->base, len, (unsigned)t->vid, (unsigned)t->pid, DFUSE_BCD_DFU);
    return rc;
}

int main(int argc, char **argv)
{
    struct stamp_layout lay = {0x08002000u, STAMP_FLASH_SIZE_DEFAULT};
    struct stamp_result res = {0};
    struct dfuse_target target = {0x0483, 0xDF11, 0, 0};
    const char *in = NULL, *out = NULL, *dfu_out = NULL;
    int check = 0, check_dfu_file = 0;
    char msg[512];
    uint8_t *buf;
    size_t len;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--base") && has_value) {
            if (parse_number(argv[++i], &lay.base)) {
                fprintf(stderr, "dfuboot-stamp: --base %s is not a number, e.g. 0x08002000\n",
                        argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--flash-size") && has_value) {
            if (parse_number(argv[++i], &lay.flash_size)) {
                fprintf(stderr, "dfuboot-stamp: --flash-size %s is not a size, e.g. 65536 or "
                        "64K\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--vid") && has_value) {
            if (parse_id(a, argv[++i], &target.vid))
                return 2;
        } else if (!strcmp(a, "--pid") && has_value) {
            if (parse_id(a, argv[++i], &target.pid))
                return 2;
        } else if (!strcmp(a, "-o") && has_value) {
            out = argv[++i];
        } else if (!strcmp(a, "--dfu") && has_value) {
            dfu_out = argv[++i];
        } else if (!strcmp(a, "--check")) {
            check = 1;
        } else if (!strcmp(a, "--check-dfu")) {
            check_dfu_file = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (a[0] == '-' || in) {
            fprintf(stderr, "dfuboot-stamp: unexpected argument '%s'\n%s", a, usage);
            return 2;
        } else {
            in = a;
        }
    }
    if (!in) {
        fputs(usage, stderr);
        return 2;
    }
    target.base = lay.base;
    target.flash_end = STAMP_FLASH_START + lay.flash_size;

    if (check_dfu_file) {
        if (stamp_check_layout(&lay, msg, sizeof msg)) {
            fprintf(stderr, "dfuboot-stamp: %s\n", msg);
            return 2;
        }
        return check_dfu(in, &target);
    }

    buf = read_file(in, &len, MAX_IMAGE - 4, "larger than any STM32F103 flash (1 MiB)");
    if (!buf)
        return 2;

    if (check) {
        int bad = stamp_verify(buf, len, &res, msg, sizeof msg);
        free(buf);
        if (bad) {
            fprintf(stderr, "dfuboot-stamp: %s: %s\n", in, msg);
            return 1;
        }
        printf("dfuboot-stamp: %s: stamp OK, %u bytes, CRC-32 0x%08x\n", in,
               (unsigned)res.length, (unsigned)res.crc);
        return 0;
    }

    if (stamp_image(buf, &len, MAX_IMAGE, &lay, &res, msg, sizeof msg)) {
        fprintf(stderr, "dfuboot-stamp: %s: refused: %s\n", in, msg);
        free(buf);
        return 2;
    }
    /* --dfu alone leaves the input as it is. */
    if (!out && !dfu_out)
        out = in;
    if ((out && write_image(out, buf, len)) || (dfu_out && write_dfu(dfu_out, buf, len, &target))) {
        free(buf);
        return 2;
    }
    free(buf);
    printf("dfuboot-stamp: %s: %u bytes at 0x%08x..0x%08x (%u bytes of 0xFF padding), "
           "CRC-32 0x%08x%s\n", out ? out : dfu_out, (unsigned)res.length, (unsigned)lay.base,
           (unsigned)(lay.base + res.length), (unsigned)res.padding, (unsigned)res.crc,
           res.restamped ? ", replaced an earlier stamp"
           : res.replaced_handlers ? ", replaced handler addresses in the reserved words 7..10"
                                   : "");
    return 0;
}
