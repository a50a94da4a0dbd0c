/* test_nvic.c - NVIC registers and exception choice against PM0056 4.3 and
 * 2.3.6 (Cortex-M3 programming manual, used by STM32F103). */
#include "../../vboard/nvic.h"
#include "../testing.h"
#include "fake_vb.h"

#define ISER0 0xE000E100u
#define ICER0 0xE000E180u
#define ISPR0 0xE000E200u
#define ICPR0 0xE000E280u
#define IABR0 0xE000E300u
#define IPR0 0xE000E400u
#define STIR 0xE000EF00u

static struct nvic *mk(void)
{
    fake_reset();
    return nvic_new(fake_vb);
}

TEST(iser_icer_write_one_to_set_clear_pm0056_4_3_2)
{
    struct nvic *n = mk();
    fake_write32(ISER0, 1u << 20); /* USB_LP_CAN1_RX0 */
    CHECK_EQ(fake_read32(ISER0), 1u << 20);
    CHECK_EQ(fake_read32(ICER0), 1u << 20);
    fake_write32(ISER0, 0); /* writing 0 has no effect */
    CHECK(nvic_is_enabled(n, 16 + 20), "disabled by writing 0");
    fake_write32(ICER0, 1u << 20);
    CHECK_EQ(fake_read32(ISER0), 0);
}

TEST(level_line_pends_and_repends_after_return_pm0056_4_3_10)
{
    struct nvic *n = mk();
    fake_write32(ISER0, 1u << 4);
    CHECK(nvic_set_level(n, 4, true), "newly pending not reported");
    CHECK_EQ(fake_read32(ISPR0) & (1u << 4), 1u << 4);
    CHECK_EQ(nvic_preempting(n, 256), 16 + 4);
    nvic_activate(n, 16 + 4);
    CHECK(!nvic_is_pending(n, 16 + 4), "pending while its handler runs");
    CHECK_EQ(fake_read32(IABR0), 1u << 4);
    nvic_deactivate(n, 16 + 4);
    CHECK(nvic_is_pending(n, 16 + 4), "line still high: pending again after return");
    nvic_set_level(n, 4, false);
    CHECK(!nvic_is_pending(n, 16 + 4), "pending after the line dropped");
}

TEST(ispr_icpr_software_pending_pm0056_4_3_4)
{
    struct nvic *n = mk();
    fake_write32(ISPR0, 1u << 7);
    CHECK(nvic_is_pending(n, 16 + 7), "ISPR");
    CHECK_EQ(nvic_preempting(n, 256), 0); /* not enabled */
    fake_write32(ICPR0, 1u << 7);
    CHECK(!nvic_is_pending(n, 16 + 7), "ICPR");
}

TEST(ipr_implements_top_four_bits_pm0056_4_3_7)
{
    struct nvic *n = mk();
    fake_write(IPR0 + 5, 0xAB, 1);
    CHECK_EQ(fake_read(IPR0 + 5, 1), 0xA0);
    CHECK_EQ(nvic_priority(n, 16 + 5), 0xA0);
    fake_write32(IPR0 + 8, 0x40302010);
    CHECK_EQ(fake_read32(IPR0 + 8), 0x40302010);
}

TEST(lower_value_wins_then_lower_number_pm0056_2_3_6)
{
    struct nvic *n = mk();
    fake_write32(ISER0, (1u << 3) | (1u << 9) | (1u << 10));
    fake_write(IPR0 + 3, 0x80, 1);
    fake_write(IPR0 + 9, 0x40, 1);
    fake_write(IPR0 + 10, 0x40, 1);
    fake_write32(ISPR0, (1u << 3) | (1u << 9) | (1u << 10));
    CHECK_EQ(nvic_preempting(n, 256), 16 + 9);
    nvic_activate(n, 16 + 9);
    /* Same priority as the active one does not preempt. */
    CHECK_EQ(nvic_exec_priority(n, false, 0, false), 0x40);
    CHECK_EQ(nvic_preempting(n, 0x40), 0);
}

TEST(primask_basepri_faultmask_raise_execution_priority_pm0056_2_3_6)
{
    struct nvic *n = mk();
    CHECK_EQ(nvic_exec_priority(n, false, 0, false), 256);
    CHECK_EQ(nvic_exec_priority(n, true, 0, false), 0);
    CHECK_EQ(nvic_exec_priority(n, false, 0x60, false), 0x60);
    CHECK_EQ(nvic_exec_priority(n, false, 0, true), -1);
}

TEST(prigroup_subpriority_does_not_preempt_pm0056_4_4_5)
{
    struct nvic *n = mk();
    nvic_set_prigroup(n, 6); /* group = bit 7 only */
    CHECK_EQ(nvic_group_priority(n, 0x40), 0x00);
    CHECK_EQ(nvic_group_priority(n, 0xC0), 0x80);
    fake_write32(ISER0, 3);
    fake_write(IPR0 + 0, 0x40, 1);
    fake_write(IPR0 + 1, 0x00, 1);
    nvic_activate(n, 16 + 0); /* group 0, subpriority 0x40 */
    fake_write32(ISPR0, 2);   /* group 0, subpriority 0: same group */
    CHECK_EQ(nvic_preempting(n, nvic_exec_priority(n, false, 0, false)), 0);
}

TEST(stir_pends_interrupt_pm0056_4_3_8)
{
    struct nvic *n = mk();
    fake_write32(STIR, 42);
    CHECK(nvic_is_pending(n, 16 + 42), "STIR");
}

TEST(hardfault_nmi_fixed_priorities_pm0056_2_3_6)
{
    struct nvic *n = mk();
    CHECK_EQ(nvic_priority(n, EXC_HARDFAULT), -1);
    CHECK_EQ(nvic_priority(n, EXC_NMI), -2);
    nvic_set_pending(n, EXC_NMI, true);
    CHECK_EQ(nvic_preempting(n, -1), EXC_NMI);
}

int main(void) { return run_tests(); }
