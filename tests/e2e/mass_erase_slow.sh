#!/usr/bin/env bash
# mass_erase_slow.sh - issue 8 item 6: a mass erase of a 512 KiB part
# (STM32F103RE, 252 application pages of 2 KiB) with every flash operation
# taking the datasheet maximum (vboard --flash-time max: tERASE 40 ms), i.e.
# about 10 s of erasing, twice dfu-util's 5 s control-transfer timeout.
# `dfu-util -s 0x08002000:mass-erase:force` must exit 0 with the region
# erased: the bootloader erases in slices between GETSTATUS requests, so no
# request waits on the flash for long.
# --realtime: the flash work takes that time on the wall clock too, where
# dfu-util's timeout counts. The firmware before the slices (one piece for
# the whole region, announced at 20 ms a page) fails here: dfu-util's
# GETSTATUS times out while the device erases.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/generic_f103rc/dfuboot.bin # high density: 2 KiB pages, F_SIZE 512 on an RE
need "$FW"
SIZE=$((512 * 1024))
REGION=$((SIZE - 0x2000))

if ! "$VBOARD" --help 2>&1 | grep -q 'f103re' || ! "$VBOARD" --help 2>&1 | grep -q 'flash-time'; then
    fail prerequisites "this vboard has no --part f103re or --flash-time max (issue 8 item 6 needs both)"
    finish
    exit
fi

FLASH=$WORK/re.flash
if ! mk_flash "$FLASH" f103re "$FW"; then
    fail setup "vboard did not create a flash file for f103re"
    finish
    exit
fi
# A full region: every page has something to erase.
filler "$REGION" 7 | dd of="$FLASH" bs=1024 seek=8 conv=notrunc status=none

vb_start re --part f103re --board generic_f103rc --quiet-gpio --flash "$FLASH" --pin PB2=1 \
    --flash-time max --realtime
if ! vb_wait re "usb enumerated .*0483:df11" 20; then
    fail enumerate "expected DFU mode on the f103re; the board did not enumerate"
    finish
    exit
fi
t0=$(date +%s%N)
rc=0
dfu_q re -a 0 -s 0x08002000:mass-erase:force || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc = 0 ] && is_erased "$FLASH" $((0x2000)) "$REGION"; then
    pass "mass_erase_f103re_flash_time_max ($REGION bytes erased in $ms ms, dfu-util exit 0)"
else
    fail mass_erase_f103re_flash_time_max "expected exit 0 and the whole region 0xFF; exit $rc after $ms ms"$'\n'"$(show_out)"
fi
vb_stop re
finish
