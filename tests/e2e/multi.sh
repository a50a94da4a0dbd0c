#!/usr/bin/env bash
# multi.sh - two virtual boards on one "bus" (LIBUSB_USBIP_SERVERS lists
# both): dfu-util -l shows both serials, -S picks one board, the other one's
# flash is untouched; without -S dfu-util refuses to guess.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
APP=$B/app/bluepill/blinky.stamped.bin
need "$FW" "$APP"
APPSIZE=$(stat -c %s "$APP")
rand_uid() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F; }
uid1=$(rand_uid)
uid2=$(rand_uid)

vb_start b1 --part f103c8 --quiet-gpio --uid "$uid1" --flash "$WORK/b1.flash" "$FW"
vb_start b2 --part f103c8 --quiet-gpio --uid "$uid2" --flash "$WORK/b2.flash" "$FW"
if ! vb_wait b1 "usb enumerated" 20 || ! vb_wait b2 "usb enumerated" 20; then
    fail enumerate "expected both boards to enumerate"
    finish
    exit
fi
BUS=127.0.0.1:${VB_PORT[b1]},127.0.0.1:${VB_PORT[b2]}

# Listing: one line per board, each with its own serial.
if dfu_on "$BUS" -l && [ "$(grep -c '^Found DFU: \[0483:df11\]' "$DFU_OUT")" = 2 ] &&
    grep -q "serial=\"$uid1\"" "$DFU_OUT" && grep -q "serial=\"$uid2\"" "$DFU_OUT"; then
    pass "list_shows_both ($uid1, $uid2)"
else
    fail list_shows_both "expected two 'Found DFU: [0483:df11]' lines with serials $uid1 and $uid2"$'\n'"$(show_out)"
fi

# Without -S, two matching devices: dfu-util refuses, nothing is written.
cp "$WORK/b1.flash" "$WORK/b1.before"
cp "$WORK/b2.flash" "$WORK/b2.before"
filler 3000 11 >"$WORK/data1"
if dfu_on "$BUS" -a 0 -s 0x08002000 -D "$WORK/data1"; then
    fail ambiguous_download_refused "expected dfu-util without -S to refuse two devices; it exited 0"
elif cmp -s "$WORK/b1.flash" "$WORK/b1.before" && cmp -s "$WORK/b2.flash" "$WORK/b2.before"; then
    pass "ambiguous_download_refused ($(grep -o 'dfu-util: .*' "$DFU_OUT" | tail -1))"
else
    fail ambiguous_download_refused "dfu-util failed but a board's flash changed"
fi

# -S <serial1>: data to board 1 only.
if dfu_on "$BUS" -S "$uid1" -a 0 -s 0x08002000 -D "$WORK/data1" &&
    cmp -s "$WORK/data1" <(flash_bytes "$WORK/b1.flash" $((0x2000)) 3000) &&
    cmp -s "$WORK/b2.flash" "$WORK/b2.before"; then
    pass select_board1_by_serial
else
    fail select_board1_by_serial "expected the data in board 1's flash and board 2's flash unchanged"$'\n'"$(show_out)"
fi
cp "$WORK/b1.flash" "$WORK/b1.before"

# -S <serial2> with :leave: board 2 runs blinky, board 1 unchanged and in DFU.
vb_mark b1
vb_mark b2
rc=0
dfu_on "$BUS" -S "$uid2" -a 0 -s 0x08002000:leave -D "$APP" || rc=$?
if [ $rc = 0 ] && vb_wait b2 "app start 0x08002" 10 &&
    cmp -s "$APP" <(flash_bytes "$WORK/b2.flash" $((0x2000)) "$APPSIZE"); then
    pass update_board2_by_serial
else
    fail update_board2_by_serial "expected exit 0, board 2 'app start' and blinky in board 2's flash; exit $rc"$'\n'"$(show_out)"
fi
if cmp -s "$WORK/b1.flash" "$WORK/b1.before" && [ "$(vb_count b1 "app start|reset \(|disconnect")" = 0 ]; then
    pass board1_untouched_by_board2_update
else
    fail board1_untouched_by_board2_update "expected board 1's flash unchanged and no reset/disconnect/app start on board 1"
fi

# The device list follows: board 2 now runs the application, only board 1
# is left in DFU mode; it still reads back its own data.
sleep 0.3
rm -f "$WORK/up1"
if dfu_on "$BUS" -l && [ "$(grep -c '^Found DFU' "$DFU_OUT")" = 1 ] && grep -q "serial=\"$uid1\"" "$DFU_OUT"; then
    pass list_after_leave_shows_board1_only
else
    fail list_after_leave_shows_board1_only "expected one 'Found DFU' line, serial $uid1"$'\n'"$(show_out)"
fi
if dfu_on "$BUS" -S "$uid1" -a 0 -s 0x08002000:3000 -U "$WORK/up1" && cmp -s "$WORK/data1" "$WORK/up1"; then
    pass upload_board1_by_serial
else
    fail upload_board1_by_serial "expected board 1's 3000 bytes back"$'\n'"$(show_out)"
fi
# A serial that is on no board: dfu-util finds nothing.
if dfu_on "$BUS" -S 000000000000000000000000 -a 0 -s 0x08002000:16 -U "$WORK/none"; then
    fail unknown_serial_not_found "expected dfu-util -S <unknown> to exit non-zero; it exited 0"
else
    pass unknown_serial_not_found
fi

vb_stop b1
vb_stop b2
finish
