#!/usr/bin/env bash
# noreset.sh - programs run through the USB/IP libusb cause no bus reset a
# native Linux host would not cause (issue 7 item 2). On a native host libusb
# lists from sysfs (descriptors cached at enumeration), opens
# /dev/bus/usb/BBB/DDD, and closing it sends nothing on the bus: `dfu-util
# -l`, a download without :leave, an upload and `lsusb -v` each reset the
# device zero times. vboard logs every bus reset it drives as "usb reset"
# (vb_event, always on); each case counts those lines. The last case is the
# control: a program that asks for a reset (libusb_reset_device) does get
# one, so the count is not blind.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
PYTHON=/usr/bin/python3 # Debian's, with python3-usb (not a pyenv shim)
need "$FW" "$LSUSB" "$PYTHON"
RESET='usb reset$'
# A reset after a program ends would come within a few ms of its close (the
# old design reset on every import end); wait this long before counting.
SETTLE=0.5

vb_start board --part f103c8 --quiet-gpio "$FW"
if ! vb_wait board "usb enumerated .*0483:df11" 20; then
    fail enumerate "expected the bootloader to enumerate as 0483:df11; it did not"
    finish
    exit
fi

# no_reset CASE DESCRIPTION COMMAND...: the command succeeds and the board
# logs no bus reset while it runs or right after.
no_reset() {
    local case=$1 what=$2 rc=0 n
    shift 2
    vb_mark board
    "$@" || rc=$?
    sleep $SETTLE
    n=$(vb_count board "$RESET")
    if [ $rc != 0 ]; then
        fail "$case" "expected $what to exit 0; it exited $rc"$'\n'"$(show_out)"
    elif [ "$n" != 0 ]; then
        fail "$case" "expected 0 bus resets during $what; vboard logged $n:"$'\n'"$(vb_since board | grep -E "$RESET|usbip|enumerated" | head -8 | sed 's/^/   | /')"
    else
        pass "$case (0 bus resets)"
    fi
}

list_finds_board() { dfu_q board -l && grep -q 'Found DFU: \[0483:df11\]' "$DFU_OUT"; }
no_reset dfu_util_list_no_reset "dfu-util -l" list_finds_board

DATA=$WORK/data.bin BACK=$WORK/back.bin
filler 3000 77 >"$DATA"
no_reset download_no_reset "a download without :leave" dfu_q board -a 0 -s 0x08002000 -D "$DATA"
upload_same() { rm -f "$BACK" && dfu_q board -a 0 -s 0x08002000:3000 -U "$BACK" && cmp -s "$DATA" "$BACK"; }
no_reset upload_no_reset "an upload (equal to the download)" upload_same
lsusb_v() { lsusb_q board -v -d 0483:df11 && grep -q 'bInterfaceClass *254' "$DFU_OUT"; }
no_reset lsusb_v_no_reset "lsusb -v" lsusb_v

# Two programs at once: lsusb runs while a dfu-util session is open (a
# long upload), and neither resets the device.
both() {
    local pid rc=0
    dfu board -a 0 -s 0x08002000:3000 -U "$WORK/back2.bin" >"$WORK/bg.out" 2>&1 &
    pid=$!
    lsusb_q board -d 0483:df11 || rc=1
    wait $pid || rc=1
    cmp -s "$DATA" "$WORK/back2.bin" || rc=1
    return $rc
}
no_reset two_programs_no_reset "an upload with lsusb running alongside" both

# Control: libusb_reset_device (pyusb's Device.reset(); dfu-util -R would
# send DFU_DETACH first, on which the bootloader leaves by itself) resets the
# device, and it is still the same device afterwards, at the same address.
vb_mark board
rc=0
LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]} LIBUSB_SO=$B/host/libusb-1.0.so.0 \
    timeout 60 "$PYTHON" "$ROOT/tests/e2e/pyusb_dfu.py" reset >"$DFU_OUT" 2>&1 || rc=$?
sleep $SETTLE
n=$(vb_count board "$RESET")
if [ $rc = 0 ] && [ "$n" -ge 1 ] && vb_since board | grep -q "usb enumerated addr=1 0483:df11" &&
    list_finds_board; then
    pass "reset_device_resets ($n bus resets, re-enumerated at the same address, listed again)"
else
    fail reset_device_resets "expected libusb_reset_device to succeed, the board to log >= 1 bus reset and 'usb enumerated addr=1', and dfu-util -l to find it; exit $rc, $n resets"$'\n'"$(show_out)"
fi
vb_stop board
finish
