#!/usr/bin/env bash
# make demo: a virtual blue pill (STM32F103C8 in vboard) running the real
# dfuboot binary on an erased application region, updated with the stock
# dfu-util through the USB/IP libusb, then read back and compared.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
APP=$B/app/bluepill/blinky.stamped.bin
need "$FW" "$APP"
FLASH=$WORK/flash.img
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
events() { vb_since board | grep -v "usb reset$" | sed "s/^/   ${DIM}vboard${OFF} /"; vb_mark board; }
# run: show a command as typed, run it against the board, indent its output
# (dfu-util's copyright banner left out).
run() {
    printf '   %s$ %s%s\n' "$BOLD" "$*" "$OFF"
    local cmd=$1
    shift
    LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]} timeout 60 "$cmd" "$@" 2>&1 |
        tr '\r' '\n' | grep -vE '^(Copyright|This program is Free|Please report bugs|dfu-util 0\.|$)' |
        awk '/^(Erase|Download|Upload)[ \t]+\[/ && !/100%/ { next } { print }' |
        sed 's/^/     /'
    return "${PIPESTATUS[0]}"
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

step "2. The stock dfu-util finds it"
cd "$ROOT" || exit 1
run dfu-util -l || die "dfu-util -l failed"

step "3. Update: download blinky and leave DFU mode"
vb_mark board
run dfu-util -a 0 -s 0x08002000:leave -D "$(rel "$APP")" || die "the download failed"
vb_wait board "app start" 20 || die "the application did not start"
vb_wait board "gpio PC13=" 20 6 || die "the LED does not blink"
say "the board drops off the bus, resets and starts blinky; its LED (PC13) toggles every 0.25 s:"
events | grep -vE "usb (enumerated|connect|enumeration failed)"

step "4. Back into the bootloader (BOOT1 jumper set, PB2=1) and read the image back"
vb_stop board
vb_start board --part f103c8 --board bluepill --uid $UID_ --quiet-gpio --flash "$FLASH" --pin PB2=1
vb_wait board "usb enumerated" 20 || die "the board did not enumerate in DFU mode"
events
size=$(stat -c %s "$APP")
cd "$WORK" || exit 1
run dfu-util -a 0 -s "0x08002000:$size" -U readback.bin || die "the upload failed"
if cmp -s "$APP" "$WORK/readback.bin"; then
    say "readback: $size bytes, identical to $(rel "$APP")"
else
    die "the readback differs from $(rel "$APP"): $(cmp "$APP" "$WORK/readback.bin" 2>&1)"
fi
vb_stop board

step "Done in $(( $(date +%s) - start )) s: listed, updated, ran, read back; vboard stopped"
[ "$nfail" = 0 ] || exit 1
