#!/usr/bin/env bash
# app_base.sh - the bootloader built with APP_BASE=0x08008000 (the CubeMX
# DFU how-to's address), driven with the how-to's exact command line
#   dfu-util -a 0 -s 0x08008000:leave -D app.bin
# with blinky linked and stamped for 0x08008000.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill-app08008000/dfuboot.bin
APP=$B/app/bluepill-app08008000/blinky.stamped.bin
need "$FW" "$APP"
FWSIZE=$(stat -c %s "$FW")
APPSIZE=$(stat -c %s "$APP")
FLASH=$WORK/flash.img
entry=$(printf '0x%08x' $(($(od -An -tu4 -j4 -N4 "$APP") & ~1)))

vb_start board --part f103c8 --app-base 0x08008000 --flash "$FLASH" "$FW"
if ! vb_wait board "usb enumerated .*0483:df11" 20; then
    fail enumerate "expected the APP_BASE=0x08008000 bootloader on an erased board to enumerate; it did not"
    finish
    exit
fi

# 32 KiB read-only, 32 KiB application.
want='name="@Internal Flash  /0x08000000/32*001Ka,32*001Kg"'
if dfu_q board -l && grep -qF "$want" "$DFU_OUT"; then
    pass "layout_32k_bootloader_region ($want)"
else
    fail layout_32k_bootloader_region "expected $want in dfu-util -l; got: $(grep -o 'name="[^"]*"' "$DFU_OUT")"
fi

# 0x08002000 belongs to the bootloader region here: refused.
filler 1024 3 >"$WORK/1k"
if dfu_q board -a 0 -s 0x08002000 -D "$WORK/1k"; then
    fail write_0x08002000_refused "expected dfu-util to refuse 0x08002000 (read-only with APP_BASE 0x08008000); it exited 0"
elif is_erased "$FLASH" $((0x2000)) $((0x6000)); then
    pass write_0x08002000_refused
else
    fail write_0x08002000_refused "dfu-util failed, but 0x08002000..0x08007FFF is no longer erased"
fi

# The how-to's command line, literally, from the directory holding app.bin.
cp "$APP" "$WORK/app.bin"
vb_mark board
rc=0
(cd "$WORK" && LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]} timeout 60 \
    "$DFU_UTIL" -a 0 -s 0x08008000:leave -D app.bin) >"$DFU_OUT" 2>&1 || rc=$?
if [ $rc = 0 ] && grep -q "File downloaded successfully" "$DFU_OUT"; then
    pass howto_command_line_succeeds
else
    fail howto_command_line_succeeds "expected 'dfu-util -a 0 -s 0x08008000:leave -D app.bin' to exit 0; exit $rc"$'\n'"$(show_out)"
fi
if vb_wait board "app start" 10 && [ "$(vb_since board | grep -m1 -o 'app start 0x[0-9a-f]*')" = "app start $entry" ] &&
    [ $((entry)) -ge $((0x08008000)) ] && [ $((entry)) -lt $((0x08008000 + APPSIZE)) ]; then
    pass "app_starts_at_0x08008000 (app start $entry)"
else
    fail app_starts_at_0x08008000 "expected 'app start $entry' (blinky's reset handler, inside the image at 0x08008000); got '$(vb_since board | grep -m1 'app start')'"
fi
if vb_wait board "gpio PC13=" 5 4; then
    pass "led_blinks ($(vb_count board "gpio PC13=") toggles)"
else
    fail led_blinks "expected >= 4 'gpio PC13=' lines from the application; got $(vb_count board "gpio PC13=")"
fi
if cmp -s "$APP" <(flash_bytes "$FLASH" $((0x8000)) "$APPSIZE") && cmp -s "$FW" <(flash_bytes "$FLASH" 0 "$FWSIZE") &&
    is_erased "$FLASH" "$FWSIZE" $((0x8000 - FWSIZE)); then
    pass flash_layout_after_update
else
    fail flash_layout_after_update "expected dfuboot.bin at 0, 0xFF up to 0x8000, app.bin at 0x8000"
fi
vb_stop board

# Back in DFU mode with BOOT1: the image reads back unchanged.
vb_start board --part f103c8 --app-base 0x08008000 --quiet-gpio --flash "$FLASH" --pin PB2=1
rm -f "$WORK/back.bin"
if vb_wait board "usb enumerated" 20 && dfu_q board -a 0 -s "0x08008000:$APPSIZE" -U "$WORK/back.bin" &&
    cmp -s "$APP" "$WORK/back.bin"; then
    pass upload_matches
else
    fail upload_matches "expected the upload of 0x08008000:$APPSIZE to equal app.bin"$'\n'"$(show_out)"
fi
# Mass erase erases 0x08008000.. only.
rc=0
dfu_q board -a 0 -s 0x08008000:mass-erase:force || rc=$?
if [ $rc != 0 ]; then
    fail mass_erase_app_region_only "expected dfu-util ...:mass-erase:force to exit 0; exit $rc"$'\n'"$(show_out)"
elif ! is_erased "$FLASH" $((0x8000)) $((0x8000)); then
    fail mass_erase_app_region_only "expected 0x08008000..0x0800FFFF erased; first difference from 0xFF: $(cmp <(flash_bytes "$FLASH" $((0x8000)) $((0x8000))) <(head -c $((0x8000)) /dev/zero | tr '\0' '\377') 2>&1 | head -1)"
elif ! cmp -s "$FW" <(flash_bytes "$FLASH" 0 "$FWSIZE"); then
    fail mass_erase_app_region_only "expected dfuboot.bin intact after the mass erase"
else
    pass mass_erase_app_region_only
fi
vb_stop board
finish
