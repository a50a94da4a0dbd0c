/*
 * fuzz_ops.h - the byte encoding of a fuzz input, shared by the libFuzzer
 * target (fuzz_dfu.c, which documents it in full) and the seed corpus
 * generator (make_corpus.c), so the two cannot drift apart silently.
 */
#ifndef FUZZ_OPS_H
#define FUZZ_OPS_H

/* Byte 0: the chip and its flash contents. */
#define CFG_KIB(b) ((b) & 7u)          /* index into fuzz_kib[] */
#define CFG_BASE(b) (((b) >> 3) & 3u)  /* index into fuzz_app_base[] */
#define CFG_FILL(b) (((b) >> 5) & 3u)  /* enum fill */
#define MAKE_CFG(kib, base, fill) ((unsigned char)((kib) | (base) << 3 | (fill) << 5))

static const unsigned fuzz_kib[8] = {64, 128, 256, 64, 128, 32, 512, 384};
static const unsigned fuzz_app_base[4] = {0x08002000u, 0x08001000u, 0x08008000u, 0x08002000u};

enum fill {
    FILL_ERASED = 0, /* application region all 0xFF */
    FILL_IMAGE,      /* an old, plausible application everywhere */
    FILL_STRIPES,    /* every other page erased */
    FILL_SPARSE,     /* old data with erased half-words scattered in it */
};

/* Then operations until the input ends. Opcode byte: low 5 bits = op
 * (modulo OP_COUNT), high 3 bits = flags. Missing argument bytes read 0. */
enum op {
    OP_SETUP,     /* 8 bytes: a raw SETUP packet */
    OP_SETUP_ODD, /* n (mod 13), n bytes: a SETUP packet of the wrong size */
    OP_OUT,       /* n (mod 65), n bytes: one OUT packet */
    OP_IN,        /* the host takes one IN packet */
    OP_FINISH,    /* the host completes the current transfer politely */
    OP_RESET,     /* USB bus reset */
    OP_SET_INTF,  /* SET_INTERFACE, alt setting = flags */
    OP_TIME,      /* time passes: nothing happens on the bus */
    OP_GETSTATUS, /* flags&1: wLength from the next byte; flags&2: skip the status stage */
    OP_GETSTATE,
    OP_CLRSTATUS,
    OP_ABORT,
    OP_CMD,    /* cmd selector, address selector (+4 bytes if SEL_ADDR_RAW): DfuSe command */
    OP_BLOCK,  /* block selector, length selector, data pattern: DNLOAD block */
    OP_UPLOAD, /* block selector, length selector */
    OP_LEAVE,  /* zero-length DNLOAD, wValue = 2 unless flags&4 */
    OP_STD,    /* request selector, wLength selector: standard / vendor request */
    OP_FAULT,  /* kind: the next flash operation fails that way */
    OP_DETACH,
    OP_COUNT
};
/* OP_CMD and OP_BLOCK: flags&1 = followed by two GETSTATUS as dfu-util
 * does; flags&2 = the host skips the status stage of the first of them. */
#define FL_STATUSES 1u
#define FL_ABANDON 2u

/* OP_CMD command selector (mod 8). */
static const unsigned char fuzz_cmds[8] = {0x21, 0x41, 0x41, 0x92, 0x00, 0x21, 0x41, 0xFF};
/* Selector values 2 (mass erase), 3 (unprotect) and 4 (GET) send the
 * command byte alone; 7 sends a raw command byte taken from the input. */
#define CMD_MASS 2u
#define CMD_UNPROTECT 3u
#define CMD_GET 4u
#define CMD_RAW 7u

/* OP_CMD address selector (mod 24); k = the next byte where marked. */
enum addr_sel {
    SEL_APP_BASE, SEL_APP_BASE_PLUS_PAGE, SEL_APP_BASE_MINUS_PAGE, SEL_APP_BASE_MINUS_1,
    SEL_APP_BASE_PLUS_1, SEL_FLASH_BASE, SEL_FLASH_PLUS_PAGE, SEL_END_MINUS_PAGE,
    SEL_END_MINUS_1, SEL_END, SEL_END_PLUS_PAGE, SEL_ZERO, SEL_ALL_ONES, SEL_TOP_KIB,
    SEL_SRAM, SEL_SYSMEM, SEL_APP_PAGE_K /* k */, SEL_APP_PAGE_K_ODD /* k */,
    SEL_END_MINUS_K /* k */, SEL_64K_BOUNDARY, SEL_128K_BOUNDARY, SEL_END_MINUS_1024,
    SEL_WRAP /* pointer so that block n wraps past 2^32 */, SEL_ADDR_RAW /* 4 bytes LE */,
    SEL_COUNT
};

/* OP_BLOCK / OP_UPLOAD block selector (mod 16): 2..9, then specials. */
static const unsigned fuzz_blocks[16] = {2, 3, 4, 5, 2, 3, 6, 9, 0, 1, 0xFFFF, 0x8000, 0x4002, 130, 257, 0x1001};
/* Length selector (mod 16). */
static const unsigned fuzz_lens[16] = {1024, 1024, 1024, 64, 63, 65, 1, 2, 3, 5, 0, 1025, 2048, 0xFFFF, 128, 1023};

/* OP_STD request selector (mod 16); wLength selector (mod 8). */
static const unsigned fuzz_wlens[8] = {255, 64, 18, 9, 0, 1, 0xFFFF, 128};

/* OP_FAULT kinds (mod 5). */
enum fault {
    FAULT_NONE,
    FAULT_WRPRT,       /* the next erase/program reports WRPRTERR, changes nothing */
    FAULT_PGERR,       /* the next program reports PGERR, changes nothing */
    FAULT_STUCK_BIT,   /* the next program leaves bit 0 set */
    FAULT_ERASE_SHORT, /* the next erase leaves its first byte at 0 */
    FAULT_COUNT
};

#endif
