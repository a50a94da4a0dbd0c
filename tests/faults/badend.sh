#!/usr/bin/env bash
# badend.sh - the other ways an update ends badly, on the real bootloader in
# vboard (f103c8, bluepill firmware), each followed by the checks of
# lib.sh after_bad_end (no partial start, bootloader bytes and option bytes
# unchanged, a fresh update succeeds and the application runs):
#   kill      dfu-util SIGKILLed mid-update (erase phase, programming, late);
#             as on a native host, the program's end causes no bus reset: the
#             board stays mid-session and must answer the next program
#   unplug    the USB/IP connection dropped mid-transfer: usbip-drop imports
#             the device and closes the socket in the middle of a DNLOAD
#             (after the header, mid-data, after the data without waiting for
#             the answer); vboard must reset and re-enumerate the device
#   second    a second dfu-util on a board left mid-update, without a reset in
#             between: it recovers (CLRSTATUS/ABORT) and its full update
#             succeeds
#   reset     a system reset (SIGUSR1 to vboard) mid-update
#   client    dfu-util killed mid-update of an UNSTAMPED image, then a raw
#             client that opens the device the way pydfu does (no
#             SET_INTERFACE: SET_CONFIGURATION, GETSTATUS, ABORT), or with
#             no request at all before GETSTATUS, ABORT after a pause: its
#             ABORT must not commit the partial image (README "commit rule").
#             Written for native semantics, where neither the kill nor the
#             second open resets the device; the replacement libusb of this
#             tree still resets on close, which alone drops the session.
set -u
source "$(dirname "$0")/lib.sh"
part_setup f103c8
A=$WORK/A.bin B_IMG=$WORK/B.bin TMPL=$WORK/template.img
make_image "$A" 3000 11
make_image "$B_IMG" 10240 22
make_template "$TMPL" "$A" || { fail template "cannot create the template flash file"; finish; exit 1; }
OPS_RE='\] flash: (erased page|programmed)'

# board TAG [CUTTER-TRIGGER...]: a board on a copy of the template, held in
# DFU mode by the pin, flash busy times in wall time, run under the cutter so
# that an action lands at an exact flash operation (the cutter sends its
# signal to dfu-util through $PIDF, or to vboard); sets PORT, FLASH, LOG, VB
# (the cutter: SIGTERM to it stops vboard cleanly), PIDF.
board() {
    local tag=$1
    shift
    FLASH=$WORK/$tag.img LOG=$WORK/$tag.vb.log PIDF=$WORK/$tag.dfu.pid
    rm -f "$PIDF"
    for try in 1 2 3 4 5; do # a port taken meanwhile: another one
        cp "$TMPL" "$FLASH"
        : >"$LOG"
        PORT=$(free_port)
        "$CUTTER" "$@" --log "$LOG" -- "$VBOARD" "${P_VB[@]}" --flash "$FLASH" --port "$PORT" \
            --pin PB2=1 --trace flash,usbip --quiet-gpio --realtime >/dev/null &
        VB=$!
        OUR_PIDS+=("$VB")
        wait_re "$LOG" 'reset \(power-on\)|cannot listen' 30 "$VB"
        grep -q 'cannot listen' "$LOG" || break
        wait "$VB" 2>/dev/null
    done
    wait_re "$LOG" 'usb enumerated' 30 "$VB"
}
ops() { grep -cE "$OPS_RE" "$LOG"; }
# enum_after RE: enumerations after the last line matching RE.
enum_after() { awk -v re="$1" '$0 ~ re {n = 0} /usb enumerated/ {n++} END {print n + 0}' "$LOG"; }
# wait_enum_after RE: waits until the board enumerated after that line.
wait_enum_after() {
    local end=$((SECONDS + 40))
    while [ $SECONDS -le $end ]; do
        grep -qE "$1" "$LOG" && [ "$(enum_after "$1")" -ge 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# verdict TAG [PROBLEM]: stops the board, runs after_bad_end on its flash.
verdict() {
    local tag=$1 extra=${2:-}
    vb_end "$VB"
    after_bad_end "$tag" "$PORT" "$FLASH" "$TMPL" "$A" "$B_IMG"
    [ -n "$extra" ] && PROBLEM="$extra${PROBLEM:+; $PROBLEM}"
    if [ -z "$PROBLEM" ]; then pass "$tag (restart: $OUTCOME)"
    else fail "$tag" "$PROBLEM (restart: $OUTCOME; logs $WORK/$tag.*)"; fi
}

# update_bg TAG: dfu-util -D B :leave in the background; its pid in DPID and
# in $PIDF for the cutter.
update_bg() {
    LIBUSB_USBIP_SERVERS=127.0.0.1:$PORT dfu-util -a 0 -s $APP_BASE:leave -D "$B_IMG" \
        >"$WORK/$1.dfu.log" 2>&1 &
    DPID=$!
    OUR_PIDS+=("$DPID")
    echo "$DPID" >"$PIDF"
}
# dfu_ends: dfu-util must end on its own within 60 s (killed or failed).
dfu_ends() {
    local end=$((SECONDS + 60))
    while kill -0 "$DPID" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.1; done
    kill -0 "$DPID" 2>/dev/null && { kill -9 "$DPID"; wait "$DPID" 2>/dev/null; return 1; }
    wait "$DPID" 2>/dev/null
    return 0
}
# A USB/IP importer leaving makes vboard reset the device (usbip-host); a
# program's handle closing does not (usbfs), and vboard says so.
GONE='importer gone'
CLOSED='host open closed'
# resets_after RE: bus resets after the last line matching RE.
resets_after() { awk -v re="$1" '$0 ~ re {n = 0} /usb reset$/ {n++} END {print n + 0}' "$LOG"; }
# wait_closed: waits for the killed program's handle to be closed.
wait_closed() {
    local end=$((SECONDS + 20))
    while [ $SECONDS -le $end ]; do
        grep -qE "$CLOSED" "$LOG" && return 0
        sleep 0.1
    done
    return 1
}

# ---- dfu-util killed (SIGKILL at the K-th flash operation) ---------------------
for at in 3 2600; do
    tag=kill-dfu-util-at-op-$at
    board "$tag" --op $at --pidfile "$WORK/$tag.dfu.pid"
    update_bg "$tag"
    extra=""
    dfu_ends || extra="dfu-util did not end"
    grep -q 'Submitting leave' "$WORK/$tag.dfu.log" && extra="dfu-util finished before the kill"
    # The connection died with dfu-util: no bus reset (a native host sends
    # none when a program dies); the board, mid-session, still answers.
    if wait_closed; then
        dfu "$PORT" -l >"$WORK/$tag.list.log" 2>&1 && grep -q 'Found DFU' "$WORK/$tag.list.log" ||
            extra=${extra:-"the board does not answer dfu-util -l after the kill"}
        [ "$(resets_after "$CLOSED")" = 0 ] ||
            extra=${extra:-"a bus reset after dfu-util died (a native host sends none)"}
    else
        extra=${extra:-"vboard did not see dfu-util's handle close"}
    fi
    n=$(ops)
    verdict "$tag" "$extra"
    echo "     (dfu-util killed after flash operation $at; $n operations done)"
done

# ---- USB/IP connection dropped mid-DNLOAD (usbip-drop) --------------------------
for mode in header half late; do
    tag=unplug-mid-dnload-$mode
    board "$tag"
    extra=""
    LIBUSB_USBIP_SERVERS= "$DROP" 127.0.0.1 "$PORT" "$mode" >"$WORK/$tag.drop.log" 2>&1 ||
        extra="usbip-drop: $(tail -1 "$WORK/$tag.drop.log")"
    # Like Linux usbip-host, vboard resets the device when its importer goes
    # away; the bootloader drops the unfinished session and enumerates anew.
    wait_enum_after "$GONE" || extra=${extra:-"no reset and re-enumeration after the drop"}
    grep -q 'erased page 0x08002000' "$LOG" || extra=${extra:-"the session never erased the first page"}
    verdict "$tag" "$extra"
done

# ---- a second dfu-util on a board left mid-update -----------------------------
tag=second-dfu-util-after-op-3000
board "$tag" --op 3000 --pidfile "$WORK/$tag.dfu.pid"
update_bg "$tag"
extra=""
dfu_ends || extra="dfu-util did not end"
grep -q 'Submitting leave' "$WORK/$tag.dfu.log" && extra="dfu-util finished before the kill"
wait_closed || extra=${extra:-"vboard did not see dfu-util's handle close"}
n0=$(ops)
if dfu "$PORT" -a 0 -s $APP_BASE:leave -D "$B_IMG" >"$WORK/$tag.dfu2.log" 2>&1; then
    # The second update wrote what the first had not (the pages from about
    # operation 3000 on: those before already hold B and are skipped, issue
    # 10 item 1), then left; verdict checks the flash holds B.
    [ $(($(ops) - n0)) -ge 2000 ] || extra=${extra:-"the second update did only $(($(ops) - n0)) operations"}
    wait_re "$LOG" 'reset \(SYSRESETREQ\)' 30 "$VB" || extra=${extra:-"no reset after the leave"}
    # ... and met the board mid-session: no bus reset before the leave.
    [ "$(awk -v re="$CLOSED" '$0 ~ re {on = 1} on && /usb reset$/ {n++} /usb disconnect/ {on = 0} END {print n + 0}' "$LOG")" = 0 ] ||
        extra=${extra:-"a bus reset between the two dfu-util runs"}
else
    extra=${extra:-"the second dfu-util failed: $(grep -m1 -iE 'error|fail' "$WORK/$tag.dfu2.log")"}
fi
verdict "$tag" "$extra"

# A board left in dfuERROR by the first host (a DNLOAD into the bootloader
# pages: refused), then a second dfu-util: CLRSTATUS, then a full update.
tag=second-dfu-util-after-error
board "$tag"
extra=""
dfu "$PORT" -a 0 -s 0x08000000 -D "$B_IMG" >"$WORK/$tag.dfu.log" 2>&1 &&
    extra="a download into the bootloader pages was accepted"
dfu "$PORT" -a 0 -s $APP_BASE:leave -D "$B_IMG" >"$WORK/$tag.dfu2.log" 2>&1 ||
    extra=${extra:-"the second dfu-util failed: $(grep -m1 -iE 'error|fail' "$WORK/$tag.dfu2.log")"}
verdict "$tag" "$extra"

# ---- a second client that opens the device without SET_INTERFACE -----------
# The partial image must be unstamped: a stamp's CRC would refuse it anyway.
PROBE=$B/host/e2e/dfuse_probe
RAW_IMG=$WORK/raw.bin
cp "$P_BLINKY" "$RAW_IMG"
filler $((10240 - $(stat -c %s "$P_BLINKY"))) 33 >>"$RAW_IMG"
for order in "setconfig status abort" "sleep 1500 status abort"; do
    tag=client-${order// /-}
    board "$tag" --op 3000 --pidfile "$WORK/$tag.dfu.pid"
    LIBUSB_USBIP_SERVERS=127.0.0.1:$PORT dfu-util -a 0 -s $APP_BASE:leave -D "$RAW_IMG" \
        >"$WORK/$tag.dfu.log" 2>&1 &
    DPID=$!
    OUR_PIDS+=("$DPID")
    echo "$DPID" >"$PIDF"
    extra=""
    dfu_ends || extra="dfu-util did not end"
    grep -q 'Submitting leave' "$WORK/$tag.dfu.log" && extra="dfu-util finished before the kill"
    # shellcheck disable=SC2086 # the order is a list of probe operations
    LIBUSB_USBIP_SERVERS=127.0.0.1:$PORT "$PROBE" --no-altset $order >"$WORK/$tag.probe.log" 2>&1
    echo "     (raw client, no SET_INTERFACE: $order -> $(tr '\n' ' ' <"$WORK/$tag.probe.log"))"
    # after_bad_end boots without the pin: a committed partial image starts
    # (blinky's vectors are plausible) and is reported as "partial".
    verdict "$tag" "$extra"
done

# ---- system reset (SIGUSR1 = reset button) at the K-th flash operation ---------
# B's update on the template (A in the first 3 pages, the rest blank): 3
# erases (blank pages are not erased, issue 10), 5116 half-words, then the
# 4 held-back ones of the commit: 5120 is the commit's first.
for at in 4 2500 5120; do
    tag=reset-at-op-$at
    board "$tag" --op $at --signal USR1
    update_bg "$tag"
    extra=""
    dfu_ends || extra="dfu-util did not end after the reset"
    grep -q 'reset (reset button)' "$LOG" || extra="no reset event after SIGUSR1"
    # Pin held: back in DFU mode after the reset.
    wait_enum_after 'reset \(reset button\)' || extra=${extra:-"no enumeration after the reset"}
    n=$(ops)
    verdict "$tag" "$extra"
    echo "     (reset after flash operation $at; $n operations done)"
done

finish
