/* test_scb.c - SCB registers against PM0056 4.4. */
#include "../../vboard/scb.h"
#include "../testing.h"
#include "fake_vb.h"

#define CPUID 0xE000ED00u
#define ICSR 0xE000ED04u
#define VTOR 0xE000ED08u
#define AIRCR 0xE000ED0Cu
#define CCR 0xE000ED14u
#define SHPR2 0xE000ED1Cu
#define SHPR3 0xE000ED20u
#define CFSR 0xE000ED28u

static struct nvic *n;
static struct scb *mk(void)
{
    fake_reset();
    n = nvic_new(fake_vb);
    return scb_new(fake_vb, n);
}

TEST(cpuid_is_cortex_m3_r1p1_pm0056_4_4_1)
{
    mk();
    CHECK_EQ(fake_read32(CPUID), 0x411FC231);
}

TEST(aircr_needs_vectkey_pm0056_4_4_5)
{
    mk();
    /* "On writes, write 0x5FA to VECTKEY, otherwise the write is ignored." */
    fake_write32(AIRCR, 0x00000004);
    CHECK_EQ(fake_system_resets, 0);
    CHECK_EQ(fake_violations, 1);
    fake_write32(AIRCR, 0x05FA0004);
    CHECK_EQ(fake_system_resets, 1);
    /* Reads return VECTKEYSTAT 0xFA05. */
    CHECK_EQ(fake_read32(AIRCR) >> 16, 0xFA05);
}

TEST(aircr_prigroup_pm0056_4_4_5)
{
    mk();
    fake_write32(AIRCR, 0x05FA0500);
    CHECK_EQ((fake_read32(AIRCR) >> 8) & 7, 5);
    CHECK_EQ(nvic_prigroup(n), 5);
}

TEST(vtor_tbloff_bits_29_9_pm0056_4_4_4)
{
    struct scb *s = mk();
    fake_write32(VTOR, 0x08002000);
    CHECK_EQ(scb_vtor(s), 0x08002000);
    fake_write32(VTOR, 0x080021FF);
    CHECK_EQ(fake_read32(VTOR), 0x08002000);
}

TEST(icsr_pendsvset_and_clr_pm0056_4_4_3)
{
    mk();
    fake_write32(ICSR, 1u << 28);
    CHECK(nvic_is_pending(n, EXC_PENDSV), "PENDSVSET");
    CHECK(fake_read32(ICSR) & (1u << 28), "PENDSVSET reads back");
    CHECK_EQ((fake_read32(ICSR) >> 12) & 0x3FF, EXC_PENDSV); /* VECTPENDING */
    fake_write32(ICSR, 1u << 27);
    CHECK(!nvic_is_pending(n, EXC_PENDSV), "PENDSVCLR");
    fake_write32(ICSR, 1u << 26);
    CHECK(nvic_is_pending(n, EXC_SYSTICK), "PENDSTSET");
}

TEST(icsr_vectactive_and_rettobase_pm0056_4_4_3)
{
    mk();
    CHECK(fake_read32(ICSR) & (1u << 11), "RETTOBASE with nothing active");
    nvic_activate(n, EXC_SVCALL);
    CHECK_EQ(fake_read32(ICSR) & 0x1FF, EXC_SVCALL);
    nvic_activate(n, EXC_HARDFAULT);
    CHECK_EQ(fake_read32(ICSR) & 0x1FF, EXC_HARDFAULT);
    CHECK_EQ(fake_read32(ICSR) & (1u << 11), 0);
}

TEST(shpr_sets_system_priorities_pm0056_4_4_8)
{
    mk();
    fake_write32(SHPR2, 0x80000000);
    fake_write32(SHPR3, 0xC0F00000);
    CHECK_EQ(nvic_priority(n, EXC_SVCALL), 0x80);
    CHECK_EQ(nvic_priority(n, EXC_PENDSV), 0xF0);
    CHECK_EQ(nvic_priority(n, EXC_SYSTICK), 0xC0);
    fake_write(SHPR3 + 3, 0x10, 1); /* byte access */
    CHECK_EQ(nvic_priority(n, EXC_SYSTICK), 0x10);
}

TEST(ccr_reset_stkalign_and_cfsr_rc_w1_pm0056_4_4_7)
{
    struct scb *s = mk();
    CHECK_EQ(fake_read32(CCR), 0x200);
    scb_record_fault(s, 1u << 16, 0xFFFFFFFF, true);
    CHECK_EQ(fake_read32(CFSR), 1u << 16);
    fake_write32(CFSR, 1u << 16);
    CHECK_EQ(fake_read32(CFSR), 0);
}

/* PM0056 4.4.9: "MEMFAULTENA bit 16, BUSFAULTENA 17, USGFAULTENA 18" are
 * the enables; "USGFAULTACT" (bit 3) reads 1 while UsageFault is active. */
TEST(shcsr_enables_and_active_bits_pm0056_4_4_9)
{
    struct scb *s = mk();
    CHECK(!scb_fault_enabled(s, EXC_USAGEFAULT), "UsageFault enabled at reset");
    fake_write32(0xE000ED24, 1u << 18);
    CHECK(scb_fault_enabled(s, EXC_USAGEFAULT), "USGFAULTENA not honoured");
    CHECK(!scb_fault_enabled(s, EXC_BUSFAULT), "BusFault enabled by USGFAULTENA");
    CHECK_EQ(fake_read32(0xE000ED24), 1u << 18);
    nvic_activate(n, EXC_USAGEFAULT);
    CHECK_EQ(fake_read32(0xE000ED24), (1u << 18) | (1u << 3));
}

int main(void) { return run_tests(); }
