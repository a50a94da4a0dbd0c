/*
 * test_stamp.c - dfuboot-stamp: stamping, every refusal and its message, the
 * command line, the kit header's constants, and the real blinky images.
 *
 * Usage (make test passes these):
 *   test_stamp STAMP_TOOL BLINKY_DIR...
 * BLINKY_DIRs are named as app/app.mk names them (see dir_base()).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crc32_stm32.h"
#include "dfuboot_abi.h"
#include "dfuboot_app.h"
#include "stamp.h"
#include "testing.h"

static const char *stamp_tool;
static char **blinky_dirs;
static int n_blinky_dirs;

static const struct stamp_layout lay_default = {0x08002000u, 64 * 1024};


/* A plausible image of len bytes linked at link: vector table with handlers
 * just after it, words 7..10 and 13 zero, body a byte pattern. */
static void make_image(uint8_t *img, size_t len, uint32_t link)
{
    for (size_t i = 0; i < len; i++)
        img[i] = (uint8_t)(i * 7 + 3);
    stamp_put32(img, 0, 0x20005000u);
    for (unsigned w = 1; w < 16; w++)
        stamp_put32(img, w, link + 0x40u + 4u * w + 1u);
    for (unsigned w = 7; w <= 10; w++)
        stamp_put32(img, w, 0);
    stamp_put32(img, 13, 0);
}

/* Stamps a copy; returns stamp_image's result, message in msg. */
static int try_stamp(uint8_t *img, size_t *len, const struct stamp_layout *lay, char *msg,
                     size_t msgsize)
{
    struct stamp_result res;
    msg[0] = 0;
    return stamp_image(img, len, *len + 4, lay, &res, msg, msgsize);
}

#define CHECK_HAS(msg, part) CHECK(strstr(msg, part) != NULL, "message \"%s\" lacks \"%s\"", msg, part)

TEST(stamp_then_verify)
{
    uint8_t img[512 + 4];
    size_t len = 512;
    struct stamp_result res, chk;
    char msg[512];
    make_image(img, len, 0x08002000u);
    int rc = stamp_image(img, &len, sizeof img, &lay_default, &res, msg, sizeof msg);
    CHECK(rc == 0, "refused: %s", msg);
    CHECK_EQ(len, 512);
    CHECK_EQ(res.length, 512);
    CHECK_EQ(res.padding, 0);
    CHECK_EQ(res.restamped, 0);
    CHECK_EQ(stamp_get32(img, 7), DFUBOOT_STAMP_MAGIC);
    CHECK(memcmp(img + 28, "DFUB", 4) == 0, "magic bytes are not \"DFUB\"");
    CHECK_EQ(stamp_get32(img, 8), 512);
    CHECK_EQ(stamp_get32(img, 9), crc32_stm32_image(img, 512));
    CHECK_EQ(stamp_get32(img, 10), ~stamp_get32(img, 9));
    CHECK_EQ(res.crc, stamp_get32(img, 9));
    rc = stamp_verify(img, len, &chk, msg, sizeof msg);
    CHECK(rc == 0, "verify failed: %s", msg);
    CHECK_EQ(chk.crc, res.crc);
}

TEST(pads_to_multiple_of_4_with_ff)
{
    uint8_t img[201 + 8];
    size_t len = 201;
    struct stamp_result res;
    char msg[512];
    make_image(img, len, 0x08002000u);
    memset(img + 201, 0x5A, 8); /* what lies behind must be overwritten */
    int rc = stamp_image(img, &len, sizeof img, &lay_default, &res, msg, sizeof msg);
    CHECK(rc == 0, "refused: %s", msg);
    CHECK_EQ(len, 204);
    CHECK_EQ(res.padding, 3);
    CHECK_EQ(stamp_get32(img, 8), 204);
    CHECK(img[201] == 0xFF && img[202] == 0xFF && img[203] == 0xFF, "padding %02x %02x %02x",
          img[201], img[202], img[203]);
    CHECK(stamp_verify(img, len, &res, msg, sizeof msg) == 0, "verify: %s", msg);
}

TEST(restamp_is_idempotent)
{
    uint8_t a[301 + 4], b[301 + 4];
    size_t la = 301, lb;
    struct stamp_result res;
    char msg[512];
    make_image(a, la, 0x08002000u);
    CHECK(stamp_image(a, &la, sizeof a, &lay_default, &res, msg, sizeof msg) == 0, "%s", msg);
    memcpy(b, a, la);
    lb = la;
    CHECK(stamp_image(b, &lb, sizeof b, &lay_default, &res, msg, sizeof msg) == 0,
          "restamp refused: %s", msg);
    CHECK_EQ(res.restamped, 1);
    CHECK_EQ(lb, la);
    CHECK(memcmp(a, b, la) == 0, "restamped image differs");
}

TEST(erased_stamp_words_accepted)
{
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x08002000u);
    for (unsigned w = 7; w <= 10; w++)
        stamp_put32(img, w, 0xFFFFFFFFu);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) == 0, "refused: %s", msg);
}

TEST(refuses_image_linked_for_0x08000000)
{
    uint8_t img[256 + 4], copy[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x08000000u);
    memcpy(copy, img, sizeof img);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "reset handler 0x08000045 is below the application base 0x08002000");
    CHECK_HAS(msg, "the image is linked for 0x08000000");
    CHECK_HAS(msg, "set the linker FLASH ORIGIN to 0x08002000");
    CHECK_HAS(msg, "VECT_TAB_OFFSET to 0x2000");
    CHECK(memcmp(img, copy, sizeof img) == 0, "refused image was modified");
}

TEST(names_0x08000000_for_large_image_with_handlers_far_in)
{
    /* CubeMX-style: the handlers sit kilobytes into the code, not right
     * after the table; the image is still recognised as linked at 0. */
    static uint8_t img[16 * 1024 + 4];
    size_t len = 16 * 1024;
    char msg[512];
    make_image(img, len, 0x08000000u);
    for (unsigned w = 1; w < 16; w++)
        if (stamp_get32(img, w))
            stamp_put32(img, w, 0x08001235u + 0x200u * w);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "reset handler 0x08001435 is below the application base 0x08002000: "
                   "the image is linked for 0x08000000;");
}

TEST(refuses_image_linked_for_boot_alias)
{
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x00000000u);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "linked for 0x00000000");
}

TEST(refuses_image_linked_for_higher_base)
{
    /* Linked for the how-to's 0x08008000 but stamped for 0x08002000: the
     * handlers are inside the flash, but beyond this image. */
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x08008000u);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "beyond the end of the image");
    CHECK_HAS(msg, "--base 0x08008000");
}

TEST(refuses_other_vector_outside_image)
{
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x08002000u);
    stamp_put32(img, 15, 0x08000201u); /* SysTick left at the old address */
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "SysTick handler 0x08000201 is below the application base");
}

TEST(refuses_vector_without_thumb_bit)
{
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x08002000u);
    stamp_put32(img, 3, 0x08002080u);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "HardFault handler 0x08002080 has bit 0 clear");
}

TEST(refuses_zero_reset_vector)
{
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x08002000u);
    stamp_put32(img, 1, 0);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "reset vector (word 1) is 0");
}

TEST(stack_pointer_must_be_in_sram)
{
    static const uint32_t bad[] = {0x20000000u, 0x20010004u, 0x08002000u, 0, 0xFFFFFFFFu};
    static const uint32_t good[] = {0x20000004u, 0x20005000u, 0x20010000u};
    char msg[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t img[256 + 4];
        size_t len = 256;
        make_image(img, len, 0x08002000u);
        stamp_put32(img, 0, bad[i]);
        CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "SP 0x%08x accepted",
              bad[i]);
        CHECK_HAS(msg, "initial stack pointer");
        CHECK_HAS(msg, "is not in SRAM");
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t img[256 + 4];
        size_t len = 256;
        make_image(img, len, 0x08002000u);
        stamp_put32(img, 0, good[i]);
        CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) == 0,
              "SP 0x%08x refused: %s", good[i], msg);
    }
}

TEST(refuses_image_larger_than_flash)
{
    /* 64 KiB chip, base 0x08002000: 56 KiB fit, one more word does not. */
    size_t fit = 56 * 1024;
    uint8_t *img = malloc(fit + 8);
    size_t len = fit;
    char msg[512];
    make_image(img, fit + 4, 0x08002000u);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) == 0, "exact fit refused: %s",
          msg);
    make_image(img, fit + 4, 0x08002000u);
    len = fit + 1; /* padded to fit + 4 */
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "too large accepted");
    CHECK_HAS(msg, "the application region 0x08002000..0x08010000 holds 57344");
    free(img);
}

TEST(refuses_garbage_in_words_7_to_10)
{
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    make_image(img, len, 0x08002000u);
    stamp_put32(img, 8, 0x12345678u);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "accepted");
    CHECK_HAS(msg, "words 7..10 (offsets 0x1C..0x2B) hold 0x00000000 0x12345678");
    CHECK_HAS(msg, "must be 0, 0xFFFFFFFF, handler addresses or an earlier stamp");
    /* A Thumb address outside the image is not a handler of this image. */
    make_image(img, len, 0x08002000u);
    stamp_put32(img, 9, 0x08000101u);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "outside address accepted");
    CHECK_HAS(msg, "words 7..10");
}

TEST(accepts_handler_addresses_in_words_7_to_10)
{
    /* libmaple (Roger Clark core) puts a default handler in the reserved
     * vectors; the Cortex-M3 never uses them, so the stamp may replace them. */
    uint8_t img[256 + 4];
    size_t len = 256;
    struct stamp_result res;
    char msg[512];
    make_image(img, len, 0x08002000u);
    for (unsigned w = 7; w <= 10; w++)
        stamp_put32(img, w, 0x08002081u);
    CHECK(stamp_image(img, &len, sizeof img, &lay_default, &res, msg, sizeof msg) == 0,
          "refused: %s", msg);
    CHECK_EQ(res.replaced_handlers, 1);
    CHECK(stamp_verify(img, len, &res, msg, sizeof msg) == 0, "verify: %s", msg);
}

TEST(refuses_short_image_elf_and_hex)
{
    uint8_t img[256 + 4];
    size_t len = 60;
    char msg[512];
    make_image(img, 256, 0x08002000u);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "short image accepted");
    CHECK_HAS(msg, "shorter than the 64-byte Cortex-M3 vector table");
    len = 256;
    memcpy(img, "\x7f" "ELF", 4);
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "ELF accepted");
    CHECK_HAS(msg, "objcopy -O binary");
    img[0] = ':';
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) != 0, "HEX accepted");
    CHECK_HAS(msg, "Intel HEX");
}

TEST(refuses_bad_layout)
{
    uint8_t img[256 + 4];
    size_t len = 256;
    char msg[512];
    struct stamp_layout odd = {0x08002100u, 64 * 1024}, out = {0x08010000u, 64 * 1024};
    make_image(img, len, 0x08002100u);
    CHECK(try_stamp(img, &len, &odd, msg, sizeof msg) != 0, "misaligned base accepted");
    CHECK_HAS(msg, "not a multiple of 0x200");
    CHECK(try_stamp(img, &len, &out, msg, sizeof msg) != 0, "base past the flash accepted");
    CHECK_HAS(msg, "outside the flash");
}

TEST(verify_finds_changes_and_accepts_readback)
{
    uint8_t img[1024];
    size_t len = 256;
    struct stamp_result res;
    char msg[512];
    make_image(img, len, 0x08002000u);
    CHECK(stamp_verify(img, len, &res, msg, sizeof msg) != 0, "unstamped image verified");
    CHECK_HAS(msg, "not stamped");
    CHECK(try_stamp(img, &len, &lay_default, msg, sizeof msg) == 0, "%s", msg);
    /* A read-back of the whole region: erased flash after the image. */
    memset(img + 256, 0xFF, sizeof img - 256);
    CHECK(stamp_verify(img, sizeof img, &res, msg, sizeof msg) == 0, "read-back: %s", msg);
    CHECK_EQ(res.length, 256);
    for (size_t bit = 0; bit < 256 * 8; bit += 37) {
        if (bit / 8 >= 28 && bit / 8 < 44)
            continue; /* the stamp words themselves: checked below */
        img[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = stamp_verify(img, 256, &res, msg, sizeof msg);
        img[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK(rc != 0, "bit %zu flipped, still verified", bit);
    }
    stamp_put32(img, 10, stamp_get32(img, 10) ^ 1);
    CHECK(stamp_verify(img, 256, &res, msg, sizeof msg) != 0, "bad complement verified");
    stamp_put32(img, 10, stamp_get32(img, 10) ^ 1);
    stamp_put32(img, 8, 2048);
    CHECK(stamp_verify(img, 1024, &res, msg, sizeof msg) != 0, "length past file verified");
}

TEST(kit_header_matches_abi)
{
    CHECK_EQ(DFUBOOT_APP_BKP_MAGIC, DFUBOOT_BKP_MAGIC);
    /* BKP at 0x40006C00 (notes/stm32f103.md), DR1 at +4 per the ABI. */
    CHECK_EQ(DFUBOOT_APP_BKP_DR1, 0x40006C00u + 4u * DFUBOOT_BKP_DR_INDEX);
    /* dfuboot_detach_and_reboot(): RM0008 7.3 "RCC register map" (RCC at
     * 0x40021000: APB1RSTR offset 0x10, APB2ENR 0x18, APB1ENR 0x1C) and 9.5
     * "GPIO register map" (GPIOA at 0x40010800: CRH 0x04, BRR 0x14). */
    CHECK_EQ(DFUBOOT_APP_RCC_APB1RSTR, 0x40021000u + 0x10u);
    CHECK_EQ(DFUBOOT_APP_RCC_APB2ENR, 0x40021000u + 0x18u);
    CHECK_EQ(DFUBOOT_APP_RCC_APB1ENR, 0x40021000u + 0x1Cu);
    CHECK_EQ(DFUBOOT_APP_GPIOA_CRH, 0x40010800u + 0x04u);
    CHECK_EQ(DFUBOOT_APP_GPIOA_BRR, 0x40010800u + 0x14u);
}

/* ---- the command-line tool --------------------------------------------- */

static char tmpdir[64];

static void setup_tmp(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/test_stamp.XXXXXX");
        if (!mkdtemp(tmpdir))
            tmpdir[0] = 0;
    }
}

static int write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(buf, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static long read_file(const char *path, void *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

/* Runs the tool with args; returns its exit status, stdout+stderr in out. */
static int run_tool(const char *args, char *out, size_t outsize)
{
    char cmd[1024], log[128];
    snprintf(log, sizeof log, "%s/out.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>&1", stamp_tool, args, log);
    int st = system(cmd);
    long n = read_file(log, out, outsize - 1);
    out[n > 0 ? n : 0] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have_tool(void)
{
    setup_tmp();
    CHECK(stamp_tool && access(stamp_tool, X_OK) == 0 && tmpdir[0],
          "no dfuboot-stamp to run: run as test_stamp build/host/dfuboot-stamp ... (make test)");
    return stamp_tool && access(stamp_tool, X_OK) == 0 && tmpdir[0];
}

TEST(cli_stamps_in_place_and_checks)
{
    uint8_t img[130], back[200];
    char path[128], args[256], out[2048];
    if (!have_tool())
        return;
    make_image(img, sizeof img, 0x08002000u);
    snprintf(path, sizeof path, "%s/app.bin", tmpdir);
    CHECK(write_file(path, img, sizeof img) == 0, "cannot write %s", path);
    snprintf(args, sizeof args, "--check %s", path);
    CHECK_EQ(run_tool(args, out, sizeof out), 1);
    CHECK_HAS(out, "not stamped");
    snprintf(args, sizeof args, "%s", path);
    CHECK_EQ(run_tool(args, out, sizeof out), 0);
    CHECK_HAS(out, "132 bytes at 0x08002000..0x08002084 (2 bytes of 0xFF padding), CRC-32 0x");
    CHECK_EQ(read_file(path, back, sizeof back), 132);
    CHECK_EQ(stamp_get32(back, 7), DFUBOOT_STAMP_MAGIC);
    snprintf(args, sizeof args, "--check %s", path);
    CHECK_EQ(run_tool(args, out, sizeof out), 0);
    CHECK_HAS(out, "stamp OK, 132 bytes");
    back[100] ^= 1;
    CHECK(write_file(path, back, 132) == 0, "cannot write");
    CHECK_EQ(run_tool(args, out, sizeof out), 1);
    CHECK_HAS(out, "stamp it again");
}

TEST(cli_output_file_and_base)
{
    uint8_t img[256], back[300];
    char in[128], outp[128], args[512], out[2048];
    if (!have_tool())
        return;
    make_image(img, sizeof img, 0x08008000u);
    snprintf(in, sizeof in, "%s/in8.bin", tmpdir);
    snprintf(outp, sizeof outp, "%s/out8.bin", tmpdir);
    CHECK(write_file(in, img, sizeof img) == 0, "cannot write");
    snprintf(args, sizeof args, "--base 0x08008000 --flash-size 128K -o %s %s", outp, in);
    CHECK_EQ(run_tool(args, out, sizeof out), 0);
    CHECK_EQ(read_file(in, back, sizeof back), 256);
    CHECK(memcmp(back, img, 256) == 0, "-o modified the input");
    CHECK_EQ(read_file(outp, back, sizeof back), 256);
    CHECK_EQ(stamp_get32(back, 8), 256);
}

TEST(cli_refusal_exits_2_and_says_what_to_change)
{
    uint8_t img[256];
    char path[128], args[256], out[2048];
    if (!have_tool())
        return;
    make_image(img, sizeof img, 0x08000000u);
    snprintf(path, sizeof path, "%s/linked0.bin", tmpdir);
    CHECK(write_file(path, img, sizeof img) == 0, "cannot write");
    snprintf(args, sizeof args, "%s", path);
    CHECK_EQ(run_tool(args, out, sizeof out), 2);
    CHECK_HAS(out, "refused: reset handler 0x08000045 is below the application base");
    CHECK_HAS(out, "set the linker FLASH ORIGIN to 0x08002000");
    CHECK_EQ(run_tool("--bogus x.bin", out, sizeof out), 2);
    CHECK_HAS(out, "usage:");
    CHECK_EQ(run_tool("--base nonsense x.bin", out, sizeof out), 2);
    CHECK_HAS(out, "--base nonsense is not a number");
    snprintf(args, sizeof args, "%s/missing.bin", tmpdir);
    CHECK_EQ(run_tool(args, out, sizeof out), 2);
    CHECK_HAS(out, "cannot open");
}

TEST(cli_dfu_writes_a_dfuse_file_and_leaves_the_input)
{
    uint8_t img[130], back[1024];
    char in[128], dfu[128], args[512], out[2048];
    if (!have_tool())
        return;
    make_image(img, sizeof img, 0x08002000u);
    snprintf(in, sizeof in, "%s/rt.bin", tmpdir);
    snprintf(dfu, sizeof dfu, "%s/rt.dfu", tmpdir);
    CHECK(write_file(in, img, sizeof img) == 0, "cannot write");
    snprintf(args, sizeof args, "--dfu %s --vid 0x1234 --pid 0xabcd %s", dfu, in);
    CHECK_EQ(run_tool(args, out, sizeof out), 0);
    CHECK_HAS(out, "element at 0x08002000, 132 bytes; suffix 1234:abcd, bcdDFU 0x011a");
    CHECK_EQ(read_file(in, back, sizeof back), 130);
    CHECK(memcmp(back, img, 130) == 0, "--dfu without -o modified the input");
    /* 11 + 274 + 8 + 132 stamped bytes + 16 (UM0391); the element is the
     * stamped image. */
    CHECK_EQ(read_file(dfu, back, sizeof back), 441);
    CHECK_EQ(stamp_get32(back + 293, 7), DFUBOOT_STAMP_MAGIC);
    /* --check-dfu needs the same IDs the file was made for. */
    snprintf(args, sizeof args, "--check-dfu --vid 0x1234 --pid 0xabcd %s", dfu);
    CHECK_EQ(run_tool(args, out, sizeof out), 0);
    CHECK_HAS(out, "DfuSe file for 1234:abcd, alt 0, 1 element, 0x08002000..0x08002084, "
              "stamp OK (132 bytes");
    snprintf(args, sizeof args, "--check-dfu %s", dfu);
    CHECK_EQ(run_tool(args, out, sizeof out), 1);
    CHECK_HAS(out, "the file is for USB device 1234:abcd, the bootloader is 0483:df11");
}

TEST(cli_check_dfu_refuses_bad_files)
{
    uint8_t img[200], f[1024];
    char in[128], dfu[128], args[512], out[2048];
    long n;
    if (!have_tool())
        return;
    make_image(img, sizeof img, 0x08002000u);
    snprintf(in, sizeof in, "%s/bad.bin", tmpdir);
    snprintf(dfu, sizeof dfu, "%s/bad.dfu", tmpdir);
    CHECK(write_file(in, img, sizeof img) == 0, "cannot write");
    snprintf(args, sizeof args, "--dfu %s %s", dfu, in);
    CHECK_EQ(run_tool(args, out, sizeof out), 0);
    n = read_file(dfu, f, sizeof f);
    CHECK_EQ(n, 309 + 200);
    if (n != 309 + 200)
        return;
    snprintf(args, sizeof args, "--check-dfu %s", dfu);
    /* A changed byte: the suffix CRC catches it. */
    f[300] ^= 1;
    CHECK(write_file(dfu, f, (size_t)n) == 0, "cannot write");
    CHECK_EQ(run_tool(args, out, sizeof out), 1);
    CHECK_HAS(out, "does not match the file's CRC-32");
    f[300] ^= 1;
    /* Truncated. */
    CHECK(write_file(dfu, f, (size_t)n - 50) == 0, "cannot write");
    CHECK_EQ(run_tool(args, out, sizeof out), 1);
    CHECK_HAS(out, "no DFU suffix");
    /* Good again; then for another base: the element is below it. */
    CHECK(write_file(dfu, f, (size_t)n) == 0, "cannot write");
    CHECK_EQ(run_tool(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "--check-dfu --base 0x08008000 %s", dfu);
    CHECK_EQ(run_tool(args, out, sizeof out), 1);
    CHECK_HAS(out, "outside the application region 0x08008000..");
    /* A stamp that no longer matches (file CRC fixed up after the edit). */
    f[293 + 100] ^= 1;
    uint32_t crc = 0xFFFFFFFFu;
    for (long i = 0; i < n - 4; i++) {
        crc ^= f[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    for (int i = 0; i < 4; i++)
        f[n - 4 + i] = (uint8_t)(crc >> (8 * i));
    CHECK(write_file(dfu, f, (size_t)n) == 0, "cannot write");
    snprintf(args, sizeof args, "--check-dfu %s", dfu);
    CHECK_EQ(run_tool(args, out, sizeof out), 1);
    CHECK_HAS(out, "the image at 0x08002000: bad stamp");
    /* A refused image writes no .dfu at all. */
    make_image(img, sizeof img, 0x08000000u);
    CHECK(write_file(in, img, sizeof img) == 0, "cannot write");
    remove(dfu);
    snprintf(args, sizeof args, "--dfu %s %s", dfu, in);
    CHECK_EQ(run_tool(args, out, sizeof out), 2);
    CHECK(access(dfu, F_OK) != 0, "a .dfu was written for a refused image");
}

/* ---- the real blinky ---------------------------------------------------- */

/* build/app/<board>-app08008000[-reboot] is linked at 0x08008000; a
 * directory without -app at APP_BASE's default, 0x08002000. */
static uint32_t dir_base(const char *dir)
{
    const char *slash = strrchr(dir, '/');
    const char *app = strstr(slash ? slash : dir, "-app");
    if (app)
        return (uint32_t)strtoul(app + 4, NULL, 16);
    return DFUBOOT_APP_BASE_DEFAULT;
}

static int contains_word(const uint8_t *img, size_t len, uint32_t v)
{
    for (size_t i = 0; i + 4 <= len; i += 4)
        if (stamp_get32(img, (unsigned)(i / 4)) == v)
            return 1;
    return 0;
}

TEST(real_blinky_images)
{
    static uint8_t bin[65536], stamped[65536];
    char path[512], msg[512];
    CHECK(n_blinky_dirs > 0, "no blinky build directories given (make test passes them)");
    for (int i = 0; i < n_blinky_dirs; i++) {
        const char *dir = blinky_dirs[i];
        uint32_t base = dir_base(dir);
        struct stamp_layout lay = {base, 64 * 1024};
        struct stamp_result res;
        snprintf(path, sizeof path, "%s/blinky.bin", dir);
        long n = read_file(path, bin, sizeof bin - 4);
        CHECK(n > 64, "%s: cannot read or too short (%ld)", path, n);
        if (n <= 64)
            continue;
        snprintf(path, sizeof path, "%s/blinky.stamped.bin", dir);
        long ns = read_file(path, stamped, sizeof stamped);
        CHECK(stamp_verify(stamped, ns > 0 ? (size_t)ns : 0, &res, msg, sizeof msg) == 0,
              "%s: %s", path, msg);
        /* The build's stamp is what stamping blinky.bin here gives. */
        size_t len = (size_t)n;
        int rc = stamp_image(bin, &len, sizeof bin, &lay, &res, msg, sizeof msg);
        CHECK(rc == 0, "%s/blinky.bin refused for base 0x%08x: %s", dir, base, msg);
        CHECK(rc != 0 || ((long)len == ns && memcmp(bin, stamped, len) == 0),
              "%s: blinky.stamped.bin is not blinky.bin stamped for 0x%08x", dir, base);
        uint32_t reset = stamp_get32(bin, 1), systick = stamp_get32(bin, 15);
        CHECK(reset > base && reset < base + len && (reset & 1),
              "%s: reset vector 0x%08x not in the image at 0x%08x", dir, reset, base);
        CHECK(systick > base && systick < base + len && (systick & 1),
              "%s: SysTick vector 0x%08x not in the image", dir, systick);
        /* VTOR is loaded with the table's own address (a literal in Reset_Handler). */
        CHECK(contains_word(bin, len, base), "%s: no literal 0x%08x for VTOR", dir, base);
        /* Only the reboot variant holds the AIRCR reset request of the kit. */
        int wants_reboot = strstr(dir, "-reboot") != NULL;
        CHECK(contains_word(bin, len, 0x05FA0004u) == wants_reboot,
              "%s: AIRCR reset request %s", dir, wants_reboot ? "missing" : "present");
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        stamp_tool = argv[1];
    if (argc > 2) {
        blinky_dirs = argv + 2;
        n_blinky_dirs = argc - 2;
    }
    int rc = run_tests();
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return rc;
}
