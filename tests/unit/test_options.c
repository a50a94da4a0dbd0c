/* The core built with UPLOAD=0 UNPROTECT=1 WEBUSB=0 STRICT=1 (fw/fw.mk). */
#include "boot.h"
#include "config.h"
#include "dfu.h"
#include "dfu_defs.h"
#include "layout.h"
#include "sim.h"
#include "testing.h"

#if CFG_UPLOAD || !CFG_UNPROTECT || CFG_WEBUSB || !CFG_STRICT
#error "test_options must be built with UPLOAD=0 UNPROTECT=1 WEBUSB=0 STRICT=1"
#endif

static uint8_t buf[512];

TEST(upload_off_refuses_every_readout)
{
    sim_init(128, 0x08002000);
    CHECK_EQ(dfuse_run(0x21, 0x08002000, true), 0);
    CHECK_EQ(dfu_abort(), 0);
    CHECK_EQ(dfu_upload(2, buf, 64), SIM_STALL);
    uint8_t st[6];
    CHECK_EQ(dfu_getstatus(st), 6);
    CHECK_EQ(st[4], dfuERROR);
    CHECK_EQ(st[0], errTARGET);
    CHECK_EQ(dfu_clrstatus(), 0);
    CHECK_EQ(dfu_upload(0, buf, 16), 4); /* the command list is not flash */
    CHECK(memcmp(buf, "\x00\x21\x41\x92", 4) == 0, "GET lists READ UNPROTECT when built in");
}

TEST(upload_off_layout_and_attributes)
{
    sim_init(128, 0x08002000);
    CHECK_EQ(sim_ctrl_in(0x80, 6, 0x0200, 0, 255, buf), 27);
    CHECK_EQ(buf[18 + 2], 0x09); /* download + will detach, no upload */
    char want[LAYOUT_MAX];
    layout_string(want, false);
    int n = sim_ctrl_in(0x80, 6, 0x0304, 0x0409, 255, buf);
    CHECK_EQ(n, 2 + 2 * (int)strlen(want));
    for (unsigned i = 0; i < strlen(want); i++)
        CHECK(buf[2 + 2 * i] == (uint8_t)want[i], "char %u", i);
    CHECK(strcmp(want, "@Internal Flash  /0x08002000/120*001Kf") == 0, "layout %s", want);
}

TEST(read_unprotect_runs_when_enabled)
{
    sim_init(128, 0x08002000);
    CHECK_EQ(dfuse_cmd(0x92, 0, false), 1);
    uint8_t st[6];
    CHECK_EQ(dfu_getstatus(st), 6);
    CHECK_EQ(st[4], dfuDNBUSY);
    CHECK_EQ(sim.unprotects, 1);
}

TEST(no_webusb_capability)
{
    sim_init(128, 0x08002000);
    int n = sim_ctrl_in(0x80, 6, 0x0F00, 0, 255, buf);
    CHECK_EQ(n, 5 + 28);
    CHECK_EQ(buf[4], 1);
    CHECK_EQ(sim_ctrl_in(0xC0, 0x01, 1, 2, 255, buf), SIM_STALL);
}

TEST(strict_refuses_unstamped)
{
    uint32_t v[2] = {0x20005000, 0x08002101};
    sim_init(128, 0x08002000);
    sim_put(0x08002000, v, 8);
    struct boot_inputs in = {false, false, false};
    CHECK_EQ(boot_decide(&in, CFG_STRICT), BOOT_DFU_NO_APP);
    CHECK_EQ(boot_decide(&in, false), BOOT_APP);
}

int main(void)
{
    return run_tests();
}
