#!/usr/bin/env bash
# linux.sh - the real Linux USB host in the loop (issue 9): a Debian kernel
# booted ONCE in QEMU attaches virtual blue pills over USB/IP (`usbip attach`,
# vhci-hcd), and the guest's own usbip, lsusb, dfu-util and pyusb, through
# the real libusb-1.0 and the kernel's usbfs, drive the real bootloader
# binary. The host restarts boards, presses reset and reads their flash files
# between the steps. Cases:
#   usbip list; attach; the kernel's enumeration (dmesg strings);
#   lsusb -v: strings, DFU functional descriptor, BOS (MS OS 2.0, WebUSB);
#   dfu-util -l; pyusb through the real libusb;
#   upload with -t 1024/256/64 identical to what was written;
#   a stamped image with a bad CRC stays in DFU; entry by the application's
#   reboot request; download + :leave starts the application (LED blinks);
#   mass erase; two boards at once picked by -S;
#   dfu-util killed mid-download of an unstamped image, then a second client
#   on the same connection (no bus reset, as on a native host): dfu-util,
#   and pyusb in pydfu's order (SET_CONFIGURATION, GETSTATUS, ABORT); after
#   a reset the partial image must not start; power cut (vboard SIGKILLed)
#   mid-download, then power-up on the same flash: DFU mode, attach again;
#   the guest's dmesg has no error or warning beyond tests/linux/dmesg-allow.
# LINUX_FW=file runs it against another bootloader binary (e.g. a broken one:
# the suite must fail). `--core` runs the subset without the killed-download and power-cut cases.
set -u
# shellcheck source=tests/linux/lib.sh
source "$(dirname "$0")/lib.sh"
FW=${LINUX_FW:-$B/fw/bluepill/dfuboot.bin}
APP=$B/app/bluepill/blinky.stamped.bin
RAW=$B/app/bluepill/blinky.bin
REBOOT=$B/app/bluepill-reboot/blinky.stamped.bin
need "$FW" "$APP" "$RAW" "$REBOOT"
command -v "$QEMU_BIN" >/dev/null || { echo "FAIL prerequisites: $QEMU_BIN missing (mk/deps.sh linux)"; echo "0 passed, 1 failed"; exit 1; }
CORE=0
[ "${1:-}" = --core ] && CORE=1
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# Specification values the checks compare with.
MSOS_UUID=d8dd60df-4589-4cc7-9cd2-659d9e648a9f   # Microsoft OS 2.0 Descriptors spec, table 3
WEBUSB_UUID=3408b638-09a9-47a0-8bfd-a0768815b665 # WebUSB spec 3.2 (platform capability UUID)
rand_uid() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F; }
UID1=$(rand_uid)
UID2=$(rand_uid)

# ---- the guest's files ------------------------------------------------------------
D=$WORK/data
mkdir -p "$D"
cp "$APP" "$D/blinky.bin"
cp "$REBOOT" "$D/reboot.bin"
filler 5000 7 >"$D/data5000"
filler 3000 11 >"$D/data3000"
# A stamped blinky with one bit of its code flipped after stamping: the CRC
# no longer matches (byte 100 is in Reset_Handler).
cp "$APP" "$D/badcrc.bin"
byte=$(od -An -tu1 -j100 -N1 "$D/badcrc.bin" | tr -d ' ')
printf "\\$(printf %03o $((byte ^ 1)))" | dd of="$D/badcrc.bin" bs=1 seek=100 conv=notrunc status=none
# An unstamped image as an IDE makes it (a valid vector table), 20 KiB: a
# partial copy of it looks bootable unless the bootloader holds it back.
cp "$RAW" "$D/partial.bin"
filler $((20480 - $(stat -c %s "$RAW"))) 5 >>"$D/partial.bin"

t0=$SECONDS
if ! bash "$ROOT/tests/linux/guest.sh" "$D" >"$WORK/guest.log" 2>&1; then
    fail guest_build "tests/linux/guest.sh failed:"$'\n'"$(tail -5 "$WORK/guest.log")"
    finish
    exit 1
fi
echo "# $(tail -1 "$WORK/guest.log") in $((SECONDS - t0)) s"

t0=$SECONDS
if lx_boot; then
    pass "guest_boots ($(grep -m1 '@@READY' "$CONSOLE" | cut -d' ' -f2), $((SECONDS - t0)) s)"
else
    fail guest_boots "no @@READY from the guest within ${LX_BOOT_SECS:-120} s; console:"$'\n'"$(tail -20 "$CONSOLE" | sed 's/^/   > /')$(sed 's/^/   qemu: /' "$WORK/qemu.err")"
    finish
    exit 1
fi
if grep -q '@@MODULE-FAILED' "$CONSOLE"; then
    fail guest_modules "insmod failed: $(grep '@@MODULE-FAILED' "$CONSOLE" | tr '\n' ' ')"
fi

# start_b1 [vboard options]: board b1 (slot A) on a fresh, erased flash.
start_b1() {
    vb_stop b1 2>/dev/null
    g 20 "det ${LX_IP[A]}" # no stale attachment of the board just stopped
    rm -f "$WORK/b1.flash"
    lx_board A b1 --part f103c8 --uid "$UID1" --flash "$WORK/b1.flash" "$@" "$FW" &&
        vb_wait b1 "usb enumerated .*0483:df11" 20
}

# ---- listing, attach, descriptors ------------------------------------------------
if ! start_b1; then
    fail b1_enumerates "expected the bootloader to enumerate in vboard"
    finish
    exit 1
fi
gcheck usbip_list 30 "usbip list -r ${LX_IP[A]}" \
    '1-1: STMicroelectronics : STM Device in DFU Mode \(0483:df11\)' 'fe/01/02'

if attach A; then
    pass "usbip_attach (local bus id $LOCAL_BUSID)"
else
    fail usbip_attach "expected the device enumerated after usbip attach"$'\n'"$(gshow)"
    finish
    exit 1
fi
# The kernel's own enumeration: it read the three strings (USB 2.0 9.6.7).
gcheck kernel_enumerates_strings 10 "dmesg" \
    'New USB device found, idVendor=0483, idProduct=df11' \
    'Manufacturer: dfuboot$' 'Product: dfuboot bluepill$' "SerialNumber: $UID1\$"

g 20 "lsusb -v -d 0483:df11"
cp "$GOUT" "$WORK/lsusb-v.txt"
V=$WORK/lsusb-v.txt
miss=""
for re in "iManufacturer +1 dfuboot$" "iProduct +2 dfuboot bluepill$" "iSerial +3 $UID1\$" \
    "Device Firmware Upgrade Interface Descriptor:" "bcdDFUVersion +1\.1a" \
    "wTransferSize +1024 bytes" "Binary Object Store Descriptor:" \
    "PlatformCapabilityUUID +\{$MSOS_UUID\}" "PlatformCapabilityUUID +\{$WEBUSB_UUID\}"; do
    grep -qE -- "$re" "$V" || miss+=" '$re'"
done
if [ "$GRC" = 0 ] && [ -z "$miss" ] && ! grep -qiE "cannot|couldn't|error" "$V"; then
    pass lsusb_v_strings_dfu_bos
else
    fail lsusb_v_strings_dfu_bos "expected exit 0, no error lines, and lines matching$miss; exit $GRC; $(grep -iE "cannot|couldn't|error" "$V" | head -3)"$'\n'"$(gshow)"
fi

gcheck dfu_util_list 20 "dfu-util -l" \
    "Found DFU: \[0483:df11\] .*path=\"$LOCAL_BUSID\", alt=0, name=\"@Internal Flash +/0x08000000/[^\"]*\", serial=\"$UID1\""

if [ -x "$B/linux/root/usr/bin/python3" ]; then
    gcheck pyusb_real_libusb 60 "pydfu info $UID1" '^backend: libusb-1\.0\.so\.0$' \
        '^manufacturer: dfuboot$' '^product: dfuboot bluepill$' "^serial: $UID1\$" \
        '^interface 0: @Internal Flash' '^status 0 state dfuIDLE$'
fi

# ---- upload with each transfer size ----------------------------------------------
g 60 "dfu-util -a 0 -s 0x08002000 -D /data/data5000"
if [ "$GRC" = 0 ] && cmp -s "$D/data5000" <(flash_bytes "$WORK/b1.flash" $((0x2000)) 5000); then
    pass download_5000_in_flash
else
    fail download_5000_in_flash "expected exit 0 and the 5000 bytes at 0x2000 of the flash file; exit $GRC"$'\n'"$(gshow)"
fi
for t in 1024 256 64; do
    g 60 "rm -f /tmp/up$t; dfu-util -a 0 -t $t -s 0x08002000:5000 -U /tmp/up$t && cmp /data/data5000 /tmp/up$t"
    if [ "$GRC" = 0 ]; then
        pass "upload_t${t}_identical"
    else
        fail "upload_t${t}_identical" "expected dfu-util -t $t -U of 5000 bytes to exit 0 and equal what was written; exit $GRC"$'\n'"$(gshow 6)"
    fi
done

# ---- mass erase ------------------------------------------------------------------
g 60 "dfu-util -a 0 -s 0x08002000:mass-erase:force"
fwsize=$(stat -c %s "$FW")
if [ "$GRC" = 0 ] && is_erased "$WORK/b1.flash" $((0x2000)) $((65536 - 0x2000)) &&
    cmp -s "$FW" <(flash_bytes "$WORK/b1.flash" 0 "$fwsize"); then
    pass mass_erase_keeps_bootloader
else
    fail mass_erase_keeps_bootloader "expected exit 0, the application region 0xFF and the bootloader unchanged; exit $GRC"$'\n'"$(gshow 6)"
fi

# ---- a bad CRC stays in DFU --------------------------------------------------------
vb_mark b1
g 60 "dfu-util -a 0 -s 0x08002000:leave -D /data/badcrc.bin"
if [ "$GRC" = 0 ] && vb_wait b1 "reset \(SYSRESETREQ\)" 10 && vb_wait b1 "usb enumerated .*0483:df11" 10 &&
    sleep 0.3 && [ "$(vb_count b1 "app start")" = 0 ] && attach A; then
    pass "bad_crc_stays_in_dfu (reset, no app start, enumerated again, attached as $LOCAL_BUSID)"
else
    fail bad_crc_stays_in_dfu "expected dfu-util to exit 0, then a reset, no 'app start', a new DFU enumeration and attach; exit $GRC, $(vb_count b1 "app start") app starts"$'\n'"$(gshow 6)"
fi

# ---- entry by the application's reboot request ------------------------------------
vb_mark b1
g 60 "dfu-util -a 0 -s 0x08002000:leave -D /data/reboot.bin"
if [ "$GRC" = 0 ] && vb_wait b1 "app start 0x08002" 10 && vb_wait b1 "usb enumerated .*0483:df11" 10 &&
    vb_since b1 | grep -E "app start|reset \(|usb enumerated" | tr '\n' ' ' |
    grep -qE "app start 0x08002[0-9a-f]+ .*reset \(SYSRESETREQ\).*usb enumerated .*0483:df11" &&
    attach A && g 20 "dfu-util -l" && grep -q "serial=\"$UID1\"" "$GOUT"; then
    pass "app_reboot_request_enters_dfu (app start, reset, DFU again; dfu-util -l sees it)"
else
    fail app_reboot_request_enters_dfu "expected 'app start', 'reset (SYSRESETREQ)', DFU enumeration, then attach and dfu-util -l"$'\n'"$(gshow 6)"
fi

# ---- download + :leave, the application runs ------------------------------------
# led_ok LOG: >= 5 PC13 toggles after the app start, alternating, 0.25 s apart
# (blinky's period, +-2 ms of virtual time), as tests/e2e/download.sh checks.
led_ok() {
    vb_since b1 | awk '
        /app start/ { n = 0; started = 1; next }
        started && /gpio PC13=/ { sub(/^\[ */, ""); t[n] = $1 + 0; v[n] = substr($0, length($0)); n++ }
        END { if (n < 5) exit 1
              for (i = 2; i < n; i++) { d = t[i] - t[i-1]; if (d < 0.248 || d > 0.252 || v[i] == v[i-1]) exit 1 } }'
}
vb_mark b1
g 60 "dfu-util -a 0 -s 0x08002000:leave -D /data/blinky.bin"
appsize=$(stat -c %s "$APP")
if [ "$GRC" = 0 ] && grep -q "File downloaded successfully" "$GOUT" && vb_wait b1 "app start 0x08002" 10 &&
    vb_wait b1 "gpio PC13=" 5 6 && led_ok && cmp -s "$APP" <(flash_bytes "$WORK/b1.flash" $((0x2000)) "$appsize"); then
    pass "download_leave_app_runs (app start, $(vb_count b1 'gpio PC13=') LED toggles 0.25 s apart)"
else
    fail download_leave_app_runs "expected exit 0, 'app start', >= 5 PC13 toggles 0.25 s apart and blinky in flash; exit $GRC"$'\n'"$(gshow 6)"
fi
# The guest saw the board leave: vhci-hcd reports the disconnect.
g 10 "dmesg | grep -c 'USB disconnect'"
if [ "$GRC" = 0 ] && [ "$(tail -1 "$GOUT")" -ge 2 ]; then
    pass "guest_sees_disconnects ($(tail -1 "$GOUT"))"
else
    fail guest_sees_disconnects "expected the guest's dmesg to log a USB disconnect for each :leave"$'\n'"$(gshow 3)"
fi

# ---- a killed dfu-util, then a second client on the same connection -----------------
# kill_mid_download TAG SECOND-CLIENT-COMMAND: dfu-util in the guest writes
# /data/partial.bin (unstamped) and is SIGKILLed after about a third of it
# (the host watches the board's flash trace); the USB/IP connection stays,
# as a native host's would: no bus reset. The second client runs, then the
# host presses reset: the partial image must not start.
kill_mid_download() {
    local tag=$1 second=$2 why=""
    start_b1 --trace flash --quiet-gpio || { fail "${tag}_setup" "board did not enumerate"; return; }
    attach A || { fail "${tag}_setup" "attach failed"$'\n'"$(gshow)"; return; }
    vb_mark b1
    g 10 "dfu-util -a 0 -s 0x08002000 -D /data/partial.bin >/tmp/dfu1.log 2>&1 & echo \$! >/tmp/dfu1.pid"
    if ! vb_wait b1 "programmed 0x0800" 60 3000; then
        g 10 "tail -c 300 /tmp/dfu1.log"
        why="the first download did not reach 3000 programmed half-words; dfu-util said: $(tail -2 "$GOUT" | tr '\n' ' ')"
    fi
    g 10 "kill -9 \$(cat /tmp/dfu1.pid)"
    local ops
    ops=$(vb_count b1 "programmed 0x0800")
    # A kill after the last block would test a complete image instead.
    [ "$ops" -lt $(($(stat -c %s "$D/partial.bin") / 2)) ] || why=${why:-"the download had finished before the kill ($ops half-words)"}
    g 60 "$second"
    cp "$GOUT" "$WORK/$tag.second.txt"
    local second_rc=$GRC
    # Neither the kill nor the second client reset the device or dropped
    # the USB/IP connection (what the replacement libusb cannot show).
    [ "$(vb_count b1 "importer gone|reset \(|usb reset")" = 0 ] ||
        why=${why:-"the device was reset before the reset button ($(vb_since b1 | grep -m1 -E 'importer gone|reset \(|usb reset'))"}
    sleep 0.5
    vb_reset b1
    sleep 3
    if [ "$(vb_count b1 "app start")" != 0 ]; then
        why=${why:-"the partial image started after the reset: $(vb_since b1 | grep -m1 -E 'app start')$(vb_since b1 | grep -m1 -E 'HardFault|LOCKUP' | sed 's/^/, then /')"}
    elif ! vb_wait b1 "usb enumerated .*0483:df11" 5; then
        why=${why:-"no DFU enumeration after the reset"}
    fi
    if [ -z "$why" ]; then
        pass "${tag}_partial_never_starts (killed after $ops half-words; second client exit $second_rc)"
    else
        fail "${tag}_partial_never_starts" "$why; killed after $ops programmed half-words; second client exit $second_rc:"$'\n'"$(sed 's/^/   > /' "$WORK/$tag.second.txt" | tail -6)"
    fi
}
if [ "$CORE" != 1 ]; then
    kill_mid_download killed_then_dfu_util "rm -f /tmp/x; dfu-util -a 0 -s 0x08002000:16 -U /tmp/x"
    [ -x "$B/linux/root/usr/bin/python3" ] &&
        kill_mid_download killed_then_pydfu "pydfu abort $UID1"
fi

# ---- power cut mid-download ------------------------------------------------------
# vboard SIGKILLed while the guest's dfu-util writes the unstamped image (a
# power cut: the flash file keeps what was written), then powered up again on
# the same flash: the guest's dfu-util fails instead of hanging, the board
# comes up in DFU mode (the partial image does not start) and attaches again.
power_cut_mid_download() {
    local why="" ops
    start_b1 --trace flash --quiet-gpio && attach A || { fail power_cut_setup "board did not enumerate or attach"$'\n'"$(gshow)"; return; }
    vb_mark b1
    g 10 "dfu-util -a 0 -s 0x08002000 -D /data/partial.bin >/tmp/dfu2.log 2>&1 & echo \$! >/tmp/dfu2.pid"
    vb_wait b1 "programmed 0x0800" 60 2000 || why="the download did not reach 2000 programmed half-words"
    vb_kill b1
    g 10 "det ${LX_IP[A]}"
    ops=$(vb_count b1 "programmed 0x0800")
    [ "$ops" -lt $(($(stat -c %s "$D/partial.bin") / 2)) ] || why=${why:-"the download had finished before the cut ($ops half-words)"}
    # dfu-util sees the connection go: it must end on its own, with an error.
    g 40 "pid=\$(cat /tmp/dfu2.pid); n=0; while kill -0 \$pid 2>/dev/null && [ \$n -lt 300 ]; do sleep 0.1; n=\$((n + 1)); done; kill -0 \$pid 2>/dev/null && echo STILL-RUNNING; tail -c 300 /tmp/dfu2.log"
    cp "$GOUT" "$WORK/powercut.dfu.txt"
    grep -q STILL-RUNNING "$GOUT" && why=${why:-"dfu-util in the guest still runs 30 s after the board lost power"}
    lx_board A b1 --part f103c8 --uid "$UID1" --flash "$WORK/b1.flash" --quiet-gpio "$FW"
    if ! vb_wait b1 "usb enumerated .*0483:df11" 20; then
        why=${why:-"no DFU enumeration after power-up$(vb_since b1 | grep -m1 'app start' | sed 's/^/: /')"}
    elif [ "$(vb_count b1 "app start")" != 0 ]; then
        why=${why:-"the partial image started after power-up"}
    elif ! attach A || ! g 20 "dfu-util -l" || ! grep -q "serial=\"$UID1\"" "$GOUT"; then
        why=${why:-"no attach or dfu-util -l after power-up"$'\n'"$(gshow 4)"}
    fi
    if [ -z "$why" ]; then
        pass "power_cut_mid_download (cut after $ops half-words; DFU mode after power-up, attached again)"
    else
        fail power_cut_mid_download "$why; cut after $ops half-words; the guest's dfu-util said:"$'\n'"$(sed 's/^/   > /' "$WORK/powercut.dfu.txt" | tail -4)"
    fi
}
[ "$CORE" != 1 ] && power_cut_mid_download

# ---- two boards at once, picked by -S -----------------------------------------------
start_b1 --quiet-gpio || fail two_boards_setup "board 1 did not enumerate"
vb_stop b2 2>/dev/null
g 20 "det ${LX_IP[B]}"
lx_board B b2 --part f103c8 --uid "$UID2" --flash "$WORK/b2.flash" --quiet-gpio "$FW" &&
    vb_wait b2 "usb enumerated .*0483:df11" 20 || fail two_boards_setup "board 2 did not enumerate"
if attach A && attach B && g 20 "dfu-util -l" && [ "$(grep -c '^Found DFU: \[0483:df11\]' "$GOUT")" = 2 ] &&
    grep -q "serial=\"$UID1\"" "$GOUT" && grep -q "serial=\"$UID2\"" "$GOUT"; then
    pass two_boards_listed
else
    fail two_boards_listed "expected both boards attached and two 'Found DFU' lines with serials $UID1 and $UID2"$'\n'"$(gshow 8)"
fi
cp "$WORK/b1.flash" "$WORK/b1.before"
g 60 "dfu-util -S $UID2 -a 0 -s 0x08002000 -D /data/data3000"
if [ "$GRC" = 0 ] && cmp -s "$D/data3000" <(flash_bytes "$WORK/b2.flash" $((0x2000)) 3000) &&
    cmp -s "$WORK/b1.flash" "$WORK/b1.before"; then
    pass two_boards_S_picks_board2
else
    fail two_boards_S_picks_board2 "expected the data in board 2's flash only; exit $GRC"$'\n'"$(gshow 6)"
fi
cp "$WORK/b2.flash" "$WORK/b2.before"
g 60 "dfu-util -S $UID1 -a 0 -s 0x08002000 -D /data/data5000"
if [ "$GRC" = 0 ] && cmp -s "$D/data5000" <(flash_bytes "$WORK/b1.flash" $((0x2000)) 5000) &&
    cmp -s "$WORK/b2.flash" "$WORK/b2.before"; then
    pass two_boards_S_picks_board1
else
    fail two_boards_S_picks_board1 "expected the data in board 1's flash only; exit $GRC"$'\n'"$(gshow 6)"
fi

# ---- the kernel's complaints ---------------------------------------------------------
# Every dmesg line of level warning or worse (busybox dmesg -r: "<N>", N <= 4)
# must match tests/linux/dmesg-allow, which says why each is harmless.
g 10 "dmesg -r"
cp "$GOUT" "$WORK/dmesg.txt"
# (An empty pattern would match every line: only non-empty ones are used.)
grep -vE '^(#|$)' "$ROOT/tests/linux/dmesg-allow" >"$WORK/allow.re"
bad=$(grep -E '^<[0-4]>' "$WORK/dmesg.txt" | sed -E 's/^<[0-9]>\[ *[0-9.]+\] //' | grep -vE -f "$WORK/allow.re" || true)
nwarn=$(grep -cE '^<[0-4]>' "$WORK/dmesg.txt")
if [ "$GRC" = 0 ] && [ -s "$WORK/dmesg.txt" ] && [ -z "$bad" ]; then
    pass "dmesg_no_unexplained_warnings ($nwarn warning lines, all in dmesg-allow)"
else
    fail dmesg_no_unexplained_warnings "expected every warning/error line in the guest's dmesg to be allowed; these are not:"$'\n'"$(echo "$bad" | sed 's/^/   > /' | head -15)"
fi

vb_stop b1
vb_stop b2
echo "# guest console transcript: $CONSOLE (KEEP_WORK=1 keeps it)"
finish
