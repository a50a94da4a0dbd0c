#!/usr/bin/env bash
# parts.sh - other densities: the STM32F103RC and RE (256/512 KiB, 2 KiB
# pages, high density) with the generic_f103rc bootloader, the 128 KiB
# parts (f103cb, and a C8 whose F_SIZE says 128 KiB) and the 32 KiB low
# density f103c6 (10 KiB SRAM) with the blue pill bootloader. On each:
# layout, download + leave (the application runs), uploads equal to the
# downloads, including the last page of flash.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# The blinky of the app kit is linked for the blue pill's 20 KiB of SRAM
# (initial SP 0x20005000). On a 10 KiB part (f103c6, DS5919) that stack is
# outside SRAM: the first push faults and the core locks up, as silicon
# would. APP_SP, when set, is the initial SP written into the copy under
# test before it is stamped (the kit has no per-part RAM size yet).
APP_SP=

# part_case PART BOARD LAYOUT FLASH_BYTES
part_case() {
    local part=$1 board=$2 layout=$3 size=$4 c=${1//-/_} pg app big last rc
    local fw=$B/fw/$board/dfuboot.bin blinky
    blinky=$(app_dir 0x08002000 "$board")/blinky.stamped.bin
    need "$fw" "$blinky"
    pg=$([ "$size" -gt 131072 ] && echo 2048 || echo 1024)
    local flash=$WORK/$part.flash
    vb_start "$c" --part "$part" --board "$board" --flash "$flash" "$fw"
    if ! vb_wait "$c" "usb enumerated .*0483:df11" 20; then
        fail "${c}_enumerates" "expected the $board bootloader on $part to enumerate; it did not"
        vb_kill "$c"
        return
    fi
    local want="name=\"@Internal Flash  /0x08000000/$layout\""
    if dfu_q "$c" -l && grep -qF "$want" "$DFU_OUT"; then
        pass "${c}_layout ($layout)"
    else
        fail "${c}_layout" "expected $want; got: $(grep -o 'name="[^"]*"' "$DFU_OUT")"
    fi

    # A stamped application spanning several pages, odd size.
    app=$WORK/$part.app
    make_app "$app" 5001 0x08002000 "$board"
    if [ -n "$APP_SP" ]; then
        printf "\\x$(printf %02x $((APP_SP & 255)))\\x$(printf %02x $((APP_SP >> 8 & 255)))\\x$(printf %02x $((APP_SP >> 16 & 255)))\\x$(printf %02x $((APP_SP >> 24 & 255)))" |
            dd of="$app" conv=notrunc status=none
        "$STAMP" --base 0x08002000 "$app" >/dev/null
    fi
    big=$(stat -c %s "$app")
    # The last page of flash, a full page of data (and one short block).
    last=$(printf '0x%08x' $((0x08000000 + size - pg)))
    filler $((pg - 3)) "$size" >"$WORK/$part.last"
    # (The last page first: a download session zeroes the initial stack
    # pointer of the image at APP_BASE, so the image goes last.)
    if dfu_q "$c" -a 0 -s "$last" -D "$WORK/$part.last" && dfu_q "$c" -a 0 -s 0x08002000 -D "$app"; then
        rm -f "$WORK/$part.up1" "$WORK/$part.up2"
        if dfu_q "$c" -a 0 -s "0x08002000:$big" -U "$WORK/$part.up1" && cmp -s "$app" "$WORK/$part.up1" &&
            dfu_q "$c" -a 0 -s "$last:$((pg - 3))" -U "$WORK/$part.up2" && cmp -s "$WORK/$part.last" "$WORK/$part.up2"; then
            pass "${c}_upload_equals_download ($big bytes at 0x08002000, $((pg - 3)) at $last)"
        else
            fail "${c}_upload_equals_download" "expected both uploads equal to the downloads: $(cmp "$app" "$WORK/$part.up1" 2>&1 | head -1) / $(cmp "$WORK/$part.last" "$WORK/$part.up2" 2>&1 | head -1)"$'\n'"$(show_out)"
        fi
        if cmp -s "$WORK/$part.last" <(flash_bytes "$flash" $((size - pg)) $((pg - 3))) &&
            is_erased "$flash" $((0x2000 + big)) $(( (big + pg - 1) / pg * pg - big )); then
            pass "${c}_flash_file_pages (${pg}-byte pages: data at the last page, rest of the image's last page erased)"
        else
            fail "${c}_flash_file_pages" "expected the last page's data in the flash file at $((size - pg)) and 0xFF after the image up to its page end"
        fi
    else
        fail "${c}_upload_equals_download" "expected the downloads (no leave) to succeed"$'\n'"$(show_out)"
    fi

    # Download + leave: the application starts and blinks.
    vb_mark "$c"
    rc=0
    dfu_q "$c" -a 0 -s 0x08002000:leave -D "$app" || rc=$?
    if [ $rc = 0 ] && vb_wait "$c" "app start 0x08002" 10 && vb_wait "$c" "gpio PC13=" 5 3; then
        pass "${c}_download_leave_runs_app ($(vb_since "$c" | grep -m1 -o 'app start 0x[0-9a-f]*'))"
    else
        fail "${c}_download_leave_runs_app" "expected exit 0, 'app start 0x08002...' and PC13 toggles; exit $rc"$'\n'"$(show_out)"
    fi
    vb_stop "$c"
}

# Sizes from the datasheets (DS5792 RC/RE, DS5319 C8/CB, DS5919 C6); the
# layout is what the bootloader must derive from F_SIZE and the density.
part_case f103rc generic_f103rc "4*002Ka,124*002Kg" 262144
part_case f103re generic_f103rc "4*002Ka,252*002Kg" 524288
part_case f103cb bluepill "8*001Ka,120*001Kg" 131072
part_case f103c8-128k bluepill "8*001Ka,120*001Kg" 131072
# f103c6: 10 KiB of SRAM end at 0x20002800 (DS5919 "SRAM 10 Kbytes").
APP_SP=0x20002800 part_case f103c6 bluepill "8*001Ka,24*001Kg" 32768

# The unchanged blinky (SP 0x20005000) on the 10 KiB part: the chip must not
# run it (a kinder SRAM size would hide the app's wrong linker script).
c6_stack_outside_sram() {
    local fw=$B/fw/bluepill/dfuboot.bin app=$WORK/c6big.app rc=0
    make_app "$app" 1000 0x08002000 bluepill
    vb_start c6big --part f103c6 --board bluepill "$fw"
    if vb_wait c6big "usb enumerated .*0483:df11" 20 && dfu_q c6big -a 0 -s 0x08002000:leave -D "$app" &&
        vb_wait c6big "app start 0x08002" 10 && vb_wait c6big "write of 0x20004ff8.*nothing there" 5 &&
        vb_wait c6big "LOCKUP" 5; then
        pass "f103c6_20k_stack_app_locks_up (the push to 0x20004ff8 is outside the 10 KiB)"
    else
        fail "f103c6_20k_stack_app_locks_up" "expected the blinky with SP 0x20005000 to fault and lock up on f103c6"
    fi
    vb_stop c6big
}
c6_stack_outside_sram

finish
