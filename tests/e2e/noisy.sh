#!/usr/bin/env bash
# noisy.sh - an update through a noisy cable (vboard --usb-errors): 1% of the
# USB packets are lost (token, data or handshake), the host retries each
# failed transaction as USB 2.0 8.5 says (three strikes), lost ACKs are
# resolved by the data toggles. Stock dfu-util downloads a 20 KiB image
# without :leave, uploads it back, and the flash file holds it byte for
# byte; a transfer that fails on three losses in a row (as on a real host)
# gets one more dfu-util run, as a user would. The seed is fixed so that a
# failure can be looked at again
# (NOISY_SEED=... overrides it; vboard prints the one it uses).
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
need "$FW" "$B/app/bluepill/blinky.bin"
SEED=${NOISY_SEED:-20261127}
RATE=${NOISY_RATE:-0.01}

# noisy_update CASE SIZE: download SIZE bytes, upload them, compare.
noisy_update() {
    local case=$1 size=$2 flash=$WORK/$1.flash img=$WORK/$1.bin back=$WORK/$1.back rc=0
    make_app "$img" "$size"
    size=$(stat -c %s "$img")
    vb_start "$case" --part f103c8 --quiet-gpio --flash "$flash" --usb-errors "$RATE,$SEED" ${NOISY_TRACE:+--trace usb} "$FW"
    if ! vb_wait "$case" "usb enumerated .*0483:df11" 30; then
        fail "${case}_enumerates" "expected the bootloader to enumerate through a cable losing $RATE of its packets; it did not"
        vb_kill "$case"
        return
    fi
    pass "${case}_enumerates ($(vb_count "$case" "usb noise: .* lost \(") packets lost)"
    # Three losses in a row fail a transfer, as on a real host (about 3e-5
    # per transaction at 1%, so a few percent of runs of this size): the
    # user runs dfu-util again. A second failure is a failure.
    # Only a failure vboard reports as three strikes earns the second run;
    # anything else (a NAK until the timeout, a STALL) is a failure.
    local try note
    for try in 1 2; do
        rc=0
        vb_mark "$case"
        dfu_q "$case" -a 0 -s 0x08002000 -D "$img" || rc=$?
        [ $rc = 0 ] && break
        vb_count "$case" "three transactions in a row" >/dev/null || break
        note=" (attempt 1 failed on three strikes: $(grep -m1 -i "error" "$DFU_OUT"))"
    done
    if [ $rc = 0 ] && grep -q "File downloaded successfully" "$DFU_OUT"; then
        pass "${case}_download ($size bytes${note:-})"
    else
        fail "${case}_download" "expected dfu-util -D to succeed through the noise; exit $rc"$'\n'"$(show_out)"
    fi
    note=
    for try in 1 2; do
        rc=0
        rm -f "$back"
        vb_mark "$case"
        dfu_q "$case" -a 0 -s "0x08002000:$size" -U "$back" || rc=$?
        [ $rc = 0 ] && break
        vb_count "$case" "three transactions in a row" >/dev/null || break
        note=" (attempt 1 failed on three strikes: $(grep -m1 -i "error" "$DFU_OUT"))"
    done
    if [ $rc = 0 ] && cmp -s "$img" "$back"; then
        pass "${case}_upload_matches${note:-}"
    else
        fail "${case}_upload_matches" "expected the upload to equal the image; exit $rc, $(cmp "$img" "$back" 2>&1 | head -1)"$'\n'"$(show_out)"
    fi
    local lost
    lost=$(grep -c "usb noise: .* lost (" "${VB_LOG[$case]}")
    vb_stop "$case"
    if cmp -s "$img" <(flash_bytes "$flash" $((0x2000)) "$size"); then
        pass "${case}_flash_holds_image"
    else
        fail "${case}_flash_holds_image" "expected the flash file to hold the image at 0x2000; $(cmp "$img" <(flash_bytes "$flash" $((0x2000)) "$size") 2>&1 | head -1)"
    fi
    # The noise really was there: packets were lost, and the last line
    # says how many of how many.
    if [ "$lost" -gt 0 ]; then
        pass "${case}_packets_were_lost ($(grep -o "usb noise: .* lost ([0-9]* of [0-9]* packets)" "${VB_LOG[$case]}" | tail -1 | sed 's/.*(//; s/)//'))"
    else
        fail "${case}_packets_were_lost" "expected 'usb noise: ... lost' lines in the log with --usb-errors $RATE"
    fi
}

noisy_update noisy1pct 20000
finish
