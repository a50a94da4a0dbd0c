/*
 * test_libusb.c - the USB/IP libusb against the fake server (fake_usbip.c):
 * listing and descriptors, the extra bytes, control transfers with stall,
 * timeout + unlink and a vanished server, strings, BOS, reset, two servers.
 */
#include <fcntl.h>
#include <libusb-1.0/libusb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_usbip.h"
#include "internal.h"
#include "testing.h"

static struct fake_usbip *srv, *srv2;

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh context on the given servers (0 = the second fake too). */
static libusb_context *ctx_on(int both)
{
    char spec[64];
    if (both)
        snprintf(spec, sizeof spec, "127.0.0.1:%u,127.0.0.1:%u", srv->port, srv2->port);
    else
        snprintf(spec, sizeof spec, "127.0.0.1:%u", srv->port);
    setenv("LIBUSB_USBIP_SERVERS", spec, 1);
    /* The previous test's close first, so it is not counted in this one. */
    fake_usbip_wait_idle(srv, 1000);
    fake_usbip_wait_idle(srv2, 1000);
    fake_usbip_reset_knobs(srv);
    fake_usbip_reset_knobs(srv2);
    libusb_context *ctx = NULL;
    int r = libusb_init(&ctx);
    CHECK(r == 0 && ctx, "libusb_init: %d", r);
    return ctx;
}

/* Lists and opens the single device of srv. */
static libusb_device_handle *open_one(libusb_context *ctx)
{
    libusb_device **list;
    libusb_device_handle *h = NULL;
    ssize_t n = libusb_get_device_list(ctx, &list);
    CHECK_EQ(n, 1);
    if (n >= 1) {
        int r = libusb_open(list[0], &h);
        CHECK(r == 0, "open: %s", libusb_error_name(r));
    }
    libusb_free_device_list(list, 1);
    return h;
}

TEST(list_shows_device_with_descriptors)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    CHECK_EQ(n, 1);
    if (n == 1) {
        struct libusb_device_descriptor d;
        CHECK_EQ(libusb_get_device_descriptor(list[0], &d), 0);
        CHECK_EQ(d.idVendor, FAKE_VID);
        CHECK_EQ(d.idProduct, FAKE_PID);
        CHECK_EQ(d.bcdDevice, 0x2200);
        CHECK_EQ(d.iSerialNumber, 3); /* read from the device, not in the devlist */
        CHECK_EQ(d.bMaxPacketSize0, 64);
        CHECK_EQ(libusb_get_bus_number(list[0]), 1);
        CHECK_EQ(libusb_get_device_address(list[0]), 5);
        uint8_t ports[7];
        CHECK_EQ(libusb_get_port_numbers(list[0], ports, sizeof ports), 1);
        CHECK_EQ(ports[0], 1);
        CHECK_EQ(libusb_get_port_numbers(list[0], ports, 0), LIBUSB_ERROR_INVALID_PARAM);
        CHECK_EQ(libusb_get_device_speed(list[0]), LIBUSB_SPEED_FULL);
        CHECK(libusb_get_parent(list[0]) == NULL, "no parent");
        CHECK_EQ(list[1] == NULL, 1);
    }
    /* The host's copy of the descriptors (HOSTDESC), no URB, no import:
     * as libusb reads sysfs on Linux. */
    CHECK_EQ(srv->hostdescs, 1);
    CHECK_EQ(srv->imports, 0);
    CHECK_EQ(srv->submits, 0);
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
}

TEST(plain_usbip_server_lists_through_an_import)
{
    /* A server that hangs up on HOSTDESC (Linux usbipd): the descriptors
     * are read from the device over a short import, and opens import. */
    libusb_context *ctx = ctx_on(0);
    srv->host_ops = 0;
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    struct libusb_device_descriptor d;
    libusb_get_device_descriptor(list[0], &d);
    CHECK_EQ(d.iSerialNumber, 3);
    CHECK_EQ(srv->imports, 1);
    CHECK_EQ(srv->hostdescs, 1); /* asked once, then remembered */
    libusb_free_device_list(list, 1);
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    CHECK_EQ(srv->hostdescs, 1);
    libusb_device_handle *h = NULL;
    fake_usbip_wait_idle(srv, 1000);
    CHECK_EQ(libusb_open(list[0], &h), 0);
    CHECK_EQ(srv->hostopens, 0);
    CHECK_EQ(srv->imports, 3);
    libusb_close(h);
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
}

TEST(config_descriptor_puts_dfu_functional_in_interface_extra)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device **list;
    if (libusb_get_device_list(ctx, &list) == 1) {
        struct libusb_config_descriptor *c = NULL;
        CHECK_EQ(libusb_get_config_descriptor(list[0], 0, &c), 0);
        if (c) {
            CHECK_EQ(c->wTotalLength, fake_config_len);
            CHECK_EQ(c->bConfigurationValue, 1);
            CHECK_EQ(c->bNumInterfaces, 1);
            CHECK_EQ(c->extra_length, 0);
            CHECK_EQ(c->interface[0].num_altsetting, 2);
        }
        if (c && c->interface[0].num_altsetting == 2) {
            const struct libusb_interface_descriptor *a0 = &c->interface[0].altsetting[0];
            const struct libusb_interface_descriptor *a1 = &c->interface[0].altsetting[1];
            CHECK_EQ(a0->bInterfaceClass, 0xFE);
            CHECK_EQ(a0->extra_length, 0);
            CHECK_EQ(a1->bAlternateSetting, 1);
            CHECK_EQ(a1->iInterface, 5);
            CHECK_EQ(a1->extra_length, 9);
            if (a1->extra_length == 9)
                CHECK(a1->extra[1] == 0x21 && a1->extra[7] == 0x1A, "DFU functional in alt 1 extra");
        }
        libusb_free_config_descriptor(c);
        CHECK_EQ(libusb_get_config_descriptor(list[0], 1, &c), LIBUSB_ERROR_NOT_FOUND);
        CHECK_EQ(libusb_get_config_descriptor_by_value(list[0], 1, &c), 0);
        libusb_free_config_descriptor(c);
        CHECK_EQ(libusb_get_active_config_descriptor(list[0], &c), 0);
        libusb_free_config_descriptor(c);
        CHECK_EQ(libusb_get_config_descriptor_by_value(list[0], 2, &c), LIBUSB_ERROR_NOT_FOUND);
        libusb_free_device_list(list, 1);
    } else {
        CHECK(0, "no device");
    }
    libusb_exit(ctx);
}

TEST(parser_places_extra_like_libusb)
{
    static const uint8_t blob[] = {
        9, 2, 59, 0, 2, 1, 0, 0x80, 50,
        8, 0x0B, 0, 2, 2, 2, 1, 0,           /* IAD before interface 0: config extra */
        9, 4, 0, 0, 1, 2, 2, 1, 0,           /* interface 0 */
        5, 0x24, 0, 0x10, 1,                 /* class descriptor: interface extra */
        7, 5, 0x81, 3, 8, 0, 16,             /* endpoint */
        6, 0x25, 1, 2, 3, 4,                 /* after the endpoint: endpoint extra */
        9, 4, 1, 0, 0, 10, 0, 0, 0,          /* interface 1 alt 0 */
        9, 4, 1, 1, 0, 10, 0, 0, 0,          /* interface 1 alt 1 */
    };
    struct libusb_config_descriptor *c = NULL;
    CHECK_EQ(usbi_parse_config(blob, sizeof blob, &c), 0);
    if (!c)
        return;
    CHECK_EQ(c->extra_length, 8);
    CHECK_EQ(c->extra ? c->extra[1] : 0, 0x0B);
    CHECK_EQ(c->interface[0].altsetting[0].extra_length, 5);
    CHECK_EQ(c->interface[0].altsetting[0].bNumEndpoints, 1);
    const struct libusb_endpoint_descriptor *ep = &c->interface[0].altsetting[0].endpoint[0];
    CHECK_EQ(ep->bEndpointAddress, 0x81);
    CHECK_EQ(ep->wMaxPacketSize, 8);
    CHECK_EQ(ep->extra_length, 6);
    CHECK_EQ(c->interface[1].num_altsetting, 2);
    CHECK_EQ(c->interface[1].altsetting[1].bAlternateSetting, 1);
    libusb_free_config_descriptor(c);
    /* A descriptor with bLength 1 is an error, not a loop. */
    uint8_t bad[sizeof blob];
    memcpy(bad, blob, sizeof blob);
    bad[9] = 1;
    CHECK_EQ(usbi_parse_config(bad, sizeof bad, &c), LIBUSB_ERROR_IO);
}

TEST(refused_server_means_no_devices)
{
    setenv("LIBUSB_USBIP_SERVERS", "127.0.0.1:1", 1); /* nobody listens on port 1 */
    libusb_context *ctx = NULL;
    CHECK_EQ(libusb_init(&ctx), 0);
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 0);
    CHECK(list && list[0] == NULL, "empty NULL-terminated list");
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
}

TEST(two_servers_are_two_buses)
{
    libusb_context *ctx = ctx_on(1);
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK_EQ(libusb_get_bus_number(list[0]), 1);
        CHECK_EQ(libusb_get_bus_number(list[1]), 2);
    }
    CHECK_EQ(srv2->hostdescs, 1);
    libusb_free_device_list(list, 1);
    /* A refusing server in between is skipped, the next still counts. */
    setenv("LIBUSB_USBIP_SERVERS", "127.0.0.1:1", 1);
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:1,127.0.0.1:%u", srv2->port);
    setenv("LIBUSB_USBIP_SERVERS", spec, 1);
    libusb_context *c2;
    libusb_init(&c2);
    n = libusb_get_device_list(c2, &list);
    CHECK_EQ(n, 1);
    if (n == 1)
        CHECK_EQ(libusb_get_bus_number(list[0]), 2);
    libusb_free_device_list(list, 1);
    libusb_exit(c2);
    libusb_exit(ctx);
}

TEST(control_transfer_in_out_and_interfaces)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    uint8_t st[16] = {0};
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, st, 6, 1000), 6);
    CHECK(memcmp(st, fake_dfu_status, 6) == 0, "GETSTATUS bytes");
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, st, 3, 1000), 3); /* shorter ask */
    uint8_t data[5] = {0x41, 0, 0x20, 0, 8};
    CHECK_EQ(libusb_control_transfer(h, 0x21, 1, 0, 0, data, 5, 1000), 5);
    CHECK(memcmp(srv->last_setup, "\x21\x01\x00\x00\x00\x00\x05\x00", 8) == 0, "setup sent LE");
    CHECK_EQ(libusb_claim_interface(h, 0), 0);
    CHECK_EQ(libusb_claim_interface(h, 1), LIBUSB_ERROR_NOT_FOUND);
    CHECK_EQ(libusb_set_interface_alt_setting(h, 0, 1), 0);
    CHECK_EQ(srv->alt, 1);
    CHECK_EQ(libusb_release_interface(h, 0), 0);
    CHECK_EQ(libusb_release_interface(h, 0), LIBUSB_ERROR_NOT_FOUND);
    CHECK_EQ(libusb_set_interface_alt_setting(h, 0, 0), LIBUSB_ERROR_NOT_FOUND); /* unclaimed */
    int cfg = -1;
    CHECK_EQ(libusb_get_configuration(h, &cfg), 0);
    CHECK_EQ(cfg, 1);
    CHECK_EQ(libusb_set_configuration(h, 1), 0);
    CHECK_EQ(srv->config, 1);
    CHECK_EQ(libusb_kernel_driver_active(h, 0), 0);
    CHECK_EQ(libusb_bulk_transfer(h, 0x81, st, 8, NULL, 100), LIBUSB_ERROR_PIPE);
    CHECK(libusb_get_device(h) != NULL, "handle has its device");
    libusb_close(h);
    CHECK_EQ(fake_usbip_wait_idle(srv, 1000), 0); /* close ended the import */
    libusb_exit(ctx);
}

TEST(stall_is_pipe_and_connection_survives)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    uint8_t b[64];
    CHECK_EQ(libusb_control_transfer(h, 0xC0, 0x55, 0, 0, b, 8, 1000), LIBUSB_ERROR_PIPE);
    CHECK_EQ(libusb_clear_halt(h, 0x81), LIBUSB_ERROR_PIPE);
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 1000), 6);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(timeout_unlinks_and_stream_stays_in_step)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    srv->delay_ms = 600;
    srv->delay_request = 3;
    uint8_t b[16];
    long long t0 = ms_now();
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 100), LIBUSB_ERROR_TIMEOUT);
    long long took = ms_now() - t0;
    CHECK(took >= 90 && took < 500, "timeout took %lld ms", took);
    CHECK_EQ(srv->unlinks, 1);
    srv->delay_request = -1;
    memset(b, 0xEE, sizeof b);
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 1000), 6);
    CHECK(memcmp(b, fake_dfu_status, 6) == 0, "next reply is ours");
    /* A slow but in-time reply is waited for; 0 means no timeout at all. */
    srv->delay_ms = 200;
    srv->delay_request = 3;
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 2000), 6);
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 0), 6);
    CHECK_EQ(srv->unlinks, 1);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(late_replies_after_unlink_are_skipped)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    uint8_t b[64];
    /* The URB completed before the unlink arrived: RET_SUBMIT, RET_UNLINK 0. */
    srv->unlink_mode = 1;
    srv->delay_request = 3;
    srv->delay_ms = 300;
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 50), LIBUSB_ERROR_TIMEOUT);
    srv->delay_request = -1;
    CHECK_EQ(libusb_control_transfer(h, 0x80, 6, 0x100, 0, b, 18, 1000), 18);
    CHECK_EQ(b[1], 1);
    /* A server that never answers the unlink: its late RET_SUBMIT (with IN
     * data) arrives while the next URB waits, and must be skipped. */
    srv->unlink_mode = 2;
    srv->delay_request = 3;
    srv->delay_ms = 1500;
    long long t0 = ms_now();
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 50), LIBUSB_ERROR_TIMEOUT);
    CHECK(ms_now() - t0 < 1400, "unlink wait is bounded: %lld ms", ms_now() - t0);
    srv->delay_request = -1;
    memset(b, 0, sizeof b);
    CHECK_EQ(libusb_control_transfer(h, 0x80, 6, 0x100, 0, b, 18, 3000), 18);
    CHECK(b[0] == 18 && b[1] == 1, "device descriptor, not the stale status: %02x %02x", b[0], b[1]);
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 1000), 6);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(dropped_connection_is_no_device)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    srv->drop_request = 3;
    uint8_t b[8];
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 1000), LIBUSB_ERROR_NO_DEVICE);
    CHECK_EQ(libusb_control_transfer(h, 0x80, 6, 0x100, 0, b, 8, 1000), LIBUSB_ERROR_NO_DEVICE);
    CHECK_EQ(libusb_claim_interface(h, 0), LIBUSB_ERROR_NO_DEVICE);
    /* libusb: resetting a device that is gone is NOT_FOUND; on vboard the
     * handle must not turn into an import (exclusive, reset on close). */
    CHECK_EQ(libusb_reset_device(h), LIBUSB_ERROR_NOT_FOUND);
    CHECK_EQ(srv->imports, 0);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(string_descriptor_ascii)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    unsigned char s[256];
    int r = libusb_get_string_descriptor_ascii(h, 3, s, sizeof s);
    CHECK_EQ(r, (int)strlen(FAKE_SERIAL));
    CHECK(r > 0 && strcmp((char *)s, FAKE_SERIAL) == 0, "serial '%s'", s);
    CHECK_EQ(libusb_get_string_descriptor_ascii(h, 4, s, sizeof s), (int)strlen(FAKE_LAYOUT0));
    CHECK_EQ(libusb_get_string_descriptor_ascii(h, 3, s, 5), 4); /* room for 4 + NUL */
    CHECK(strcmp((char *)s, "FAKE") == 0, "truncated '%s'", s);
    CHECK_EQ(libusb_get_string_descriptor_ascii(h, 0, s, sizeof s), LIBUSB_ERROR_INVALID_PARAM);
    CHECK_EQ(libusb_get_string_descriptor_ascii(h, 9, s, sizeof s), LIBUSB_ERROR_PIPE);
    /* The inline helpers of libusb.h go through libusb_control_transfer. */
    CHECK_EQ(libusb_get_string_descriptor(h, 0, 0, s, 255), 4);
    CHECK_EQ(libusb_get_descriptor(h, LIBUSB_DT_DEVICE, 0, s, 18), 18);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(bos_and_capabilities)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    struct libusb_bos_descriptor *bos = NULL;
    CHECK_EQ(libusb_get_bos_descriptor(h, &bos), 0);
    if (bos) {
        CHECK_EQ(bos->wTotalLength, 12);
        CHECK_EQ(bos->bNumDeviceCaps, 1);
        struct libusb_usb_2_0_extension_descriptor *e = NULL;
        CHECK_EQ(libusb_get_usb_2_0_extension_descriptor(ctx, bos->dev_capability[0], &e), 0);
        CHECK_EQ(e ? e->bmAttributes : 0, 2);
        libusb_free_usb_2_0_extension_descriptor(e);
        struct libusb_ss_usb_device_capability_descriptor *ss;
        CHECK_EQ(libusb_get_ss_usb_device_capability_descriptor(ctx, bos->dev_capability[0], &ss),
                 LIBUSB_ERROR_INVALID_PARAM);
        libusb_free_bos_descriptor(bos);
    }
    srv->no_bos = 1;
    CHECK_EQ(libusb_get_bos_descriptor(h, &bos), LIBUSB_ERROR_PIPE);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(import_refused_lists_devlist_fields_only)
{
    libusb_context *ctx = ctx_on(0);
    srv->host_ops = 0; /* plain USB/IP: the import path */
    srv->refuse_import = 1;
    setenv("LIBUSB_USBIP_WAIT_MS", "200", 1);
    libusb_context *c2;
    libusb_init(&c2); /* picks up the short wait */
    unsetenv("LIBUSB_USBIP_WAIT_MS");
    libusb_device **list;
    ssize_t n = libusb_get_device_list(c2, &list);
    CHECK_EQ(n, 1);
    if (n == 1) {
        struct libusb_device_descriptor d;
        libusb_get_device_descriptor(list[0], &d);
        CHECK_EQ(d.idVendor, FAKE_VID);
        CHECK_EQ(d.idProduct, FAKE_PID);
        CHECK_EQ(d.iSerialNumber, 0);
        CHECK_EQ(d.bNumConfigurations, 1);
        struct libusb_config_descriptor *c;
        CHECK_EQ(libusb_get_config_descriptor(list[0], 0, &c), LIBUSB_ERROR_NOT_FOUND);
        libusb_device_handle *h;
        long long t0 = ms_now();
        CHECK_EQ(libusb_open(list[0], &h), LIBUSB_ERROR_BUSY);
        CHECK(ms_now() - t0 < 1000, "open gave up after the wait");
    }
    libusb_free_device_list(list, 1);
    libusb_exit(c2);
    libusb_exit(ctx);
}

TEST(list_waits_while_server_resets_the_device)
{
    libusb_context *ctx = ctx_on(0);
    srv->host_ops = 0; /* plain USB/IP: the import path */
    srv->busy_ms = 300; /* listed but refusing after each importer leaves */
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_free_device_list(list, 1);
    long long t0 = ms_now();
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1); /* right after the first one's close */
    CHECK(ms_now() - t0 >= 200, "second list waited %lld ms", ms_now() - t0);
    struct libusb_device_descriptor d;
    libusb_get_device_descriptor(list[0], &d);
    CHECK_EQ(d.iSerialNumber, 3); /* real descriptors, not the devlist fallback */
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
}

TEST(list_waits_briefly_for_a_device_being_reenumerated)
{
    setenv("LIBUSB_USBIP_WAIT_MS", "1200", 1); /* empty devlist: 300 ms */
    libusb_context *ctx = ctx_on(0);
    unsetenv("LIBUSB_USBIP_WAIT_MS");
    srv->host_ops = 0; /* plain USB/IP: the import path */
    srv->absent_ms = 150; /* not listed at all for a while after each close */
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_free_device_list(list, 1);
    fake_usbip_wait_idle(srv, 1000);
    srv->gone_after_close = 1; /* the next list still finds it, then it is gone */
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_free_device_list(list, 1);
    fake_usbip_wait_idle(srv, 1000);
    long long t0 = ms_now();
    CHECK_EQ(libusb_get_device_list(ctx, &list), 0);
    CHECK(ms_now() - t0 < 1000, "empty list took %lld ms", ms_now() - t0);
    libusb_free_device_list(list, 1);
    libusb_exit(ctx);
}

TEST(own_open_handle_keeps_descriptors_in_new_lists)
{
    libusb_context *ctx = ctx_on(0);
    srv->host_ops = 0; /* plain USB/IP: the import path */
    libusb_device_handle *h = open_one(ctx);
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    CHECK_EQ(n, 1);
    if (n == 1) {
        struct libusb_device_descriptor d;
        libusb_get_device_descriptor(list[0], &d);
        CHECK_EQ(d.iSerialNumber, 3);
        struct libusb_config_descriptor *c = NULL;
        CHECK_EQ(libusb_get_config_descriptor(list[0], 0, &c), 0);
        libusb_free_config_descriptor(c);
    }
    libusb_free_device_list(list, 1);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(open_waits_for_reenumeration)
{
    libusb_context *ctx = ctx_on(0);
    srv->host_ops = 0; /* plain USB/IP: the import path */
    srv->absent_ms = 300; /* after the list's import the device is away this long */
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_device_handle *h = NULL;
    long long t0 = ms_now();
    int r = libusb_open(list[0], &h);
    CHECK(r == 0, "open: %s", libusb_error_name(r));
    CHECK(ms_now() - t0 >= 200, "open waited %lld ms", ms_now() - t0);
    libusb_free_device_list(list, 1);
    uint8_t b[8];
    if (h)
        CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 1000), 6);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(reset_device_reimports)
{
    libusb_context *ctx = ctx_on(0);
    srv->host_ops = 0; /* plain USB/IP: the import path */
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    libusb_claim_interface(h, 0);
    srv->absent_ms = 150;
    int imports = srv->imports;
    CHECK_EQ(libusb_reset_device(h), 0);
    CHECK_EQ(srv->imports, imports + 1);
    CHECK_EQ(srv->closes, 2); /* the list's import and ours */
    uint8_t b[8];
    CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 1000), 6);
    libusb_close(h);
    libusb_exit(ctx);
}

static void reset_gone_or_changed(int host_ops)
{
    setenv("LIBUSB_USBIP_WAIT_MS", "300", 1);
    libusb_context *ctx = ctx_on(0);
    unsetenv("LIBUSB_USBIP_WAIT_MS");
    srv->host_ops = host_ops;
    libusb_device_handle *h = open_one(ctx);
    if (h) {
        srv->gone_after_close = 1;
        long long t0 = ms_now();
        CHECK_EQ(libusb_reset_device(h), LIBUSB_ERROR_NOT_FOUND);
        CHECK(ms_now() - t0 < 1000, "bounded wait: %lld ms", ms_now() - t0);
        uint8_t b[8];
        CHECK_EQ(libusb_control_transfer(h, 0xA1, 3, 0, 0, b, 6, 100), LIBUSB_ERROR_NO_DEVICE);
        libusb_close(h);
    }
    libusb_exit(ctx);
    setenv("LIBUSB_USBIP_WAIT_MS", "300", 1);
    ctx = ctx_on(0);
    unsetenv("LIBUSB_USBIP_WAIT_MS");
    srv->host_ops = host_ops;
    h = open_one(ctx);
    if (h) {
        srv->change_after_close = 1; /* comes back with another iSerialNumber */
        CHECK_EQ(libusb_reset_device(h), LIBUSB_ERROR_NOT_FOUND);
        libusb_close(h);
    }
    libusb_exit(ctx);
}

TEST(reset_device_gone_or_changed_is_not_found)
{
    reset_gone_or_changed(0);
    reset_gone_or_changed(1);
    CHECK_EQ(srv->hostresets, 1); /* the last one went through HOSTRESET */
}

TEST(host_open_close_and_reset_cause_no_import)
{
    /* vboard's usbfs-like path: open is a host open, two handles coexist,
     * close is no import end (no bus reset), reset is HOSTRESET and the
     * handle keeps working. */
    libusb_context *ctx = ctx_on(0);
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_device_handle *a = NULL, *b = NULL;
    CHECK_EQ(libusb_open(list[0], &a), 0);
    CHECK_EQ(libusb_open(list[0], &b), 0);
    libusb_free_device_list(list, 1);
    CHECK_EQ(srv->hostopens, 2);
    uint8_t st[6];
    if (a && b) {
        CHECK_EQ(libusb_control_transfer(a, 0xA1, 3, 0, 0, st, 6, 1000), 6);
        CHECK_EQ(libusb_control_transfer(b, 0xA1, 3, 0, 0, st, 6, 1000), 6);
        CHECK_EQ(libusb_reset_device(a), 0);
        CHECK_EQ(srv->hostresets, 1);
        CHECK_EQ(libusb_control_transfer(a, 0xA1, 3, 0, 0, st, 6, 1000), 6);
    }
    libusb_close(a);
    libusb_close(b);
    fake_usbip_wait_idle(srv, 1000);
    CHECK_EQ(srv->imports, 0);
    CHECK_EQ(srv->closes, 0); /* counts import ends only */
    libusb_exit(ctx);
}

/* ---- Asynchronous API ------------------------------------------------------ */

struct cb_log {
    int n, resubmit;
    struct libusb_transfer *order[8];
    enum libusb_transfer_status status[8];
    int actual[8];
};

static void LIBUSB_CALL log_cb(struct libusb_transfer *t)
{
    struct cb_log *l = t->user_data;
    if (l->n < 8) {
        l->order[l->n] = t;
        l->status[l->n] = t->status;
        l->actual[l->n] = t->actual_length;
    }
    l->n++;
    if (l->resubmit > 0) {
        l->resubmit--;
        libusb_submit_transfer(t); /* from inside the callback, as pyusb-style loops do */
    }
}

/* Handles events until l has n callbacks or 3 s pass. */
static void run_until(libusb_context *ctx, struct cb_log *l, int n)
{
    long long end = ms_now() + 3000;
    while (l->n < n && ms_now() < end) {
        struct timeval tv = {0, 100000};
        CHECK_EQ(libusb_handle_events_timeout_completed(ctx, &tv, NULL), 0);
    }
}

static struct libusb_transfer *getstatus_transfer(libusb_device_handle *h, struct cb_log *l,
                                                  unsigned timeout)
{
    struct libusb_transfer *t = libusb_alloc_transfer(0);
    uint8_t *buf = calloc(1, LIBUSB_CONTROL_SETUP_SIZE + 6);
    libusb_fill_control_setup(buf, 0xA1, 3 /* DFU_GETSTATUS */, 0, 0, 6);
    libusb_fill_control_transfer(t, h, buf, log_cb, l, timeout);
    t->flags = LIBUSB_TRANSFER_FREE_BUFFER;
    return t;
}

TEST(async_control_transfer_completes_in_handle_events)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    struct cb_log l = {0};
    struct libusb_transfer *t = getstatus_transfer(h, &l, 1000);
    CHECK_EQ(libusb_submit_transfer(t), 0);
    CHECK_EQ(libusb_submit_transfer(t), LIBUSB_ERROR_BUSY);
    CHECK_EQ(l.n, 0); /* callbacks only from event handling */
    struct timeval tv;
    CHECK_EQ(libusb_get_next_timeout(ctx, &tv), 1);
    CHECK(tv.tv_sec == 0 || (tv.tv_sec == 1 && tv.tv_usec == 0), "next timeout %ld.%06ld",
          (long)tv.tv_sec, (long)tv.tv_usec);
    run_until(ctx, &l, 1);
    CHECK_EQ(l.n, 1);
    CHECK_EQ(l.status[0], LIBUSB_TRANSFER_COMPLETED);
    CHECK_EQ(l.actual[0], 6);
    CHECK(memcmp(libusb_control_transfer_get_data(t), fake_dfu_status, 6) == 0, "status bytes");
    CHECK_EQ(libusb_get_next_timeout(ctx, &tv), 0);
    /* resubmitted from its own callback, twice */
    l.resubmit = 2;
    CHECK_EQ(libusb_submit_transfer(t), 0);
    run_until(ctx, &l, 4);
    CHECK_EQ(l.n, 4);
    CHECK_EQ(l.status[3], LIBUSB_TRANSFER_COMPLETED);
    libusb_free_transfer(t);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(async_two_handles_complete_in_reply_order)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_device_handle *a = NULL, *b = NULL;
    libusb_open(list[0], &a);
    libusb_open(list[0], &b);
    libusb_free_device_list(list, 1);
    if (!a || !b) {
        CHECK(0, "two opens");
        libusb_exit(ctx);
        return;
    }
    srv->delay_request = 3; /* GETSTATUS answers 200 ms late */
    srv->delay_ms = 200;
    struct cb_log l = {0};
    struct libusb_transfer *slow = getstatus_transfer(a, &l, 2000);
    struct libusb_transfer *fast = libusb_alloc_transfer(0);
    uint8_t buf[8 + 18];
    libusb_fill_control_setup(buf, 0x80, 6, 0x100, 0, 18);
    libusb_fill_control_transfer(fast, b, buf, log_cb, &l, 2000);
    CHECK_EQ(libusb_submit_transfer(slow), 0);
    CHECK_EQ(libusb_submit_transfer(fast), 0);
    const struct libusb_pollfd **fds = libusb_get_pollfds(ctx);
    int nfds = 0;
    while (fds && fds[nfds])
        nfds++;
    CHECK_EQ(nfds, 2);
    libusb_free_pollfds(fds);
    run_until(ctx, &l, 2);
    CHECK_EQ(l.n, 2);
    CHECK(l.order[0] == fast && l.order[1] == slow, "the undelayed reply first");
    CHECK(l.status[0] == 0 && l.actual[0] == 18 && buf[9] == 1, "device descriptor: %d %d",
          l.status[0], l.actual[0]);
    CHECK(l.status[1] == 0 && l.actual[1] == 6, "status: %d %d", l.status[1], l.actual[1]);
    libusb_free_transfer(slow);
    libusb_free_transfer(fast);
    libusb_close(a);
    libusb_close(b);
    libusb_exit(ctx);
}

TEST(async_cancel_timeout_and_unsupported)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (!h) {
        libusb_exit(ctx);
        return;
    }
    srv->delay_request = 3;
    srv->delay_ms = 800;
    struct cb_log l = {0};
    struct libusb_transfer *t = getstatus_transfer(h, &l, 0);
    CHECK_EQ(libusb_cancel_transfer(t), LIBUSB_ERROR_NOT_FOUND); /* not submitted */
    CHECK_EQ(libusb_submit_transfer(t), 0);
    CHECK_EQ(libusb_cancel_transfer(t), 0);
    long long t0 = ms_now();
    run_until(ctx, &l, 1);
    CHECK(l.n == 1 && l.status[0] == LIBUSB_TRANSFER_CANCELLED, "cancelled: n %d status %d", l.n,
          l.status[0]);
    CHECK(ms_now() - t0 < 500, "the unlink answered at once: %lld ms", ms_now() - t0);
    CHECK_EQ(srv->unlinks, 1);
    /* a timeout is an unlink too, reported TIMED_OUT */
    t->timeout = 100;
    CHECK_EQ(libusb_submit_transfer(t), 0);
    run_until(ctx, &l, 2);
    CHECK(l.n == 2 && l.status[1] == LIBUSB_TRANSFER_TIMED_OUT, "timed out: %d", l.status[1]);
    CHECK_EQ(srv->unlinks, 2);
    /* FREE_TRANSFER: the library frees it after the callback (ASan checks) */
    srv->delay_request = -1;
    t->flags |= LIBUSB_TRANSFER_FREE_TRANSFER;
    t->timeout = 1000;
    CHECK_EQ(libusb_submit_transfer(t), 0);
    run_until(ctx, &l, 3);
    CHECK(l.n == 3 && l.status[2] == LIBUSB_TRANSFER_COMPLETED, "completed: %d", l.status[2]);
    /* isochronous: not over this transport */
    struct libusb_transfer *iso = libusb_alloc_transfer(2);
    static uint8_t ibuf[128];
    libusb_fill_iso_transfer(iso, h, 0x81, ibuf, sizeof ibuf, 2, log_cb, &l, 100);
    CHECK_EQ(libusb_submit_transfer(iso), LIBUSB_ERROR_NOT_SUPPORTED);
    libusb_free_transfer(iso);
    CHECK_EQ(libusb_get_max_iso_packet_size(libusb_get_device(h), 0x81), LIBUSB_ERROR_NOT_FOUND);
    /* a transfer still flying when its handle closes ends CANCELLED */
    srv->delay_request = 3;
    struct libusb_transfer *left = getstatus_transfer(h, &l, 0);
    CHECK_EQ(libusb_submit_transfer(left), 0);
    libusb_close(h);
    CHECK(l.n == 4 && l.status[3] == LIBUSB_TRANSFER_CANCELLED, "closed: n %d", l.n);
    libusb_free_transfer(left);
    libusb_exit(ctx);
}

static int fds_added, fds_removed, last_fd = -1;
static void LIBUSB_CALL fd_added(int fd, short events, void *u)
{
    (void)u;
    fds_added += events == POLLIN;
    last_fd = fd;
}
static void LIBUSB_CALL fd_removed(int fd, void *u)
{
    (void)u;
    fds_removed += fd == last_fd;
}

TEST(claims_are_exclusive_between_handles)
{
    /* As usbfs has it: an interface claimed through one handle is BUSY for
     * another until released or closed (vboard keeps the claims). */
    libusb_context *ctx = ctx_on(0);
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_device_handle *a = NULL, *b = NULL;
    libusb_open(list[0], &a);
    libusb_open(list[0], &b);
    libusb_free_device_list(list, 1);
    if (a && b) {
        CHECK_EQ(libusb_claim_interface(a, 0), 0);
        CHECK_EQ(libusb_claim_interface(a, 0), 0); /* twice on one handle: fine */
        CHECK_EQ(libusb_claim_interface(b, 0), LIBUSB_ERROR_BUSY);
        CHECK_EQ(libusb_release_interface(a, 0), 0);
        CHECK_EQ(libusb_claim_interface(b, 0), 0);
        libusb_close(b);
        long long end = ms_now() + 1000;
        int r;
        while ((r = libusb_claim_interface(a, 0)) == LIBUSB_ERROR_BUSY && ms_now() < end)
            usleep(10000); /* the server sees b's close a moment later */
        CHECK_EQ(r, 0);
        /* sent: a claim, b's refused one, a release, b claim, a claim
         * (a's second claim is local; b's close releases on the server) */
        CHECK_EQ(srv->claims, 5);
    }
    libusb_close(a);
    libusb_exit(ctx);
}

TEST(pollfd_notifiers_follow_open_and_close)
{
    libusb_context *ctx = ctx_on(0);
    libusb_set_pollfd_notifiers(ctx, fd_added, fd_removed, NULL);
    fds_added = fds_removed = 0;
    libusb_device_handle *h = open_one(ctx);
    CHECK_EQ(fds_added, 1);
    const struct libusb_pollfd **fds = libusb_get_pollfds(ctx);
    CHECK(fds && fds[0] && fds[0]->fd == last_fd && !fds[1], "one pollfd, the handle's");
    libusb_free_pollfds(fds);
    CHECK_EQ(libusb_pollfds_handle_timeouts(ctx), 0); /* ask libusb_get_next_timeout */
    libusb_close(h);
    CHECK_EQ(fds_removed, 1);
    libusb_exit(ctx);
}

TEST(sync_bulk_on_a_missing_endpoint_stalls)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device_handle *h = open_one(ctx);
    if (h) {
        uint8_t b[64];
        int got = -1;
        CHECK_EQ(libusb_bulk_transfer(h, 0x81, b, sizeof b, &got, 500), LIBUSB_ERROR_PIPE);
        CHECK_EQ(got, 0);
        CHECK_EQ(libusb_interrupt_transfer(h, 0x00, b, 1, &got, 500), LIBUSB_ERROR_INVALID_PARAM);
    }
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(refcounts_keep_devices_alive)
{
    libusb_context *ctx = ctx_on(0);
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(ctx, &list), 1);
    libusb_device *dev = libusb_ref_device(list[0]);
    libusb_free_device_list(list, 1);
    struct libusb_device_descriptor d;
    CHECK_EQ(libusb_get_device_descriptor(dev, &d), 0); /* ASan would catch a use after free */
    CHECK_EQ(d.idProduct, FAKE_PID);
    libusb_device_handle *h;
    CHECK_EQ(libusb_open(dev, &h), 0);
    libusb_unref_device(dev); /* the handle holds its own reference */
    CHECK_EQ(libusb_get_bus_number(libusb_get_device(h)), 1);
    libusb_close(h);
    libusb_exit(ctx);
}

TEST(default_context_and_vid_pid_open)
{
    libusb_exit(ctx_on(0)); /* for the environment */
    CHECK_EQ(libusb_init(NULL), 0);
    CHECK_EQ(libusb_init(NULL), 0); /* counted */
    libusb_exit(NULL);
    libusb_device_handle *h = libusb_open_device_with_vid_pid(NULL, FAKE_VID, FAKE_PID);
    CHECK(h != NULL, "opened by vid/pid");
    libusb_close(h);
    CHECK(libusb_open_device_with_vid_pid(NULL, 0x1234, 0x5678) == NULL, "no such device");
    libusb_exit(NULL);
    libusb_device **list;
    CHECK_EQ(libusb_get_device_list(NULL, &list), LIBUSB_ERROR_INVALID_PARAM);
}

TEST(misc_entry_points)
{
    CHECK(strcmp(libusb_error_name(LIBUSB_ERROR_PIPE), "LIBUSB_ERROR_PIPE") == 0, "name");
    CHECK(strcmp(libusb_error_name(LIBUSB_ERROR_NO_DEVICE), "LIBUSB_ERROR_NO_DEVICE") == 0, "name");
    CHECK(strcmp(libusb_error_name(-1234), "**UNKNOWN**") == 0, "unknown");
    CHECK(strcmp(libusb_strerror(LIBUSB_ERROR_TIMEOUT), "Operation timed out") == 0, "strerror");
    const struct libusb_version *v = libusb_get_version();
    CHECK(v->major == 1 && v->minor == 0, "version %u.%u", v->major, v->minor);
    CHECK_EQ(libusb_has_capability(LIBUSB_CAP_HAS_CAPABILITY), 1);
    CHECK_EQ(libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG), 0);
    CHECK_EQ(libusb_setlocale("en_US"), 0);
    libusb_context *ctx = ctx_on(0);
    CHECK_EQ(libusb_set_option(ctx, LIBUSB_OPTION_LOG_LEVEL, LIBUSB_LOG_LEVEL_DEBUG), 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    libusb_set_debug(ctx, 3); /* deprecated, still exported */
#pragma GCC diagnostic pop
    libusb_exit(ctx);
}

TEST(server_list_parsing)
{
    struct usbip_server *s;
    int n = usbip_parse_servers(NULL, &s);
    CHECK_EQ(n, 1);
    CHECK(strcmp(s[0].host, "127.0.0.1") == 0 && strcmp(s[0].port, "3240") == 0, "default");
    free(s);
    n = usbip_parse_servers("127.0.0.1:4000, localhost:4001,[::1]:4002", &s);
    CHECK_EQ(n, 3);
    if (n == 3) {
        CHECK(strcmp(s[1].host, "localhost") == 0 && strcmp(s[1].port, "4001") == 0, "second");
        CHECK(strcmp(s[2].host, "::1") == 0 && strcmp(s[2].port, "4002") == 0, "ipv6 %s", s[2].host);
    }
    free(s);
}

TEST(debug_env_prints_urbs)
{
    char path[] = "/tmp/libusb-debug-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    setenv("LIBUSB_USBIP_DEBUG", "1", 1);
    libusb_context *ctx = ctx_on(0);
    unsetenv("LIBUSB_USBIP_DEBUG");
    libusb_device_handle *h = open_one(ctx);
    uint8_t st[6];
    if (h)
        libusb_control_transfer(h, 0xA1, 3, 0, 0, st, 6, 1000);
    libusb_close(h);
    libusb_exit(ctx);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[4096] = {0};
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    CHECK(got > 0 && strstr(buf, "CMD_SUBMIT") && strstr(buf, "RET_SUBMIT"), "debug output: %.200s", buf);
}

int main(void)
{
    srv = fake_usbip_start();
    srv2 = fake_usbip_start();
    if (!srv || !srv2) {
        printf("FAIL setup: cannot start the fake USB/IP servers\n0 passed, 1 failed\n");
        return 1;
    }
    unsetenv("LIBUSB_USBIP_DEBUG");
    unsetenv("LIBUSB_USBIP_WAIT_MS");
    int r = run_tests();
    fake_usbip_stop(srv);
    fake_usbip_stop(srv2);
    return r;
}
