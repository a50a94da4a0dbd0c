#!/usr/bin/env bash
# protect.sh - writes and erases into the bootloader region (and past the
# end of flash) are refused and leave flash untouched.
#
# The stock dfu-util already refuses them itself from the layout string
# ("8*001Ka": read-only), without sending anything; those cases check the
# user-visible behaviour. The bootloader's own guard is checked with raw
# DfuSe requests (dfuse_probe): ERASE / SET ADDRESS + DNLOAD into the
# bootloader pages must end in dfuERROR with errTARGET or errADDRESS.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
PROBE=$B/host/e2e/dfuse_probe
need "$FW" "$PROBE"
FWSIZE=$(stat -c %s "$FW")
FLASH=$WORK/flash.img

vb_start board --part f103c8 --quiet-gpio --flash "$FLASH" "$FW"
if ! vb_wait board "usb enumerated .*0483:df11" 20; then
    fail enumerate "expected the bootloader to enumerate as 0483:df11; it did not"
    finish
    exit
fi
probe() { LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[board]} timeout 60 "$PROBE" "$@" >"$DFU_OUT" 2>&1; }

filler 1024 1 >"$WORK/1k"
filler 2048 2 >"$WORK/2k"
# A reference: the application region holds data, so that "unchanged" also
# covers the application pages a refused straddling request touches.
dfu_q board -a 0 -s 0x08002000 -D "$WORK/2k" || fail setup "download to 0x08002000 failed"$'\n'"$(show_out)"
cp "$FLASH" "$WORK/ref.img"

# unchanged CASE WHAT: flash file identical to the reference and the first
# FWSIZE bytes identical to dfuboot.bin.
unchanged() {
    if ! cmp -s "$FW" <(flash_bytes "$FLASH" 0 "$FWSIZE"); then
        fail "$1" "$2; expected the bootloader bytes to equal dfuboot.bin: $(cmp "$FW" <(flash_bytes "$FLASH" 0 "$FWSIZE") 2>&1 | head -1)"
        return 1
    elif ! cmp -s "$WORK/ref.img" "$FLASH"; then
        fail "$1" "$2; expected flash unchanged: $(cmp "$WORK/ref.img" "$FLASH" 2>&1 | head -1)"
        return 1
    fi
}

# Stock dfu-util: refused, non-zero exit, nothing written.
stock_case() {
    local case=$1 addr=$2 file=$3 rc=0
    dfu_q board -a 0 -s "$addr" -D "$file" || rc=$?
    if [ $rc = 0 ]; then
        fail "$case" "expected dfu-util -s $addr -D to exit non-zero; it exited 0"$'\n'"$(show_out)"
    elif unchanged "$case" "dfu-util exited $rc"; then
        pass "$case (dfu-util exit $rc: $(grep -o 'dfu-util: .*' "$DFU_OUT" | tail -1))"
    fi
}
stock_case dfu_util_write_at_0x08000000 0x08000000 "$WORK/1k"
stock_case dfu_util_write_straddling_app_base 0x08001C00 "$WORK/2k"

# Raw requests: the bootloader answers dfuERROR (10) with errTARGET (1) or
# errADDRESS (8), flash untouched; CLRSTATUS brings it back to dfuIDLE.
raw_case() {
    local case=$1 op=$2 line
    shift 2
    if ! probe "$op" "$@" status clrstatus; then
        fail "$case" "dfuse_probe $op $* failed to run"$'\n'"$(show_out)"
        return
    fi
    line=$(grep "^$op " "$DFU_OUT" | tail -1)
    if ! echo "$line" | grep -qE 'state=10 status=(1|8)$'; then
        fail "$case" "expected '$op $1' to end in state=10 (dfuERROR) status=1 (errTARGET) or 8 (errADDRESS); got: $line"
    elif ! grep -q '^clrstatus: state=2 status=0' "$DFU_OUT"; then
        fail "$case" "expected CLRSTATUS to return to dfuIDLE; got: $(grep clrstatus "$DFU_OUT")"
    elif unchanged "$case" "device answered: $line"; then
        pass "$case ($line)"
    fi
}
raw_case raw_erase_page_0 erase 0x08000000
raw_case raw_erase_last_bootloader_page erase 0x08001C00
raw_case raw_write_at_0x08000000 write 0x08000000 "$WORK/1k"
raw_case raw_write_at_0x08001C00 write 0x08001C00 "$WORK/1k"
# Starts 2 bytes below APP_BASE, ends 1022 bytes inside the application.
raw_case raw_write_straddling_app_base write 0x08001FFE "$WORK/1k"
raw_case raw_erase_past_end_of_flash erase 0x08010000
raw_case raw_write_past_end_of_flash write 0x0800FE00 "$WORK/1k"

# After a refusal left the device in dfuERROR, the stock dfu-util still
# updates it (CLRSTATUS) and the application region takes the new data.
probe erase 0x08000000
if grep -q 'state=10' "$DFU_OUT" && dfu_q board -a 0 -s 0x08002000 -D "$WORK/1k" &&
    cmp -s "$WORK/1k" <(flash_bytes "$FLASH" $((0x2000)) 1024) &&
    cmp -s "$FW" <(flash_bytes "$FLASH" 0 "$FWSIZE"); then
    pass recovers_from_dfu_error
else
    fail recovers_from_dfu_error "expected dfuERROR after a refused erase, then a successful dfu-util download to 0x08002000"$'\n'"$(show_out)"
fi

# The bootloader region is readable ('a'): upload returns dfuboot.bin.
rm -f "$WORK/boot.up"
if dfu_q board -a 0 -s "0x08000000:$FWSIZE" -U "$WORK/boot.up" && cmp -s "$FW" "$WORK/boot.up"; then
    pass "upload_bootloader_region ($FWSIZE bytes = dfuboot.bin)"
else
    fail upload_bootloader_region "expected an upload of 0x08000000:$FWSIZE equal to dfuboot.bin; $(cmp "$FW" "$WORK/boot.up" 2>&1 | head -1)"$'\n'"$(show_out)"
fi

vb_stop board
finish
