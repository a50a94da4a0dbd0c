#!/usr/bin/env bash
# mass_erase.sh - `dfu-util -a 0 -s 0x08002000:mass-erase:force` erases the
# whole application region (every page up to the end of flash) and never
# the bootloader; afterwards the board boots into DFU mode.
set -u
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
FW=$B/fw/bluepill/dfuboot.bin
need "$FW"
FWSIZE=$(stat -c %s "$FW")

# mass_case PART: a board whose application region is full of a valid,
# stamped application (blinky + filler up to the last byte of flash).
mass_case() {
    local part=$1 c=mass_$1 flash=$WORK/$1.flash size region
    size=$(flash_size "$part")
    region=$((size - 0x2000))
    make_app "$WORK/$part.app" "$region" || { fail "${c}_setup" "make_app failed"; return; }
    mk_flash "$flash" "$part" "$FW" || { fail "${c}_setup" "vboard did not create $flash"; return; }
    dd if="$WORK/$part.app" of="$flash" bs=1024 seek=8 conv=notrunc status=none
    cp "$flash" "$WORK/$part.before"

    # Before: the application starts (so the erase below is what changes it).
    vb_start "$c" --part "$part" --quiet-gpio --flash "$flash"
    if vb_wait "$c" "app start 0x0800" 10; then
        pass "${c}_app_present_before"
    else
        fail "${c}_app_present_before" "expected the full-region stamped app to start before the erase; no 'app start'"
    fi
    vb_stop "$c"

    # In DFU mode by the BOOT1 jumper, mass erase.
    vb_start "$c" --part "$part" --quiet-gpio --flash "$flash" --pin PB2=1
    if ! vb_wait "$c" "usb enumerated .*0483:df11" 20; then
        fail "${c}_erase" "expected DFU mode with PB2=1; the board did not enumerate"
        vb_kill "$c"
        return
    fi
    local rc=0
    dfu_q "$c" -a 0 -s 0x08002000:mass-erase:force || rc=$?
    if [ $rc = 0 ] && is_erased "$flash" $((0x2000)) "$region"; then
        pass "${c}_region_erased (${region} bytes 0xFF, dfu-util exit 0)"
    else
        local first
        first=$(cmp -l <(flash_bytes "$flash" $((0x2000)) "$region") <(head -c "$region" /dev/zero | tr '\0' '\377') 2>/dev/null | head -1 | awk '{print $1}')
        fail "${c}_region_erased" "expected exit 0 and 0x08002000..+$region all 0xFF; exit $rc, first non-0xFF byte at region offset ${first:-none}"$'\n'"$(show_out)"
    fi
    if cmp -s "$FW" <(flash_bytes "$flash" 0 "$FWSIZE") &&
        cmp -s <(flash_bytes "$WORK/$part.before" 0 $((0x2000))) <(flash_bytes "$flash" 0 $((0x2000))); then
        pass "${c}_bootloader_unchanged"
    else
        fail "${c}_bootloader_unchanged" "expected the first 8 KiB of flash (dfuboot.bin + 0xFF) unchanged; $(cmp "$FW" <(flash_bytes "$flash" 0 "$FWSIZE") 2>&1 | head -1)"
    fi
    if cmp -s <(tail -c 16 "$WORK/$part.before") <(tail -c 16 "$flash"); then
        pass "${c}_option_bytes_unchanged"
    else
        fail "${c}_option_bytes_unchanged" "expected the 16 option bytes unchanged: $(tail -c 16 "$WORK/$part.before" | od -An -tx1) -> $(tail -c 16 "$flash" | od -An -tx1)"
    fi
    # dfu-util reads the erased region back through the bootloader too.
    rm -f "$WORK/$part.up"
    if dfu_q "$c" -a 0 -s 0x08002000:4096 -U "$WORK/$part.up" && is_erased "$WORK/$part.up" 0 4096; then
        pass "${c}_upload_reads_erased"
    else
        fail "${c}_upload_reads_erased" "expected a 4096-byte upload of 0xFF from 0x08002000"$'\n'"$(show_out)"
    fi
    vb_stop "$c"

    # After a reset without the jumper: no application, so DFU mode.
    vb_start "$c" --part "$part" --quiet-gpio --flash "$flash"
    if vb_wait "$c" "usb enumerated .*0483:df11" 20 && sleep 0.3 && [ "$(vb_count "$c" "app start")" = 0 ]; then
        pass "${c}_stays_in_dfu_after_reset"
    else
        fail "${c}_stays_in_dfu_after_reset" "expected DFU enumeration and no 'app start' after a reset on the erased region"
    fi
    vb_stop "$c"
}

mass_case f103c8
mass_case f103cb

finish
