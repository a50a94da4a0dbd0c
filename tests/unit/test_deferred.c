/* The deferred-erase writer (issue 10) against a reference: random old
 * and new images, random session orders (dfu-util: every erase first;
 * pydfu: erase, then the page's blocks; erase-as-you-go; shuffled erases;
 * whole-page, quarter-page, 1000-byte and 64-byte blocks; repeated
 * blocks; extra erases of pages nobody writes; sessions dropped at a
 * random point). After each session the flash must be byte for byte what
 * erasing on command and programming every block as it comes would have
 * left: that reference is computed here on a plain copy of the flash,
 * never by the writer. The flash operations are counted against what the
 * eager writer would have done, to show the skipping. */
#include <stdlib.h>

#include "dfu_defs.h"
#include "dfuboot_abi.h"
#include "flash_writer.h"
#include "memmap.h"
#include "sim.h"
#include "testing.h"

#define APP 0x08002000u
#define PAGES 8u

static uint8_t ref[SIM_FLASH_MAX];
static uint8_t new_img[PAGES * 2048];
static unsigned eager_ops, actual_ops, sessions_run, sessions_dropped;

static uint32_t rnd_state = 20261127;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

struct op {
    bool erase;
    uint32_t addr, len;
};

static struct op ops[PAGES * 64 + 64];
static unsigned n_ops;

static void add(bool erase, uint32_t addr, uint32_t len)
{
    ops[n_ops++] = (struct op){erase, addr, len};
}

static void add_blocks(uint32_t from, uint32_t to, uint32_t xfer)
{
    for (uint32_t a = from; a < to; a += xfer)
        add(false, a, to - a < xfer ? to - a : xfer);
}

/* What the old flash holds in each page: blank, other data, the new data
 * already, the new data but one byte. */
static void make_flash(uint32_t ps, uint32_t len, bool stamp)
{
    uint32_t region = PAGES * ps;
    for (uint32_t i = 0; i < region; i++)
        new_img[i] = i < len ? (uint8_t)rnd() : 0xFF;
    if (stamp) {
        uint32_t magic = DFUBOOT_STAMP_MAGIC, length = (len + 3) & ~3u;
        memcpy(new_img + 4 * DFUBOOT_STAMP_WORD_MAGIC, &magic, 4);
        memcpy(new_img + 4 * DFUBOOT_STAMP_WORD_LENGTH, &length, 4);
    }
    uint8_t *flash = sim.flash + (APP - 0x08000000);
    for (uint32_t p = 0; p < region; p += ps) {
        unsigned kind = rnd() % 4;
        for (uint32_t i = p; i < p + ps; i++)
            flash[i] = kind == 0 ? 0xFF : kind == 1 ? (uint8_t)rnd() : new_img[i];
        if (kind == 3)
            flash[p + rnd() % ps] ^= 0x40;
    }
}

static void make_session(uint32_t ps, uint32_t len)
{
    static const uint32_t sizes[] = {0, 256, 1000, 64}; /* 0: the page size */
    uint32_t xfer = sizes[rnd() % 4];
    if (!xfer)
        xfer = ps;
    uint32_t end_page = (len + ps - 1) / ps;
    n_ops = 0;
    switch (rnd() % 4) {
    case 0: /* dfu-util 0.11: every erase, then the blocks */
        for (uint32_t p = 0; p < end_page; p++)
            add(true, APP + p * ps, 0);
        add_blocks(APP, APP + len, xfer);
        break;
    case 1: /* pydfu: a page's erase, then its blocks */
        xfer = xfer > ps ? ps : xfer;
        for (uint32_t p = 0; p < end_page; p++) {
            add(true, APP + p * ps, 0);
            uint32_t to = (p + 1) * ps < len ? (p + 1) * ps : len;
            add_blocks(APP + p * ps, APP + to, xfer == 1000 ? 512 : xfer);
        }
        break;
    case 2: /* erases in a random order, some twice, some of pages nobody
             * writes, then the blocks */
        for (uint32_t k = 0; k < end_page + 3; k++)
            add(true, APP + (k < end_page ? k : rnd() % PAGES) * ps, 0);
        for (uint32_t k = 0; k < n_ops; k++) {
            uint32_t j = rnd() % n_ops;
            struct op t = ops[k];
            ops[k] = ops[j];
            ops[j] = t;
        }
        add_blocks(APP, APP + len, xfer);
        break;
    default: /* dfu-util order with a block sent twice */
        for (uint32_t p = 0; p < end_page; p++)
            add(true, APP + p * ps, 0);
        add_blocks(APP, APP + len, xfer);
        if (n_ops > end_page + 1) {
            uint32_t k = end_page + rnd() % (n_ops - end_page);
            add(false, ops[k].addr, ops[k].len);
        }
        break;
    }
}

/* The reference: erase and program as the commands come. */
static void apply_ref(const struct op *o, uint32_t ps)
{
    uint8_t *r = ref + (o->addr - 0x08000000);
    if (o->erase) {
        memset(ref + ((o->addr & ~(ps - 1)) - 0x08000000), 0xFF, ps);
        eager_ops++;
    } else {
        for (uint32_t i = 0; i < o->len; i += 2)
            eager_ops += o->addr + i - APP >= FLASH_HELD_BYTES &&
                         (new_img[o->addr - APP + i] != 0xFF ||
                          (i + 1 < o->len && new_img[o->addr - APP + i + 1] != 0xFF));
        memcpy(r, new_img + (o->addr - APP), o->len);
    }
}

/* Byte for byte, apart from the held-back first 8 bytes, which are the
 * new ones after a commit of a session that wrote them, and never a
 * startable half of the new ones after a drop. */
static void one_session(uint32_t kib, bool stamp)
{
    sim_init(kib, APP);
    uint32_t ps = memmap.page_size;
    uint32_t len = 2 * (1 + rnd() % (PAGES * ps / 2));
    make_flash(ps, len, stamp);
    memcpy(ref, sim.flash, sizeof ref);
    make_session(ps, len);
    bool drop = rnd() % 5 == 0;
    unsigned upto = drop ? rnd() % (n_ops + 1) : n_ops;
    unsigned before = sim.erases + sim.programs;
    for (unsigned k = 0; k < upto; k++) {
        const struct op *o = &ops[k];
        uint8_t st = o->erase ? flash_erase(o->addr)
                              : flash_write(o->addr, new_img + (o->addr - APP), o->len);
        CHECK(st == DFU_OK, "op %u (%s 0x%08x+%u, xfer session of %u ops): status %u", k,
              o->erase ? "erase" : "write", o->addr, o->len, n_ops, st);
        apply_ref(o, ps);
    }
    if (drop) {
        flash_drop();
        sessions_dropped++;
    } else {
        CHECK_EQ(flash_commit(), DFU_OK);
    }
    actual_ops += sim.erases + sim.programs - before;
    sessions_run++;
    uint32_t off = APP - 0x08000000;
    for (uint32_t i = 0; i < kib * 1024u; i++) {
        if (i >= off && i < off + FLASH_HELD_BYTES)
            continue;
        if (sim.flash[i] != ref[i]) {
            CHECK(0, "%u KiB, %s, %u ops%s: 0x%08x holds 0x%02x, eager would leave 0x%02x", kib,
                  stamp ? "stamped" : "unstamped", upto, drop ? " (dropped)" : "",
                  0x08000000 + i, sim.flash[i], ref[i]);
            return;
        }
    }
    if (!drop)
        CHECK(memcmp(sim.flash + off, new_img, FLASH_HELD_BYTES) == 0,
              "committed vectors are not the new ones");
    else if (memcmp(sim.flash + off, new_img, FLASH_HELD_BYTES) != 0)
        CHECK(sim_half(APP + 2) == 0xFFFF || sim_word(APP) == 0 ||
                  memcmp(sim.flash + off, ref + off, FLASH_HELD_BYTES) == 0,
              "a dropped session left a startable SP 0x%08x", sim_word(APP));
}

TEST(flash_after_a_session_is_what_eager_erase_and_program_leave)
{
    eager_ops = actual_ops = sessions_run = sessions_dropped = 0;
    for (int n = 0; n < 400; n++)
        one_session(n % 2 ? 256 : 64, n % 3 != 0);
    printf("  %u sessions (%u dropped): %u flash operations, eager %u\n", sessions_run,
           sessions_dropped, actual_ops, eager_ops);
    CHECK(actual_ops < eager_ops, "no work skipped");
}

/* The everyday loop: the same stamped image again, then with one page
 * changed, through dfu-util's order on the simulated host. */
static uint8_t image[56 * 1024];

static void stamped_image(uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        image[i] = (uint8_t)(i * 7 + (i >> 9));
    uint32_t vec[11] = {0x20005000, APP + 0x101};
    vec[DFUBOOT_STAMP_WORD_MAGIC] = DFUBOOT_STAMP_MAGIC;
    vec[DFUBOOT_STAMP_WORD_LENGTH] = len;
    memcpy(image, vec, sizeof vec);
}

TEST(identical_image_again_is_zero_flash_operations)
{
    sim_init(64, APP);
    stamped_image(sizeof image);
    CHECK_EQ(dfu_util_download(APP, image, sizeof image), 0);
    CHECK(memcmp(sim.flash + 0x2000, image, sizeof image) == 0, "first download");
    unsigned before = sim.erases + sim.programs;
    CHECK_EQ(dfu_util_download(APP, image, sizeof image), 0);
    CHECK_EQ(sim.erases + sim.programs - before, 0);
    CHECK(memcmp(sim.flash + 0x2000, image, sizeof image) == 0, "second download");
}

TEST(one_changed_page_is_the_only_work)
{
    sim_init(64, APP);
    stamped_image(sizeof image);
    CHECK_EQ(dfu_util_download(APP, image, sizeof image), 0);
    image[20 * 1024 + 5] ^= 1;
    unsigned erases = sim.erases, programs = sim.programs;
    CHECK_EQ(dfu_util_download(APP, image, sizeof image), 0);
    CHECK_EQ(sim.erases - erases, 1);
    CHECK(sim.programs - programs <= 512, "%u programs for one page", sim.programs - programs);
    CHECK_EQ(sim.last_erase, APP + 20 * 1024);
    CHECK(memcmp(sim.flash + 0x2000, image, sizeof image) == 0, "image");
}

TEST(first_flash_of_a_blank_chip_erases_nothing)
{
    sim_init(64, APP);
    stamped_image(sizeof image);
    CHECK_EQ(dfu_util_download(APP, image, sizeof image), 0);
    CHECK_EQ(sim.erases, 0);
    CHECK(memcmp(sim.flash + 0x2000, image, sizeof image) == 0, "image");
}

TEST(owed_erase_of_a_page_nobody_writes_happens_at_the_end)
{
    sim_init(64, APP);
    memset(sim.flash + 0x4000, 0x33, 1024);
    CHECK_EQ(flash_erase(APP + 0x2000), DFU_OK);
    CHECK_EQ(sim.erases, 0);
    CHECK_EQ(sim.flash[0x4000], 0x33);
    CHECK_EQ(flash_commit(), DFU_OK);
    CHECK_EQ(sim.erases, 1);
    CHECK_EQ(sim.flash[0x4000], 0xFF);
    CHECK_EQ(flash_erase(APP + 0x2000), DFU_OK); /* blank now: nothing to do */
    flash_drop();
    CHECK_EQ(sim.erases, 1);
}

int main(void)
{
    return run_tests();
}
