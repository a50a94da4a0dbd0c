#!/usr/bin/env bash
# parts.sh - other densities: the STM32F103RC (256 KiB, 2 KiB pages, the
# how-to's chip) with the generic_f103rc bootloader, and a 128 KiB part
# (f103cb) with the blue pill bootloader. On each: layout, download + leave
# (the application runs), uploads equal to the downloads, including the last
# page of flash (beyond 64 KiB).
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# part_case PART BOARD LAYOUT
part_case() {
    local part=$1 board=$2 layout=$3 c=$1 size pg app big last rc
    local fw=$B/fw/$board/dfuboot.bin blinky
    blinky=$(app_dir 0x08002000 "$board")/blinky.stamped.bin
    need "$fw" "$blinky"
    size=$(flash_size "$part")
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

part_case f103rc generic_f103rc "4*002Ka,124*002Kg"
part_case f103cb bluepill "8*001Ka,120*001Kg"

finish
