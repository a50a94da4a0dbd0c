#!/usr/bin/env bash
# pyusb.sh - Debian's pyusb (python3-usb 1.2.1) through the USB/IP libusb
# (issue 9 item 4): it loads the library (it binds the asynchronous transfer
# API at load), lists the bootloader, reads its strings and DFU functional
# descriptor, GETSTATUS, and a DfuSe UPLOAD equals what dfu-util downloaded;
# while pyusb holds the DFU interface, dfu-util cannot claim it. The checks
# are in tests/e2e/pyusb_dfu.py.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
PYTHON=/usr/bin/python3 # Debian's, with python3-usb (not a pyenv shim)
need "$FW" "$PYTHON"
if ! "$PYTHON" -c 'import usb.core' 2>/dev/null; then
    fail prerequisites "python3-usb is not installed (mk/deps.sh e2e installs it)"
    finish
    exit
fi

vb_start board --part f103c8 --quiet-gpio "$FW"
if ! vb_wait board "usb enumerated .*0483:df11" 20; then
    fail enumerate "expected the bootloader to enumerate as 0483:df11; it did not"
    finish
    exit
fi

# py CASE CHECK ARGS...: runs a pyusb_dfu.py check; passes when it exits 0.
py() {
    local case=$1 rc=0
    shift
    LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]} LIBUSB_SO=$B/host/libusb-1.0.so.0 \
        timeout 60 "$PYTHON" "$ROOT/tests/e2e/pyusb_dfu.py" "$@" >"$DFU_OUT" 2>&1 || rc=$?
    if [ $rc = 0 ]; then
        pass "$case ($(grep -c '^ok' "$DFU_OUT") checks: $(sed -n 's/^ok *//p' "$DFU_OUT" | tail -1))"
    else
        fail "$case" "expected pyusb_dfu.py $* to exit 0; it exited $rc"$'\n'"$(show_out)"
    fi
}

py pyusb_lists_strings_functional_getstatus info

DATA=$WORK/data.bin
filler 700 1234 >"$DATA"
if dfu_q board -a 0 -s 0x08002000 -D "$DATA"; then
    py pyusb_upload_equals_download upload 0x08002000 "$DATA"
else
    fail pyusb_upload_equals_download "expected the dfu-util download to exit 0"$'\n'"$(show_out)"
fi
# The functional descriptor, as pyusb saw it, says what lsusb -v says.
py pyusb_info_again info
if grep -q "wTransferSize 1024 bcdDFUVersion 011a" "$DFU_OUT"; then
    pass "pyusb_functional_descriptor_fields (wTransferSize 1024, bcdDFUVersion 011a)"
else
    fail pyusb_functional_descriptor_fields "expected 'wTransferSize 1024 bcdDFUVersion 011a' (fw/core's DFU functional descriptor)"$'\n'"$(show_out)"
fi
# Two programs, one interface: while pyusb holds interface 0, dfu-util
# cannot claim it (usbfs: one owner per interface, EBUSY), and succeeds once
# pyusb let go. Neither causes a bus reset.
vb_mark board
HOLD=$WORK/hold.out
LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]} LIBUSB_SO=$B/host/libusb-1.0.so.0 \
    timeout 60 "$PYTHON" "$ROOT/tests/e2e/pyusb_dfu.py" hold 4 >"$HOLD" 2>&1 &
HPID=$!
for _ in $(seq 100); do grep -q claimed "$HOLD" && break; sleep 0.05; done
rc=0
dfu_q board -a 0 -s 0x08002000:16 -U "$WORK/busy.bin" || rc=$?
if grep -q claimed "$HOLD" && [ $rc != 0 ] && grep -q "Cannot claim interface" "$DFU_OUT"; then
    pass "second_program_cannot_claim ($(grep -m1 "Cannot claim" "$DFU_OUT" | sed "s/^dfu-util: //"))"
else
    fail second_program_cannot_claim "expected dfu-util to fail to claim interface 0 while pyusb holds it; hold: '$(cat "$HOLD")', dfu-util exit $rc"$'\n'"$(show_out)"
fi
wait $HPID
rm -f "$WORK/busy.bin"
if dfu_q board -a 0 -s 0x08002000:700 -U "$WORK/busy.bin" && cmp -s "$DATA" "$WORK/busy.bin" &&
    [ "$(vb_count board 'usb reset$')" = 0 ]; then
    pass "claim_free_after_release (upload equal, 0 bus resets)"
else
    fail claim_free_after_release "expected the upload to succeed once pyusb released the interface, and no bus reset; $(vb_count board 'usb reset$') resets"$'\n'"$(show_out)"
fi
vb_stop board
finish
