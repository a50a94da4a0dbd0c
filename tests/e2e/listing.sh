#!/usr/bin/env bash
# listing.sh - `dfu-util -l` against the real bootloader on the virtual
# board: VID:PID, the DfuSe layout string computed from the part at run
# time, and the serial number taken from the 96-bit unique ID.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
FW_RC=$B/fw/generic_f103rc/dfuboot.bin
need "$FW" "$FW_RC"

# A fresh unique ID each run (24 upper-case hex digits, address order).
rand_uid() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F; }

# list_case CASE PART FW LAYOUT: one board, one DFU line with that layout and
# the serial equal to the UID given to vboard.
list_case() {
    local case=$1 part=$2 fw=$3 layout=$4 uid lines
    uid=$(rand_uid)
    vb_start "$case" --part "$part" --uid "$uid" --quiet-gpio "$fw"
    if ! vb_wait "$case" "usb enumerated addr=[0-9]+ 0483:df11" 20; then
        fail "$case" "expected 'usb enumerated ... 0483:df11' in the vboard log; the board did not enumerate"
        vb_stop "$case"
        return
    fi
    if ! dfu_q "$case" -l; then
        fail "$case" "expected dfu-util -l to exit 0; it exited $?"$'\n'"$(show_out)"
        vb_stop "$case"
        return
    fi
    lines=$(grep -c '^Found DFU: ' "$DFU_OUT")
    local want="Found DFU: [0483:df11] ver=0200, devnum=1, cfg=1, intf=0, path=\"1-1\", alt=0, name=\"@Internal Flash  /0x08000000/$layout\", serial=\"$uid\""
    if [ "$lines" != 1 ]; then
        fail "$case" "expected exactly 1 'Found DFU' line (one alt setting); got $lines"$'\n'"$(show_out)"
    elif grep -qxF -- "$want" "$DFU_OUT"; then
        pass "$case ($part: $layout, serial $uid)"
    else
        fail "$case" "expected the line: $want"$'\n'"got: $(grep '^Found DFU' "$DFU_OUT")"
    fi
    vb_stop "$case"
}

list_case listing_f103c8 f103c8 "$FW" "8*001Ka,56*001Kg"
list_case listing_f103cb f103cb "$FW" "8*001Ka,120*001Kg"
list_case listing_f103rc f103rc "$FW_RC" "4*002Ka,124*002Kg"
# One binary serves every density: the blue pill build on the 256 KiB part.
list_case listing_bluepill_fw_on_f103rc f103rc "$FW" "4*002Ka,124*002Kg"

# The serial follows the unique ID: two boards, two different IDs, each
# reported as given (no constant or cached serial).
uid1=$(rand_uid)
uid2=$(rand_uid)
vb_start s1 --uid "$uid1" --quiet-gpio "$FW"
vb_wait s1 "usb enumerated" 20
s1=$(dfu_q s1 -l; sed -n 's/.*serial="\([^"]*\)".*/\1/p' "$DFU_OUT")
vb_stop s1
vb_start s2 --uid "$uid2" --quiet-gpio "$FW"
vb_wait s2 "usb enumerated" 20
s2=$(dfu_q s2 -l; sed -n 's/.*serial="\([^"]*\)".*/\1/p' "$DFU_OUT")
vb_stop s2
if [ "$s1" = "$uid1" ] && [ "$s2" = "$uid2" ] && [ "$uid1" != "$uid2" ]; then
    pass "serial_follows_uid ($s1, $s2)"
else
    fail serial_follows_uid "expected serials $uid1 and $uid2; got '$s1' and '$s2'"
fi

# The serial is also what vboard read as the string descriptor at enumeration.
if grep -q "0483:df11 \"$uid2\"" "${VB_LOG[s2]}"; then
    pass serial_in_enumeration
else
    fail serial_in_enumeration "expected vboard's enumeration line to carry \"$uid2\""
fi

# The real Linux USB/IP client (Debian's usbip, userspace part only: no
# kernel module is needed to list) sees the exported device.
vb_start u --quiet-gpio "$FW"
vb_wait u "usb enumerated" 20
out=$(usbip --tcp-port "${VB_PORT[u]}" list -r 127.0.0.1 2>&1)
vb_stop u
if grep -q "1-1: .*(0483:df11)" <<<"$out" && grep -q "Device Firmware Update.*(fe/01/02)" <<<"$out"; then
    pass usbip_list_shows_the_board
else
    fail usbip_list_shows_the_board "expected 1-1 (0483:df11) with a DFU interface fe/01/02; usbip said: $out"
fi

finish
