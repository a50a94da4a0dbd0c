#!/usr/bin/env bash
# upload.sh - upload returns exactly what was downloaded, for sizes that are
# not multiples of the 1024-byte transfer size (DfuSe block n addresses
# pointer + (n - 2) * wTransferSize; the last block is short).
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=${FW:-$B/fw/bluepill/dfuboot.bin} # FW=old.bin: check a fix against the old code
need "$FW"
FLASH=$WORK/flash.img

vb_start board --part f103c8 --quiet-gpio --flash "$FLASH" "$FW"
if ! vb_wait board "usb enumerated .*0483:df11" 20; then
    fail enumerate "expected the bootloader to enumerate as 0483:df11; it did not"
    finish
    exit
fi
vb_mark board # from here on: no reset, no app start (no :leave is used)

# roundtrip SIZE [ADDR]: download SIZE random bytes without leave, upload
# SIZE bytes from the same address into a new file, compare.
roundtrip() {
    local size=$1 addr=${2:-0x08002000} case="upload_$1" data=$WORK/data.$1 back=$WORK/back.$1 rc=0
    [ "$addr" = 0x08002000 ] || case="${case}_at_$addr"
    filler "$size" "$((size * 7 + 1))" >"$data"
    if ! dfu_q board -a 0 -s "$addr" -D "$data"; then
        fail "$case" "expected the download of $size bytes to $addr to exit 0; it exited non-zero"$'\n'"$(show_out)"
        return
    fi
    rm -f "$back"
    dfu_q board -a 0 -s "$addr:$size" -U "$back" || rc=$?
    if [ $rc != 0 ]; then
        fail "$case" "expected the upload of $size bytes from $addr to exit 0; it exited $rc"$'\n'"$(show_out)"
    elif [ "$(stat -c %s "$back")" != "$size" ]; then
        fail "$case" "expected $size bytes back; got $(stat -c %s "$back")"
    elif ! cmp -s "$data" "$back"; then
        fail "$case" "expected the upload to equal the download; $(cmp "$data" "$back" | head -1)"
    elif ! cmp -s "$data" <(flash_bytes "$FLASH" $((addr - 0x08000000)) "$size"); then
        fail "$case" "upload matches, but the flash file at $addr differs from the download"
    else
        pass "$case ($(( (size + 1023) / 1024 )) blocks)"
    fi
}

for size in 1 1023 1024 1025 3000 10001; do
    roundtrip $size
done
# dfu-util -t T: blocks of T bytes (the last one shorter). AN3156: block n
# is at pointer + (n - 2) * wTransferSize, the host's buffer length, so
# both directions must give back the same bytes for every T.
for t in 64 256 1000 1024; do
    case="transfer_size_$t"
    data=$WORK/data.t$t back=$WORK/back.t$t
    filler 5000 "$((t * 3 + 5))" >"$data"
    rm -f "$back"
    if ! dfu_q board -a 0 -t "$t" -s 0x08008000 -D "$data"; then
        fail "$case" "expected the download of 5000 bytes with -t $t to exit 0; it did not"$'\n'"$(show_out)"
    elif ! cmp -s "$data" <(flash_bytes "$FLASH" $((0x8000)) 5000); then
        fail "$case" "expected the flash file at 0x08008000 to equal the -t $t download; $(cmp "$data" <(flash_bytes "$FLASH" $((0x8000)) 5000) 2>&1 | head -1)"
    elif ! dfu_q board -a 0 -t "$t" -s 0x08008000:5000 -U "$back"; then
        fail "$case" "expected the upload of 5000 bytes with -t $t to exit 0; it did not"$'\n'"$(show_out)"
    elif ! cmp -s "$data" "$back"; then
        fail "$case" "expected the -t $t upload to equal the download; $(cmp "$data" "$back" 2>&1 | head -1)"
    else
        pass "$case (5000 bytes down and up, byte for byte)"
    fi
done

# A start address that is neither page- nor block-aligned (half-word
# aligned: flash is programmed in half-words).
roundtrip 2500 0x08004102
# Upload from an odd address: a window inside the previous download.
rm -f "$WORK/window"
if dfu_q board -a 0 -s 0x08004103:1500 -U "$WORK/window" &&
    cmp -s "$WORK/window" <(tail -c +2 "$WORK/data.2500" | head -c 1500); then
    pass "upload_odd_address_window (1500 bytes from 0x08004103)"
else
    fail upload_odd_address_window "expected bytes 1..1500 of the 2500-byte download at 0x08004102; $(cmp "$WORK/window" <(tail -c +2 "$WORK/data.2500" | head -c 1500) 2>&1 | head -1)"$'\n'"$(show_out)"
fi

# Download without :leave does not leave DFU mode: no reset, no app start.
if [ "$(vb_count board "app start|reset \(")" = 0 ]; then
    pass no_leave_stays_in_dfu
else
    fail no_leave_stays_in_dfu "expected no reset and no 'app start' after downloads without :leave"
fi

# Without a length dfu-util uploads to the end of the segment (56 KiB): the
# whole application region as the flash file holds it.
rm -f "$WORK/region.bin"
if dfu_q board -a 0 -s 0x08002000 -U "$WORK/region.bin" &&
    cmp -s "$WORK/region.bin" <(flash_bytes "$FLASH" $((0x2000)) $((56 * 1024))); then
    pass "upload_whole_region (57344 bytes = flash file)"
else
    fail upload_whole_region "expected 57344 bytes equal to the flash file's application region; got $(stat -c %s "$WORK/region.bin" 2>/dev/null || echo no file)"$'\n'"$(show_out)"
fi

vb_stop board
finish
