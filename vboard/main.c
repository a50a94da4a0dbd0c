/*
 * main.c - vboard command line: a virtual STM32F103 board running an
 * unmodified firmware image. See usage() for the options.
 */
#include "board.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Sizes from the datasheets' ordering tables (DS5319 medium density, DS5792
 * high density, DS5919 low density) and RM0008 3.3.3 "Embedded Flash
 * memory": 1 KiB pages up to 128 KiB, 2 KiB pages in high density.
 * f103c8-128k: a C8 whose F_SIZE reads 128 KiB and whose 128 KiB are all
 * usable, as on many sold blue pills (team notes, stm32f103.md: "Many
 * '64 KiB' F103C8 parts really have 128 KiB"; the C8 and CB share a die). */
static const struct vb_part parts[] = {
    {"f103c8", 64 * 1024, 20 * 1024, 1024, 64, VB_MEDIUM_DENSITY},
    {"f103c8-128k", 128 * 1024, 20 * 1024, 1024, 128, VB_MEDIUM_DENSITY},
    {"f103cb", 128 * 1024, 20 * 1024, 1024, 128, VB_MEDIUM_DENSITY},
    {"f103c6", 32 * 1024, 10 * 1024, 1024, 32, VB_LOW_DENSITY},
    {"f103rc", 256 * 1024, 48 * 1024, 2048, 256, VB_HIGH_DENSITY},
    {"f103re", 512 * 1024, 64 * 1024, 2048, 512, VB_HIGH_DENSITY},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vboard [options] FIRMWARE.bin|FIRMWARE.elf\n"
            "  --part NAME         chip (default f103c8: 64 KiB flash, 20 KiB SRAM); also\n"
            "                      f103c8-128k, f103cb, f103c6, f103rc, f103re\n"
            "  --flash-time typ|max  flash program/erase times: datasheet typical (default)\n"
            "                      or maximum (tPROG 70 us, tERASE/tME 40 ms)\n"
            "  --board bluepill|maple_mini|generic_f103rc|olimex_h103   D+ pull-up wiring\n"
            "  --flash FILE        persistent flash (+16 option bytes); created from FIRMWARE\n"
            "                      when absent, used as is when present (FIRMWARE optional)\n"
            "  --port N            USB/IP port on 127.0.0.1 (default 3240, 0 = none)\n"
            "  --uid HEX24         96-bit unique ID, bytes in address order from 0x1FFFF7E8\n"
            "  --pin PB2=1         input level on a pin (repeatable); BOOT0=1 for the BOOT0 pin\n"
            "  --trace LIST        usb,flash,mmio,irq,usbip,cpu,clock (or all)\n"
            "  --strict            stop at the first violation (exit status 3)\n"
            "  --realtime          flash busy times also take wall-clock time\n"
            "  --fast              no wall-clock pacing\n"
            "  --app-base ADDR     report \"app start\" at/above ADDR (default 0x08002000)\n"
            "  --hw-iwdg           option byte WDG_SW = 0: IWDG runs from reset\n"
            "  --no-hse            no crystal (or a dead one): HSERDY never sets\n"
            "  --lsi-hz N          LSI frequency, 30000..60000 (DS5319 fLSI; default 40000)\n"
            "  --exit-after SEC    stop after SEC seconds of virtual time\n"
            "  --quiet-gpio        no \"gpio Pxn=v\" lines\n"
            "  --usb-errors RATE[,SEED]  noisy cable: lose each USB packet with probability\n"
            "                      RATE (0..1, or N%%); SEED repeats a run (printed)\n"
            "  --cut-at-flash-op K power cut while flash operation K is in progress (erases,\n"
            "                      half-word and option-byte programs, counted from 1 at\n"
            "                      power-on; a run prints its count at the end)\n"
            "  --cut-at-ns T       power cut at virtual time T ns\n"
            "  --torn old|new|SEED what the cut operation leaves: nothing yet, all of it, or\n"
            "                      a seeded mix of the bits it was changing (default: a seed\n"
            "                      from the clock, printed)\n"
            "                      After a cut vboard stops (exit status 0); --flash FILE\n"
            "                      then holds the flash as the cut left it\n"
            "Signals: SIGTERM/SIGINT stop cleanly; SIGUSR1 presses the reset button.\n");
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "vboard: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Flash image from FIRMWARE: .elf by its PT_LOAD segments (physical
 * addresses), anything else as a raw binary at 0x08000000. */
static bool load_firmware(const char *path, uint32_t flash_size, uint8_t **image, uint32_t *size)
{
    size_t len;
    uint8_t *raw = read_file(path, &len);
    if (!raw)
        return false;
    uint8_t *img = malloc(flash_size);
    memset(img, 0xFF, flash_size);
    uint32_t top = 0;
    if (len >= 52 && !memcmp(raw, "\x7f" "ELF", 4)) {
        if (raw[4] != 1 || raw[5] != 1 || le16(raw + 18) != 40) {
            fprintf(stderr, "vboard: %s: not a 32-bit little-endian ARM ELF\n", path);
            return false;
        }
        uint32_t phoff = le32(raw + 28);
        uint16_t phentsize = le16(raw + 42), phnum = le16(raw + 44);
        for (unsigned i = 0; i < phnum; i++) {
            const uint8_t *ph = raw + phoff + (size_t)i * phentsize;
            if (phoff + (size_t)(i + 1) * phentsize > len)
                break;
            uint32_t type = le32(ph), off = le32(ph + 4), paddr = le32(ph + 12), filesz = le32(ph + 16);
            if (type != 1 || !filesz)
                continue;
            if (paddr < flash_size) /* linked at the boot alias */
                paddr += 0x08000000;
            if (paddr < 0x08000000 || paddr - 0x08000000 + filesz > flash_size || off + filesz > len) {
                fprintf(stderr, "vboard: %s: segment at 0x%08x (%u bytes) is outside flash; skipped\n",
                        path, paddr, filesz);
                continue;
            }
            memcpy(img + (paddr - 0x08000000), raw + off, filesz);
            if (paddr - 0x08000000 + filesz > top)
                top = paddr - 0x08000000 + filesz;
        }
    } else {
        if (len > flash_size) {
            fprintf(stderr, "vboard: %s is %zu bytes, larger than the %u-byte flash\n", path, len, flash_size);
            return false;
        }
        memcpy(img, raw, len);
        top = (uint32_t)len;
    }
    free(raw);
    *image = img;
    *size = top;
    return true;
}

/* --usb-errors RATE[,SEED]: RATE as a fraction (0.01) or percent (1%);
 * without SEED one is taken from the clock (vboard prints it). */
static bool parse_usb_errors(const char *arg, struct vb_opts *o)
{
    char *end;
    double rate = strtod(arg, &end);
    if (end != arg && *end == '%')
        rate /= 100, end++;
    unsigned long long seed = 0;
    bool seeded = false;
    if (end != arg && *end == ',') {
        char *e2;
        seed = strtoull(end + 1, &e2, 0);
        seeded = e2 != end + 1;
        end = e2;
    }
    if (end == arg || *end || rate < 0 || rate > 1 || (strchr(arg, ',') && !seeded)) {
        fprintf(stderr, "vboard: --usb-errors wants RATE[,SEED], RATE from 0 to 1 or a "
                        "percentage (0.01 or 1%%), SEED a number; got \"%s\"\n", arg);
        return false;
    }
    o->usb_error_rate = rate;
    o->usb_error_seed = seeded ? seed : (unsigned long long)time(NULL) ^ (unsigned)getpid();
    return true;
}

static void on_quit(int sig)
{
    (void)sig;
    vb_signal_quit = 1;
}

static void on_reset(int sig)
{
    (void)sig;
    vb_signal_reset = 1;
}

int main(int argc, char **argv)
{
    struct vb_opts o = {0};
    o.part = &parts[0];
    o.board = BOARD_BLUEPILL;
    o.port = 3240;
    o.app_base = 0x08002000;
    memset(o.pin_level, -1, sizeof o.pin_level);
    o.boot0 = -1;
    enum { O_NOHSE = 768, O_LSIHZ }; /* clock options (rcc.c, iwdg.c) */
    bool uid_given = false;
    enum { O_USB_ERRORS = 512 }; /* USB host options (usb_host.c) */
    enum { O_CUT_OP = 1024, O_CUT_NS, O_TORN }; /* power cuts (flash.c) */
    bool torn_given = false;
    enum { O_PART = 256, O_BOARD, O_FLASH, O_PORT, O_UID, O_PIN, O_TRACE, O_STRICT, O_REALTIME,
           O_FAST, O_APPBASE, O_HWIWDG, O_EXIT, O_QUIET, O_HELP, O_FLASHTIME };
    static const struct option lo[] = {
        {"part", 1, 0, O_PART}, {"board", 1, 0, O_BOARD}, {"flash", 1, 0, O_FLASH},
        {"no-hse", 0, 0, O_NOHSE}, {"lsi-hz", 1, 0, O_LSIHZ},
        {"port", 1, 0, O_PORT}, {"uid", 1, 0, O_UID}, {"pin", 1, 0, O_PIN},
        {"trace", 1, 0, O_TRACE}, {"strict", 0, 0, O_STRICT}, {"realtime", 0, 0, O_REALTIME},
        {"fast", 0, 0, O_FAST}, {"app-base", 1, 0, O_APPBASE}, {"hw-iwdg", 0, 0, O_HWIWDG},
        {"exit-after", 1, 0, O_EXIT}, {"quiet-gpio", 0, 0, O_QUIET}, {"help", 0, 0, O_HELP},
        {"flash-time", 1, 0, O_FLASHTIME},
        {"usb-errors", 1, 0, O_USB_ERRORS},
        {"cut-at-flash-op", 1, 0, O_CUT_OP}, {"cut-at-ns", 1, 0, O_CUT_NS}, {"torn", 1, 0, O_TORN},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_PART: {
            o.part = NULL;
            for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
                if (!strcmp(optarg, parts[i].name))
                    o.part = &parts[i];
            if (!o.part) {
                fprintf(stderr, "vboard: unknown part %s (", optarg);
                for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
                    fprintf(stderr, "%s%s", i ? ", " : "", parts[i].name);
                fprintf(stderr, ")\n");
                return 2;
            }
            break;
        }
        case O_BOARD:
            if (!strcmp(optarg, "bluepill"))
                o.board = BOARD_BLUEPILL;
            else if (!strcmp(optarg, "maple_mini"))
                o.board = BOARD_MAPLE_MINI;
            else if (!strcmp(optarg, "generic_f103rc"))
                o.board = BOARD_GENERIC_F103RC;
            else if (!strcmp(optarg, "olimex_h103"))
                o.board = BOARD_OLIMEX_H103;
            else {
                fprintf(stderr, "vboard: unknown board %s\n", optarg);
                return 2;
            }
            break;
        case O_FLASH: o.flash_file = optarg; break;
        case O_PORT: o.port = (uint16_t)strtoul(optarg, NULL, 0); break;
        case O_UID: {
            if (strlen(optarg) != 24) {
                fprintf(stderr, "vboard: --uid wants 24 hex digits\n");
                return 2;
            }
            for (int i = 0; i < 12; i++) {
                int hi = hexval(optarg[2 * i]), lo2 = hexval(optarg[2 * i + 1]);
                if (hi < 0 || lo2 < 0) {
                    fprintf(stderr, "vboard: --uid wants 24 hex digits\n");
                    return 2;
                }
                o.uid[i] = (uint8_t)(hi << 4 | lo2);
            }
            uid_given = true;
            break;
        }
        case O_PIN: {
            char port;
            unsigned pin;
            int level;
            if (sscanf(optarg, "BOOT0=%d", &level) == 1) {
                o.boot0 = level != 0;
                break;
            }
            if (sscanf(optarg, "P%c%u=%d", &port, &pin, &level) != 3 || port < 'A' || port > 'D' ||
                pin > 15) {
                fprintf(stderr, "vboard: --pin wants e.g. PB2=1 (ports A-D) or BOOT0=1\n");
                return 2;
            }
            o.pin_level[port - 'A'][pin] = level != 0;
            break;
        }
        case O_TRACE: {
            char *list = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                bool found = false;
                for (unsigned i = 0; i < VB_TRACE_CATEGORIES; i++)
                    if (!strcmp(t, vb_trace_names[i])) {
                        o.trace |= 1u << i;
                        found = true;
                    }
                if (!strcmp(t, "all")) {
                    o.trace = ~0u;
                    found = true;
                }
                if (!found) {
                    fprintf(stderr, "vboard: unknown trace category %s\n", t);
                    return 2;
                }
            }
            free(list);
            break;
        }
        case O_STRICT: o.strict = true; break;
        case O_NOHSE: o.no_hse = true; break;
        case O_LSIHZ: {
            char *end;
            unsigned long hz = strtoul(optarg, &end, 10);
            /* DS5319 "LSI oscillator characteristics": fLSI 30 / 40 / 60 kHz
             * (min / typ / max). */
            if (*end || hz < 30000 || hz > 60000) {
                fprintf(stderr, "vboard: --lsi-hz wants 30000..60000 (DS5319 fLSI range), got %s\n", optarg);
                return 2;
            }
            o.lsi_hz = (uint32_t)hz;
            break;
        }
        case O_FLASHTIME:
            if (!strcmp(optarg, "typ") || !strcmp(optarg, "max")) {
                o.flash_time_max = optarg[0] == 'm';
                break;
            }
            fprintf(stderr, "vboard: --flash-time wants typ or max, not %s\n", optarg);
            return 2;
        case O_USB_ERRORS:
            if (!parse_usb_errors(optarg, &o))
                return 2;
            break;
        case O_CUT_OP: case O_CUT_NS: {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (*end || !v || optarg[0] == '-') {
                fprintf(stderr, "vboard: --%s wants a number from 1, got \"%s\"\n",
                        c == O_CUT_OP ? "cut-at-flash-op" : "cut-at-ns", optarg);
                return 2;
            }
            if (c == O_CUT_OP)
                o.cut.at_op = v;
            else
                o.cut.at_ns = v;
            break;
        }
        case O_TORN: {
            char *end;
            torn_given = true;
            if (!strcmp(optarg, "old") || !strcmp(optarg, "new")) {
                o.cut.torn = optarg[0] == 'o' ? TORN_OLD : TORN_NEW;
                break;
            }
            o.cut.torn = TORN_SEEDED;
            o.cut.seed = strtoull(optarg, &end, 0);
            if (end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "vboard: --torn wants old, new or a seed number, got \"%s\"\n", optarg);
                return 2;
            }
            break;
        }
        case O_REALTIME: o.realtime = true; break;
        case O_FAST: o.fast = true; break;
        case O_APPBASE: o.app_base = (uint32_t)strtoul(optarg, NULL, 0); break;
        case O_HWIWDG: o.hw_iwdg = true; break;
        case O_EXIT: o.exit_after_s = strtod(optarg, NULL); break;
        case O_QUIET: o.quiet_gpio = true; break;
        case 'h': case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.cut.at_op && o.cut.at_ns) {
        fprintf(stderr, "vboard: --cut-at-flash-op and --cut-at-ns exclude each other\n");
        return 2;
    }
    if (torn_given && !o.cut.at_op && !o.cut.at_ns) {
        fprintf(stderr, "vboard: --torn only says what a cut leaves: give --cut-at-flash-op or --cut-at-ns\n");
        return 2;
    }
    if ((o.cut.at_op || o.cut.at_ns) && !torn_given)
        o.cut.seed = (unsigned long long)time(NULL) ^ (unsigned long long)getpid() << 20;
    if (o.realtime && o.fast) {
        fprintf(stderr, "vboard: --realtime and --fast exclude each other\n");
        return 2;
    }
    if (optind < argc)
        o.firmware = argv[optind];
    if (optind + 1 < argc) {
        usage(stderr);
        return 2;
    }
    struct stat st;
    bool have_flash_file = o.flash_file && stat(o.flash_file, &st) == 0;
    if (!o.firmware && !have_flash_file) {
        usage(stderr);
        return 2;
    }
    uint8_t *image = NULL;
    if (o.firmware && have_flash_file) {
        fprintf(stdout, "note: %s exists: running its contents, %s is not loaded\n", o.flash_file, o.firmware);
    } else if (o.firmware) {
        if (!load_firmware(o.firmware, o.part->flash_size, &image, &o.image_size))
            return 2;
        o.image = image;
    }
    if (!uid_given) {
        /* A plausible F103 UID (lot/wafer/X/Y); the last bytes follow the
         * port so that several default boards get distinct serials. */
        static const uint8_t def[12] = {0x35, 0xFF, 0x6D, 0x06, 0x4E, 0x48, 0x35, 0x31, 0x22, 0x47, 0x0C, 0x87};
        memcpy(o.uid, def, 12);
        o.uid[10] = (uint8_t)(o.port >> 8);
        o.uid[11] = (uint8_t)o.port;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_quit; /* no SA_RESTART: waits return at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_reset;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct vb *vb = vb_new(&o);
    free(image);
    if (!vb)
        return 2;
    int status = vb_run(vb);
    vb_free(vb);
    return status;
}
