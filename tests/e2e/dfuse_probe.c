/* dfuse_probe - raw DfuSe requests and descriptor reads that the stock tools
 * cannot make, for the end-to-end tests (run against vboard through the
 * USB/IP libusb: LD_LIBRARY_PATH=build/host LIBUSB_USBIP_SERVERS=...).
 *
 * dfu-util checks the device's layout string itself and never sends an erase
 * or a write into a read-only segment, so only raw requests show that the
 * bootloader refuses them on its own. lsusb prints the BOS platform
 * capabilities but does not fetch what they point to (the MS OS 2.0
 * descriptor set, the WebUSB landing page URL).
 *
 * usage: dfuse_probe [--no-altset] OP...   (one session on the first
 *                        0483:df11 device; --no-altset: claim interface 0
 *                        without SET_INTERFACE, as pydfu does)
 *   setconfig              SET_CONFIGURATION 1 (libusb_set_configuration, as
 *                          pyusb's set_configuration() in pydfu's init)
 *   sleep MS               waits MS milliseconds
 *   status                 GETSTATUS; prints state and status
 *   clrstatus              CLRSTATUS, then GETSTATUS
 *   abort                  ABORT, then GETSTATUS
 *   erase ADDR             DfuSe ERASE PAGE, polled to the end
 *   setaddr ADDR           DfuSe SET ADDRESS POINTER, polled to the end
 *   write ADDR FILE        SET ADDRESS POINTER + DNLOAD block 2 with FILE
 *                          (at most wTransferSize bytes), polled to the end
 *   msos                   MS OS 2.0 descriptor set via the BOS capability
 *   webusb                 WebUSB landing page URL via the BOS capability
 *   strings                the device's manufacturer, product, serial strings
 * Each DfuSe op prints one line "OP ADDR: xfer=ok|ERR state=N status=M".
 * Exit status: 0 if every op could be carried out (a refusal by the device
 * is a result, not an error), 1 otherwise.
 */
#include <libusb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DNLOAD = 1, UPLOAD = 2, GETSTATUS = 3, CLRSTATUS = 4, ABORT = 6 };
enum { DFU_DNBUSY = 4 };
#define TO 5000

static libusb_device_handle *h;

static void msleep(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int getstatus(int *state, int *status, unsigned *poll_ms)
{
    uint8_t b[6];
    int r = libusb_control_transfer(h, 0xA1, GETSTATUS, 0, 0, b, 6, TO);
    if (r != 6)
        return -1;
    *status = b[0];
    *poll_ms = b[1] | b[2] << 8 | (unsigned)b[3] << 16;
    *state = b[4];
    return 0;
}

/* Sends DNLOAD wValue=block, then GETSTATUS until the state leaves dfuDNBUSY.
 * Prints "NAME ARG: xfer=ok|ERR(...) state=N status=M". */
static int dnload(const char *name, const char *arg, uint16_t block, uint8_t *data, int len)
{
    int state = -1, status = -1, n = 0;
    unsigned poll_ms = 0;
    int r = libusb_control_transfer(h, 0x21, DNLOAD, block, 0, data, (uint16_t)len, TO);
    const char *xfer = r == len ? "ok" : libusb_error_name(r);
    if (r == len) {
        do {
            if (getstatus(&state, &status, &poll_ms)) {
                printf("%s %s: xfer=ok GETSTATUS failed\n", name, arg);
                return -1;
            }
            if (state == DFU_DNBUSY)
                msleep(poll_ms < 1 ? 1 : poll_ms);
        } while (state == DFU_DNBUSY && ++n < 1000);
    } else if (getstatus(&state, &status, &poll_ms)) {
        printf("%s %s: xfer=%s GETSTATUS failed\n", name, arg, xfer);
        return -1;
    }
    printf("%s %s: xfer=%s state=%d status=%d\n", name, arg, xfer, state, status);
    return 0;
}

static int addr_cmd(const char *name, const char *arg, uint8_t cmd)
{
    uint32_t a = (uint32_t)strtoul(arg, NULL, 0);
    uint8_t b[5] = {cmd, a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >> 24};
    return dnload(name, arg, 0, b, 5);
}

static int simple(const char *name, uint8_t req)
{
    int state, status;
    unsigned poll_ms;
    int r = 0;
    if (req)
        r = libusb_control_transfer(h, 0x21, req, 0, 0, NULL, 0, TO);
    if (r < 0 || getstatus(&state, &status, &poll_ms)) {
        printf("%s: failed (%s)\n", name, libusb_error_name(r));
        return -1;
    }
    printf("%s: state=%d status=%d\n", name, state, status);
    return 0;
}

static int write_file(const char *arg, const char *path)
{
    static uint8_t buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    int len = (int)fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (addr_cmd("setaddr", arg, 0x21))
        return -1;
    return dnload("write", arg, 2, buf, len);
}

/* The BOS platform capability with this UUID (as stored on the wire). */
static int find_platform(const uint8_t uuid[16], uint8_t *cap, int capmax)
{
    uint8_t bos[512];
    int r = libusb_control_transfer(h, 0x80, 6, 0x0F00, 0, bos, 5, TO);
    if (r != 5) {
        printf("bos: GET_DESCRIPTOR(BOS, 5) failed: %s\n", libusb_error_name(r));
        return -1;
    }
    int total = bos[2] | bos[3] << 8;
    if (total > (int)sizeof bos)
        total = sizeof bos;
    r = libusb_control_transfer(h, 0x80, 6, 0x0F00, 0, bos, (uint16_t)total, TO);
    if (r != total) {
        printf("bos: GET_DESCRIPTOR(BOS, %d) returned %d\n", total, r);
        return -1;
    }
    for (int i = bos[0]; i + 3 <= total && bos[i] >= 3; i += bos[i]) {
        if (bos[i + 1] == 0x10 && bos[i + 2] == 0x05 && bos[i] >= 20 && i + bos[i] <= total &&
            !memcmp(bos + i + 4, uuid, 16)) {
            int n = bos[i] < capmax ? bos[i] : capmax;
            memcpy(cap, bos + i, (size_t)n);
            return n;
        }
    }
    return 0;
}

static int msos(void)
{
    static const uint8_t uuid[16] = {0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C,
                                     0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F};
    uint8_t cap[64], set[1024];
    int n = find_platform(uuid, cap, sizeof cap);
    if (n <= 0) {
        printf("msos: no MS OS 2.0 platform capability in the BOS\n");
        return -1;
    }
    if (n < 28) {
        printf("msos: capability too short (%d bytes)\n", n);
        return -1;
    }
    unsigned winver = cap[20] | cap[21] << 8 | (unsigned)cap[22] << 16 | (unsigned)cap[23] << 24;
    int total = cap[24] | cap[25] << 8, vendor = cap[26];
    if (total > (int)sizeof set)
        total = sizeof set;
    int r = libusb_control_transfer(h, 0xC0, (uint8_t)vendor, 0, 7, set, (uint16_t)total, TO);
    if (r != total) {
        printf("msos: vendor request 0x%02x wIndex 7 returned %d (%s), want %d bytes\n", vendor, r,
               r < 0 ? libusb_error_name(r) : "short", total);
        return -1;
    }
    int hdr_len = set[0] | set[1] << 8, hdr_type = set[2] | set[3] << 8;
    int set_total = set[8] | set[9] << 8;
    int winusb = 0, guid = 0;
    for (int i = 0; i + 4 <= total;) {
        int l = set[i] | set[i + 1] << 8, t = set[i + 2] | set[i + 3] << 8;
        if (l < 4)
            break;
        if (t == 3 && i + 20 <= total && !memcmp(set + i + 4, "WINUSB\0\0", 8))
            winusb = 1;
        if (t == 4) {
            /* registry property: name "DeviceInterfaceGUID(s)" in UTF-16LE */
            static const char nm[] = "DeviceInterfaceGUID";
            for (int k = i + 8; k + 2 * 19 <= i + l && k + 2 * 19 <= total; k++) {
                int ok = 1;
                for (int c = 0; c < 19 && ok; c++)
                    ok = set[k + 2 * c] == (uint8_t)nm[c] && set[k + 2 * c + 1] == 0;
                if (ok) {
                    guid = 1;
                    break;
                }
            }
        }
        i += l; /* subset headers' wLength is the header's own length */
    }
    printf("msos: vendor=0x%02x windows=0x%08x total=%d header_len=%d header_type=%d "
           "set_total=%d winusb=%s guid=%s\n",
           vendor, winver, total, hdr_len, hdr_type, set_total, winusb ? "yes" : "no",
           guid ? "yes" : "no");
    return 0;
}

static int webusb(void)
{
    static const uint8_t uuid[16] = {0x38, 0xB6, 0x08, 0x34, 0xA9, 0x09, 0xA0, 0x47,
                                     0x8B, 0xFD, 0xA0, 0x76, 0x88, 0x15, 0xB6, 0x65};
    uint8_t cap[64], d[256];
    int n = find_platform(uuid, cap, sizeof cap);
    if (n <= 0) {
        printf("webusb: no WebUSB platform capability in the BOS\n");
        return -1;
    }
    if (n < 24) {
        printf("webusb: capability too short (%d bytes)\n", n);
        return -1;
    }
    int vendor = cap[22], page = cap[23];
    int r = libusb_control_transfer(h, 0xC0, (uint8_t)vendor, (uint16_t)page, 2, d, 255, TO);
    if (r < 3 || d[0] != r || d[1] != 3) {
        printf("webusb: GET_URL (vendor 0x%02x, index %d) returned %d (%s) bLength %d type %d\n",
               vendor, page, r, r < 0 ? libusb_error_name(r) : "", r > 0 ? d[0] : -1,
               r > 1 ? d[1] : -1);
        return -1;
    }
    const char *scheme = d[2] == 0 ? "http://" : d[2] == 1 ? "https://" : "";
    printf("webusb: vendor=0x%02x page=%d url=%s%.*s\n", vendor, page, scheme, r - 3,
           (const char *)d + 3);
    return 0;
}

static int strings(void)
{
    struct libusb_device_descriptor dd;
    unsigned char m[128] = "", p[128] = "", s[128] = "";
    if (libusb_get_device_descriptor(libusb_get_device(h), &dd))
        return -1;
    int a = dd.iManufacturer ? libusb_get_string_descriptor_ascii(h, dd.iManufacturer, m, sizeof m) : 0;
    int b = dd.iProduct ? libusb_get_string_descriptor_ascii(h, dd.iProduct, p, sizeof p) : 0;
    int c = dd.iSerialNumber ? libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, s, sizeof s) : 0;
    if (a < 0 || b < 0 || c < 0) {
        printf("strings: failed (%d %d %d)\n", a, b, c);
        return -1;
    }
    printf("manufacturer=%s\nproduct=%s\nserial=%s\n", m, p, s);
    return 0;
}

int main(int argc, char **argv)
{
    libusb_context *ctx;
    int rc = 0;
    if (libusb_init(&ctx)) {
        fprintf(stderr, "dfuse_probe: libusb_init failed\n");
        return 1;
    }
    h = libusb_open_device_with_vid_pid(ctx, 0x0483, 0xdf11);
    if (!h) {
        fprintf(stderr, "dfuse_probe: no 0483:df11 device\n");
        libusb_exit(ctx);
        return 1;
    }
    int first = 1, altset = 1;
    if (argc > 1 && !strcmp(argv[1], "--no-altset")) {
        altset = 0;
        first = 2;
    }
    if (libusb_claim_interface(h, 0) || (altset && libusb_set_interface_alt_setting(h, 0, 0))) {
        fprintf(stderr, "dfuse_probe: cannot claim interface 0\n");
        rc = 1;
        goto out;
    }
    for (int i = first; i < argc && !rc; i++) {
        const char *op = argv[i];
        int r;
        if (!strcmp(op, "setconfig")) {
            r = libusb_set_configuration(h, 1);
            printf("setconfig: %s\n", r ? libusb_error_name(r) : "ok");
        } else if (!strcmp(op, "sleep") && i + 1 < argc) {
            msleep((unsigned)strtoul(argv[++i], 0, 0));
            r = 0;
        } else if (!strcmp(op, "status"))
            r = simple("status", 0);
        else if (!strcmp(op, "clrstatus"))
            r = simple("clrstatus", CLRSTATUS);
        else if (!strcmp(op, "abort"))
            r = simple("abort", ABORT);
        else if (!strcmp(op, "erase") && i + 1 < argc)
            r = addr_cmd("erase", argv[++i], 0x41);
        else if (!strcmp(op, "setaddr") && i + 1 < argc)
            r = addr_cmd("setaddr", argv[++i], 0x21);
        else if (!strcmp(op, "write") && i + 2 < argc) {
            r = write_file(argv[i + 1], argv[i + 2]);
            i += 2;
        } else if (!strcmp(op, "msos"))
            r = msos();
        else if (!strcmp(op, "webusb"))
            r = webusb();
        else if (!strcmp(op, "strings"))
            r = strings();
        else {
            fprintf(stderr, "dfuse_probe: bad op %s\n", op);
            r = -1;
        }
        if (r)
            rc = 1;
    }
    libusb_release_interface(h, 0);
out:
    libusb_close(h);
    libusb_exit(ctx);
    return rc;
}
