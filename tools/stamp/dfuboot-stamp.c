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

#include "stamp.h"

#define MAX_IMAGE (1024u * 1024u + 4u) /* largest F103 flash, plus padding */

static const char usage[] =
    "usage: dfuboot-stamp [--base ADDR] [--flash-size BYTES] [-o OUT] IMAGE.bin\n"
    "       dfuboot-stamp --check IMAGE.bin\n"
    "Stamps a raw application binary for the dfuboot bootloader: pads it with\n"
    "0xFF to a multiple of 4 and writes magic, length and CRC-32 into the\n"
    "reserved vector-table words 7..10. Without -o the file is stamped in place.\n"
    "  --base ADDR        where the image goes: the bootloader's APP_BASE\n"
    "                     (default 0x08002000)\n"
    "  --flash-size BYTES the chip's flash size, counted from 0x08000000; K and M\n"
    "                     suffixes allowed (default 1M, the largest F103)\n"
    "  -o OUT             write the stamped image to OUT\n"
    "  --check            verify the stamp of IMAGE (a read-back of the whole\n"
    "                     region is fine: only the stamped length is checked)\n"
    "Exit status: 0 done/valid, 1 --check found no valid stamp, 2 refused.\n";

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

/* Reads the whole file into a buffer with room for padding. */
static uint8_t *read_image(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;
    if (!f) {
        fprintf(stderr, "dfuboot-stamp: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = malloc(MAX_IMAGE + 1);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "dfuboot-stamp: out of memory\n");
        return NULL;
    }
    n = fread(buf, 1, MAX_IMAGE + 1, f);
    if (ferror(f) || n > MAX_IMAGE - 4) {
        fprintf(stderr, "dfuboot-stamp: %s: %s\n", path,
                ferror(f) ? strerror(errno) : "larger than any STM32F103 flash (1 MiB)");
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

int main(int argc, char **argv)
{
    struct stamp_layout lay = {0x08002000u, STAMP_FLASH_SIZE_DEFAULT};
    struct stamp_result res = {0};
    const char *in = NULL, *out = NULL;
    int check = 0;
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
        } else if (!strcmp(a, "-o") && has_value) {
            out = argv[++i];
        } else if (!strcmp(a, "--check")) {
            check = 1;
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
    buf = read_image(in, &len);
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
    if (!out)
        out = in;
    if (write_image(out, buf, len)) {
        free(buf);
        return 2;
    }
    free(buf);
    printf("dfuboot-stamp: %s: %u bytes at 0x%08x..0x%08x (%u bytes of 0xFF padding), "
           "CRC-32 0x%08x%s\n", out, (unsigned)res.length, (unsigned)lay.base,
           (unsigned)(lay.base + res.length), (unsigned)res.padding, (unsigned)res.crc,
           res.restamped ? ", replaced an earlier stamp"
           : res.replaced_handlers ? ", replaced handler addresses in the reserved words 7..10"
                                   : "");
    return 0;
}
