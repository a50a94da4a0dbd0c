#!/usr/bin/env bash
# runtime.sh - a running application updated with one dfu-util command.
# The demo app/dfu-runtime (its own USB device 1209:0001 with a DFU runtime
# interface) runs behind the real bootloader on a virtual board with a fixed
# D+ pull-up (blue pill) and on one with a pull-up switch (Maple Mini):
#   - the stock lsusb and dfu-util see a DFU runtime interface (class FE,
#     subclass 1, protocol 1; DFU 1.1 4.1.3 functional descriptor with
#     bitWillDetach) and the bootloader's serial number;
#   - `dfu-util -e`: the application leaves the bus itself (the host sees a
#     disconnect before the reset) and the bootloader enumerates as 0483:df11
#     with the same serial, in DFU mode (no application start);
#   - `dfu-util -d 1209:0001,0483:df11 -a 0 -s :leave -D dfu-runtime-v2.dfu`:
#     detach, download, start the new image: the flash holds version 2, which
#     enumerates as bcdDevice 0x0200 and blinks twice as fast;
#   - the same with a stamped .bin and an address (-s 0x08002000:leave);
#   - two boards on one bus: -S SERIAL updates only that one.
# The single-board cases run vboard --strict.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
RT_ID=1209:0001
SUFFIX_WARNINGS="Invalid DFU suffix signature|A valid DFU suffix will be required"

# led_period_ok LOG PIN MS: after the last app start, >= 4 toggles of PIN
# that alternate, MS ms apart (+-2 ms of virtual time).
led_period_ok() {
    awk -v pin="$2" -v want="$3" '
        /app start/ { n = 0; next }
        $0 ~ "gpio " pin "=" { sub(/^\[ */, ""); t[n] = $1 + 0; v[n] = substr($0, length($0)); n++ }
        END { if (n < 5) exit 1
              for (i = 2; i < n; i++) { d = (t[i] - t[i-1]) * 1000; if (d < want - 2 || d > want + 2 || v[i] == v[i-1]) exit 1 } }' "$1"
}

# The LED pin of a board, e.g. PC13, from its header.
led_of() {
    local h=$ROOT/fw/boards/$1.h port pin
    port=$(sed -n "s/^#define BOARD_LED_PORT '\(.\)'.*/\1/p" "$h")
    pin=$(sed -n 's/^#define BOARD_LED_PIN \([0-9]*\).*/\1/p' "$h")
    echo "P$port$pin"
}

# app_back NAME: waits for an application start and then, after that start
# (the runtime device also re-enumerates before its detach), for the runtime
# device to enumerate.
app_back() {
    local i
    for ((i = 0; i < 400; i++)); do
        vb_since "$1" | sed -n '/app start/,$p' | grep -q "usb enumerated .*$RT_ID" && return 0
        sleep 0.05
    done
    return 1
}

# install NAME FILE.dfu: from DFU mode, download and start; waits for the
# runtime device to enumerate.
install() {
    vb_mark "$1"
    dfu_q "$1" -a 0 -s :leave -D "$2" && app_back "$1"
}

# board_case BOARD PART UID
board_case() {
    local board=$1 part=$2 uid=$3 c=$1 fw=$B/fw/$1/dfuboot.bin dir=$B/app/$1 rc led
    local v1=$dir/dfu-runtime.dfu v2=$dir/dfu-runtime-v2.dfu
    need "$fw" "$v1" "$v2" "$dir/dfu-runtime.stamped.bin" "$dir/dfu-runtime-v2.stamped.bin"
    led=$(led_of "$board")
    # --strict: the application's USB shutdown and GPIO drive on D+ must not
    # break a modelled RM0008 rule (vboard would stop with exit 3).
    vb_start "$c" --strict --part "$part" --board "$board" --uid "$uid" --flash "$WORK/$c.flash" "$fw"
    if ! vb_wait "$c" "usb enumerated .*0483:df11" 20; then
        fail "${c}_bootloader_enumerates" "expected DFU mode on an erased board"
        vb_kill "$c"
        return
    fi

    # The runtime application from its .dfu file.
    if install "$c" "$v1"; then
        pass "${c}_runtime_app_starts_and_enumerates ($RT_ID)"
    else
        fail "${c}_runtime_app_starts_and_enumerates" "expected the download to start the app and $RT_ID to enumerate"$'\n'"$(show_out)"
        vb_kill "$c"
        return
    fi
    if vb_since "$c" | grep -q "usb enumerated .*$RT_ID \"$uid\""; then
        pass "${c}_runtime_serial_is_the_chip_uid ($uid)"
    else
        fail "${c}_runtime_serial_is_the_chip_uid" "expected serial \"$uid\" (vboard --uid, as the bootloader reports it)"
    fi

    # What the stock tools see.
    if dfu_q "$c" -l && grep -q "Found Runtime: \[$RT_ID\] ver=0100, .*intf=0, .*alt=0, name=\"dfuboot runtime\", serial=\"$uid\"" "$DFU_OUT"; then
        pass "${c}_dfu_util_lists_the_runtime_interface"
    else
        fail "${c}_dfu_util_lists_the_runtime_interface" "expected 'Found Runtime: [$RT_ID] ver=0100 ... serial=\"$uid\"'"$'\n'"$(show_out)"
    fi
    # DFU 1.1 4.1.3: bmAttributes bit 3 bitWillDetach; protocol 1 = runtime.
    if lsusb_q "$c" -v -d $RT_ID && grep -qE "bInterfaceClass +254" "$DFU_OUT" &&
        grep -qE "bInterfaceSubClass +1" "$DFU_OUT" && grep -qE "bInterfaceProtocol +1" "$DFU_OUT" &&
        grep -qE "bDescriptorType +33" "$DFU_OUT" && grep -q "Will Detach" "$DFU_OUT" &&
        grep -q "bcdDFUVersion *1.1a" "$DFU_OUT"; then
        pass "${c}_lsusb_shows_class_fe_01_01_and_will_detach"
    else
        fail "${c}_lsusb_shows_class_fe_01_01_and_will_detach" "expected interface FE/01/01 and a DFU functional descriptor with Will Detach"$'\n'"$(show_out 30)"
    fi

    # dfu-util -e: detach only.
    vb_mark "$c"
    rc=0
    dfu_q "$c" -e || rc=$?
    if [ $rc = 0 ] && grep -q "Device will detach and reattach" "$DFU_OUT" &&
        vb_wait "$c" "usb enumerated .*0483:df11 \"$uid\"" 20; then
        pass "${c}_dfu_util_e_brings_up_the_bootloader (same serial)"
    else
        fail "${c}_dfu_util_e_brings_up_the_bootloader" "expected exit 0, 'Device will detach and reattach' and 0483:df11 \"$uid\" to enumerate; exit $rc"$'\n'"$(show_out)"
    fi
    # The host saw the application go (disconnect) before the reset, and
    # the bootloader stayed in DFU mode (the kit's BKP_DR1 request).
    if vb_since "$c" | grep -E "usb disconnect|reset \(|app start|usb enumerated .*0483:df11" |
        head -3 | tr '\n' ' ' | grep -qE "usb disconnect.*reset \(SYSRESETREQ\).*usb enumerated .*0483:df11" &&
        [ "$(vb_count "$c" "app start")" = 0 ]; then
        pass "${c}_app_disconnects_before_the_reset_then_dfu_mode"
    else
        fail "${c}_app_disconnects_before_the_reset_then_dfu_mode" "expected 'usb disconnect', 'reset (SYSRESETREQ)', DFU enumeration and no app start, in that order"$'\n'"$(vb_since "$c" | grep -v gpio | head -12)"
    fi

    # One command on the running application: detach, download v2, start it.
    install "$c" "$v1" || fail "${c}_reinstall_v1" "expected v1 to start again"$'\n'"$(show_out)"
    vb_mark "$c"
    rc=0
    dfu_q "$c" -d $RT_ID,0483:df11 -a 0 -s :leave -D "$v2" || rc=$?
    if [ $rc = 0 ] && grep -q "Device will detach and reattach" "$DFU_OUT" &&
        grep -q "Parsing element 1, address = 0x08002000" "$DFU_OUT" &&
        ! grep -qE "$SUFFIX_WARNINGS" "$DFU_OUT" &&
        app_back "$c"; then
        pass "${c}_one_command_updates_the_running_app (no suffix warning)"
    else
        fail "${c}_one_command_updates_the_running_app" "expected exit 0, detach, the element at 0x08002000, no warning, app start and $RT_ID again; exit $rc"$'\n'"$(show_out 20)"
    fi
    size=$(stat -c %s "$dir/dfu-runtime-v2.stamped.bin")
    if cmp -s "$dir/dfu-runtime-v2.stamped.bin" <(flash_bytes "$WORK/$c.flash" $((0x2000)) "$size"); then
        pass "${c}_flash_holds_version_2"
    else
        fail "${c}_flash_holds_version_2" "expected the flash at 0x2000 to equal dfu-runtime-v2.stamped.bin"
    fi
    if dfu_q "$c" -l && grep -q "Found Runtime: \[$RT_ID\] ver=0200, .*serial=\"$uid\"" "$DFU_OUT" &&
        wait_for 10 led_period_ok "${VB_LOG[$c]}" "$led" 250; then
        pass "${c}_version_2_runs (bcdDevice 0x0200, $led every 250 ms)"
    else
        fail "${c}_version_2_runs" "expected ver=0200 and $led toggling every 250 ms"$'\n'"$(show_out)"
    fi

    # The same with the stamped .bin and an explicit address (a .bin has no
    # suffix, so dfu-util warns about it; the update still works).
    vb_mark "$c"
    rc=0
    dfu_q "$c" -d $RT_ID,0483:df11 -a 0 -s 0x08002000:leave -D "$dir/dfu-runtime.stamped.bin" || rc=$?
    if [ $rc = 0 ] && app_back "$c" && dfu_q "$c" -l && grep -q "ver=0100" "$DFU_OUT"; then
        pass "${c}_one_command_with_a_bin_and_address"
    else
        fail "${c}_one_command_with_a_bin_and_address" "expected exit 0 and version 1 running again; exit $rc"$'\n'"$(show_out)"
    fi
    vb_stop "$c"
}

board_case bluepill f103c8 35FF6B064E5532345A210943
board_case maple_mini f103cb 066EFF505256867187162540

# Two blue pills running the runtime app on one bus: -S picks one, before
# and after the detach (runtime and bootloader report the same serial).
UID1=35FF6B064E5532345A210001
UID2=35FF6B064E5532345A210002
FW=$B/fw/bluepill/dfuboot.bin
V1=$B/app/bluepill/dfu-runtime.dfu
V2=$B/app/bluepill/dfu-runtime-v2.dfu
for n in 1 2; do
    uid=UID$n
    vb_start "pill$n" --part f103c8 --board bluepill --uid "${!uid}" --quiet-gpio --flash "$WORK/pill$n.flash" "$FW"
    vb_wait "pill$n" "usb enumerated .*0483:df11" 20 && install "pill$n" "$V1" ||
        fail "pill${n}_runs_the_runtime_app" "expected the runtime app on board $n"$'\n'"$(show_out)"
done
SERVERS=127.0.0.1:${VB_PORT[pill1]},127.0.0.1:${VB_PORT[pill2]}
vb_mark pill1
vb_mark pill2
rc=0
dfu_on "$SERVERS" -S "$UID2" -d $RT_ID,0483:df11 -a 0 -s :leave -D "$V2" || rc=$?
size=$(stat -c %s "$B/app/bluepill/dfu-runtime-v2.stamped.bin")
if [ $rc = 0 ] && app_back pill2 &&
    cmp -s "$B/app/bluepill/dfu-runtime-v2.stamped.bin" <(flash_bytes "$WORK/pill2.flash" $((0x2000)) "$size") &&
    [ "$(vb_count pill1 "usb disconnect|reset \(")" = 0 ]; then
    pass "serial_picks_one_of_two_running_boards (only $UID2 updated)"
else
    fail "serial_picks_one_of_two_running_boards" "expected board 2 updated to v2 and board 1 untouched; exit $rc, board 1 events: $(vb_count pill1 "usb disconnect|reset \(")"$'\n'"$(show_out)"
fi
vb_stop pill1
vb_stop pill2

finish
