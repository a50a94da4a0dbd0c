/*
 * test_tools.c - the unmodified Debian dfu-util and lsusb, run with
 * LD_LIBRARY_PATH pointing at our libusb-1.0.so.0, against the fake USB/IP
 * server: what a user of vboard sees, without vboard.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_usbip.h"
#include "testing.h"

static struct fake_usbip *srv, *srv2;
static char libdir[PATH_MAX];
static char out[65536];
static int status;

/* Runs cmd with our library on the given servers; output in out, exit
 * status in status. */
static void run(const char *servers, const char *cmd)
{
    char line[PATH_MAX + 512];
    snprintf(line, sizeof line, "LD_LIBRARY_PATH='%s' LIBUSB_USBIP_SERVERS='%s' %s 2>&1", libdir,
             servers, cmd);
    fake_usbip_wait_idle(srv, 2000);
    fake_usbip_wait_idle(srv2, 2000);
    out[0] = 0;
    FILE *p = popen(line, "r");
    if (!p) {
        status = -1;
        return;
    }
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (getenv("TEST_VERBOSE"))
        printf("$ %s\n%s(exit %d)\n", cmd, out, status);
}

static char one[64], both[96];

TEST(dfu_util_lists_both_alt_settings_with_serial)
{
    run(one, "/usr/bin/dfu-util -l");
    CHECK_EQ(status, 0);
    CHECK(strstr(out, "Found DFU: [0483:df11] ver=2200, devnum=5, cfg=1, intf=0, path=\"1-1\", "
                      "alt=0, name=\"" FAKE_LAYOUT0 "\", serial=\"" FAKE_SERIAL "\""),
          "alt 0 line missing:\n%s", out);
    CHECK(strstr(out, "alt=1, name=\"" FAKE_LAYOUT1 "\", serial=\"" FAKE_SERIAL "\""),
          "alt 1 line missing:\n%s", out);
    CHECK(!strstr(out, "Cannot open"), "open failed:\n%s", out);
}

TEST(dfu_util_without_server_lists_nothing)
{
    run("127.0.0.1:1", "/usr/bin/dfu-util -l");
    CHECK_EQ(status, 0);
    CHECK(!strstr(out, "Found"), "devices listed:\n%s", out);
}

TEST(dfu_util_picks_board_by_serial_on_two_servers)
{
    run(both, "/usr/bin/dfu-util -l");
    CHECK(strstr(out, "path=\"1-1\"") && strstr(out, "path=\"2-1\""), "two buses:\n%s", out);
    run(both, "/usr/bin/dfu-util -l -p 2-1");
    CHECK(!strstr(out, "path=\"1-1\"") && strstr(out, "path=\"2-1\""), "path filter:\n%s", out);
    strcpy(srv2->serial, "SECONDBOARD1");
    run(both, "/usr/bin/dfu-util -l -S SECONDBOARD1");
    strcpy(srv2->serial, FAKE_SERIAL);
    CHECK(!strstr(out, "path=\"1-1\"") && strstr(out, "path=\"2-1\", alt=0") &&
              strstr(out, "serial=\"SECONDBOARD1\""),
          "serial filter:\n%s", out);
}

TEST(dfu_util_skips_device_it_cannot_import)
{
    srv->refuse_import = 1;
    run(one, "/usr/bin/dfu-util -l");
    srv->refuse_import = 0;
    CHECK_EQ(status, 0);
    CHECK(!strstr(out, "Found"), "busy device listed as DFU:\n%s", out);
}

/* The whole handle path with the real dfu-util: open, claim, SET_INTERFACE,
 * OUT data (SET ADDRESS POINTER), GETSTATUS polling, multi-block UPLOAD with
 * a short last block. */
TEST(dfu_util_uploads_through_the_library)
{
    char dir[] = "/tmp/libusb-tools-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char cmd[256], path[128];
    snprintf(path, sizeof path, "%s/up.bin", dir);
    snprintf(cmd, sizeof cmd, "/usr/bin/dfu-util -a 0 -s 0x08002000:5000 -U %s", path);
    run(one, cmd);
    CHECK_EQ(status, 0);
    CHECK(strstr(out, "Upload done") || strstr(out, "Submitting"), "dfu-util:\n%s", out);
    CHECK_EQ(srv->alt, 0);
    FILE *fp = fopen(path, "rb");
    uint8_t buf[6000];
    size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    CHECK_EQ(n, 5000);
    int bad = -1;
    for (size_t i = 0; i < n && bad < 0; i++)
        if (buf[i] != fake_flash_byte(0x08002000u + (uint32_t)i))
            bad = (int)i;
    CHECK(bad < 0, "upload differs at byte %d", bad);
    unlink(path);
    /* The whole run went through host opens: no import, so no bus reset
     * when dfu-util closed the device. */
    CHECK_EQ(srv->imports, 0);
    CHECK(srv->hostopens >= 1, "host opens: %d", srv->hostopens);
    /* -R: libusb_reset_device after the upload is one HOSTRESET, and the
     * same run without -R has none. */
    snprintf(cmd, sizeof cmd, "/usr/bin/dfu-util -a 0 -s 0x08002000:100 -U %s", path);
    int before = srv->hostresets;
    run(one, cmd);
    int plain = srv->hostresets - before;
    unlink(path);
    strcat(cmd, " -R");
    before = srv->hostresets;
    run(one, cmd);
    int with_reset = srv->hostresets - before;
    CHECK_EQ(status, 0);
    CHECK(strstr(out, "Resetting USB") && !strstr(out, "error resetting"), "reset:\n%s", out);
    CHECK_EQ(plain, 0);
    CHECK_EQ(with_reset, 1);
    unlink(path);
    rmdir(dir);
}

TEST(lsusb_lists_device)
{
    run(one, "/usr/bin/lsusb");
    CHECK_EQ(status, 0);
    CHECK(strstr(out, "Bus 001 Device 005: ID 0483:df11"), "lsusb:\n%s", out);
    run(both, "/usr/bin/lsusb");
    CHECK(strstr(out, "Bus 002 Device 005: ID 0483:df11"), "second bus:\n%s", out);
}

TEST(lsusb_verbose_shows_descriptors)
{
    run(one, "/usr/bin/lsusb -v -d 0483:df11");
    CHECK_EQ(status, 0);
    /* lsusb 014 takes the device's own strings from sysfs, which a USB/IP
     * client cannot fill: only the indexes show. Interface strings come
     * through libusb_get_string_descriptor_ascii. */
    CHECK(strstr(out, "iSerial                 3"), "serial index:\n%s", out);
    CHECK(strstr(out, "iInterface              5 " FAKE_LAYOUT1), "layout string");
    CHECK(strstr(out, "Device Firmware Upgrade Interface Descriptor"), "DFU descriptor:\n%s", out);
    CHECK(strstr(out, "Binary Object Store Descriptor"), "BOS:\n%s", out);
    CHECK(strstr(out, "USB 2.0 Extension Device Capability"), "USB 2.0 extension");
    CHECK(!strstr(out, "Couldn't") && !strstr(out, "can't"), "lsusb complained:\n%s", out);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* The library sits next to this binary (build/host). */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        printf("FAIL setup: /proc/self/exe\n0 passed, 1 failed\n");
        return 1;
    }
    self[n] = 0;
    snprintf(libdir, sizeof libdir, "%s", dirname(self));
    (void)argv;
    char lib[PATH_MAX + 32];
    snprintf(lib, sizeof lib, "%s/libusb-1.0.so.0", libdir);
    if (access(lib, R_OK) || access("/usr/bin/dfu-util", X_OK) || access("/usr/bin/lsusb", X_OK)) {
        printf("FAIL setup: need %s, /usr/bin/dfu-util and /usr/bin/lsusb\n0 passed, 1 failed\n",
               lib);
        return 1;
    }
    srv = fake_usbip_start();
    srv2 = fake_usbip_start();
    if (!srv || !srv2) {
        printf("FAIL setup: cannot start the fake USB/IP servers\n0 passed, 1 failed\n");
        return 1;
    }
    /* Like usbip-host, refuse imports for a moment after each importer
     * leaves (the device is being reset): every run goes through the waits. */
    srv->busy_ms = srv2->busy_ms = 50;
    snprintf(one, sizeof one, "127.0.0.1:%u", srv->port);
    snprintf(both, sizeof both, "127.0.0.1:%u,127.0.0.1:%u", srv->port, srv2->port);
    int r = run_tests();
    fake_usbip_stop(srv);
    fake_usbip_stop(srv2);
    return r;
}
