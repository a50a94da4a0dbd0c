/*
 * make_corpus.c - writes the seed corpus (tests/fuzz/corpus/): realistic
 * dfu-util / lsusb sessions in the fuzz input encoding of fuzz_ops.h, so
 * the fuzzer starts from the deep states instead of discovering DfuSe.
 *
 *   make_corpus DIR      writes DIR/<name> for every session below
 *
 * short.sh regenerates the corpus and compares it with the committed one,
 * so a change of the encoding cannot leave stale seeds behind.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_ops.h"

static uint8_t buf[4096];
static unsigned len;
static uint32_t app_base, page;

static void b(unsigned v)
{
    if (len == sizeof buf)
        abort();
    buf[len++] = (uint8_t)v;
}

static void op(unsigned o, unsigned flags)
{
    b(o | flags << 5);
}

static void begin(unsigned kib_i, unsigned base_i, unsigned fill)
{
    len = 0;
    b(MAKE_CFG(kib_i, base_i, fill));
    app_base = fuzz_app_base[base_i];
    page = fuzz_kib[kib_i] > 128 ? 2048 : 1024;
}

static void save(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* A DfuSe command with its address given raw, then the two GETSTATUS. */
static void cmd_at(unsigned cmd_sel, uint32_t addr)
{
    op(OP_CMD, FL_STATUSES);
    b(cmd_sel);
    b(SEL_ADDR_RAW);
    for (int i = 0; i < 4; i++)
        b(addr >> (8 * i));
}

static void cmd_sel(unsigned cmd_sel, unsigned addr_sel)
{
    op(OP_CMD, FL_STATUSES);
    b(cmd_sel);
    b(addr_sel);
}

static void block(unsigned block_sel, unsigned len_sel, unsigned pattern)
{
    op(OP_BLOCK, FL_STATUSES);
    b(block_sel);
    b(len_sel);
    b(pattern);
}

static void std(unsigned sel, unsigned wlen_sel)
{
    op(OP_STD, 0);
    b(sel);
    b(wlen_sel);
}

static void getstatus(void)
{
    op(OP_GETSTATUS, 0);
}

/* dfu-util -l: descriptors and strings with wLength 255. */
static void probe(void)
{
    op(OP_RESET, 0);
    std(0, 2);  /* device, 18 */
    std(8, 0);  /* SET_ADDRESS */
    b(5);
    std(0, 2);
    std(1, 3);  /* configuration header, 9 */
    std(1, 0);  /* all of it, 255 */
    std(2, 0);  /* LANGIDs */
    std(5, 0);  /* serial */
    std(6, 0);  /* layout */
    std(7, 0);  /* BOS */
    std(12, 0); /* MS OS 2.0 */
    std(13, 0); /* WebUSB URL */
    std(9, 0);  /* SET_CONFIGURATION 1 */
}

/* dfu-util -s APP_BASE[:leave] -D img: erase pass, then pointer + block
 * for each 1 KiB, ABORT, GETSTATUS, then the leave. */
static void download_erase_first(unsigned kib, unsigned pattern, int leave)
{
    op(OP_SET_INTF, 0);
    getstatus();
    for (uint32_t a = app_base; a < app_base + kib * 1024; a += page)
        cmd_at(1, a);
    for (unsigned i = 0; i < kib; i++) {
        cmd_at(0, app_base + i * 1024);
        block(0, 0, pattern);
    }
    op(OP_ABORT, 0);
    getstatus();
    if (leave) {
        cmd_at(0, app_base);
        op(OP_LEAVE, 0);
        getstatus();
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    const char *d = argv[1];

    begin(0, 0, FILL_IMAGE); /* blue pill, 64 KiB, default APP_BASE */
    probe();
    save(d, "01-list");

    begin(0, 0, FILL_IMAGE);
    probe();
    download_erase_first(3, 1, 1);
    save(d, "02-download-3-blocks-leave");

    begin(2, 1, FILL_STRIPES); /* 256 KiB, 2 KiB pages, APP_BASE 0x08001000 */
    download_erase_first(5, 1, 1);
    save(d, "03-download-256k-app1000");

    begin(1, 2, FILL_ERASED); /* 128 KiB, APP_BASE 0x08008000 */
    download_erase_first(2, 7, 0);
    save(d, "04-download-128k-app8000");

    begin(0, 0, FILL_SPARSE); /* dfu-util -s APP_BASE:3000 -U */
    op(OP_SET_INTF, 0);
    getstatus();
    cmd_at(0, app_base);
    op(OP_ABORT, 0);
    op(OP_UPLOAD, 0); b(0); b(0);
    op(OP_UPLOAD, 0); b(1); b(0);
    op(OP_UPLOAD, 0); b(2); b(0);
    op(OP_UPLOAD, 0); b(8); b(0); /* block 0: the command list */
    op(OP_ABORT, 0);
    cmd_at(0, 0x08000000); /* read back the bootloader itself */
    op(OP_UPLOAD, 0); b(0); b(3);
    save(d, "05-upload");

    begin(1, 0, FILL_IMAGE); /* :mass-erase:force, then a download */
    op(OP_SET_INTF, 0);
    getstatus();
    cmd_sel(CMD_MASS, 0);
    getstatus();
    download_erase_first(1, 0x5A, 0);
    save(d, "06-mass-erase");

    begin(0, 0, FILL_IMAGE); /* refused commands, each cleared */
    op(OP_SET_INTF, 0);
    cmd_sel(1, SEL_FLASH_BASE);
    op(OP_CLRSTATUS, 0);
    cmd_sel(1, SEL_APP_BASE_MINUS_1);
    op(OP_CLRSTATUS, 0);
    cmd_sel(1, SEL_END);
    op(OP_CLRSTATUS, 0);
    cmd_sel(1, SEL_ALL_ONES);
    op(OP_CLRSTATUS, 0);
    cmd_sel(0, SEL_END_MINUS_1);
    block(0, 0, 1); /* crosses the end of flash */
    op(OP_CLRSTATUS, 0);
    cmd_sel(0, SEL_APP_BASE_MINUS_PAGE);
    block(0, 0, 1); /* into the bootloader */
    op(OP_CLRSTATUS, 0);
    cmd_sel(0, SEL_APP_BASE_PLUS_1);
    block(0, 6, 3); /* odd address */
    op(OP_CLRSTATUS, 0);
    cmd_sel(CMD_UNPROTECT, 0);
    op(OP_CLRSTATUS, 0);
    cmd_sel(CMD_RAW, 0); /* 0xFF-ish raw command */
    op(OP_CLRSTATUS, 0);
    save(d, "07-refused-commands");

    begin(0, 0, FILL_IMAGE); /* requests in the wrong state */
    getstatus();
    op(OP_CLRSTATUS, 0);
    op(OP_ABORT, 0);
    block(1, 0, 1); /* a block with no pointer set: APP_BASE + 1 KiB */
    op(OP_UPLOAD, 0); b(0); b(0);
    block(9, 0, 1); /* block 1 is reserved */
    op(OP_CLRSTATUS, 0);
    block(0, 12, 1); /* 2048 > wTransferSize */
    op(OP_CLRSTATUS, 0);
    op(OP_LEAVE, 0);
    getstatus();
    op(OP_GETSTATE, 0);
    op(OP_DETACH, 0);
    save(d, "08-wrong-state");

    begin(0, 0, FILL_IMAGE); /* raw packets: short, long, extra, early end */
    {
        const uint8_t dn5[8] = {0x21, 1, 0, 0, 0, 0, 5, 0};
        op(OP_SETUP, 0);
        for (int i = 0; i < 8; i++) b(dn5[i]);
        op(OP_OUT, 0); b(3); b(0x41); b(0x00); b(0x20); /* short packet */
        op(OP_SETUP, 0);
        for (int i = 0; i < 8; i++) b(dn5[i]);
        op(OP_OUT, 0); b(9); b(0x41); b(0x00); b(0x24); b(0x00); b(0x08); b(1); b(2); b(3); b(4);
        op(OP_IN, 0);
        op(OP_OUT, 0); b(4); b(1); b(2); b(3); b(4); /* extra packet */
        op(OP_FINISH, 0);
        getstatus();
        getstatus();
        const uint8_t gd[8] = {0x80, 6, 0, 1, 0, 0, 64, 0};
        op(OP_SETUP, 0);
        for (int i = 0; i < 8; i++) b(gd[i]);
        op(OP_OUT, 0); b(0); /* the host ends the data stage at once */
        op(OP_IN, 0);
        op(OP_SETUP_ODD, 0); b(6); b(0x80); b(6); b(0); b(1); b(0); b(0);
        op(OP_IN, 0);
        const uint8_t dn1k[8] = {0x21, 1, 2, 0, 0, 0, 0, 4};
        op(OP_SETUP, 0);
        for (int i = 0; i < 8; i++) b(dn1k[i]);
        for (int p = 0; p < 17; p++) { /* 16 packets of 64 and one too many */
            op(OP_OUT, 0); b(64);
            for (int i = 0; i < 64; i++) b(p * 64 + i);
        }
        op(OP_IN, 0);
        getstatus();
        getstatus();
    }
    save(d, "09-raw-packets");

    begin(2, 0, FILL_IMAGE); /* the session dropped mid-way, then redone */
    download_erase_first(2, 1, 0);
    cmd_at(1, app_base + page);
    op(OP_RESET, 0);
    cmd_at(0, app_base);
    block(0, 0, 1);
    op(OP_SET_INTF, 0);
    getstatus();
    download_erase_first(1, 1, 1);
    save(d, "10-reset-mid-session");

    begin(0, 0, FILL_ERASED); /* the flash fails in each way */
    op(OP_FAULT, 0); b(FAULT_WRPRT);
    cmd_at(1, app_base + page);
    op(OP_CLRSTATUS, 0);
    op(OP_FAULT, 0); b(FAULT_ERASE_SHORT);
    cmd_at(1, app_base + page);
    op(OP_CLRSTATUS, 0);
    op(OP_FAULT, 0); b(FAULT_PGERR);
    cmd_at(0, app_base + page);
    block(0, 0, 2);
    op(OP_CLRSTATUS, 0);
    op(OP_FAULT, 0); b(FAULT_STUCK_BIT);
    block(0, 0, 0x80);
    op(OP_CLRSTATUS, 0);
    op(OP_FAULT, 0); b(FAULT_WRPRT);
    cmd_at(0, app_base);
    block(0, 0, 1);
    op(OP_ABORT, 0); /* commit of the held vectors fails */
    getstatus();
    save(d, "11-flash-faults");

    begin(6, 0, FILL_IMAGE); /* 512 KiB: the last page, then leave */
    cmd_sel(1, SEL_END_MINUS_PAGE);
    cmd_sel(0, SEL_END_MINUS_1024);
    block(0, 0, 1);
    cmd_sel(0, SEL_END_MINUS_1024);
    op(OP_UPLOAD, 0); b(0); b(0);
    op(OP_UPLOAD, 0); b(1); b(0); /* past the end */
    op(OP_CLRSTATUS, 0);
    op(OP_LEAVE, 0);
    getstatus();
    op(OP_GETSTATE, 0);
    save(d, "12-end-of-flash");
    return 0;
}
