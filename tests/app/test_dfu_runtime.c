/*
 * test_dfu_runtime.c - the dfu-runtime demo's USB device on the host: its
 * descriptors and DFU runtime requests, run through the bootloader's own
 * control pipeline (fw/core/usb_ctrl.c) with the unit tests' simulated
 * endpoint 0 (tests/unit/sim.c). Expected values are from DFU 1.1 (USB-IF,
 * "Device Class Specification for Device Firmware Upgrade", 2004): section
 * 4.1 (run-time descriptors), 6.1.2 (DFU_GETSTATUS), appendix A.2 (state
 * transitions in appIDLE and appDETACH).
 * The serial string is not read here (it comes from the chip's unique-ID
 * address): tests/e2e/runtime.sh checks it on the virtual board.
 */
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"
#include "sim.h"
#include "testing.h"
#include "usb_ctrl.h"

#define CHECK_STALL(r) CHECK((r) == SIM_STALL, "expected a STALL, got %d", (r))

static void fresh(void)
{
    sim_init(64, 0x08002000u);
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

TEST(device_descriptor)
{
    uint8_t d[18];
    fresh();
    CHECK_EQ(sim_ctrl_in(0x80, 6, 0x0100, 0, 18, d), 18);
    CHECK_EQ(d[1], 1);
    CHECK_EQ(le16(d + 2), 0x0200);  /* USB 2.0: no BOS to read */
    CHECK_EQ(d[7], 64);             /* bMaxPacketSize0, as EP0 */
    CHECK_EQ(le16(d + 8), 0x1209);  /* the demo's own IDs (app/app.mk) */
    CHECK_EQ(le16(d + 10), 0x0001);
    CHECK_EQ(le16(d + 12), 0x0100); /* bcdDevice: version 1 */
    CHECK(d[16] != 0, "no iSerialNumber: dfu-util -S could not pair the two modes");
    CHECK_EQ(d[17], 1);
}

TEST(configuration_has_a_dfu_runtime_interface)
{
    uint8_t c[64];
    fresh();
    int n = sim_ctrl_in(0x80, 6, 0x0200, 0, sizeof c, c);
    CHECK_EQ(n, 27);
    CHECK_EQ(le16(c + 2), 27); /* wTotalLength: configuration + interface + functional */
    CHECK_EQ(c[4], 1);         /* bNumInterfaces */
    const uint8_t *i = c + 9;
    CHECK_EQ(i[1], 4);
    CHECK_EQ(i[4], 0);    /* bNumEndpoints: the control pipe only (DFU 1.1 4.1.2) */
    CHECK_EQ(i[5], 0xFE); /* Application Specific */
    CHECK_EQ(i[6], 0x01); /* Device Firmware Upgrade */
    CHECK_EQ(i[7], 0x01); /* Runtime protocol */
    const uint8_t *f = c + 18;
    CHECK_EQ(f[0], 9);
    CHECK_EQ(f[1], 0x21); /* DFU FUNCTIONAL */
    CHECK(f[2] & 0x08, "bmAttributes 0x%02x lacks bit 3, bitWillDetach", f[2]);
    CHECK(f[2] & 0x01, "bmAttributes 0x%02x lacks bit 0, bitCanDnload", f[2]);
    CHECK_EQ(le16(f + 3), 1000); /* wDetachTimeOut, ms */
    CHECK_EQ(le16(f + 5), 1024); /* wTransferSize: the bootloader's */
    CHECK_EQ(le16(f + 7), 0x011A);
}

TEST(getstatus_and_getstate_say_appidle)
{
    uint8_t st[6], state;
    fresh();
    memset(st, 0xAA, sizeof st);
    CHECK_EQ(sim_ctrl_in(0xA1, 3, 0, 0, 6, st), 6);
    CHECK_EQ(st[0], 0x00); /* bStatus OK */
    CHECK_EQ(st[4], 0);    /* bState appIDLE */
    CHECK_EQ(st[5], 0);    /* iString */
    CHECK_EQ(sim_ctrl_in(0xA1, 5, 0, 0, 1, &state), 1);
    CHECK_EQ(state, 0);
    CHECK(!runtime_detach_requested(), "detach requested by a status read");
}

TEST(other_requests_and_interfaces_stall)
{
    uint8_t buf[64] = {0};
    fresh();
    /* A.2.1: in appIDLE only DETACH, GETSTATUS and GETSTATE are valid. */
    CHECK_STALL(sim_ctrl_out(0x21, 1, 0, 0, 16, buf));  /* DNLOAD */
    CHECK_STALL(sim_ctrl_in(0xA1, 2, 0, 0, 64, buf));   /* UPLOAD */
    CHECK_STALL(sim_ctrl_out(0x21, 4, 0, 0, 0, NULL));  /* CLRSTATUS */
    CHECK_STALL(sim_ctrl_out(0x21, 6, 0, 0, 0, NULL));  /* ABORT */
    /* Another interface, and a DETACH with a data stage. */
    CHECK_STALL(sim_ctrl_in(0xA1, 3, 0, 1, 6, buf));
    CHECK_STALL(sim_ctrl_out(0x21, 0, 1000, 1, 0, NULL));
    CHECK_STALL(sim_ctrl_out(0x21, 0, 1000, 0, 1, buf));
    /* Still appIDLE, no detach, and the next request works. */
    CHECK(!runtime_detach_requested(), "a refused request requested the detach");
    CHECK_EQ(sim_ctrl_in(0xA1, 3, 0, 0, 6, buf), 6);
    CHECK_EQ(buf[4], 0);
}

/* runtime_detach_requested() cannot be undone (the device reboots), so the
 * detach cases run in a child process each. */
static int in_child(void (*fn)(void))
{
    pid_t pid = fork();
    int st = 0;
    if (pid == 0) {
        test_failed_now_ = 0;
        fn();
        _exit(test_failed_now_ ? 1 : 0);
    }
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void detach_after_status_stage(void)
{
    fresh();
    /* SETUP alone: the host does not have the answer yet. */
    CHECK(sim_setup(0x21, 0, 1000, 0, 0), "DETACH refused");
    CHECK(!runtime_detach_requested(), "leaving before the status stage: the host would "
          "see DETACH fail");
    usbc_on_in(); /* the status stage's zero-length IN went out */
    CHECK(runtime_detach_requested(), "no detach after DETACH's status stage");
}

static void detach_then_getstatus_says_appdetach(void)
{
    uint8_t st[6];
    fresh();
    CHECK_EQ(sim_ctrl_out(0x21, 0, 1000, 0, 0, NULL), 0);
    CHECK(runtime_detach_requested(), "no detach");
    CHECK_EQ(sim_ctrl_in(0xA1, 3, 0, 0, 6, st), 6);
    CHECK_EQ(st[4], 1); /* appDETACH */
}

static void bus_reset_in_appidle_does_nothing(void)
{
    fresh();
    sim_bus_reset();
    CHECK(!runtime_detach_requested(), "a bus reset in appIDLE asked for DFU mode");
}

TEST(detach_leaves_after_its_status_stage)
{
    CHECK_EQ(in_child(detach_after_status_stage), 0);
    CHECK_EQ(in_child(detach_then_getstatus_says_appdetach), 0);
    CHECK_EQ(in_child(bus_reset_in_appidle_does_nothing), 0);
}

int main(void)
{
    return run_tests();
}
