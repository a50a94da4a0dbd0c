#!/usr/bin/env bash
# security.sh - the security options of the bluepill bootloader on vboard
# (issue #4 item 5), each with a control that shows the check can fail:
#   UPLOAD=0      every read-out fails, the layout has no readable sector
#   WRP=1         first start write-protects the bootloader pages (option
#                 bytes WRP0 in the flash file); an application attacking
#                 them through the FPEC gets WRPRTERR and changes nothing
#   RDP=1         first start sets read-out protection level 1 (RDP != 0xA5);
#                 then no read-out: layout, dfu-util -U and a raw UPLOAD
#   UNPROTECT     READ UNPROTECT (0x92, dfu-util :unprotect:force) refused
#                 with a DFU error unless built UNPROTECT=1
#   --hw-iwdg     a watchdog running from reset does not reset the board out
#                 of a long update
set -u
source "$(dirname "$0")/lib.sh"
part_setup f103c8
FW=$FAULTS_BIN/fw
PROBE=$FAULTS_BIN/wrp_probe.bin
OB=$P_FLASH # the 16 option bytes follow the main flash in the file
A=$WORK/A.bin
make_image "$A" 3000 11

# ob_byte FILE I: option byte I (0 RDP, 1 nRDP, 2 USER, ... 8 WRP0 ...) in hex.
ob_byte() { od -A n -t x1 -j $((OB + $2)) -N 1 "$1" | tr -d ' '; }
ob_all() { od -A n -t x1 -j $OB -N 16 "$1" | tr -s ' ' | sed 's/^ //'; }

# start NAME FW [vboard options]: a fresh flash file from FW, board started.
start() {
    local name=$1 fw=$2
    shift 2
    FLASH=$WORK/$name.img LOG=$WORK/$name.log
    rm -f "$FLASH"
    vb_up "$LOG" "${P_VB[@]}" --flash "$FLASH" "$@" "$fw"
    VB=$VBPID
}
stop() { vb_end "$VB"; }
# new_file NAME FW: creates the flash file without running it.
new_file() {
    FLASH=$WORK/$1.img
    rm -f "$FLASH"
    "$VBOARD" "${P_VB[@]}" --flash "$FLASH" --port 0 --exit-after 0.000001 "$2" >/dev/null 2>&1
}
restart() { # restart NAME [vboard options]: the same flash file again
    local name=$1
    shift
    LOG=$WORK/$name.log
    vb_up "$LOG" "${P_VB[@]}" --flash "$FLASH" "$@"
    VB=$VBPID
}

# raw_upload ADDR: the raw UPLOAD client; retried while the device is being
# re-enumerated after the previous host went away (import refused).
raw_upload() {
    local i r rc
    for i in $(seq 40); do
        r=$(LIBUSB_USBIP_SERVERS= "$DROP" 127.0.0.1 "$PORT" upload "$1" 2>&1)
        rc=$?
        case $r in *"import refused"*|*"cannot connect"*) sleep 0.5 ;; *) break ;; esac
    done
    echo "$r"
    return $rc
}

# ---- UPLOAD=0 -----------------------------------------------------------------
new_file upload0 "$FW/bluepill-upload0/dfuboot.bin"
dd if="$A" of="$FLASH" bs=1 seek=$APP_OFF conv=notrunc status=none
restart upload0 --pin PB2=1
if wait_re "$LOG" 'usb enumerated' 30 "$VB"; then
    dfu "$PORT" -l >"$WORK/upload0.list" 2>&1
    layout=$(grep -m1 -o 'name="@[^"]*"' "$WORK/upload0.list")
    # DfuSe sector letters: a..g = 1..7, bit 0 = readable.
    readable=$(echo "$layout" | grep -oE '[0-9]+\*[0-9]+ ?[KMB ]?[a-g`]' | grep -cE '[aceg]$')
    if [ -n "$layout" ] && [ "$readable" = 0 ]; then pass "upload0: layout without a readable sector: $layout"
    else fail upload0-layout "want no readable sector, got '${layout:-no layout}'"; fi
    for range in 0x08002000:1024 0x08000000:1024 0x08002000:3000; do
        out=$WORK/upload0-${range%%:*}.bin
        rm -f "$out"
        if dfu "$PORT" -a 0 -s "$range" -U "$out" >"$WORK/upload0-$range.log" 2>&1; then
            fail "upload0: dfu-util -U $range" "succeeded ($(stat -c %s "$out" 2>/dev/null) bytes read)"
        elif [ -s "$out" ] && cmp -s -n "$(stat -c %s "$out")" "$out" "$FLASH" -i 0:$((${range%%:*} - 0x08000000)); then
            fail "upload0: dfu-util -U $range" "failed, but wrote flash contents to its file"
        else
            pass "upload0: dfu-util -U $range fails ($(grep -m1 -E '^dfu-util: [^W]' "$WORK/upload0-$range.log" | head -c 100))"
        fi
    done
    # dfu-util refuses by itself from the layout: ask the device directly.
    for addr in 0x08000000 0x08002000; do
        if r=$(raw_upload $addr); then
            pass "upload0: raw DfuSe UPLOAD at $addr refused by the device (${r#usbip-drop: })"
        else
            fail "upload0-raw-$addr" "$r"
        fi
    done
else
    fail upload0 "the board did not enumerate"
fi
stop
# Control: the default build reads the application back.
new_file upload1 "$FW/bluepill/dfuboot.bin"
dd if="$A" of="$FLASH" bs=1 seek=$APP_OFF conv=notrunc status=none
restart upload1 --pin PB2=1
if wait_re "$LOG" 'usb enumerated' 30 "$VB" &&
    dfu "$PORT" -a 0 -s $APP_BASE:3000 -U "$WORK/upload1.bin" >"$WORK/upload1.dfu.log" 2>&1 &&
    cmp -s "$WORK/upload1.bin" "$A"; then
    pass "control: the default build reads the application back"
    raw_upload 0x08002000 >/dev/null
    [ $? = 3 ] && pass "control: a raw UPLOAD gets data from the default build" ||
        fail control-raw-upload "the raw UPLOAD client gets no data from the default build"
else
    fail "control-upload1" "the default build does not read the application back"
fi
stop

# ---- WRP=1 ------------------------------------------------------------------------
# Bootloader + the probe application, never started: first start.
new_file wrp1 "$FW/bluepill-wrp1/dfuboot.bin"
dd if="$PROBE" of="$FLASH" bs=1 seek=$APP_OFF conv=notrunc status=none
cp "$FLASH" "$WORK/wrp1.before"
restart wrp1 --trace flash
if wait_re "$LOG" 'gpio PA[12]=1' 30 "$VB"; then
    ob=$(ob_all "$FLASH")
    # 1 KiB pages: one WRP bit per 4 KiB; the 8 KiB bootloader = bits 0, 1.
    if [ "$(ob_byte "$FLASH" 8)" = fc ] && [ "$(ob_byte "$FLASH" 9)" = 03 ] &&
        [ "$(ob_byte "$FLASH" 10)$(ob_byte "$FLASH" 12)$(ob_byte "$FLASH" 14)" = ffffff ] &&
        [ "$(ob_byte "$FLASH" 0)" = a5 ]; then
        pass "wrp1: first start sets WRP0=0xFC (pages 0-7) in the option bytes: $ob"
    else
        fail wrp1-option-bytes "want WRP0 fc, nWRP0 03, other WRP ff, RDP a5; got $ob"
    fi
    if grep -q 'gpio PA1=1' "$LOG" && cmp -s -n $APP_OFF "$FLASH" "$WORK/wrp1.before"; then
        pass "wrp1: direct FPEC erase and program of the bootloader pages refused (WRPRTERR), bytes unchanged"
    else
        fail wrp1-direct "the probe application reports $(grep -oE 'gpio PA[1-4]=1' "$LOG" | tr '\n' ' ')"
    fi
else
    fail wrp1 "the probe application did not report ($(grep -cE 'reset \(' "$LOG") resets)"
fi
stop
# A second start leaves the option bytes alone (no erase/program cycle per boot).
restart wrp1-again --trace flash
wait_re "$LOG" 'gpio PA[12]=1' 30 "$VB"
if ! grep -qE 'option byte|option bytes erased' "$LOG"; then pass "wrp1: second start does not rewrite the option bytes"
else fail wrp1-second-start "the option bytes are written again at every start"; fi
stop
# Control: without WRP the same probe destroys the bootloader's first page.
new_file wrp0 "$FW/bluepill/dfuboot.bin"
dd if="$PROBE" of="$FLASH" bs=1 seek=$APP_OFF conv=notrunc status=none
restart wrp0
if wait_re "$LOG" 'gpio PA[12]=1' 30 "$VB" && grep -q 'gpio PA2=1' "$LOG" && grep -q 'gpio PA3=1' "$LOG"; then
    pass "control: without WRP the probe's erase of 0x08000000 goes through"
else
    fail control-wrp0 "the probe does not detect an unprotected bootloader"
fi
stop

# ---- RDP=1 -------------------------------------------------------------------------
start rdp1 "$FW/bluepill-rdp1/dfuboot.bin" --trace flash
if wait_re "$LOG" 'usb enumerated' 30 "$VB"; then
    rdp=$(ob_byte "$FLASH" 0)
    if [ "$rdp" != a5 ] && [ "$(ob_byte "$FLASH" 8)" = ff ]; then
        pass "rdp1: first start sets read-out protection level 1 (RDP=0x$rdp, option bytes $(ob_all "$FLASH"))"
    else
        fail rdp1 "want RDP != a5 and WRP untouched; got $(ob_all "$FLASH")"
    fi
else
    fail rdp1 "the board did not enumerate after setting RDP"
fi
stop
restart rdp1-again --trace flash
if wait_re "$LOG" 'usb enumerated' 30 "$VB" && ! grep -qE 'option byte' "$LOG"; then
    pass "rdp1: second start enumerates without rewriting the option bytes"
    # Issue 8 item 4: under RDP level 1 code running from flash (the
    # bootloader) still reads flash, so the bootloader itself must refuse
    # every read-out: no readable sector in the layout, dfu-util -U fails,
    # a raw UPLOAD is refused by the device.
    dfu "$PORT" -l >"$WORK/rdp1.list" 2>&1
    layout=$(grep -m1 -o 'name="@[^"]*"' "$WORK/rdp1.list")
    readable=$(echo "$layout" | grep -oE '[0-9]+\*[0-9]+ ?[KMB ]?[a-g`]' | grep -cE '[aceg]$')
    if [ -n "$layout" ] && [ "$readable" = 0 ]; then pass "rdp1: layout without a readable sector: $layout"
    else fail rdp1-layout "want no readable sector under RDP, got '${layout:-no layout}'"; fi
    rm -f "$WORK/rdp1-up.bin"
    if dfu "$PORT" -a 0 -s 0x08000000:1024 -U "$WORK/rdp1-up.bin" >"$WORK/rdp1-up.log" 2>&1; then
        fail "rdp1: dfu-util -U 0x08000000:1024" "succeeded under RDP ($(stat -c %s "$WORK/rdp1-up.bin" 2>/dev/null) bytes read)"
    else
        pass "rdp1: dfu-util -U 0x08000000:1024 fails ($(grep -m1 -E '^dfu-util: [^W]' "$WORK/rdp1-up.log" | head -c 100))"
    fi
    for addr in 0x08000000 0x08002000; do
        if r=$(raw_upload $addr); then
            pass "rdp1: raw DfuSe UPLOAD at $addr refused by the device (${r#usbip-drop: })"
        else
            fail "rdp1-raw-$addr" "$r"
        fi
    done
else
    fail rdp1-second-start "no enumeration, or the option bytes are rewritten"
fi
stop

# ---- READ UNPROTECT ------------------------------------------------------------------
unprotect_case() { # NAME FW EXPECT(refused|done) [WRP-preset]
    local name=$1 fw=$2 want=$3
    new_file "$name" "$fw"
    if [ "${4:-}" = wrp ]; then # option bytes as a WRP build leaves them
        printf '\xfc\x03' | dd of="$FLASH" bs=1 seek=$((OB + 8)) conv=notrunc status=none
    fi
    restart "$name" --pin PB2=1 --trace flash
    wait_re "$LOG" 'usb enumerated' 30 "$VB"
    cp "$FLASH" "$WORK/$name.before" # after the first start (WRP builds protect then)
    dfu "$PORT" -a 0 -s $APP_BASE:unprotect:force -D "$A" >"$WORK/$name.dfu.log" 2>&1
    local rc=$?
    sleep 1
    if [ "$want" = refused ]; then
        if [ $rc != 0 ] && cmp -s "$FLASH" "$WORK/$name.before" &&
            dfu "$PORT" -l >"$WORK/$name.list" 2>&1 && grep -q 'Found DFU' "$WORK/$name.list"; then
            pass "$name: READ UNPROTECT refused: $(grep -m1 -o 'dfuERROR, status([0-9]*)' "$WORK/$name.dfu.log"); flash and option bytes unchanged"
        else
            fail "$name" "want a refusal with nothing changed (dfu-util rc $rc, option bytes $(ob_all "$FLASH"))"
        fi
    else
        wait_re "$LOG" 'option bytes erased' 20 "$VB"
        if grep -q 'option bytes erased' "$LOG" && [ "$(ob_byte "$FLASH" 0)" = a5 ] &&
            [ "$(ob_byte "$FLASH" 8)" = ff ]; then
            pass "$name: READ UNPROTECT accepted: option bytes back to factory ($(ob_all "$FLASH"))"
        else
            fail "$name" "want the option bytes erased (WRP off, RDP a5); got $(ob_all "$FLASH")"
        fi
    fi
    stop
}
unprotect_case unprotect-default "$FW/bluepill/dfuboot.bin" refused
unprotect_case unprotect-wrp1 "$FW/bluepill-wrp1/dfuboot.bin" refused
unprotect_case unprotect1 "$FW/bluepill-unprotect1/dfuboot.bin" done wrp

# READ UNPROTECT on a chip at read-out protection level 1 (issue 8 item 8).
# PM0075 2.4.1: programming RDP = 0xA5 first mass-erases main flash, so a
# sequence still running from flash fetches erased words there and never
# finishes; from SRAM it programs every option byte and resets the chip.
new_file unprotect-rdp "$FW/bluepill-unprotect1/dfuboot.bin"
dd if="$A" of="$FLASH" bs=1 seek=$APP_OFF conv=notrunc status=none
printf '\x00\xff' | dd of="$FLASH" bs=1 seek=$OB conv=notrunc status=none # RDP = 0x00: level 1
restart unprotect-rdp --pin PB2=1 --trace flash
if wait_re "$LOG" 'usb enumerated' 30 "$VB"; then
    dfu "$PORT" -a 0 -s $APP_BASE:unprotect:force -D "$A" >"$WORK/unprotect-rdp.dfu.log" 2>&1
    wait_re "$LOG" 'reset \(SYSRESETREQ\)' 10 "$VB"
    sleep 0.5
    user=$(ob_byte "$FLASH" 2) nuser=$(ob_byte "$FLASH" 3)
    erased=$(head -c "$P_FLASH" "$FLASH" | tr -d '\377' | wc -c)
    if grep -q 'read protection removal: main flash mass-erased' "$LOG" &&
        sed -n '/read protection removal/,$p' "$LOG" | grep -q 'reset (SYSRESETREQ)' &&
        [ "$(ob_byte "$FLASH" 0)$(ob_byte "$FLASH" 1)" = a55a ] &&
        [ $((0x$user ^ 0x$nuser)) = 255 ] && [ "$erased" = 0 ]; then
        pass "unprotect-rdp: READ UNPROTECT under RDP level 1: main flash erased, every option byte written, reset ($(ob_all "$FLASH"))"
    else
        fail unprotect-rdp "want the RDP mass erase, a SYSRESETREQ after it, RDP a5/5a, a valid USER pair and all of main flash erased; got option bytes $(ob_all "$FLASH"), $erased non-erased flash bytes, $(grep -c 'reset (SYSRESETREQ)' "$LOG") SYSRESETREQ, last events: $(grep -vE 'gpio|flash:? (programmed|option byte)' "$LOG" | tail -4 | tr '\n' '|')"
    fi
else
    fail unprotect-rdp "the board did not enumerate"
fi
stop

# ---- hardware IWDG during a long update ------------------------------------------------
BIG=$WORK/big.bin
make_image "$BIG" 49152 33
start iwdg "$FW/bluepill/dfuboot.bin" --hw-iwdg --pin PB2=1
if wait_re "$LOG" 'usb enumerated' 30 "$VB"; then
    t0=$(grep -m1 'usb enumerated' "$LOG" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
    if dfu "$PORT" -a 0 -s $APP_BASE -D "$BIG" >"$WORK/iwdg.dfu.log" 2>&1 &&
        dfu "$PORT" -a 0 -s $APP_BASE:49152 -U "$WORK/iwdg.back" >"$WORK/iwdg.up.log" 2>&1 &&
        cmp -s "$BIG" "$WORK/iwdg.back"; then
        t1=$(tail -1 "$LOG" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
        if ! grep -q 'reset (IWDG)' "$LOG"; then
            pass "iwdg: 48 KiB download + read-back under a hardware IWDG (${t0}..${t1} s virtual), no IWDG reset"
        else
            fail iwdg "an IWDG reset during the update: $(grep -m1 'reset (IWDG)' "$LOG")"
        fi
    else
        fail iwdg "the long download or its read-back failed ($(grep -c 'reset (IWDG)' "$LOG") IWDG resets)"
    fi
else
    fail iwdg "the board did not enumerate"
fi
stop
# Control: the watchdog really runs: blinky does not feed it and is reset.
restart iwdg-app --hw-iwdg --fast --exit-after 3
if wait_re "$LOG" 'app start' 30 "$VB" && wait_re "$LOG" 'reset \(IWDG\)' 30 "$VB"; then
    pass "control: with --hw-iwdg the application (which does not feed it) gets reset (IWDG)"
else
    fail control-iwdg "no IWDG reset of a non-feeding application: is the watchdog running?"
fi
stop

finish
