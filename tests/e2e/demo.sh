#!/usr/bin/env bash
# make demo: a virtual blue pill with the bootloader and an erased
# application region, updated with the stock dfu-util, then read back.
set -u
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
APP=$B/app/bluepill/blinky.stamped.bin
FLASH=$WORK/flash.img
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; vb_show_log board 30 >&2; exit 1; }

step "Virtual STM32F103C8 (blue pill) with dfuboot ($(stat -c %s "$FW") bytes), application region erased"
vb_start board --part f103c8 --board bluepill --flash "$FLASH" "$FW"
vb_wait board "usb enumerated" 20 || die "the board did not enumerate"
grep -E "usb|reset" "${VB_LOG[board]}" | sed 's/^/  vboard: /'

step "dfu-util -l"
dfu board -l || die "dfu-util -l failed"

step "dfu-util -a 0 -s 0x08002000:leave -D blinky.stamped.bin"
dfu board -a 0 -s 0x08002000:leave -D "$APP" || die "download failed"
vb_wait board "app start" 20 || die "the application did not start"
vb_wait board "gpio PC13=" 20 4 || die "the LED does not blink"
sleep 1
echo "  vboard log since the download:"
sed -n '/usb disconnect/,$p' "${VB_LOG[board]}" | head -12 | sed 's/^/  vboard: /'

step "Back into the bootloader with the BOOT1 jumper (PB2=1) and read the image back"
vb_stop board
vb_start board --part f103c8 --board bluepill --flash "$FLASH" --pin PB2=1
vb_wait board "usb enumerated" 20 || die "the board did not enumerate in DFU mode"
size=$(stat -c %s "$APP")
dfu board -a 0 -s 0x08002000:$size -U "$WORK/readback.bin" || die "upload failed"
if cmp "$APP" "$WORK/readback.bin"; then
    echo "  readback: $size bytes, identical to blinky.stamped.bin"
else
    die "readback differs"
fi
vb_stop board
step "Done"
