#!/usr/bin/env bash
# will_reset.sh - dfu-util's :will-reset (no ABORT after the download) under
# the commit rule (README "The commit rule", issue 8 item 2):
#   will_reset_leave   :will-reset:leave ends the session with SET ADDRESS +
#                      zero-length DNLOAD right after the last block: the
#                      image is committed and starts
#   will_reset_alone   plain :will-reset sends nothing after the last block:
#                      the image is not committed, the board stays in DFU
#                      mode after a reset, and the next dfu-util reads
#                      dfuERROR with errNOTDONE (status 9) before it clears it
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=${FW:-$B/fw/bluepill/dfuboot.bin} # FW=old.bin: check a fix against the old code
APP=$B/app/bluepill/blinky.stamped.bin
need "$FW" "$APP"

# :will-reset:leave on an erased board: the application must start.
c=will_reset_leave
vb_start "$c" --part f103c8 --quiet-gpio --flash "$WORK/$c.flash" "$FW"
if vb_wait "$c" "usb enumerated .*0483:df11" 20; then
    vb_mark "$c"
    rc=0
    dfu_q "$c" -a 0 -s 0x08002000:will-reset:leave -D "$APP" || rc=$?
    if [ $rc = 0 ] && vb_wait "$c" "app start" 10; then
        pass "$c (dfu-util exit 0, the application starts)"
    else
        fail "$c" "expected exit 0 and 'app start' after :will-reset:leave; exit $rc"$'\n'"$(show_out)"
    fi
else
    fail "$c" "the bootloader did not enumerate"
fi
vb_stop "$c"

# Plain :will-reset: dfu-util reports success (it cannot know better), but
# the device never commits what it cannot tell from a dead client's blocks.
c=will_reset_alone
FLASH=$WORK/$c.flash
vb_start "$c" --part f103c8 --quiet-gpio --flash "$FLASH" "$FW"
if vb_wait "$c" "usb enumerated .*0483:df11" 20; then
    rc=0
    dfu_q "$c" -a 0 -s 0x08002000:will-reset -D "$APP" || rc=$?
    [ $rc = 0 ] || fail "${c}_download" "expected dfu-util to exit 0; exit $rc"$'\n'"$(show_out)"
    if [ "$(od -An -tx1 -j $((0x2000)) -N 8 "$FLASH" | tr -d ' \n')" = ffffffffffffffff ]; then
        pass "${c}_not_committed (the first 8 bytes stay erased)"
    else
        fail "${c}_not_committed" "expected 0x08002000..7 erased; got $(od -An -tx1 -j $((0x2000)) -N 8 "$FLASH")"
    fi
    dfu_q "$c" -l
    if dfu_q "$c" -a 0 -s 0x08002000:16 -U "$WORK/$c.up" && grep -qE 'status\(9\)|status = 9' "$DFU_OUT"; then
        pass "${c}_next_session_reads_errNOTDONE"
    else
        fail "${c}_next_session_reads_errNOTDONE" "expected the next dfu-util to see status 9 (errNOTDONE) and go on"$'\n'"$(show_out)"
    fi
else
    fail "$c" "the bootloader did not enumerate"
fi
vb_stop "$c"
vb_start "${c}_reboot" --part f103c8 --quiet-gpio --flash "$FLASH" "$FW"
if vb_wait "${c}_reboot" "usb enumerated .*0483:df11" 20 && [ "$(vb_count "${c}_reboot" "app start")" = 0 ]; then
    pass "${c}_stays_in_dfu_after_reset"
else
    fail "${c}_stays_in_dfu_after_reset" "expected DFU mode and no 'app start' after a reset"
fi
vb_stop "${c}_reboot"
finish
