/*
 * test_flash.c - the FLASH model (FPEC, array, option bytes) against the
 * rules of RM0008 section 3 and PM0075. Each test names its rule.
 */
#include "../../vboard/flash.h"
#include "../testing.h"
#include "fake_vb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FPEC 0x40022000u
#define ACR (FPEC + 0x00)
#define KEYR (FPEC + 0x04)
#define OPTKEYR (FPEC + 0x08)
#define SR (FPEC + 0x0C)
#define CR (FPEC + 0x10)
#define AR (FPEC + 0x14)
#define OBR (FPEC + 0x1C)
#define WRPR (FPEC + 0x20)
#define OB 0x1FFFF800u

#define SR_BSY 1u
#define SR_PGERR 4u
#define SR_WRPRTERR 0x10u
#define SR_EOP 0x20u
#define CR_PG 1u
#define CR_PER 2u
#define CR_MER 4u
#define CR_OPTPG 0x10u
#define CR_OPTER 0x20u
#define CR_STRT 0x40u
#define CR_LOCK 0x80u
#define CR_OPTWRE 0x200u

static struct flash *mk(uint32_t size, uint32_t page)
{
    fake_reset();
    struct flash_cfg cfg = {.flash_size = size, .page_size = page};
    return flash_new(fake_vb, &cfg);
}

static struct flash *mk64(void) { return mk(64 * 1024, 1024); }

static void unlock(void)
{
    fake_write32(KEYR, 0x45670123);
    fake_write32(KEYR, 0xCDEF89AB);
}

static uint16_t hw(struct flash *f, uint32_t addr)
{
    uint8_t *a = flash_array(f) + (addr - 0x08000000);
    return (uint16_t)(a[0] | a[1] << 8);
}

static void wait_done(void) { fake_advance_ns(25000000); }

static bool program(struct flash *f, uint32_t addr, uint16_t v)
{
    return flash_cpu_write(f, addr, v, 2);
}

TEST(reset_values_rm0008_3_4)
{
    mk64();
    /* RM0008 3.4: FLASH_ACR reset 0x30, FLASH_CR reset 0x80 (LOCK), SR 0. */
    CHECK_EQ(fake_read32(ACR), 0x30);
    CHECK_EQ(fake_read32(CR), 0x80);
    CHECK_EQ(fake_read32(SR), 0);
    /* Factory option bytes: no read protection, OBR 0x03FFFFFC, WRPR all 1. */
    CHECK_EQ(fake_read32(OBR), 0x03FFFFFC);
    CHECK_EQ(fake_read32(WRPR), 0xFFFFFFFF);
}

TEST(key_sequence_unlocks_pm0075_2_3_1)
{
    mk64();
    unlock();
    CHECK_EQ(fake_read32(CR) & CR_LOCK, 0);
    CHECK_EQ(fake_violations, 0);
}

TEST(wrong_key_locks_until_reset_with_bus_error_pm0075_2_3_1)
{
    struct flash *f = mk64();
    /* "Any wrong sequence locks up the FPEC and FLASH_CR until the next
     * reset" and "a bus error is detected and a Hard Fault generated". */
    fake_write32(KEYR, 0x45670123);
    fake_write32(KEYR, 0x12345678);
    CHECK_EQ(flash_bus_errors(f), 1);
    unlock(); /* now even the right keys do not unlock */
    CHECK(fake_read32(CR) & CR_LOCK, "FPEC unlocked after a wrong sequence");
    flash_reset(f);
    unlock();
    CHECK_EQ(fake_read32(CR) & CR_LOCK, 0);
}

TEST(second_unlock_is_a_wrong_sequence_pm0075_2_3_1)
{
    struct flash *f = mk64();
    unlock();
    fake_write32(KEYR, 0x45670123); /* FPEC already unlocked */
    CHECK_EQ(flash_bus_errors(f), 1);
    CHECK(fake_read32(CR) & CR_LOCK, "want locked");
}

TEST(cr_is_write_protected_while_locked_rm0008_3_4_5)
{
    mk64();
    fake_write32(CR, CR_PG | CR_LOCK);
    CHECK_EQ(fake_read32(CR) & CR_PG, 0);
}

TEST(program_halfword_takes_tprog_and_sets_eop_rm0008_3_3_3)
{
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    CHECK(program(f, 0x08001000, 0xBEEF), "store refused");
    /* Until BSY clears the array holds the old value (lands on completion). */
    CHECK(fake_read32(SR) & SR_BSY, "BSY not set");
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
    CHECK_EQ(fake_stall_until_ns, FLASH_PROG_NS);
    fake_advance_ns(FLASH_PROG_NS - 1);
    CHECK(fake_read32(SR) & SR_BSY, "BSY cleared before tPROG");
    fake_advance_ns(1);
    CHECK_EQ(fake_read32(SR) & (SR_BSY | SR_EOP), SR_EOP);
    CHECK_EQ(hw(f, 0x08001000), 0xBEEF);
    CHECK_EQ(flash_view(f)[0x1000], 0xEF);
    /* EOP is rc_w1. */
    fake_write32(SR, SR_EOP);
    CHECK_EQ(fake_read32(SR) & SR_EOP, 0);
}

TEST(pgerr_when_not_erased_rm0008_3_3_3)
{
    /* "The FPEC preliminarily reads the value at the addressed main Flash
     * memory location and checks that it has been erased. If not, the
     * program operation is skipped and PGERR is set." */
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0xBEEF);
    wait_done();
    program(f, 0x08001000, 0x1234);
    wait_done();
    CHECK(fake_read32(SR) & SR_PGERR, "PGERR not set");
    CHECK_EQ(hw(f, 0x08001000), 0xBEEF);
    fake_write32(SR, SR_PGERR); /* rc_w1 */
    CHECK_EQ(fake_read32(SR) & SR_PGERR, 0);
}

TEST(programming_0x0000_is_the_exception_rm0008_3_3_3)
{
    /* "the only exception to this is when 0x0000 is programmed: the
     * location is correctly programmed to 0x0000 and PGERR is not set". */
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0xBEEF);
    wait_done();
    program(f, 0x08001000, 0x0000);
    wait_done();
    CHECK_EQ(fake_read32(SR) & SR_PGERR, 0);
    CHECK_EQ(hw(f, 0x08001000), 0x0000);
}

TEST(non_halfword_store_is_a_bus_error_pm0075_2_3_3)
{
    /* PM0075 2.3.3: "Any attempt to write data that are not half-word long
     * will result in a bus error response from the FPEC." */
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    CHECK(!flash_cpu_write(f, 0x08001000, 0x12345678, 4), "32-bit store accepted");
    CHECK(!flash_cpu_write(f, 0x08001000, 0x12, 1), "8-bit store accepted");
    wait_done();
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
    CHECK_EQ(hw(f, 0x08001002), 0xFFFF);
}

TEST(store_outside_pg_mode_is_a_bus_error)
{
    struct flash *f = mk64();
    CHECK(!program(f, 0x08001000, 0x1234), "store while locked accepted");
    unlock();
    CHECK(!program(f, 0x08001000, 0x1234), "store with PG=0 accepted");
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
}

TEST(page_erase_takes_terase_rm0008_3_3_3_and_ds5319)
{
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001400, 0x0001);
    program(f, 0x08001800, 0x0002); /* next page: must survive */
    wait_done();
    fake_write32(CR, CR_PER);
    fake_write32(AR, 0x08001404); /* any address in the page */
    fake_write32(CR, CR_PER | CR_STRT);
    CHECK(fake_read32(CR) & CR_STRT, "STRT reads 0 while busy");
    fake_advance_ns(FLASH_ERASE_NS - 1);
    CHECK_EQ(hw(f, 0x08001400), 0x0001);
    fake_advance_ns(1);
    CHECK_EQ(hw(f, 0x08001400), 0xFFFF);
    CHECK_EQ(hw(f, 0x08001800), 0x0002);
    /* STRT "reset when the BSY bit is reset". */
    CHECK_EQ(fake_read32(CR) & CR_STRT, 0);
    CHECK(fake_read32(SR) & SR_EOP, "EOP not set");
}

/* --flash-time max. DS5319 table "Flash memory characteristics": tPROG
 * "16-bit programming time" min 40, typ 52.5, max 70 us; tERASE "Page (1
 * KB) erase time" min 20, max 40 ms. */
TEST(flash_time_max_takes_the_datasheet_maxima_ds5319)
{
    fake_reset();
    struct flash_cfg cfg = {.flash_size = 64 * 1024, .page_size = 1024, .time_max = true};
    struct flash *f = flash_new(fake_vb, &cfg);
    unlock();
    fake_write32(CR, CR_PG);
    CHECK(program(f, 0x08001000, 0x1234), "store refused");
    fake_advance_ns(70000 - 1);
    CHECK(fake_read32(SR) & SR_BSY, "BSY cleared before the 70 us maximum");
    fake_advance_ns(1);
    CHECK_EQ(fake_read32(SR) & SR_BSY, 0);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    fake_write32(CR, CR_PER);
    fake_write32(AR, 0x08001000);
    fake_write32(CR, CR_PER | CR_STRT);
    fake_advance_ns(40000000ull - 1);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    fake_advance_ns(1);
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
}

/* Default (typ): 52.5 us per half-word; the page erase has no typical value
 * in the table, so the minimum 20 ms is used. */
TEST(flash_time_typ_by_default_ds5319)
{
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    CHECK(program(f, 0x08001000, 0x1234), "store refused");
    fake_advance_ns(52500 - 1);
    CHECK(fake_read32(SR) & SR_BSY, "BSY cleared before 52.5 us");
    fake_advance_ns(1);
    CHECK_EQ(fake_read32(SR) & SR_BSY, 0);
    fake_write32(CR, CR_PER);
    fake_write32(AR, 0x08001000);
    fake_write32(CR, CR_PER | CR_STRT);
    fake_advance_ns(20000000ull - 1);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    fake_advance_ns(1);
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
}

TEST(mass_erase_rm0008_3_3_3)
{
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08000000, 0x0001);
    program(f, 0x0800FFFE, 0x0002);
    wait_done();
    fake_write32(CR, CR_MER);
    fake_write32(CR, CR_MER | CR_STRT);
    wait_done();
    CHECK_EQ(hw(f, 0x08000000), 0xFFFF);
    CHECK_EQ(hw(f, 0x0800FFFE), 0xFFFF);
}

TEST(operation_lost_on_reset_never_lands)
{
    /* Power cut / reset while BSY: the operation never completes. */
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234);
    flash_reset(f);
    wait_done();
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
}

static void set_option_bytes(struct flash *f, int idx, uint8_t v)
{
    uint8_t *ob = flash_option_bytes(f);
    ob[2 * idx] = v;
    ob[2 * idx + 1] = (uint8_t)~v;
}

TEST(write_protected_page_sets_wrprterr_pm0075_2_4_2)
{
    /* Medium density: WRP bit n protects pages 4n..4n+3 (4 KiB). */
    struct flash *f = mk64();
    set_option_bytes(f, 4, 0xFE); /* WRP0 bit 0 = 0: pages 0-3 protected */
    flash_reset(f);                /* option bytes load at reset */
    CHECK_EQ(fake_read32(WRPR), 0xFFFFFFFE);
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08000FFE, 0x1234);
    program(f, 0x08001000, 0x1234); /* page 4: not protected */
    wait_done();
    CHECK(fake_read32(SR) & SR_WRPRTERR, "WRPRTERR not set");
    CHECK_EQ(hw(f, 0x08000FFE), 0xFFFF);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    fake_write32(SR, SR_WRPRTERR);
    fake_write32(CR, CR_PER);
    fake_write32(AR, 0x08000400);
    fake_write32(CR, CR_PER | CR_STRT);
    CHECK(fake_read32(SR) & SR_WRPRTERR, "erase of a protected page not refused");
    CHECK_EQ(fake_read32(SR) & SR_BSY, 0);
}

TEST(high_density_wrp_two_pages_per_bit_pm0075_2_4_2)
{
    struct flash *f = mk(256 * 1024, 2048);
    set_option_bytes(f, 4, 0xFD); /* WRP0 bit 1: pages 2-3 (0x1000-0x1FFF) */
    set_option_bytes(f, 7, 0x7F); /* WRP3 bit 7: pages 62-127 */
    flash_reset(f);
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08000800, 0x1111); /* page 1: free */
    program(f, 0x08001000, 0x2222); /* page 2: protected */
    program(f, 0x0801F000, 0x3333); /* page 62: protected by bit 31 */
    wait_done();
    CHECK_EQ(hw(f, 0x08000800), 0x1111);
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
    CHECK_EQ(hw(f, 0x0801F000), 0xFFFF);
}

TEST(option_byte_mismatch_sets_opterr_pm0075_2_5)
{
    struct flash *f = mk64();
    uint8_t *ob = flash_option_bytes(f);
    ob[4] = 0x12; /* Data0 with a wrong complement */
    ob[5] = 0x34;
    flash_reset(f);
    CHECK(fake_read32(OBR) & 1, "OPTERR not set");
    CHECK_EQ((fake_read32(OBR) >> 10) & 0xFF, 0xFF); /* forced to 0xFF */
}

TEST(option_bytes_program_low_byte_and_complement_pm0075_2_5_2)
{
    struct flash *f = mk64();
    unlock();
    fake_write32(OPTKEYR, 0x45670123);
    fake_write32(OPTKEYR, 0xCDEF89AB);
    CHECK(fake_read32(CR) & CR_OPTWRE, "OPTWRE not set");
    fake_write32(CR, CR_OPTER | CR_OPTWRE);
    fake_write32(CR, CR_OPTER | CR_STRT | CR_OPTWRE);
    wait_done();
    CHECK_EQ(flash_option_bytes(f)[0], 0xFF);
    fake_write32(CR, CR_OPTPG | CR_OPTWRE);
    fake_write(OB + 0, 0x00A5, 2); /* RDP = 0xA5 */
    fake_write(OB + 4, 0x0042, 2); /* Data0 */
    wait_done();
    CHECK_EQ(flash_option_bytes(f)[0], 0xA5);
    CHECK_EQ(flash_option_bytes(f)[1], 0x5A);
    CHECK_EQ(flash_option_bytes(f)[4], 0x42);
    CHECK_EQ(flash_option_bytes(f)[5], 0xBD);
    /* Not visible in OBR until the next reset (option byte loading). */
    CHECK_EQ((fake_read32(OBR) >> 10) & 0xFF, 0xFF);
    flash_reset(f);
    CHECK_EQ((fake_read32(OBR) >> 10) & 0xFF, 0x42);
}

TEST(option_write_without_optpg_is_a_bus_error)
{
    struct flash *f = mk64();
    unlock();
    fake_write(OB + 4, 0x0042, 2);
    CHECK_EQ(flash_bus_errors(f), 1);
    CHECK_EQ(flash_option_bytes(f)[4], 0xFF);
}

/* PM0075 2.4.1 "Read protection", disabling it: "1. Erase the entire
 * option byte area. As a result, the read protection code (RDP) will be
 * 0xFF. At this stage the read protection is still enabled. 2. Program
 * the correct RDP code 0x00A5 to unprotect the memory. This operation
 * first forces a Flash mass erase. 3. Reset the device (POR or system
 * reset) to reload the option bytes (and the new RDP code) and, to
 * disable the read protection." */
TEST(read_protection_removal_mass_erases_pm0075_2_4_1)
{
    struct flash *f = mk64();
    set_option_bytes(f, 0, 0x00); /* RDP != 0xA5: level 1 */
    set_option_bytes(f, 4, 0xFE); /* WRP0: pages 0-3 write-protected */
    flash_reset(f);
    CHECK(fake_read32(OBR) & 2, "RDPRT not set");
    flash_array(f)[0x2000] = 0x12; /* some application code */
    flash_array(f)[0x0100] = 0x34; /* and some in write-protected page 0 */
    unlock();
    /* With read protection the first 4 KiB are write-protected. */
    fake_write32(CR, CR_PG);
    program(f, 0x08000000, 0);
    CHECK(fake_read32(SR) & SR_WRPRTERR, "page 0 not protected under RDP");
    fake_write32(CR, 0);
    fake_write32(OPTKEYR, 0x45670123);
    fake_write32(OPTKEYR, 0xCDEF89AB);
    /* 1. Option byte erase: RDP reads 0xFF, main flash untouched. */
    fake_write32(CR, CR_OPTER | CR_OPTWRE);
    fake_write32(CR, CR_OPTER | CR_STRT | CR_OPTWRE);
    wait_done();
    CHECK_EQ(flash_option_bytes(f)[0], 0xFF);
    CHECK_EQ(flash_array(f)[0x2000], 0x12);
    CHECK(fake_read32(OBR) & 2, "still protected until the reset");
    /* 2. RDP = 0xA5: the mass erase comes first, then the byte. It takes
     * tME (DS5319: 20 ms min) before BSY clears, the CPU stalled on flash. */
    fake_write32(CR, CR_OPTPG | CR_OPTWRE);
    fake_write(OB + 0, 0x00A5, 2);
    CHECK(fake_stall_until_ns >= 20000000, "flash not stalled for the mass erase");
    fake_advance_ns(19000000);
    CHECK(fake_read32(SR) & SR_BSY, "BSY cleared before tME");
    CHECK_EQ(flash_array(f)[0x2000], 0x12);
    wait_done();
    CHECK_EQ(fake_read32(SR) & SR_BSY, 0);
    CHECK_EQ(flash_array(f)[0x2000], 0xFF);
    CHECK_EQ(flash_array(f)[0x0100], 0xFF); /* write protection does not stop it */
    CHECK_EQ(flash_option_bytes(f)[0], 0xA5);
    CHECK_EQ(flash_option_bytes(f)[1], 0x5A);
    /* 3. The reset loads RDP = 0xA5: level 0, WRP erased = unprotected. */
    flash_reset(f);
    CHECK_EQ(fake_read32(OBR) & 2, 0);
    CHECK_EQ(fake_read32(WRPR), 0xFFFFFFFF);
}

/* Programming RDP = 0xA5 on an unprotected chip erases nothing. */
TEST(rdp_a5_without_protection_erases_nothing_pm0075_2_4_1)
{
    struct flash *f = mk64();
    flash_array(f)[0x2000] = 0x12;
    unlock();
    fake_write32(OPTKEYR, 0x45670123);
    fake_write32(OPTKEYR, 0xCDEF89AB);
    fake_write32(CR, CR_OPTER | CR_OPTWRE);
    fake_write32(CR, CR_OPTER | CR_STRT | CR_OPTWRE);
    wait_done();
    fake_write32(CR, CR_OPTPG | CR_OPTWRE);
    fake_write(OB + 0, 0x00A5, 2);
    wait_done();
    CHECK_EQ(flash_array(f)[0x2000], 0x12);
    CHECK_EQ(flash_option_bytes(f)[0], 0xA5);
}

TEST(latency_violation_rm0008_3_3_3)
{
    struct flash *f = mk64();
    /* "zero wait state, if 0 < SYSCLK <= 24 MHz; one wait state, if
     * 24 MHz < SYSCLK <= 48 MHz; two wait states, if 48 < SYSCLK <= 72". */
    flash_check_latency(f, 24000000);
    CHECK_EQ(fake_violations, 0);
    flash_check_latency(f, 72000000);
    CHECK_EQ(fake_violations, 1);
    fake_sysclk = 72000000;
    fake_write32(ACR, 0x32);
    CHECK_EQ(fake_violations, 1);
    flash_check_latency(f, 72000000);
    CHECK_EQ(fake_violations, 1);
    fake_write32(ACR, 0x31);
    CHECK_EQ(fake_violations, 2);
}

TEST(eop_interrupt_when_eopie_rm0008_3_4_5)
{
    struct flash *f = mk64();
    unlock();
    fake_write32(CR, CR_PG | (1u << 12)); /* EOPIE */
    program(f, 0x08001000, 0x1);
    CHECK(!fake_irq_level[4], "IRQ before completion");
    wait_done();
    CHECK(fake_irq_level[4], "FLASH IRQ (position 4) not raised on EOP");
    fake_write32(SR, SR_EOP);
    CHECK(!fake_irq_level[4], "IRQ stays after EOP cleared");
}

TEST(flash_file_persists_completed_operations_only)
{
    char path[] = "/tmp/vb_flash_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    fake_reset();
    uint8_t img[4] = {1, 2, 3, 4};
    struct flash_cfg cfg = {.flash_size = 64 * 1024, .page_size = 1024, .file = path,
                            .image = img, .image_size = 4};
    struct flash *f = flash_new(fake_vb, &cfg);
    CHECK(f != NULL, "no flash");
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234);
    wait_done();
    program(f, 0x08001002, 0x5678); /* in flight at the "power cut" */
    flash_free(f);
    fake_reset();
    cfg.image = NULL;
    f = flash_new(fake_vb, &cfg);
    CHECK_EQ(flash_array(f)[0], 1);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    CHECK_EQ(hw(f, 0x08001002), 0xFFFF);
    CHECK_EQ(flash_option_bytes(f)[0], 0xA5);
    flash_free(f);
    unlink(path);
}

/* ---- Power cuts and torn operations (issue 12) ---------------------------
 * What a cut leaves is our reading of NOR flash (flash.c, "Power cuts"):
 * the manuals only describe operations that complete. The rules checked
 * here: an erase only turns 0 bits into 1, a program only clears bits that
 * its value has at 0 and the cell had at 1 ("The main Flash memory can be
 * programmed 16 bits at a time ... Flash memory erase: ... erased page
 * reads 0xFF", PM0075 2.3.3/2.3.4; NOR cells only go from 1 to 0 by
 * programming), nothing else changes, and a seed replays its result. */
static struct flash_cut the_cut;

static struct flash *mk_cut(uint64_t at_op, uint64_t at_ns, enum flash_torn torn, uint64_t seed)
{
    fake_reset();
    the_cut = (struct flash_cut){at_op, at_ns, torn, seed};
    struct flash_cfg cfg = {.flash_size = 64 * 1024, .page_size = 1024, .cut = &the_cut};
    return flash_new(fake_vb, &cfg);
}

static void erase_page(uint32_t addr)
{
    fake_write32(CR, CR_PER);
    fake_write32(AR, addr);
    fake_write32(CR, CR_PER | CR_STRT);
}

TEST(operations_numbered_from_power_on_not_reset)
{
    struct flash *f = mk64();
    unlock();
    erase_page(0x08001000); /* 1 */
    wait_done();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234); /* 2 */
    wait_done();
    program(f, 0x08001000, 0x5678); /* refused with PGERR: never starts */
    program(f, 0x08001000, 0x0000); /* 3: 0x0000 over anything programs */
    wait_done();
    CHECK_EQ(flash_ops(f), 3);
    flash_reset(f); /* a system reset is not a power-on */
    unlock();
    fake_write32(OPTKEYR, 0x45670123);
    fake_write32(OPTKEYR, 0xCDEF89AB);
    fake_write32(CR, CR_OPTER | CR_OPTWRE);
    fake_write32(CR, CR_OPTER | CR_OPTWRE | CR_STRT); /* 4 */
    wait_done();
    fake_write32(CR, CR_OPTPG | CR_OPTWRE);
    fake_write(OB, 0x00A5, 2); /* 5 */
    wait_done();
    CHECK_EQ(flash_ops(f), 5);
    CHECK_EQ(fake_power_cuts, 0);
}

TEST(cut_program_clears_only_a_subset_replayably)
{
    unsigned saw_old = 0, saw_new = 0, saw_between = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        struct flash *f = mk_cut(2, 0, TORN_SEEDED, seed);
        unlock();
        fake_write32(CR, CR_PG);
        program(f, 0x08001000, 0xA5F0); /* 1: completes */
        program(f, 0x08001002, 0x1234); /* 2: cut while in progress */
        CHECK_EQ(fake_power_cuts, 1);
        CHECK(flash_power_off(f), "power still on");
        CHECK_EQ(hw(f, 0x08001000), 0xA5F0); /* the one before it ended */
        uint16_t r = hw(f, 0x08001002);
        /* Bits 1 in the new value stay 1; only bits being cleared moved. */
        CHECK((r & 0x1234) == 0x1234, "seed %llu: 0x%04x lost a 1 bit of the new value",
              (unsigned long long)seed, r);
        saw_old += r == 0xFFFF, saw_new += r == 0x1234, saw_between += r != 0xFFFF && r != 0x1234;
        CHECK_EQ(flash_view(f)[0x1002], (uint8_t)r); /* the CPU sees it */
        /* Nothing runs after the cut. */
        program(f, 0x08001004, 0x0000);
        wait_done();
        CHECK_EQ(hw(f, 0x08001004), 0xFFFF);
        flash_free(f);
        /* The same seed gives the same torn value. */
        f = mk_cut(2, 0, TORN_SEEDED, seed);
        unlock();
        fake_write32(CR, CR_PG);
        program(f, 0x08001000, 0xA5F0);
        program(f, 0x08001002, 0x1234);
        CHECK_EQ(hw(f, 0x08001002), r);
        flash_free(f);
    }
    /* Seeds reach both ends and the states between them. */
    CHECK(saw_old && saw_new && saw_between > 200, "old %u, new %u, between %u", saw_old, saw_new,
          saw_between);
}

TEST(cut_zero_program_over_data_clears_only_its_ones)
{
    for (uint64_t seed = 1; seed <= 100; seed++) {
        struct flash *f = mk_cut(2, 0, TORN_SEEDED, seed);
        unlock();
        fake_write32(CR, CR_PG);
        program(f, 0x08001000, 0x5A3C);
        program(f, 0x08001000, 0x0000); /* the session's invalidation */
        uint16_t r = hw(f, 0x08001000);
        CHECK((r & ~0x5A3C) == 0, "seed %llu: 0x%04x has a bit 0x5A3C had at 0", (unsigned long long)seed, r);
        flash_free(f);
    }
}

TEST(cut_erase_only_sets_bits_of_its_page)
{
    unsigned full = 0, none = 0, mixed = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        struct flash *f = mk_cut(1, 0, TORN_SEEDED, seed);
        uint8_t *a = flash_array(f);
        for (uint32_t i = 0x800; i < 0x1400; i++)
            a[i] = (uint8_t)(i * 37 + 11);
        unlock();
        erase_page(0x08000C00); /* page 3: 0xC00-0xFFF */
        CHECK_EQ(fake_power_cuts, 1);
        unsigned ff = 0, same = 0;
        for (uint32_t i = 0x800; i < 0x1400; i++) {
            uint8_t old = (uint8_t)(i * 37 + 11);
            if (i < 0xC00 || i >= 0x1000) {
                CHECK_EQ(a[i], old); /* other pages untouched */
                continue;
            }
            CHECK((a[i] & old) == old, "seed %llu: byte 0x%x 0x%02x cleared a bit of 0x%02x",
                  (unsigned long long)seed, i, a[i], old);
            ff += a[i] == 0xFF, same += a[i] == old;
        }
        full += ff == 1024, none += same == 1024, mixed += ff < 1024 && same < 1024;
        flash_free(f);
    }
    CHECK(mixed > 150, "only %u mixed pages (full %u, untouched %u)", mixed, full, none);
}

TEST(cut_option_byte_program_tears_value_and_complement)
{
    unsigned between = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        struct flash *f = mk_cut(2, 0, TORN_SEEDED, seed);
        unlock();
        fake_write32(OPTKEYR, 0x45670123);
        fake_write32(OPTKEYR, 0xCDEF89AB);
        fake_write32(CR, CR_OPTER | CR_OPTWRE);
        fake_write32(CR, CR_OPTER | CR_OPTWRE | CR_STRT); /* 1 */
        wait_done();
        fake_write32(CR, CR_OPTPG | CR_OPTWRE);
        fake_write(OB + 8, 0x00FE, 2); /* 2: WRP0 = 0xFE, complement 0x01 */
        uint8_t v = flash_option_bytes(f)[8], c = flash_option_bytes(f)[9];
        CHECK((v & 0xFE) == 0xFE && (c & 0x01) == 0x01, "seed %llu: 0x%02x 0x%02x", (unsigned long long)seed,
              v, c);
        between += c != 0xFF && c != 0x01;
        flash_free(f);
    }
    CHECK(between > 0, "the complement byte is never caught half-way");
}

TEST(cut_option_byte_erase_only_sets_bits)
{
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct flash *f = mk_cut(1, 0, TORN_SEEDED, seed);
        uint8_t before[16];
        memcpy(before, flash_option_bytes(f), 16);
        unlock();
        fake_write32(OPTKEYR, 0x45670123);
        fake_write32(OPTKEYR, 0xCDEF89AB);
        fake_write32(CR, CR_OPTER | CR_OPTWRE);
        fake_write32(CR, CR_OPTER | CR_OPTWRE | CR_STRT);
        for (int i = 0; i < 16; i++)
            CHECK((flash_option_bytes(f)[i] & before[i]) == before[i], "seed %llu byte %d",
                  (unsigned long long)seed, i);
        flash_free(f);
    }
}

TEST(cut_old_and_new_are_the_two_ends)
{
    struct flash *f = mk_cut(1, 0, TORN_OLD, 0);
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234);
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
    CHECK_EQ(fake_power_cuts, 1);
    flash_free(f);
    f = mk_cut(1, 0, TORN_NEW, 0);
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    flash_free(f);
}

TEST(cut_at_ns_tears_the_operation_in_progress)
{
    /* tPROG 52.5 us: a cut 10 us in tears it, one at 60 us finds it done. */
    struct flash *f = mk_cut(0, 10000, TORN_OLD, 0);
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234);
    fake_advance_ns(100000);
    CHECK_EQ(fake_power_cuts, 1);
    CHECK_EQ(hw(f, 0x08001000), 0xFFFF);
    CHECK(strstr(fake_last_event, "op 1") != NULL, "event: %s", fake_last_event);
    flash_free(f);
    f = mk_cut(0, 60000, TORN_OLD, 0);
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234);
    fake_advance_ns(100000);
    CHECK_EQ(fake_power_cuts, 1);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    CHECK(strstr(fake_last_event, "no flash operation in progress") != NULL, "event: %s", fake_last_event);
    flash_free(f);
}

TEST(cut_state_reaches_the_flash_file)
{
    char path[] = "/tmp/vb_flash_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    fake_reset();
    the_cut = (struct flash_cut){2, 0, TORN_SEEDED, 7};
    struct flash_cfg cfg = {.flash_size = 64 * 1024, .page_size = 1024, .file = path, .cut = &the_cut};
    struct flash *f = flash_new(fake_vb, &cfg);
    unlock();
    fake_write32(CR, CR_PG);
    program(f, 0x08001000, 0x1234);
    program(f, 0x08001002, 0x0000);
    uint16_t torn = hw(f, 0x08001002);
    flash_free(f);
    fake_reset();
    cfg.cut = NULL;
    f = flash_new(fake_vb, &cfg);
    CHECK_EQ(hw(f, 0x08001000), 0x1234);
    CHECK_EQ(hw(f, 0x08001002), torn);
    flash_free(f);
    unlink(path);
}

int main(void) { return run_tests(); }
