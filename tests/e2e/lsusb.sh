#!/usr/bin/env bash
# lsusb.sh - the stock lsusb (usbutils) through the USB/IP libusb: the device,
# its DFU functional descriptor and the BOS with the Microsoft OS 2.0 and
# WebUSB platform capabilities, without errors. dfuse_probe then fetches what
# the capabilities point to (the MS OS 2.0 descriptor set with the WINUSB
# compatible ID, the WebUSB landing page) and the device's strings, which
# usbutils 014 reads from sysfs rather than from the device.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
FW_NOWEB=$B/fw/bluepill-webusb0/dfuboot.bin
PROBE=$B/host/e2e/dfuse_probe
need "$FW" "$FW_NOWEB" "$PROBE" "$LSUSB"
# The landing page the build puts in the firmware (fw/fw.mk's default).
URL=https://$(sed -n 's/^WEBUSB_URL ?= *//p' "$ROOT/fw/fw.mk")
MSOS_UUID=d8dd60df-4589-4cc7-9cd2-659d9e648a9f
WEBUSB_UUID=3408b638-09a9-47a0-8bfd-a0768815b665
probe() { LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[$1]} timeout 60 "$PROBE" "${@:2}" >"$DFU_OUT" 2>&1; }

vb_start board --part f103c8 --quiet-gpio --uid 0123456789ABCDEF01234567 "$FW"
if ! vb_wait board "usb enumerated" 20; then
    fail enumerate "expected the bootloader to enumerate; it did not"
    finish
    exit
fi

if lsusb_q board && grep -qE '^Bus 001 Device 001: ID 0483:df11' "$DFU_OUT"; then
    pass "lsusb_lists_device ($(head -1 "$DFU_OUT"))"
else
    fail lsusb_lists_device "expected 'Bus 001 Device 001: ID 0483:df11'"$'\n'"$(show_out)"
fi

rc=0
lsusb_q board -v -d 0483:df11 || rc=$?
cp "$DFU_OUT" "$WORK/lsusb-v"
V=$WORK/lsusb-v
# field NAME [SECTION]: the value lsusb -v prints for a descriptor field (the
# first one, after the first line matching SECTION if given), spacing kept.
field() {
    sed -n "/${2:-^}/,\$p" "$V" | sed -n "s/^ *$1  *//p" | head -1 | sed 's/ *$//'
}
if [ $rc = 0 ] && ! grep -qiE "cannot|couldn't|can't|error|failed" "$V"; then
    pass "lsusb_v_no_errors ($(wc -l <"$V") lines)"
else
    fail lsusb_v_no_errors "expected exit 0 and no 'cannot'/'error' lines; exit $rc: $(grep -iE "cannot|couldn't|can't|error|failed" "$V" | head -3)"
fi

# fields_case CASE NAME VALUE...: each NAME's printed value (in $SECTION)
# equals VALUE.
fields_case() {
    local case=$1 bad=""
    shift
    while [ $# -ge 2 ]; do
        [ "$(field "$1" "$SECTION")" = "$2" ] || bad+=" $1='$(field "$1" "$SECTION")'(want '$2')"
        shift 2
    done
    if [ -z "$bad" ]; then pass "$case"; else fail "$case" "unexpected fields:$bad"; fi
}
SECTION="^Device Descriptor:"
fields_case device_descriptor bcdUSB 2.10 idVendor 0x0483 idProduct 0xdf11 bMaxPacketSize0 64 \
    bNumConfigurations 1 bDeviceClass 0
SECTION="Interface Descriptor:"
fields_case dfu_interface bInterfaceClass 254 bInterfaceSubClass 1 bInterfaceProtocol 2 \
    bNumEndpoints 0 iInterface "4 @Internal Flash  /0x08000000/8*001Ka,56*001Kg"
SECTION="Device Firmware Upgrade Interface Descriptor:"
fields_case dfu_functional_descriptor bcdDFUVersion 1.1a wTransferSize "1024 bytes" bmAttributes 11
if grep -q "Upload Supported" "$V" && grep -q "Download Supported" "$V" && grep -q "Will Detach" "$V"; then
    pass dfu_attributes_upload_download_detach
else
    fail dfu_attributes_upload_download_detach "expected 'Will Detach', 'Upload Supported', 'Download Supported'"
fi

# BOS: two platform capabilities; wTotalLength = 5 + their lengths.
bos_total=$(awk '/^Binary Object Store Descriptor/ { b = 1 } b && $1 == "wTotalLength" { print $2; exit }' "$V")
caps=$(awk '/^Binary Object Store Descriptor/ { b = 1 } b && $1 == "bNumDeviceCaps" { print $2; exit }' "$V")
sum=$(awk '/Platform Device Capability:/ { p = 1; next } p && $1 == "bLength" { s += $2; p = 0 } END { print s + 5 }' "$V")
if [ -n "$bos_total" ] && [ "$caps" = 2 ] && [ $((bos_total)) = "$sum" ] &&
    grep -q "PlatformCapabilityUUID *{$MSOS_UUID}" "$V" && grep -q "PlatformCapabilityUUID *{$WEBUSB_UUID}" "$V"; then
    pass "bos_ms_os_20_and_webusb (wTotalLength $bos_total, 2 platform capabilities)"
else
    fail bos_ms_os_20_and_webusb "expected a BOS with 2 capabilities (MS OS 2.0 {$MSOS_UUID}, WebUSB {$WEBUSB_UUID}), wTotalLength = 5 + their bLengths ($sum); got wTotalLength=$bos_total caps=$caps"
fi
if grep -qE "iLandingPage +1 $URL\$" "$V"; then
    pass "webusb_landing_page_in_lsusb ($URL)"
else
    fail webusb_landing_page_in_lsusb "expected 'iLandingPage 1 $URL'; got '$(grep iLandingPage "$V")'"
fi
if grep -qE "^Device Status: +0x0000" "$V"; then
    pass get_status_bus_powered
else
    fail get_status_bus_powered "expected 'Device Status: 0x0000'; got '$(grep 'Device Status' "$V")'"
fi

# MS OS 2.0: the capability data lsusb shows (CapabilityData[4..6] = total
# length, vendor code) must lead to a descriptor set with WINUSB.
cd4=$(awk '$1 == "CapabilityData[4]" { print $2; exit }' "$V")
cd5=$(awk '$1 == "CapabilityData[5]" { print $2; exit }' "$V")
cd6=$(awk '$1 == "CapabilityData[6]" { print $2; exit }' "$V")
if probe board msos; then
    line=$(grep '^msos:' "$DFU_OUT")
    total=$(( ${cd5:-0} << 8 | ${cd4:-0} ))
    if echo "$line" | grep -q "vendor=$(printf 0x%02x $((cd6))) windows=0x06030000 total=$total header_len=10 header_type=0 set_total=$total winusb=yes"; then
        pass "ms_os_20_descriptor_set ($line)"
    else
        fail ms_os_20_descriptor_set "expected vendor=$cd6, windows 8.1, total=$total (from the BOS), a 10-byte set header and WINUSB; got: $line"
    fi
else
    fail ms_os_20_descriptor_set "dfuse_probe msos failed"$'\n'"$(show_out)"
fi
if probe board webusb && grep -qx "webusb: vendor=0x01 page=1 url=$URL" "$DFU_OUT"; then
    pass "webusb_get_url ($URL)"
else
    fail webusb_get_url "expected GET_URL to return $URL (vendor code 1, index 1 as in the BOS)"$'\n'"$(show_out)"
fi
if probe board strings && grep -qx "serial=0123456789ABCDEF01234567" "$DFU_OUT" &&
    [ -n "$(sed -n 's/^manufacturer=//p' "$DFU_OUT")" ] && [ -n "$(sed -n 's/^product=//p' "$DFU_OUT")" ]; then
    pass "strings ($(tr '\n' ' ' <"$DFU_OUT"))"
else
    fail strings "expected non-empty manufacturer and product strings and serial 0123456789ABCDEF01234567"$'\n'"$(show_out)"
fi
vb_stop board

# WEBUSB=0 build: the BOS keeps only the MS OS 2.0 capability.
vb_start noweb --part f103c8 --quiet-gpio "$FW_NOWEB"
rc=0
if vb_wait noweb "usb enumerated" 20; then
    lsusb_q noweb -v -d 0483:df11 || rc=$?
    if [ $rc = 0 ] && grep -q "PlatformCapabilityUUID *{$MSOS_UUID}" "$DFU_OUT" &&
        ! grep -q "$WEBUSB_UUID" "$DFU_OUT" && grep -qE "bNumDeviceCaps +1$" "$DFU_OUT" &&
        ! grep -qiE "cannot|error" "$DFU_OUT"; then
        pass webusb0_build_bos_ms_os_only
    else
        fail webusb0_build_bos_ms_os_only "expected a BOS with only the MS OS 2.0 capability, no errors; exit $rc"$'\n'"$(show_out "$DFU_OUT" 30)"
    fi
else
    fail webusb0_build_bos_ms_os_only "the WEBUSB=0 build did not enumerate"
fi
vb_stop noweb

finish
