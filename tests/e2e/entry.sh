#!/usr/bin/env bash
# entry.sh - when the bootloader stays in DFU mode and when it starts the
# application: the BOOT1 pin (PB2) on a board with a valid application, the
# application's reboot request (backup-register magic, blinky's reboot
# variant), and invalid applications (erased, corrupted stamped image, bad
# vector table); a valid unstamped image starts.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=${ENTRY_FW:-$B/fw/bluepill/dfuboot.bin} # ENTRY_FW: check another build
APP=$B/app/bluepill/blinky.stamped.bin
RAW=$B/app/bluepill/blinky.bin
REBOOT=$B/app/bluepill-reboot/blinky.stamped.bin
need "$FW" "$APP" "$RAW" "$REBOOT"
APPSIZE=$(stat -c %s "$APP")

# image NAME [APP]: a flash file with the bootloader and APP at 0x08002000.
image() {
    mk_flash "$WORK/$1.flash" f103c8 "$FW" || return 1
    [ -z "${2:-}" ] || dd if="$2" of="$WORK/$1.flash" bs=1024 seek=8 conv=notrunc status=none
}

# expect_dfu CASE NAME [vboard options]: the board enumerates as 0483:df11
# and no application starts (0.3 s after the enumeration).
expect_dfu() {
    local case=$1 name=$2
    shift 2
    vb_start "$name" --part f103c8 --quiet-gpio --flash "$WORK/$name.flash" "$@"
    if ! vb_wait "$name" "usb enumerated .*0483:df11" 20; then
        fail "$case" "expected DFU mode (enumeration as 0483:df11); none within 20 s"
    elif sleep 0.3 && [ "$(vb_count "$name" "app start")" != 0 ]; then
        fail "$case" "expected DFU mode and no application; got '$(vb_since "$name" | grep -m1 'app start')'"
    else
        pass "$case"
    fi
    vb_stop "$name"
}

# expect_app CASE NAME [vboard options]: the application starts at its
# reset handler and the bootloader never enumerates.
expect_app() {
    local case=$1 name=$2
    shift 2
    vb_start "$name" --part f103c8 --quiet-gpio --flash "$WORK/$name.flash" "$@"
    if ! vb_wait "$name" "app start 0x08002" 10; then
        fail "$case" "expected 'app start 0x08002...'; none within 10 s"
    elif [ "$(vb_count "$name" "usb enumerated .*0483:df11")" != 0 ]; then
        fail "$case" "expected the application to start directly, but the bootloader enumerated first"
    else
        pass "$case"
    fi
    vb_stop "$name"
}

# --- the pin: a valid application, BOOT1 high -> DFU mode; low -> app.
image valid "$APP"
expect_app valid_app_starts_without_pin valid
expect_app valid_app_starts_with_pb2_low valid --pin PB2=0
expect_dfu pin_pb2_high_enters_dfu valid --pin PB2=1
# In that DFU mode the stock dfu-util sees it (and the app is still there).
vb_start valid --part f103c8 --quiet-gpio --flash "$WORK/valid.flash" --pin PB2=1
rm -f "$WORK/pin.up"
if vb_wait valid "usb enumerated" 20 && dfu_q valid -a 0 -s "0x08002000:$APPSIZE" -U "$WORK/pin.up" &&
    cmp -s "$APP" "$WORK/pin.up"; then
    pass pin_dfu_mode_reads_back_app
else
    fail pin_dfu_mode_reads_back_app "expected dfu-util to upload the application unchanged in pin DFU mode"$'\n'"$(show_out)"
fi
vb_stop valid

# --- leaving on a board with a fixed D+ pull-up (bluepill): the host must see
# the device go (RM0008 9.1.11: PA12 belongs to the USB block while it is
# enabled, so the firmware stops it before driving D+ low), then the reset,
# then the bootloader again (BOOT1 still high).
vb_start leave --part f103c8 --quiet-gpio --flash "$WORK/valid.flash" --pin PB2=1
if vb_wait leave "usb enumerated" 20; then
    vb_mark leave
    dfu_q leave -a 0 -s "0x08002000:leave" -D "$APP"
    # (dfu-util's own imports log "usb enumerated" too: wait for the reset.)
    if vb_wait leave "reset \(SYSRESETREQ\)" 20 && sleep 0.5 &&
        vb_since leave | grep -E "usb disconnect|reset \(|usb enumerated" |
        sed -n '/usb disconnect\|reset (/,$p' | head -3 | tr '\n' ' ' |
        grep -qE "usb disconnect.*reset \(SYSRESETREQ\).*usb enumerated"; then
        pass leave_disconnects_before_reset
    else
        fail leave_disconnects_before_reset "expected 'usb disconnect', 'reset (SYSRESETREQ)', 'usb enumerated' in that order after :leave"$'\n'"$(show_out)"
    fi
else
    fail leave_disconnects_before_reset "the board did not enumerate"
fi
vb_stop leave

# --- the magic: blinky's reboot variant blinks 4 times, leaves the magic in
# BKP_DR1 and resets; the bootloader then stays in DFU mode.
image magic "$REBOOT"
vb_start magic --part f103c8 --quiet-gpio --flash "$WORK/magic.flash"
if vb_wait magic "usb enumerated .*0483:df11" 20 &&
    vb_since magic | grep -E "app start|reset \(SYSRESETREQ\)|usb enumerated" | head -3 | tr '\n' ' ' |
    grep -qE "app start 0x08002[0-9a-f]+ .*reset \(SYSRESETREQ\).*usb enumerated .*0483:df11"; then
    sleep 0.3
    if [ "$(vb_count magic "app start")" = 1 ]; then
        pass "magic_enters_dfu (app start, reset, DFU enumeration)"
    else
        fail magic_enters_dfu "expected exactly one 'app start' (the bootloader must stay in DFU after the magic reset); got $(vb_count magic "app start")"
    fi
else
    fail magic_enters_dfu "expected 'app start', 'reset (SYSRESETREQ)', 'usb enumerated ... 0483:df11' in that order"
fi
if dfu_q magic -l && grep -q 'Found DFU: \[0483:df11\]' "$DFU_OUT"; then
    pass magic_dfu_listed
else
    fail magic_dfu_listed "expected dfu-util -l to list 0483:df11 after the magic reboot"$'\n'"$(show_out)"
fi
# The magic is used once: the reset button starts the application again.
vb_reset magic
if vb_wait magic "app start 0x08002" 10; then
    pass magic_is_one_shot
else
    fail magic_is_one_shot "expected the application to start after a reset (the magic cleared); no 'app start'"
fi
vb_stop magic

# --- invalid applications.
image erased
expect_dfu erased_region_enters_dfu erased

# One flipped byte inside the stamped image (code after the vector table).
image corrupt "$APP"
off=$((0x2000 + APPSIZE - 20))
b=$(hexbyte "$WORK/corrupt.flash" $off)
poke "$WORK/corrupt.flash" $off "$(printf %02x $((0x$b ^ 0x01)))"
if [ "$(hexbyte "$WORK/corrupt.flash" $off)" = "$b" ]; then
    fail corrupted_stamped_image_enters_dfu "setup: the byte at $off did not change"
else
    expect_dfu corrupted_stamped_image_enters_dfu corrupt
fi

# A stamped image whose last 64 bytes never arrived (still erased).
image partial "$APP"
head -c 64 /dev/zero | tr '\0' '\377' |
    dd of="$WORK/partial.flash" bs=1 seek=$((0x2000 + APPSIZE - 64)) conv=notrunc status=none
expect_dfu truncated_stamped_image_enters_dfu partial

# Unstamped: a plausible vector table starts (non-STRICT build) ...
image unstamped "$RAW"
expect_app unstamped_plausible_image_starts unstamped
# ... an implausible one (stack pointer in flash) does not.
image badsp "$RAW"
printf '\x00\x00\x00\x08' | dd of="$WORK/badsp.flash" bs=1 seek=$((0x2000)) conv=notrunc status=none
expect_dfu unstamped_bad_stack_pointer_enters_dfu badsp

# --- no crystal (vboard --no-hse: HSERDY never sets): the bootloader must not
# hang silently. It gives up after 100 ms, blinks the LED (PC13) every 100 ms
# and keeps a hardware-started watchdog (--hw-iwdg, 409.6 ms) fed.
image nohse
"$VBOARD" --fast --port 0 --part f103c8 --flash "$WORK/nohse.flash" --pin PB2=1 --no-hse --hw-iwdg \
    --exit-after 2 >"$WORK/nohse.log" 2>&1
toggles=$(grep -c "gpio PC13=" "$WORK/nohse.log")
if [ "$toggles" -ge 15 ] && ! grep -q "reset (IWDG)" "$WORK/nohse.log" &&
    grep "gpio PC13=" "$WORK/nohse.log" | sed -E 's/^\[ *([0-9.]+)\].*/\1/' |
    awk 'NR > 1 { d = $1 - p; if (d < 0.095 || d > 0.105) bad = 1 } { p = $1 } END { exit bad }'; then
    pass "no_hse_blinks_led_watchdog_fed ($toggles LED toggles 0.1 s apart in 2 s, no IWDG reset)"
else
    fail no_hse_blinks_led_watchdog_fed "expected >= 15 'gpio PC13=' lines 0.1 s apart and no 'reset (IWDG)' in 2 s with --no-hse --hw-iwdg; got $toggles toggles, $(grep -c 'reset (IWDG)' "$WORK/nohse.log") IWDG resets"
fi

finish
