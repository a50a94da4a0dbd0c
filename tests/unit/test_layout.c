/* The DfuSe layout string for every flash size and APP_BASE, checked both
 * as text and by parsing it the way dfu-util's dfuse_mem.c does. */
#include <stdio.h>

#include "layout.h"
#include "memmap.h"
#include "testing.h"

static const char *layout_for(uint32_t kib, uint32_t app_base, bool readable)
{
    static char out[LAYOUT_MAX];
    memmap_init(kib, app_base);
    unsigned n = layout_string(out, readable);
    CHECK(n == strlen(out), "length %u, strlen %zu", n, strlen(out));
    return out;
}

static void expect(uint32_t kib, uint32_t app_base, bool readable, const char *want)
{
    const char *got = layout_for(kib, app_base, readable);
    CHECK(strcmp(got, want) == 0, "%u KiB, 0x%08x: got \"%s\", want \"%s\"", kib, app_base,
          got, want);
}

TEST(layout_64k_1k_pages)
{
    expect(64, 0x08002000, true, "@Internal Flash  /0x08000000/8*001Ka,56*001Kg");
    expect(64, 0x08001000, true, "@Internal Flash  /0x08000000/4*001Ka,60*001Kg");
    expect(64, 0x08008000, true, "@Internal Flash  /0x08000000/32*001Ka,32*001Kg");
}

TEST(layout_128k_1k_pages)
{
    expect(128, 0x08002000, true, "@Internal Flash  /0x08000000/8*001Ka,120*001Kg");
    expect(128, 0x08001000, true, "@Internal Flash  /0x08000000/4*001Ka,124*001Kg");
    expect(128, 0x08008000, true, "@Internal Flash  /0x08000000/32*001Ka,96*001Kg");
}

TEST(layout_256k_2k_pages)
{
    expect(256, 0x08002000, true, "@Internal Flash  /0x08000000/4*002Ka,124*002Kg");
    expect(256, 0x08001000, true, "@Internal Flash  /0x08000000/2*002Ka,126*002Kg");
    expect(256, 0x08008000, true, "@Internal Flash  /0x08000000/16*002Ka,112*002Kg");
}

TEST(layout_512k_and_xl_capped_to_bank1)
{
    expect(512, 0x08002000, true, "@Internal Flash  /0x08000000/4*002Ka,252*002Kg");
    expect(1024, 0x08002000, true, "@Internal Flash  /0x08000000/4*002Ka,252*002Kg");
}

TEST(layout_without_upload_is_unreadable)
{
    /* UM0424 letters are a..g: a region nobody may touch is left out. */
    expect(64, 0x08002000, false, "@Internal Flash  /0x08002000/56*001Kf");
    expect(256, 0x08008000, false, "@Internal Flash  /0x08008000/112*002Kf");
}

/* dfu-util: sscanf "%d*%d%c%[^,/]", memtype = letter & 7. */
static unsigned parse_total(const char *s, unsigned *readable_bytes, uint32_t *start)
{
    unsigned total = 0;
    int used;
    *readable_bytes = 0;
    if (sscanf(s, "@Internal Flash  /0x%x/%n", start, &used) != 1)
        return 0;
    s += used;
    for (;;) {
        int count, size;
        char mult, type[8];
        if (sscanf(s, "%d*%d%c%7[^,/]%n", &count, &size, &mult, type, &used) != 4)
            break;
        CHECK(mult == 'K', "multiplier %c", mult);
        CHECK(strlen(type) == 1, "type \"%s\"", type);
        CHECK(type[0] >= 'a' && type[0] <= 'g', "type letter %c outside a..g (UM0424)", type[0]);
        total += (unsigned)(count * size * 1024);
        if (type[0] & 1)
            *readable_bytes += (unsigned)(count * size * 1024);
        s += used;
        if (*s != ',')
            break;
        s++;
    }
    return total;
}

TEST(layout_parses_to_the_whole_flash)
{
    static const uint32_t sizes[] = {64, 128, 256, 384, 512};
    static const uint32_t bases[] = {0x08001000, 0x08002000, 0x08008000};
    for (unsigned i = 0; i < 5; i++) {
        for (unsigned j = 0; j < 3; j++) {
            for (int r = 0; r < 2; r++) {
                unsigned readable;
                uint32_t start = 0;
                unsigned total = parse_total(layout_for(sizes[i], bases[j], r), &readable, &start);
                CHECK_EQ(start, r ? 0x08000000 : bases[j]); /* unreadable: from the app */
                CHECK_EQ(start + total, 0x08000000 + sizes[i] * 1024);
                CHECK_EQ(readable, r ? total : 0);
            }
        }
    }
}

TEST(memmap_page_size_and_region)
{
    memmap_init(128, 0x08002000);
    CHECK_EQ(memmap.page_size, 1024);
    CHECK_EQ(memmap.flash_end, 0x08020000);
    memmap_init(256, 0x08001000);
    CHECK_EQ(memmap.page_size, 2048);
    CHECK_EQ(memmap.flash_end, 0x08040000);
    CHECK_EQ(memmap.app_base, 0x08001000);
}

int main(void)
{
    return run_tests();
}
