/* test_gpio.c - GPIO and AFIO models against RM0008 chapter 9. */
#include "../../vboard/afio.h"
#include "../../vboard/gpio.h"
#include "../testing.h"
#include "fake_vb.h"

#define GPIOA 0x40010800u
#define GPIOB 0x40010C00u
#define GPIOC 0x40011000u
#define CRL 0x00
#define CRH 0x04
#define IDR 0x08
#define ODR 0x0C
#define BSRR 0x10
#define BRR 0x14
#define LCKR 0x18

static struct gpio *mk(void)
{
    fake_reset();
    return gpio_new(fake_vb);
}

TEST(reset_floating_inputs_rm0008_9_2_1)
{
    struct gpio *g = mk();
    CHECK_EQ(fake_read32(GPIOA + CRL), 0x44444444);
    CHECK_EQ(fake_read32(GPIOA + CRH), 0x44444444);
    CHECK_EQ(fake_read32(GPIOA + ODR), 0);
    CHECK_EQ(gpio_pin_driven(g, 'C', 13), -1);
}

TEST(output_push_pull_drives_odr_and_reports_rm0008_9_1_8)
{
    struct gpio *g = mk();
    fake_write32(GPIOC + CRH, 0x44244444); /* PC13 output 2 MHz push-pull */
    CHECK_EQ(gpio_pin_driven(g, 'C', 13), 0);
    CHECK(strstr(fake_last_event, "gpio PC13=0") != NULL, "event '%s'", fake_last_event);
    int before = fake_events;
    fake_write32(GPIOC + BSRR, 1u << 13);
    CHECK_EQ(gpio_pin_driven(g, 'C', 13), 1);
    CHECK(strstr(fake_last_event, "gpio PC13=1") != NULL, "event '%s'", fake_last_event);
    CHECK_EQ(fake_events, before + 1);
    fake_write32(GPIOC + BSRR, 1u << 13); /* no change: no event */
    CHECK_EQ(fake_events, before + 1);
    /* Output levels read back through IDR (9.1.8). */
    CHECK_EQ((fake_read32(GPIOC + IDR) >> 13) & 1, 1);
}

TEST(bsrr_set_wins_over_reset_rm0008_9_2_5)
{
    mk();
    /* "If both BSx and BRx are set, BSx has priority." */
    fake_write32(GPIOA + BSRR, (1u << 16) | 1u);
    CHECK_EQ(fake_read32(GPIOA + ODR) & 1, 1);
    fake_write32(GPIOA + BRR, 1);
    CHECK_EQ(fake_read32(GPIOA + ODR) & 1, 0);
}

TEST(open_drain_releases_for_1_rm0008_9_1_8)
{
    struct gpio *g = mk();
    fake_write32(GPIOB + CRL, 0x44444446); /* PB0 open-drain output */
    fake_write32(GPIOB + ODR, 1);
    CHECK_EQ(gpio_pin_driven(g, 'B', 0), -1);
    fake_write32(GPIOB + ODR, 0);
    CHECK_EQ(gpio_pin_driven(g, 'B', 0), 0);
}

TEST(input_levels_and_pulls_rm0008_9_1_1)
{
    struct gpio *g = mk();
    gpio_set_input(g, 'B', 2, 1);
    CHECK_EQ((fake_read32(GPIOB + IDR) >> 2) & 1, 1);
    /* Floating input with nothing attached reads 0. */
    CHECK_EQ((fake_read32(GPIOB + IDR) >> 3) & 1, 0);
    /* CNF = 10 input with ODR = 1: pull-up reads 1; ODR = 0 pull-down. */
    fake_write32(GPIOB + CRL, 0x44448444);
    fake_write32(GPIOB + ODR, 1u << 3);
    CHECK_EQ((fake_read32(GPIOB + IDR) >> 3) & 1, 1);
    fake_write32(GPIOB + ODR, 0);
    CHECK_EQ((fake_read32(GPIOB + IDR) >> 3) & 1, 0);
    /* Analog mode: Schmitt trigger off, reads 0 whatever the pin level. */
    fake_write32(GPIOB + CRL, 0x44444044);
    CHECK_EQ((fake_read32(GPIOB + IDR) >> 2) & 1, 0);
}

TEST(alternate_function_is_not_gpio_driven_rm0008_9_1_4)
{
    struct gpio *g = mk();
    fake_write32(GPIOA + CRH, 0x444B4444); /* PA12 AF push-pull */
    CHECK_EQ(gpio_pin_driven(g, 'A', 12), -1);
}

TEST(clock_off_access_is_a_violation_rm0008_7_3_7)
{
    mk();
    fake_clock_on[VB_CLK_GPIOC] = false;
    fake_write32(GPIOC + CRH, 0x44244444);
    CHECK_EQ(fake_violations, 1);
    CHECK_EQ(fake_read32(GPIOC + CRH), 0); /* and the write was ignored */
}

TEST(lock_sequence_freezes_configuration_rm0008_9_2_7)
{
    mk();
    uint32_t k = 1u << 16, pins = 1u << 13;
    fake_write32(GPIOC + LCKR, k | pins);
    fake_write32(GPIOC + LCKR, pins);
    fake_write32(GPIOC + LCKR, k | pins);
    CHECK_EQ(fake_read32(GPIOC + LCKR) & k, 0); /* read 0 */
    CHECK(fake_read32(GPIOC + LCKR) & k, "LCKK does not read 1 after the sequence");
    fake_write32(GPIOC + CRH, 0x44244444);
    CHECK_EQ(fake_read32(GPIOC + CRH), 0x44444444);
    /* Unlocked pins stay configurable. */
    fake_write32(GPIOC + CRH, 0x44444442);
    CHECK_EQ(fake_read32(GPIOC + CRH), 0x44444442);
}

TEST(wrong_lock_sequence_does_not_lock_rm0008_9_2_7)
{
    mk();
    uint32_t k = 1u << 16;
    fake_write32(GPIOC + LCKR, k | 1);
    fake_write32(GPIOC + LCKR, k | 1); /* should have been LCKK = 0 */
    fake_write32(GPIOC + LCKR, k | 1);
    fake_write32(GPIOC + CRL, 0x44444442);
    CHECK_EQ(fake_read32(GPIOC + CRL), 0x44444442);
}

TEST(afio_mapr_swj_cfg_write_only_rm0008_9_4_2)
{
    fake_reset();
    afio_new(fake_vb);
    fake_write32(0x40010004, 0x02000001); /* SWJ_CFG = 010, SPI1_REMAP */
    CHECK_EQ(fake_read32(0x40010004), 1);
}

int main(void) { return run_tests(); }
