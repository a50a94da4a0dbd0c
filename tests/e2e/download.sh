#!/usr/bin/env bash
# download.sh - `dfu-util -a 0 -s 0x08002000:leave -D app` against the real
# bootloader on an erased virtual blue pill: dfu-util succeeds, the board
# leaves DFU mode (disconnect, reset), the application starts at its reset
# handler and blinks the LED (PC13) every 0.25 s.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
APP=$B/app/bluepill/blinky.stamped.bin
need "$FW" "$APP"

# reset_handler IMAGE: the reset vector without the Thumb bit, as 0x%08x.
reset_handler() { printf '0x%08x' $(($(od -An -tu4 -j4 -N4 "$1") & ~1)); }

# led_period_ok LOGFILE PIN: >= 4 toggles after the app start, alternating
# levels, 0.25 s apart (+-2 ms of virtual time).
led_period_ok() {
    awk -v pin="$2" '
        /app start/ { n = 0; started = 1; next }
        started && $0 ~ "gpio " pin "=" { sub(/^\[ */, ""); t[n] = $1 + 0; v[n] = substr($0, length($0)); n++ }
        END { if (n < 5) exit 1
              for (i = 2; i < n; i++) { d = t[i] - t[i-1]; if (d < 0.248 || d > 0.252 || v[i] == v[i-1]) exit 1 } }' "$1"
}

# download_case CASE IMAGE: one full update of an erased board.
download_case() {
    local case=$1 img=$2 flash=$WORK/$1.flash entry size
    size=$(stat -c %s "$img")
    entry=$(reset_handler "$img")
    vb_start "$case" --part f103c8 --flash "$flash" "$FW"
    if ! vb_wait "$case" "usb enumerated .*0483:df11" 20; then
        fail "${case}_enumerates" "expected the bootloader on an erased board to enumerate as 0483:df11; it did not"
        vb_kill "$case"
        return
    fi
    if [ "$(vb_count "$case" "app start")" != 0 ]; then
        fail "${case}_erased_stays_in_dfu" "expected no 'app start' on an erased application region"
    fi
    vb_mark "$case"
    local rc=0
    dfu_q "$case" -a 0 -s 0x08002000:leave -D "$img" || rc=$?
    if [ $rc = 0 ] && grep -q "File downloaded successfully" "$DFU_OUT" &&
        grep -q "Download done" "$DFU_OUT"; then
        pass "${case}_dfu_util_succeeds ($size bytes)"
    else
        fail "${case}_dfu_util_succeeds" "expected exit 0 and 'File downloaded successfully'; exit $rc"$'\n'"$(show_out)"
    fi
    # Leaving: off the bus, a system reset, then the application.
    if vb_wait "$case" "app start" 10 &&
        vb_since "$case" | grep -E "usb disconnect|reset \(|app start" | head -3 | tr '\n' ' ' |
        grep -qE "usb disconnect.*reset \(SYSRESETREQ\).*app start $entry"; then
        pass "${case}_leave_starts_app (disconnect, reset, app start $entry)"
    else
        fail "${case}_leave_starts_app" "expected 'usb disconnect', 'reset (SYSRESETREQ)', 'app start $entry' in that order after the download"
    fi
    if wait_for 10 led_period_ok "${VB_LOG[$case]}" PC13; then
        pass "${case}_led_blinks ($(vb_count "$case" "gpio PC13=") toggles, 0.25 s apart)"
    else
        fail "${case}_led_blinks" "expected >= 5 alternating 'gpio PC13=' lines 0.25 s apart after app start; got $(vb_count "$case" "gpio PC13=")"
    fi
    # The image is in flash at 0x08002000, byte for byte, and the rest erased.
    if cmp -s "$img" <(flash_bytes "$flash" $((0x2000)) "$size") &&
        is_erased "$flash" $((0x2000 + size)) $((65536 - 0x2000 - size)); then
        pass "${case}_flash_holds_image"
    else
        fail "${case}_flash_holds_image" "expected the flash file to hold the image at 0x2000 and 0xFF after it; $(cmp "$img" <(flash_bytes "$flash" $((0x2000)) "$size") 2>&1 | head -1)"
    fi
    # The application keeps running: no return to DFU mode, no further reset.
    sleep 0.5
    if [ "$(vb_since "$case" | sed -n '/app start/,$p' | grep -cE "usb enumerated .*0483:df11|reset \(")" = 0 ]; then
        pass "${case}_app_keeps_running"
    else
        fail "${case}_app_keeps_running" "expected no reset or DFU enumeration after the app started"
    fi
    vb_stop "$case"
}

download_case blinky "$APP"
# A 20000-byte stamped image: 20 blocks, the last one short; the stamp's
# CRC covers all of it, so the app starts only if every byte arrived.
make_app "$WORK/big.bin" 20000
download_case blinky_20000 "$WORK/big.bin"

finish
