/*
 * stamp.c - what dfuboot-stamp checks before it stamps, and the stamp.
 * Every refusal names the value found and the setting to change, because
 * the person reading it is usually looking at an IDE, not at this code.
 */
#include "stamp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crc32_stm32.h"
#include "dfuboot_abi.h"

/* VTOR needs the table aligned to its size rounded up to a power of two:
 * 16 + 60 vectors = 304 bytes on the F103, so 512. */
#define VTOR_ALIGN 0x200u

static const char *const vector_name[16] = {
    "initial stack pointer", "reset handler", "NMI handler", "HardFault handler",
    "MemManage handler", "BusFault handler", "UsageFault handler", "word 7",
    "word 8", "word 9", "word 10", "SVCall handler", "DebugMon handler",
    "reserved word 13", "PendSV handler", "SysTick handler",
};

static void say(char *msg, size_t msgsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t msgsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsize, fmt, ap);
    va_end(ap);
}

uint32_t stamp_get32(const uint8_t *p, unsigned word)
{
    p += 4 * word;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

void stamp_put32(uint8_t *p, unsigned word, uint32_t v)
{
    p += 4 * word;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int is_stamp_word(unsigned i)
{
    return i >= DFUBOOT_STAMP_WORD_MAGIC && i <= DFUBOOT_STAMP_WORD_NCRC;
}

int stamp_check_layout(const struct stamp_layout *lay, char *msg, size_t msgsize)
{
    uint64_t flash_end = (uint64_t)STAMP_FLASH_START + lay->flash_size;
    if (lay->flash_size == 0 || lay->flash_size % 1024) {
        say(msg, msgsize, "flash size %u is not a whole number of KiB: pass the chip's flash "
            "size, e.g. --flash-size 64K", (unsigned)lay->flash_size);
        return -1;
    }
    /* More would also carry the flash end past 0xFFFFFFFF, where the 32-bit
     * ends of the .dfu checks wrap (fuzz finding
     * tests/fuzz/findings/fuzz_stamp-flash-size-past-4g). */
    if (lay->flash_size > STAMP_FLASH_SIZE_MAX) {
        say(msg, msgsize, "flash size %u is more than the %u KiB of the largest STM32F103: "
            "pass the chip's flash size, e.g. --flash-size 64K", (unsigned)lay->flash_size,
            STAMP_FLASH_SIZE_MAX / 1024u);
        return -1;
    }
    if (lay->base < STAMP_FLASH_START || lay->base >= flash_end) {
        say(msg, msgsize, "base 0x%08x is outside the flash 0x%08x..0x%08llx: pass the "
            "bootloader's APP_BASE, e.g. --base 0x08002000", (unsigned)lay->base,
            (unsigned)STAMP_FLASH_START, (unsigned long long)flash_end);
        return -1;
    }
    if (lay->base % VTOR_ALIGN) {
        say(msg, msgsize, "base 0x%08x is not a multiple of 0x%x: SCB->VTOR needs the vector "
            "table aligned to 512 bytes on the STM32F103", (unsigned)lay->base, VTOR_ALIGN);
        return -1;
    }
    return 0;
}

/* Where the image seems linked: a common origin that holds every handler
 * inside an image of this length. Returns 1 with *origin set, or 0. */
static int guess_origin(uint32_t lowest, uint32_t highest, size_t len, uint32_t base,
                        uint32_t *origin)
{
    static const uint32_t common[] = {
        0x08000000u, 0x00000000u, 0x08002000u, 0x08001000u, 0x08008000u, 0x08005000u,
        0x08004000u, 0x08003000u, 0x08006000u, 0x08010000u,
    };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
        uint32_t c = common[i];
        if (c != base && c <= lowest && (uint64_t)highest < (uint64_t)c + len) {
            *origin = c;
            return 1;
        }
    }
    return 0;
}

static void describe_origin(char *out, size_t size, int known, uint32_t origin, uint32_t lowest,
                            uint32_t highest)
{
    if (known && origin == 0)
        snprintf(out, size, "0x00000000 (the boot alias of the flash)");
    else if (known)
        snprintf(out, size, "0x%08x", (unsigned)origin);
    else
        snprintf(out, size, "another address (its handlers lie at 0x%08x..0x%08x)",
                 (unsigned)lowest, (unsigned)highest);
}

static int check_vectors(const uint8_t *image, size_t len, const struct stamp_layout *lay,
                         char *msg, size_t msgsize)
{
    uint32_t base = lay->base;
    uint64_t image_end = (uint64_t)base + len;
    uint64_t flash_end = (uint64_t)STAMP_FLASH_START + lay->flash_size;
    uint32_t lowest = 0xFFFFFFFFu, highest = 0, origin = 0;
    char linked[96], other_base[96] = "";
    int known;

    if (stamp_get32(image, 1) == 0) {
        say(msg, msgsize, "the reset vector (word 1) is 0: this is not a Cortex-M vector table; "
            "put the vector table (.isr_vector) first in FLASH in the linker script");
        return -1;
    }
    /* The span of the handlers says where the image was linked. */
    for (unsigned i = 1; i < 16; i++) {
        uint32_t v = stamp_get32(image, i) & ~1u;
        if (is_stamp_word(i) || v == 0)
            continue;
        lowest = v < lowest ? v : lowest;
        highest = v > highest ? v : highest;
    }
    known = guess_origin(lowest, highest, len, base, &origin);
    describe_origin(linked, sizeof linked, known, origin, lowest, highest);
    if (known && origin > STAMP_FLASH_START)
        snprintf(other_base, sizeof other_base,
                 ", or pass --base 0x%08x if that is your bootloader's APP_BASE",
                 (unsigned)origin);
    for (unsigned i = 1; i < 16; i++) {
        uint32_t v = stamp_get32(image, i), addr = v & ~1u;
        if (is_stamp_word(i) || v == 0)
            continue;
        if (addr < base) {
            say(msg, msgsize, "%s 0x%08x is below the application base 0x%08x: the image is "
                "linked for %s; set the linker FLASH ORIGIN to 0x%08x (LENGTH = flash size - "
                "0x%x) and VECT_TAB_OFFSET to 0x%x%s", vector_name[i], (unsigned)v,
                (unsigned)base, linked, (unsigned)base, (unsigned)(base - STAMP_FLASH_START),
                (unsigned)(base - STAMP_FLASH_START), other_base);
            return -1;
        }
        if (addr >= flash_end) {
            say(msg, msgsize, "%s 0x%08x points outside the application's flash 0x%08x..0x%08llx: handlers "
                "must be in flash; check the linker script's FLASH region (or --flash-size)",
                vector_name[i], (unsigned)v, (unsigned)base, (unsigned long long)flash_end);
            return -1;
        }
        if (addr >= image_end) {
            say(msg, msgsize, "%s 0x%08x lies beyond the end of the image 0x%08x..0x%08llx: "
                "the image is linked for %s; set the linker FLASH ORIGIN to 0x%08x and "
                "VECT_TAB_OFFSET to 0x%x%s", vector_name[i], (unsigned)v, (unsigned)base,
                (unsigned long long)image_end, linked, (unsigned)base,
                (unsigned)(base - STAMP_FLASH_START), other_base);
            return -1;
        }
        if (!(v & 1u)) {
            say(msg, msgsize, "%s 0x%08x has bit 0 clear: Cortex-M3 vectors must have the "
                "Thumb bit set; compile with -mthumb and put function addresses in the table",
                vector_name[i], (unsigned)v);
            return -1;
        }
    }
    return 0;
}

/* Words 7..10 may be erased, zero, an earlier dfuboot stamp, or handler
 * addresses into the image: libmaple (the Roger Clark Arduino core) fills
 * them with a default handler, which is harmless to overwrite because the
 * Cortex-M3 never takes exceptions 7..10. Anything else may be another
 * tool's header, so it is not silently destroyed. */
static int check_stamp_words(const uint8_t *image, size_t len, uint32_t base,
                             struct stamp_result *res, char *msg, size_t msgsize)
{
    int clean = 1;
    res->restamped = stamp_get32(image, DFUBOOT_STAMP_WORD_MAGIC) == DFUBOOT_STAMP_MAGIC;
    res->replaced_handlers = 0;
    if (res->restamped)
        return 0;
    for (unsigned i = DFUBOOT_STAMP_WORD_MAGIC; i <= DFUBOOT_STAMP_WORD_NCRC; i++) {
        uint32_t v = stamp_get32(image, i), addr = v & ~1u;
        if (v == 0 || v == 0xFFFFFFFFu)
            continue;
        if ((v & 1u) && addr >= base && (uint64_t)addr < (uint64_t)base + len)
            res->replaced_handlers = 1;
        else
            clean = 0;
    }
    if (clean)
        return 0;
    say(msg, msgsize, "words 7..10 (offsets 0x1C..0x2B) hold 0x%08x 0x%08x 0x%08x 0x%08x: "
        "these reserved vector-table words carry the dfuboot stamp and must be 0, "
        "0xFFFFFFFF, handler addresses or an earlier stamp; remove what your startup "
        "file or another tool put there",
        (unsigned)stamp_get32(image, 7), (unsigned)stamp_get32(image, 8), (unsigned)stamp_get32(image, 9),
        (unsigned)stamp_get32(image, 10));
    return -1;
}

int stamp_image(uint8_t *image, size_t *len, size_t cap, const struct stamp_layout *lay,
                struct stamp_result *res, char *msg, size_t msgsize)
{
    size_t n = *len, padded = (*len + 3) & ~(size_t)3;
    uint32_t region = STAMP_FLASH_START + lay->flash_size - lay->base;
    uint32_t sp;

    if (stamp_check_layout(lay, msg, msgsize))
        return -1;
    if (n >= 4 && memcmp(image, "\x7f" "ELF", 4) == 0) {
        say(msg, msgsize, "the image is an ELF file: convert it to a raw binary first "
            "(arm-none-eabi-objcopy -O binary app.elf app.bin)");
        return -1;
    }
    if (n >= 1 && image[0] == ':') {
        say(msg, msgsize, "the image looks like Intel HEX: convert it to a raw binary first "
            "(arm-none-eabi-objcopy -I ihex -O binary app.hex app.bin)");
        return -1;
    }
    if (n < STAMP_VECTOR_BYTES) {
        say(msg, msgsize, "the image is %zu bytes, shorter than the %u-byte Cortex-M3 vector "
            "table: pass the raw binary of the whole application", n, STAMP_VECTOR_BYTES);
        return -1;
    }
    if (padded > region) {
        say(msg, msgsize, "the image is %zu bytes but the application region 0x%08x..0x%08x "
            "holds %u: make the application smaller, or pass --flash-size if the chip has "
            "more flash", padded, (unsigned)lay->base, (unsigned)(lay->base + region),
            (unsigned)region);
        return -1;
    }
    sp = stamp_get32(image, 0);
    if (sp <= STAMP_SRAM_START || sp > STAMP_SRAM_END) {
        say(msg, msgsize, "the initial stack pointer 0x%08x is not in SRAM "
            "(0x%08x < SP <= 0x%08x): the image does not start with a vector table; put "
            ".isr_vector first in FLASH and set _estack to the end of RAM",
            (unsigned)sp, (unsigned)STAMP_SRAM_START, (unsigned)STAMP_SRAM_END);
        return -1;
    }
    if (check_vectors(image, padded, lay, msg, msgsize))
        return -1;
    if (check_stamp_words(image, padded, lay->base, res, msg, msgsize))
        return -1;
    if (padded > cap) {
        say(msg, msgsize, "internal error: no room to pad the image");
        return -1;
    }

    memset(image + n, 0xFF, padded - n);
    stamp_put32(image, DFUBOOT_STAMP_WORD_MAGIC, DFUBOOT_STAMP_MAGIC);
    stamp_put32(image, DFUBOOT_STAMP_WORD_LENGTH, (uint32_t)padded);
    res->crc = crc32_stm32_image(image, padded);
    stamp_put32(image, DFUBOOT_STAMP_WORD_CRC, res->crc);
    stamp_put32(image, DFUBOOT_STAMP_WORD_NCRC, ~res->crc);
    res->length = (uint32_t)padded;
    res->padding = (uint32_t)(padded - n);
    *len = padded;
    return 0;
}

int stamp_verify(const uint8_t *image, size_t len, struct stamp_result *res, char *msg,
                 size_t msgsize)
{
    uint32_t length, crc;
    if (len < STAMP_VECTOR_BYTES) {
        say(msg, msgsize, "the image is %zu bytes, shorter than the vector table", len);
        return -1;
    }
    if (stamp_get32(image, DFUBOOT_STAMP_WORD_MAGIC) != DFUBOOT_STAMP_MAGIC) {
        say(msg, msgsize, "not stamped: word 7 is 0x%08x, not the magic 0x%08x; run "
            "dfuboot-stamp on it", (unsigned)stamp_get32(image, DFUBOOT_STAMP_WORD_MAGIC),
            (unsigned)DFUBOOT_STAMP_MAGIC);
        return -1;
    }
    length = stamp_get32(image, DFUBOOT_STAMP_WORD_LENGTH);
    if (length % 4 || length < STAMP_VECTOR_BYTES || length > len) {
        say(msg, msgsize, "bad stamp: length %u is not a multiple of 4 between %u and the "
            "file's %zu bytes", (unsigned)length, STAMP_VECTOR_BYTES, len);
        return -1;
    }
    crc = crc32_stm32_image(image, length);
    res->length = length;
    res->crc = crc;
    res->padding = 0;
    res->restamped = 0;
    res->replaced_handlers = 0;
    if (stamp_get32(image, DFUBOOT_STAMP_WORD_CRC) != crc ||
        stamp_get32(image, DFUBOOT_STAMP_WORD_NCRC) != ~crc) {
        say(msg, msgsize, "bad stamp: CRC-32 of the %u bytes is 0x%08x, the stamp says 0x%08x "
            "(complement 0x%08x); the image changed after stamping: stamp it again",
            (unsigned)length, (unsigned)crc, (unsigned)stamp_get32(image, DFUBOOT_STAMP_WORD_CRC),
            (unsigned)stamp_get32(image, DFUBOOT_STAMP_WORD_NCRC));
        return -1;
    }
    return 0;
}
