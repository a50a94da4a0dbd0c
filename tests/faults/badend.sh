#!/usr/bin/env bash
# badend.sh - the other ways an update ends badly, on the real bootloader in
# vboard (f103c8, bluepill firmware), each followed by the checks of
# lib.sh after_bad_end (no partial start, bootloader bytes and option bytes
# unchanged, a fresh update succeeds and the application runs):
#   kill      dfu-util SIGKILLed mid-update (erase phase, programming, late)
#   unplug    the USB/IP connection dropped mid-transfer: usbip-drop imports
#             the device and closes the socket in the middle of a DNLOAD
#             (after the header, mid-data, after the data without waiting for
#             the answer); vboard must reset and re-enumerate the device
#   second    a second dfu-util on a board left mid-update: it recovers
#             (CLRSTATUS/ABORT) and its full update succeeds
#   reset     a system reset (SIGUSR1 to vboard) mid-update
set -u
source "$(dirname "$0")/lib.sh"
DROP=$B/host/faults/usbip-drop
part_setup f103c8
A=$WORK/A.bin B_IMG=$WORK/B.bin TMPL=$WORK/template.img
make_image "$A" 3000 11
make_image "$B_IMG" 10240 22
make_template "$TMPL" "$A" || { fail template "cannot create the template flash file"; finish; exit 1; }
OPS_RE='\] flash: (erased page|programmed)'

# board TAG: a board on a copy of the template, held in DFU mode by the pin,
# flash busy times in wall time; sets PORT, FLASH, LOG, VB.
board() {
    FLASH=$WORK/$1.img LOG=$WORK/$1.vb.log PORT=$(free_port)
    cp "$TMPL" "$FLASH"
    : >"$LOG"
    vb_bg "$LOG" "${P_VB[@]}" --flash "$FLASH" --port "$PORT" --pin PB2=1 --trace flash \
        --quiet-gpio --realtime "$P_FW"
    VB=$VBPID
    wait_re "$LOG" 'usb enumerated' 30 "$VB"
}
ops() { grep -cE "$OPS_RE" "$LOG"; }

# verdict TAG: runs after_bad_end on the board's flash file (board stopped).
verdict() {
    local tag=$1 extra=${2:-}
    vb_end "$VB"
    after_bad_end "$tag" "$PORT" "$FLASH" "$TMPL" "$A" "$B_IMG"
    [ -n "$extra" ] && PROBLEM="$extra${PROBLEM:+; $PROBLEM}"
    if [ -z "$PROBLEM" ]; then pass "$tag (restart: $OUTCOME)"
    else fail "$tag" "$PROBLEM (restart: $OUTCOME; logs $WORK/$tag.*)"; fi
}

# update_bg TAG: dfu-util -D B :leave in the background, pid in DPID.
update_bg() {
    dfu "$PORT" -a 0 -s $APP_BASE:leave -D "$B_IMG" >"$WORK/$1.dfu.log" 2>&1 &
    DPID=$!
    OUR_PIDS+=("$DPID")
}

# ---- dfu-util killed ----------------------------------------------------------
for at in 3 2600 5000; do
    tag=kill-dfu-util-at-op-$at
    board "$tag"
    update_bg "$tag"
    extra=""
    if wait_re "$LOG" "$OPS_RE" 60 "$VB" "$at"; then
        kill -9 "$DPID"
        wait "$DPID" 2>/dev/null
        sleep 1
        n=$(ops)
        [ "$n" -lt 5130 ] || extra="dfu-util finished before the kill ($n operations)"
        # The host is gone: the board stays in DFU mode and answers.
        dfu "$PORT" -l >"$WORK/$tag.list.log" 2>&1 && grep -q 'Found DFU' "$WORK/$tag.list.log" ||
            extra=${extra:-"the board does not answer dfu-util -l after the kill"}
    else
        extra="the update never reached operation $at"
    fi
    verdict "$tag" "$extra"
done

# ---- USB/IP connection dropped mid-transfer ------------------------------------
# usbip-drop MODE: erase the first application page, then a DNLOAD of block
# 2 cut at MODE (header|half|data|late), then close; see usbip-drop.c.
for mode in header half data late; do
    tag=unplug-$mode
    board "$tag"
    enum0=$(grep -c 'usb enumerated' "$LOG")
    extra=""
    LIBUSB_USBIP_SERVERS= "$DROP" 127.0.0.1 "$PORT" "$mode" >"$WORK/$tag.drop.log" 2>&1 ||
        extra="usbip-drop: $(tail -1 "$WORK/$tag.drop.log")"
    # Like Linux usbip-host, vboard resets the device when its importer goes
    # away; the bootloader drops the unfinished session and enumerates anew.
    wait_re "$LOG" 'usb enumerated' 30 "$VB" $((enum0 + 1)) ||
        extra=${extra:-"no re-enumeration after the connection dropped"}
    verdict "$tag" "$extra"
done

# An unplug while dfu-util itself is mid-download: its connection dies with it.
tag=unplug-during-dfu-util
board "$tag"
update_bg "$tag"
enum0=$(grep -c 'usb enumerated' "$LOG")
extra=""
if wait_re "$LOG" "$OPS_RE" 60 "$VB" 1500; then
    kill -9 "$DPID"; wait "$DPID" 2>/dev/null
    wait_re "$LOG" 'usb enumerated' 30 "$VB" $((enum0 + 1)) ||
        extra="no re-enumeration after the connection dropped"
else
    extra="the update never reached operation 1500"
fi
verdict "$tag" "$extra"

# ---- a second dfu-util on a board left mid-update -----------------------------
for at in 5 3000; do
    tag=second-dfu-util-after-op-$at
    board "$tag"
    update_bg "$tag"
    extra=""
    if wait_re "$LOG" "$OPS_RE" 60 "$VB" "$at"; then
        kill -9 "$DPID"; wait "$DPID" 2>/dev/null
        sleep 0.5
        n0=$(ops)
        if dfu "$PORT" -a 0 -s $APP_BASE:leave -D "$B_IMG" >"$WORK/$tag.dfu2.log" 2>&1; then
            # The second update wrote the whole image again, then left.
            [ $(($(ops) - n0)) -ge 5130 ] || extra="the second update did only $(($(ops) - n0)) operations"
            wait_re "$LOG" 'reset \(SYSRESETREQ\)' 30 "$VB" || extra=${extra:-"no reset after the leave"}
        else
            extra="the second dfu-util failed: $(grep -m1 -iE 'error|fail' "$WORK/$tag.dfu2.log")"
        fi
    else
        extra="the update never reached operation $at"
    fi
    verdict "$tag" "$extra"
done

# A board left in dfuERROR by the first host (a DNLOAD into the bootloader),
# then a second dfu-util.
tag=second-dfu-util-after-error
board "$tag"
dfu "$PORT" -a 0 -s 0x08000000 -D "$B_IMG" >"$WORK/$tag.dfu.log" 2>&1
extra=""
dfu "$PORT" -a 0 -s $APP_BASE:leave -D "$B_IMG" >"$WORK/$tag.dfu2.log" 2>&1 ||
    extra="the second dfu-util failed: $(grep -m1 -iE 'error|fail' "$WORK/$tag.dfu2.log")"
verdict "$tag" "$extra"

# ---- system reset mid-update --------------------------------------------------
for at in 4 2500 5127; do
    tag=reset-at-op-$at
    board "$tag"
    update_bg "$tag"
    extra=""
    if wait_re "$LOG" "$OPS_RE" 60 "$VB" "$at"; then
        kill -USR1 "$VB"
        wait_re "$LOG" 'reset \(button\)|reset \(pin|reset \(NRST|reset \(reset button\)' 10 "$VB" ||
            wait_re "$LOG" 'reset \(' 10 "$VB" || extra="no reset event after SIGUSR1"
        # dfu-util loses the device; it must end on its own.
        end=$((SECONDS + 60))
        while kill -0 "$DPID" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.1; done
        kill -9 "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
        # Pin held: back in DFU mode after the reset.
        wait_re "$LOG" 'usb enumerated' 30 "$VB" 2 || extra=${extra:-"no enumeration after the reset"}
    else
        extra="the update never reached operation $at"
    fi
    verdict "$tag" "$extra"
done

finish
