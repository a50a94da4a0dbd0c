#!/usr/bin/env bash
# make demo: a virtual blue pill (STM32F103C8 in vboard) running the real
# dfuboot binary on an erased application region. The stock dfu-util, through
# the USB/IP libusb, installs the demo application dfu-runtime from its .dfu
# file, then updates the RUNNING application to version 2 with one command
# (detach, download, start), sends it back to the bootloader with -e, and
# reads the image back. No step may print dfu-util's suffix warning.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
APP=$B/app/bluepill/dfu-runtime.dfu
APP2=$B/app/bluepill/dfu-runtime-v2.dfu
APP2_BIN=$B/app/bluepill/dfu-runtime-v2.stamped.bin
need "$FW" "$APP" "$APP2" "$APP2_BIN"
FLASH=$WORK/flash.img
OUT=$WORK/run.out
rel() { echo "${1#"$ROOT"/}"; }
if [ -t 1 ]; then BOLD=$'\033[1m' DIM=$'\033[2m' OFF=$'\033[0m'; else BOLD='' DIM='' OFF=''; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
say() { echo "   $*"; }
die() {
    echo "demo: FAILED: $*" >&2
    vb_show_log board 30 >&2
    exit 1
}
# events: the board's new log lines (without the bus-reset chatter).
events() { vb_since board | grep -vE "usb reset$|gpio PA12" | sed "s/^/   ${DIM}vboard${OFF} /"; vb_mark board; }
# run: show a command as typed, run it against the board, indent its output
# (dfu-util's copyright banner left out). A suffix warning fails the demo.
run() {
    printf '   %s$ %s%s\n' "$BOLD" "$*" "$OFF"
    local cmd=$1 rc
    shift
    LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]} timeout 60 "$cmd" "$@" >"$OUT" 2>&1
    rc=$?
    tr '\r' '\n' <"$OUT" | grep -vE '^(Copyright|This program is Free|Please report bugs|dfu-util 0\.|$)' |
        awk '/^(Erase|Download|Upload)[ \t]+\[/ && !/100%/ { next } { print }' |
        sed 's/^/     /'
    if grep -qE "Invalid DFU suffix signature|A valid DFU suffix will be required" "$OUT"; then
        die "dfu-util warned about the file's DFU suffix"
    fi
    return $rc
}
# app_back: an application start, then the runtime device enumerated after it.
app_back() {
    local i
    for ((i = 0; i < 400; i++)); do
        vb_since board | sed -n '/app start/,$p' | grep -q "usb enumerated .*1209:0001" && return 0
        sleep 0.05
    done
    return 1
}
start=$(date +%s)

step "1. A virtual STM32F103C8 blue pill with dfuboot and nothing else"
say "bootloader: $(rel "$FW") ($(stat -c %s "$FW") bytes at 0x08000000), application region 0x08002000.. erased"
UID_=35FF6B064E5532345A210943
vb_start board --part f103c8 --board bluepill --uid $UID_ --flash "$FLASH" "$FW"
say "vboard listens for USB/IP on 127.0.0.1:${VB_PORT[board]}; the stock tools reach it through our libusb:"
say "LD_LIBRARY_PATH=build/host LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]}"
vb_wait board "usb enumerated" 20 || die "the board did not enumerate"
sleep 0.2
events

step "2. The stock dfu-util finds it in DFU mode"
cd "$ROOT" || exit 1
run dfu-util -l || die "dfu-util -l failed"

step "3. Install an application from its .dfu file (the file carries the address: no -s ADDR)"
say "$(rel "$APP"): $("$STAMP" --check-dfu "$APP" | sed 's/^dfuboot-stamp: [^:]*: //')"
vb_mark board
run dfu-util -a 0 -s :leave -D "$(rel "$APP")" || die "the download failed"
app_back || die "the application did not start and enumerate"
say "dfu-runtime v1 runs: its LED (PC13) toggles every 0.5 s, and it is a USB device of its own:"
sleep 0.3
events | grep -vE "gpio PC13" | grep -vE "usb enumerated.*1209:0001" ; vb_mark board
run dfu-util -l || die "dfu-util -l failed"

step "4. Update the RUNNING application with one command: detach, download, start"
vb_mark board
run dfu-util -d 1209:0001,0483:df11 -a 0 -s :leave -D "$(rel "$APP2")" || die "the one-command update failed"
app_back || die "version 2 did not start"
sleep 1.2
say "the application left the bus, the bootloader took the update, version 2 starts (LED every 0.25 s):"
events | awk '/gpio PC13/ { if (++n > 4) next } { print }'
run dfu-util -l || die "dfu-util -l failed"
grep -q "ver=0200" "$OUT" || die "version 2 is not running"

step "5. Back to the bootloader with dfu-util -e, and read the image back"
vb_mark board
run dfu-util -e || die "dfu-util -e failed"
vb_wait board "usb enumerated .*0483:df11" 20 || die "the bootloader did not enumerate"
events | grep -v "gpio PC13"
size=$(stat -c %s "$APP2_BIN")
cd "$WORK" || exit 1
run dfu-util -a 0 -s "0x08002000:$size" -U readback.bin || die "the upload failed"
if cmp -s "$APP2_BIN" "$WORK/readback.bin"; then
    say "readback: $size bytes, identical to $(rel "$APP2_BIN")"
else
    die "the readback differs from $(rel "$APP2_BIN"): $(cmp "$APP2_BIN" "$WORK/readback.bin" 2>&1)"
fi
vb_stop board

step "Done in $(( $(date +%s) - start )) s: installed, updated in place with one command, detached, read back; no suffix warning"
[ "$nfail" = 0 ] || exit 1
