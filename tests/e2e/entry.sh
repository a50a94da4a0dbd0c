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
    m=${VB_MARK[leave]}
    dfu_q leave -a 0 -s "0x08002000:leave" -D "$APP"
    # (dfu-util's own imports log "usb enumerated" too: wait for the reset,
    # then for the enumeration after it.)
    vb_wait leave "reset \(SYSRESETREQ\)" 20 && vb_mark leave && vb_wait leave "usb enumerated" 20
    VB_MARK[leave]=$m
    if vb_since leave | grep -E "usb disconnect|reset \(|usb enumerated" |
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

# --- each board's own entry (issue 8 item 3). board_image NAME BOARD PART: a
# flash file with that board's bootloader and its blinky at 0x08002000.
board_image() {
    local fw=$B/fw/$2/dfuboot.bin app=$B/app/$2/blinky.stamped.bin
    need "$fw" "$app"
    mk_flash "$WORK/$1.flash" "$3" "$fw" && dd if="$app" of="$WORK/$1.flash" bs=1024 seek=8 conv=notrunc status=none
}
# BOOT0 (RM0008 3.4): high at reset starts the system memory (ST's ROM
# bootloader, not modelled): neither the bootloader nor the application runs.
expect_rom() { # CASE NAME [vboard options]
    local case=$1 name=$2
    shift 2
    vb_start "$name" --quiet-gpio --flash "$WORK/$name.flash" "$@"
    if vb_wait "$name" "system memory boot" 5 && sleep 1 &&
        [ "$(vb_count "$name" "app start|usb enumerated")" = 0 ]; then
        pass "$case"
    else
        fail "$case" "expected 'system memory boot' and neither 'app start' nor an enumeration"
    fi
    vb_stop "$name"
}
expect_rom boot0_high_starts_system_memory valid --part f103c8 --pin BOOT0=1

# generic_f103rc: the BOOT1 jumper (PB2), as on the blue pill.
board_image rc generic_f103rc f103rc
expect_app rc_app_starts rc --part f103rc --board generic_f103rc
expect_dfu rc_pb2_high_enters_dfu rc --part f103rc --board generic_f103rc --pin PB2=1
# olimex_h103 (F103RB): the WAKE-UP button on PA0, pressed = high.
board_image h103 olimex_h103 f103cb
expect_app h103_app_starts h103 --part f103cb --board olimex_h103
expect_dfu h103_pa0_button_enters_dfu h103 --part f103cb --board olimex_h103 --pin PA0=1
# maple_mini (F103CB): BUT on PB8 is BOOT0 too. Held through reset: the ROM.
board_image maple maple_mini f103cb
expect_rom maple_button_held_starts_rom_bootloader maple --part f103cb --board maple_mini --pin PB8=1
# A single reset: the application, after the double-reset window it costs.
vb_start maple --part f103cb --board maple_mini --quiet-gpio --flash "$WORK/maple.flash"
if vb_wait maple "app start" 10; then
    t=$(vb_since maple | grep -m1 "app start" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
    if awk "BEGIN { exit !($t >= 0.5 && $t < 0.52) }" && [ "$(vb_count maple "usb enumerated")" = 0 ]; then
        pass "maple_single_reset_starts_app (at $t s: the 0.5 s double-reset window)"
    else
        fail maple_single_reset_starts_app "expected 'app start' 0.50..0.52 s after power-on and no enumeration; got $t s"
    fi
else
    fail maple_single_reset_starts_app "no 'app start' within 10 s"
fi
vb_stop maple
# Two resets within the window: DFU mode. The reset button (SIGUSR1) is
# pressed at once; a loaded machine may deliver it after the window (the
# log then shows 'app start' first): up to 3 tries.
for try in 1 2 3; do
    vb_start maple --part f103cb --board maple_mini --quiet-gpio --flash "$WORK/maple.flash"
    vb_reset maple
    vb_wait maple "reset \(reset button\)" 5
    early=$(vb_since maple | grep -m1 -E "reset \(reset button\)|app start" | grep -c "reset button")
    [ "$early" = 1 ] && break
    vb_stop maple
done
if [ "$early" != 1 ]; then
    fail maple_double_reset_enters_dfu "could not press reset inside the 0.5 s window in 3 tries (machine too slow?)"
elif vb_wait maple "usb enumerated .*0483:df11" 20 && sleep 0.3 && [ "$(vb_count maple "app start")" = 0 ]; then
    pass "maple_double_reset_enters_dfu (second reset at $(vb_since maple | grep -m1 'reset (reset button)' | sed -E 's/^\[ *([0-9.]+)\].*/\1/') s)"
else
    fail maple_double_reset_enters_dfu "expected DFU mode (0483:df11) and no 'app start' after a second reset inside the window"
fi
vb_stop maple

# --- no crystal (vboard --no-hse: HSERDY never sets): the bootloader must not
# hang silently. The LED is lit before the clock start; it gives up after
# 100 ms, then toggles the LED (PC13) every 100 ms and keeps a
# hardware-started watchdog (--hw-iwdg, 409.6 ms) fed. (The first gap, LED
# on to first toggle, includes the timeout: not checked.)
image nohse
"$VBOARD" --fast --port 0 --part f103c8 --flash "$WORK/nohse.flash" --pin PB2=1 --no-hse --hw-iwdg \
    --exit-after 2 >"$WORK/nohse.log" 2>&1
toggles=$(grep -c "gpio PC13=" "$WORK/nohse.log")
if [ "$toggles" -ge 15 ] && ! grep -q "reset (IWDG)" "$WORK/nohse.log" &&
    grep "gpio PC13=" "$WORK/nohse.log" | sed -E 's/^\[ *([0-9.]+)\].*/\1/' |
    awk 'NR > 2 { d = $1 - p; if (d < 0.095 || d > 0.105) bad = 1 } { p = $1 } END { exit bad }'; then
    pass "no_hse_blinks_led_watchdog_fed ($toggles LED toggles 0.1 s apart in 2 s, no IWDG reset)"
else
    fail no_hse_blinks_led_watchdog_fed "expected >= 15 'gpio PC13=' lines 0.1 s apart and no 'reset (IWDG)' in 2 s with --no-hse --hw-iwdg; got $toggles toggles, $(grep -c 'reset (IWDG)' "$WORK/nohse.log") IWDG resets"
fi

finish
