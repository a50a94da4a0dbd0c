#!/usr/bin/env bash
# powercut.sh - power cuts (SIGKILL of vboard, restart on the same flash file)
# at many instants of a full DfuSe update, on the real bootloader binary.
#
#   tests/faults/powercut.sh [--short] [--cuts N] [--jobs J] [PART...]
#   SEED=1234 tests/faults/powercut.sh ...      reproduce the random cuts
#
# Per part (f103c8 = bluepill firmware, f103rc = generic_f103rc): a template
# flash file holds the bootloader and a stamped application A (3000 bytes);
# the update writes a stamped application B (10 KiB) with
# the board held in DFU mode by --pin PB2=1, vboard --realtime --trace flash.
# A calibration update counts its flash operations (N) and finds the erase
# phase and the gaps between blocks; the cuts are then: every erase (at its
# end and 10 ms into the next), every block boundary, N cuts spread evenly
# over the operations, each of the last 8 operations (the commit of the
# first 8 bytes), instants after the leave request (USB disconnect, system
# reset, bootloader start), and random operations and wall-clock instants
# from SEED. After each cut: see tests/faults/lib.sh after_bad_end.
# Exit status non-zero on any partial start, brick or other problem.
set -u
source "$(dirname "$0")/lib.sh"

SHORT=0 CUTS=500 JOBS=2 PARTS=()
while [ $# -gt 0 ]; do
    case $1 in
    --short) SHORT=1 CUTS=12 PARALLEL_PARTS=${PARALLEL_PARTS:-1} ;;
    --cuts) CUTS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    *) PARTS+=("$1") ;;
    esac
    shift
done
[ ${#PARTS[@]} -gt 0 ] || PARTS=(f103c8 f103rc)
SEED=${SEED:-$(( (RANDOM << 15 | RANDOM) % 1000000 ))}
echo "powercut: seed $SEED (SEED=$SEED to reproduce), $CUTS cuts per part, $JOBS jobs"
T_START=$SECONDS
status=0

CUT_VB_OPTS=(--pin PB2=1 --trace flash --quiet-gpio --realtime)

# cut_run TAG PORT FLASH IMG_B CUTTER-ARGS...: an update of IMG_B under the
# cutter; sets CUT (trigger|timeout|exited), OPS (operations in the file),
# AFTER_RESET (1 when the cut came after the leave's system reset).
cut_run() {
    local tag=$1 port=$2 flash=$3 b=$4 log=$WORK/$1.cut.log res=$WORK/$1.cut.res cpid dpid
    shift 4
    : >"$log"
    "$CUTTER" "$@" --timeout-s 90 --log "$log" -- "$VBOARD" "${P_VB[@]}" --flash "$flash" \
        --port "$port" "${CUT_VB_OPTS[@]}" >"$res" &
    cpid=$!
    OUR_PIDS+=("$cpid")
    if wait_re "$log" 'usb enumerated' 30 "$cpid"; then
        dfu "$port" -a 0 -s $APP_BASE:leave -D "$b" >"$WORK/$tag.dfu.log" 2>&1 &
        dpid=$!
        OUR_PIDS+=("$dpid")
    fi
    wait "$cpid"
    if [ -n "${dpid:-}" ]; then
        # dfu-util loses its device with the power; it must end on its own.
        local end=$((SECONDS + 30))
        while kill -0 "$dpid" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.05; done
        kill -9 "$dpid" 2>/dev/null
        wait "$dpid" 2>/dev/null
    fi
    CUT=$(sed -E 's/^cut=([a-z]+).*/\1/' "$res")
    OPS=$(sed -E 's/.*ops_total=([0-9-]+).*/\1/' "$res")
    AFTER_RESET=0
    grep -q 'reset (SYSRESETREQ)' "$log" && AFTER_RESET=1
    return 0
}

# One worker: runs the cuts of lines W, W+J, ... of the plan.
# Plan line: index <TAB> kind <TAB> cutter args (space separated, '_' = space
# inside an argument).
worker() {
    local w=$1 port=$2 plan=$3 out=$4 tmpl=$5 a=$6 b=$7 n=$8
    OUR_PIDS=()
    trap 'for p in "${OUR_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done' EXIT
    trap 'exit 1' TERM INT
    local idx kind args flash tag phase arr i
    while IFS=$'\t' read -r idx kind args; do
        [ $((idx % JOBS)) = "$w" ] || continue
        tag=$P_PART-$idx flash=$WORK/$tag.img
        read -ra arr <<<"$args"
        for i in "${!arr[@]}"; do arr[i]=${arr[i]//_/ }; done
        for try in 1 2 3; do
            # Another program may take our port between the check and the
            # bind (vboard then says "cannot listen"): retry on a new port.
            port=$(free_port)
            cp "$tmpl" "$flash"
            rm -f "$WORK/$tag".*.log
            cut_run "$tag" "$port" "$flash" "$b" "${arr[@]}"
            grep -qs 'cannot listen' "$WORK/$tag".cut.log || break
            echo "note: $tag: port $port taken, cut again" >&2
        done
        if [ "$AFTER_RESET" = 1 ]; then phase=after-reset
        elif [ "$OPS" -le 0 ]; then phase=before-erase
        elif [ "$OPS" -le "$E_OPS" ]; then phase=erase
        elif [ "$OPS" -lt $((n - 4)) ]; then phase=program
        elif [ "$OPS" -lt "$n" ]; then phase=commit
        else phase=manifest
        fi
        after_bad_end "$tag" "$port" "$flash" "$tmpl" "$a" "$b"
        if [ -n "$PROBLEM" ] && grep -qs 'cannot listen' "$WORK/$tag".*.log; then
            PROBLEM="port $port taken by another program (not a finding): $PROBLEM"
        fi
        [ "$CUT" = trigger ] || PROBLEM=${PROBLEM:-"the cut did not happen as planned (cut=$CUT)"}
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$idx" "$kind" "$args" "$CUT" "$OPS" "$phase" \
            "$OUTCOME" "$PROBLEM" >>"$out"
        [ -n "$PROBLEM" ] || [ -n "${KEEP_WORK:-}" ] || rm -f "$WORK/$tag".*
    done <"$plan"
}

run_part() {
    local part=$1 status=0
    part_setup "$part"
    t0=$SECONDS
    A=$WORK/$part-A.bin B_IMG=$WORK/$part-B.bin TMPL=$WORK/$part-template.img
    bsize=10240
    make_image "$A" 3000 11
    make_image "$B_IMG" $bsize 22
    if ! make_template "$TMPL" "$A"; then
        fail "$part-template" "cannot create the template flash file"; return 1
    fi
    PB=$(free_port)

    # Calibration: one complete update, cut 300 ms after the leave's reset.
    cp "$TMPL" "$WORK/$part-cal.img"
    tc=$SECONDS
    cut_run "$part-cal" "$PB" "$WORK/$part-cal.img" "$B_IMG" --line 'reset (SYSRESETREQ)' --delay-us 300000
    T_UPD=$((SECONDS - tc))
    N=$OPS
    CAL=$WORK/$part-cal.cut.log
    E_OPS=$(grep -c '\] flash: erased page' "$CAL")
    if [ "$CUT" != trigger ] || [ "$N" -lt 100 ] || ! has_image "$WORK/$part-cal.img" "$B_IMG"; then
        fail "$part-calibration" "the complete update did not complete (cut=$CUT ops=$N)"
        sed 's/^/   | /' "$WORK/$part-cal.dfu.log" | tail -5
        return 1
    fi
    # Block boundaries: operations followed by more than 0.5 ms of virtual
    # time without a flash operation (a USB transfer), erase phase excluded.
    mapfile -t BOUND < <(grep -E '\] flash: (erased page|programmed)' "$CAL" |
        sed -E 's/^\[ *([0-9.]+)\].*/\1/' |
        awk -v e="$E_OPS" -v n="$N" '{ if (NR > 1 && $1 - t > 0.0005 && NR - 1 > e && NR - 1 < n - 4) print NR - 1; t = $1 }')
    echo "$part: calibration update: $N flash operations ($E_OPS page erases), ${#BOUND[@]} gaps between blocks, ~${T_UPD}s"

    PLAN=$WORK/$part.plan
    : >"$PLAN"
    i=0
    add() { printf '%d\t%s\t%s\n' $i "$1" "$2" >>"$PLAN"; i=$((i + 1)); }
    RANDOM=$((SEED + ${#part}))
    rnd() { echo $(( (RANDOM << 15 | RANDOM) % $1 )); }
    UPD_US=$((T_UPD * 1000000))
    if [ $SHORT = 1 ]; then
        add erase "--op 1"
        add erase "--op $((E_OPS / 2)) --delay-us 10000"
        add between-blocks "--op ${BOUND[$(( ${#BOUND[@]} / 2 ))]:-$((N / 2))}"
        add program "--op $((N / 3))"
        add program "--op $((2 * N / 3))"
        add commit "--op $((N - 4))"
        add commit "--op $((N - 2))"
        add commit "--op $((N - 1))"
        add leave "--line usb_disconnect --delay-us 5000"
        add leave "--line reset_(SYSRESETREQ) --delay-us 50000"
        add random-op "--op $((1 + $(rnd "$N")))"
        add random-time "--line usb_enumerated --delay-us $(rnd "$UPD_US")"
    else
        for ((k = 1; k <= E_OPS; k++)); do
            add erase "--op $k"
            add erase "--op $k --delay-us 10000"
        done
        for k in "${BOUND[@]}"; do
            add between-blocks "--op $k"
            add between-blocks "--op $k --delay-us 300"
        done
        for ((k = N - 7; k <= N; k++)); do add commit "--op $k"; done
        for d in 0 1000 3000 6000 10000 15000 20000 30000; do
            add leave "--line usb_disconnect --delay-us $d"
        done
        for d in 0 200 1000 5000 20000 50000 100000 200000 300000; do
            add after-reset "--line reset_(SYSRESETREQ) --delay-us $d"
        done
        rest=$((CUTS - i))
        even=$((rest / 2))
        for ((j = 1; j <= even; j++)); do add program "--op $((j * N / (even + 1)))"; done
        rest=$((CUTS - i))
        for ((j = 0; j < rest; j++)); do
            if [ $((j % 2)) = 0 ]; then add random-op "--op $((1 + $(rnd "$N"))) --delay-us $(rnd 60)"
            else add random-time "--line usb_enumerated --delay-us $(rnd $((UPD_US + UPD_US / 5)))"
            fi
        done
    fi
    NCUTS=$(wc -l <"$PLAN")

    RES=$WORK/$part.results
    : >"$RES"
    wpids=()
    for ((w = 0; w < JOBS; w++)); do
        worker $w 0 "$PLAN" "$RES" "$TMPL" "$A" "$B_IMG" "$N" &
        wpids+=($!)
        OUR_PIDS+=($!)
    done
    for p in "${wpids[@]}"; do wait "$p"; done

    sort -n "$RES" -o "$RES"
    while IFS=$'\t' read -r idx kind args cut ops phase outcome problem; do
        name="$part-$idx $kind ${args//_/ } (cut after op $ops/$N, $phase) -> $outcome"
        if [ -z "$problem" ]; then pass "$name"; else fail "$name" "$problem"; fi
    done <"$RES"
    tried=$(wc -l <"$RES")
    killed=$(awk -F'\t' '$4 == "trigger"' "$RES" | wc -l)
    partial=$(awk -F'\t' '$7 == "partial"' "$RES" | wc -l)
    bricks=$(awk -F'\t' '$7 == "brick"' "$RES" | wc -l)
    others=$(awk -F'\t' '$8 != "" && $7 != "partial" && $7 != "brick"' "$RES" | wc -l)
    phases=$(cut -f6 "$RES" | sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')
    outcomes=$(cut -f7 "$RES" | sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')
    opsr=$(awk -F'\t' '$4 == "trigger" && !($6 ~ /after/) {print $5}' "$RES" | sort -n | uniq |
        awk '{a[NR]=$1} END {printf "%d distinct cut points, ops %d..%d", NR, a[1], a[NR]}')
    [ "$tried" = "$NCUTS" ] || { fail "$part-count" "planned $NCUTS cuts, $tried ran"; }
    echo "== $part: cuts tried $tried (planned $NCUTS, vboard killed $killed), partial images started $partial, bricks $bricks, other problems $others, seed $SEED, $((SECONDS - t0)) s"
    echo "   at the cut: $phases; $opsr of $N"
    echo "   after the restart: $outcomes"
    echo "$npass $nfail" >"$WORK/$part.counts"
    [ $((partial + bricks + others)) = 0 ] && [ "$tried" = "$NCUTS" ]
}

# The parts run one after the other, or side by side with PARALLEL_PARTS=1
# (their output is then shown part by part at the end).
if [ "${PARALLEL_PARTS:-0}" = 1 ]; then
    ppids=()
    for part in "${PARTS[@]}"; do
        (
            OUR_PIDS=()
            trap 'for p in "${OUR_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done' EXIT
            trap 'exit 1' TERM INT
            run_part "$part"
        ) >"$WORK/$part.out" 2>&1 &
        ppids+=($!)
        OUR_PIDS+=($!)
    done
    for p in "${ppids[@]}"; do wait "$p" || status=1; done
    for part in "${PARTS[@]}"; do cat "$WORK/$part.out"; done
    npass=0 nfail=0
    for part in "${PARTS[@]}"; do
        read -r p f <"$WORK/$part.counts" 2>/dev/null || { p=0 f=1; }
        npass=$((npass + p)) nfail=$((nfail + f))
    done
else
    for part in "${PARTS[@]}"; do run_part "$part" || status=1; done
fi
echo "powercut: $((SECONDS - T_START)) s in all"
finish && [ $status = 0 ]
