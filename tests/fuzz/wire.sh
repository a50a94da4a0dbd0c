#!/usr/bin/env bash
# wire.sh - fuzzing from the wire (issue #4 item 4), short form for make test.
# The real bootloader on vboard --strict gets WIRE_SECONDS (default 20) of
# hostile control transfers from wire_fuzz (seed printed; WIRE_SEED=N
# repeats a run). Then: wire_fuzz saw no violation and the device kept
# answering GET_DESCRIPTOR; vboard --strict is still running and logged no
# violation; the fuzz reached erases and programs (vboard's flash trace);
# the stock dfu-util still updates the board and the new
# application starts; the bootloader bytes of the flash file never changed.
set -u
source "$(dirname "$0")/../e2e/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
WIRE=$B/host/fuzz/wire_fuzz
need "$FW" "$WIRE" "$(app_dir)/blinky.bin"
secs=${WIRE_SECONDS:-20}
seed=${WIRE_SEED:-$(( $(date +%s) % 1000000 ))}
boot=8192 # APP_BASE 0x08002000: the bootloader owns the first 8 KiB

for part in f103c8; do
    c=wire_$part
    flash=$WORK/$c.flash
    mk_flash "$flash" "$part" "$FW" || { fail "${c}_flash" "vboard did not create $flash"; continue; }
    flash_bytes "$flash" 0 $boot >"$WORK/boot.before"
    vb_start "$c" --strict --fast --trace flash --quiet-gpio --part "$part" --flash "$flash"
    if ! vb_wait "$c" "usb enumerated .*0483:df11" 20; then
        fail "${c}_enumerates" "expected the bootloader to enumerate as 0483:df11"
        vb_kill "$c"
        continue
    fi
    LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[$c]} timeout $((secs + 60)) "$WIRE" --seed "$seed" \
        --seconds "$secs" --flash-kib $(($(flash_size $part) / 1024)) >"$WORK/wire.out" 2>&1
    rc=$?
    sed 's/^/   /' "$WORK/wire.out" | tail -12
    if [ $rc -eq 0 ]; then
        pass "${c}_fuzz_no_violation ($(tail -1 "$WORK/wire.out" | sed 's/^wire_fuzz: //'))"
    else
        fail "${c}_fuzz_no_violation" "wire_fuzz exit $rc (seed $seed): $(grep -m3 VIOLATION "$WORK/wire.out")"
    fi
    if kill -0 "${VB_PID[$c]}" 2>/dev/null && [ "$(vb_count "$c" "violation|VIOLATION")" = 0 ]; then
        pass "${c}_vboard_strict_still_running"
    else
        fail "${c}_vboard_strict_still_running" "vboard --strict stopped or logged a violation: $(grep -m3 -i violation "${VB_LOG[$c]}")"
    fi
    # The transfers reached the flash writer, not only the request parser.
    erased=$(vb_count "$c" "erased page|mass erase done"); programmed=$(vb_count "$c" "programmed 0x")
    if [ "$erased" -gt 0 ] && [ "$programmed" -gt 0 ]; then
        pass "${c}_fuzz_reached_flash ($erased erases, $programmed half-words programmed)"
    else
        fail "${c}_fuzz_reached_flash" "expected erases and programs in the flash trace; got $erased, $programmed"
    fi
    make_app "$WORK/app.bin" 5000
    vb_mark "$c"
    if dfu_q "$c" -a 0 -s 0x08002000:leave -D "$WORK/app.bin" && vb_wait "$c" "app start" 15; then
        pass "${c}_dfu_util_update_after_fuzz"
    else
        fail "${c}_dfu_util_update_after_fuzz" "expected dfu-util to succeed and 'app start'"$'\n'"$(show_out)"
    fi
    vb_stop "$c"
    flash_bytes "$flash" 0 $boot >"$WORK/boot.after"
    if cmp -s "$WORK/boot.before" "$WORK/boot.after"; then
        pass "${c}_bootloader_bytes_unchanged ($boot bytes)"
    else
        fail "${c}_bootloader_bytes_unchanged" "$(cmp "$WORK/boot.before" "$WORK/boot.after" | head -1)"
    fi
done
finish
