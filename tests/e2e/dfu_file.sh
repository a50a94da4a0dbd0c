#!/usr/bin/env bash
# dfu_file.sh - the .dfu files make writes, end to end: dfu-util's own
# readers (dfu-suffix -c, dfuse-pack -d) accept them, `dfu-util -a 0 -D
# blinky.dfu` (no -s) updates an erased virtual blue pill without a suffix
# warning, the flash then holds the element byte for byte (read back with
# dfu-util -U), `-s :leave` starts it, and bad files are refused by
# dfuboot-stamp --check-dfu with a message saying what is wrong.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
APP=$B/app/bluepill/blinky.stamped.bin
DFU=$B/app/bluepill/blinky.dfu
DFU_SUFFIX=${DFU_SUFFIX:-/usr/bin/dfu-suffix}
DFUSE_PACK=${DFUSE_PACK:-/usr/bin/dfuse-pack}
need "$FW" "$APP" "$DFU" "$DFU_SUFFIX" /usr/bin/dfu-prefix

# The suffix warnings dfu-util prints for files without a valid suffix.
SUFFIX_WARNINGS="Invalid DFU suffix signature|A valid DFU suffix will be required|DFU suffix CRC does not match"
size=$(stat -c %s "$APP")

# 1. dfu-util's suffix reader: the IDs of the bootloader, bcdDFU 0x011A.
if "$DFU_SUFFIX" -c "$DFU" >"$DFU_OUT" 2>&1 &&
    grep -q "contains a DFU suffix" "$DFU_OUT" && grep -qi "Vendor ID:.*0x0483" "$DFU_OUT" &&
    grep -qi "Product ID:.*0xDF11" "$DFU_OUT" && grep -qi "BCD DFU:.*0x011A" "$DFU_OUT" &&
    grep -qi "BCD device:.*0xFFFF" "$DFU_OUT"; then
    pass "dfu_suffix_reads_the_suffix (0483:df11, bcdDFU 0x011A, bcdDevice 0xFFFF)"
else
    fail "dfu_suffix_reads_the_suffix" "expected dfu-suffix -c to find a suffix for 0483:df11, bcdDFU 0x011A"$'\n'"$(show_out)"
fi

# 1b. dfu-prefix -c: the same suffix; the DfuSe prefix is not mistaken for
#     one of the vendor prefixes it knows (TI Stellaris, NXP LPC), which
#     dfu-util would strip or send.
DFU_PREFIX=${DFU_PREFIX:-/usr/bin/dfu-prefix}
if "$DFU_PREFIX" -c "$DFU" >"$DFU_OUT" 2>&1 && grep -q "contains a DFU suffix" "$DFU_OUT" &&
    ! grep -qiE "Stellaris|LPC|unknown prefix" "$DFU_OUT"; then
    pass "dfu_prefix_sees_no_vendor_prefix"
else
    fail "dfu_prefix_sees_no_vendor_prefix" "expected dfu-prefix -c to show the suffix and no TI/NXP prefix"$'\n'"$(show_out)"
fi

# 2. dfu-util's DfuSe packer/dumper (dfuse-pack -d): one target for alt 0,
#    one element at 0x08002000 holding the stamped image, CRC correct.
if [ -x "$DFUSE_PACK" ] && command -v /usr/bin/python3 >/dev/null; then
    cp "$DFU" "$WORK/dump.dfu"
    if (cd "$WORK" && "$DFUSE_PACK" -d dump.dfu) >"$DFU_OUT" 2>&1 &&
        grep -q "alt setting: 0, name: \"b'dfuboot'\", size: $((size + 8)), elements: 1" "$DFU_OUT" &&
        grep -q "0, address: 0x08002000, size: $size" "$DFU_OUT" &&
        ! grep -qE "CRC ERROR|PARSE ERROR" "$DFU_OUT" &&
        cmp -s "$APP" "$WORK/dump.dfu.target0.image0.bin"; then
        pass "dfuse_pack_parses_it (alt 0, one element at 0x08002000 = blinky.stamped.bin)"
    else
        fail "dfuse_pack_parses_it" "expected dfuse-pack -d to show one alt-0 element at 0x08002000 of $size bytes equal to the stamped image"$'\n'"$(show_out)"
    fi
else
    echo "# dfuse-pack or /usr/bin/python3 missing: the dfuse-pack cross-check is skipped"
fi

# 3. dfu-util -a 0 -D blinky.dfu, no -s: the file's address is used, no
#    suffix warning; the board stays in DFU mode (no :leave).
FLASH=$WORK/board.flash
vb_start board --part f103c8 --board bluepill --flash "$FLASH" "$FW"
if ! vb_wait board "usb enumerated .*0483:df11" 20; then
    fail "board_enumerates" "expected the bootloader on an erased board to enumerate"
    finish
    exit
fi
vb_mark board
rc=0
dfu_q board -a 0 -D "$DFU" || rc=$?
if [ $rc = 0 ] && grep -q "File downloaded successfully\|Done parsing DfuSe file" "$DFU_OUT" &&
    grep -q "Parsing element 1, address = 0x08002000, size = $size" "$DFU_OUT" &&
    ! grep -qE "$SUFFIX_WARNINGS" "$DFU_OUT"; then
    pass "dfu_util_downloads_the_dfu_file_without_warning (no -s; element at 0x08002000, $size bytes)"
else
    fail "dfu_util_downloads_the_dfu_file_without_warning" "expected exit 0, the element parsed at 0x08002000 and no suffix warning; exit $rc"$'\n'"$(show_out 20)"
fi
if grep -q "Match vendor ID from file: 0483" "$DFU_OUT" && grep -q "Match product ID from file: df11" "$DFU_OUT"; then
    pass "dfu_util_matches_the_board_by_the_file_ids"
else
    fail "dfu_util_matches_the_board_by_the_file_ids" "expected dfu-util to take 0483:df11 from the suffix"$'\n'"$(show_out)"
fi
sleep 0.3
if [ "$(vb_count board "app start")" = 0 ]; then
    pass "without_leave_the_board_stays_in_dfu_mode"
else
    fail "without_leave_the_board_stays_in_dfu_mode" "expected no 'app start' without :leave"
fi

# 4. Read back with dfu-util -U: the flash holds the element byte for byte.
rc=0
dfu_q board -a 0 -s "0x08002000:$size" -U "$WORK/readback.bin" || rc=$?
if [ $rc = 0 ] && cmp -s "$APP" "$WORK/readback.bin"; then
    pass "upload_reads_back_the_element ($size bytes)"
else
    fail "upload_reads_back_the_element" "expected the upload to equal blinky.stamped.bin; exit $rc, $(cmp "$APP" "$WORK/readback.bin" 2>&1 | head -1)"$'\n'"$(show_out)"
fi

# 5. -s :leave with the .dfu file: download, then the board starts it.
vb_mark board
rc=0
dfu_q board -a 0 -s :leave -D "$DFU" || rc=$?
if [ $rc = 0 ] && ! grep -qE "$SUFFIX_WARNINGS" "$DFU_OUT" &&
    vb_wait board "app start 0x0800" 10 && vb_wait board "gpio PC13=" 5 3; then
    pass "leave_with_the_dfu_file_starts_blinky"
else
    fail "leave_with_the_dfu_file_starts_blinky" "expected exit 0, no warning, 'app start' and PC13 toggling; exit $rc"$'\n'"$(show_out)"
fi
if cmp -s "$APP" <(flash_bytes "$FLASH" $((0x2000)) "$size"); then
    pass "flash_file_holds_the_element"
else
    fail "flash_file_holds_the_element" "expected the flash at 0x2000 to equal blinky.stamped.bin"
fi
vb_stop board

# 6. What dfu-util 0.11 does with an address and a .dfu file: it refuses
#    ("This is a DfuSe file, not meant for raw download"); the README says
#    to use -s :leave. Checked so that the README stays true.
vb_start board --part f103c8 --board bluepill --flash "$WORK/other.flash" "$FW"
vb_wait board "usb enumerated .*0483:df11" 20
rc=0
dfu_q board -a 0 -s 0x08002000:leave -D "$DFU" || rc=$?
if [ $rc != 0 ] && grep -q "This is a DfuSe file, not meant for raw download" "$DFU_OUT"; then
    pass "dfu_util_refuses_an_address_with_a_dfu_file (as the README says)"
else
    fail "dfu_util_refuses_an_address_with_a_dfu_file" "expected dfu-util 0.11 to refuse -s ADDR with a DfuSe file; exit $rc"$'\n'"$(show_out)"
fi
vb_stop board

# 7. Bad files: dfuboot-stamp --check-dfu says what is wrong, exit 1.
# refix FILE: after an edit, a new suffix (and CRC) by dfu-util's own
# dfu-suffix, so the check gets past the CRC to the error planted.
# (dfu-suffix -D refuses a suffix whose CRC is wrong: cut it off by hand.)
refix() {
    head -c -16 "$1" >"$1.tmp" && mv "$1.tmp" "$1" &&
        "$DFU_SUFFIX" -a "$1" -v 0x0483 -p 0xdf11 -d 0xffff -S 0x011a >/dev/null 2>&1
}
bad_case() {
    local name=$1 file=$2 want=$3 rc=0
    "$STAMP" --check-dfu "$file" >"$DFU_OUT" 2>&1 || rc=$?
    if [ $rc = 1 ] && grep -q -- "$want" "$DFU_OUT"; then
        pass "check_dfu_refuses_$name"
    else
        fail "check_dfu_refuses_$name" "expected exit 1 and \"$want\"; exit $rc"$'\n'"$(show_out)"
    fi
}
if "$STAMP" --check-dfu "$DFU" >"$DFU_OUT" 2>&1 && grep -q "stamp OK" "$DFU_OUT"; then
    pass "check_dfu_accepts_the_built_file"
else
    fail "check_dfu_accepts_the_built_file" "expected exit 0 and 'stamp OK'"$'\n'"$(show_out)"
fi
cp "$DFU" "$WORK/crc.dfu"
poke "$WORK/crc.dfu" 400 00
bad_case wrong_crc "$WORK/crc.dfu" "does not match the file's CRC-32"
head -c 450 "$DFU" >"$WORK/cut.dfu"
bad_case truncated "$WORK/cut.dfu" "no DFU suffix"
cp "$DFU" "$WORK/alt1.dfu"
poke "$WORK/alt1.dfu" 17 01
refix "$WORK/alt1.dfu"
bad_case other_alt "$WORK/alt1.dfu" "alternate setting 1"
cp "$DFU" "$WORK/low.dfu"
poke "$WORK/low.dfu" 286 00 # dwElementAddress 0x08002000 -> 0x08000000
refix "$WORK/low.dfu"
bad_case outside_region "$WORK/low.dfu" "element 1 at 0x08000000..0x0800.* is outside the application region 0x08002000"

finish
